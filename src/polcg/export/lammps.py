"""LAMMPS export: `data.lmp` (atom_style full, units real) and `in.lammps` for a CG model in a box.

Units: real (Å, kcal/mol, fs, e, g/mol); the model's nm, kJ/mol convert with 10 Å/nm and
4.184 kJ/kcal. The OpenMM System of `polcg.md.system` is the reference, reproduced as:
* LJ 12-6 with an explicit Lorentz–Berthelot `pair_coeff` for every type pair (`mix arithmetic`
  is stated but never used), truncated at the cutoff without shift, `tail yes|no` as the
  model's dispersion correction (LAMMPS averages the tail over type counts, OpenMM over
  N(N+1)/2 particle pairs: the tails differ by O(1/N)); a force-switched model's LJ is
  `hybrid/overlay lj/gromacs r1 rc coul/long rc` (the GROMACS switch exactly);
* Coulomb `lj/cut/coul/long` + `pppm` (model `pme`) or `ewald`, `pair_modify table 0`; the charges
  are the effective ones of `polcg.md.layout.particles` (VaCG ε-scaled, Drude cores q − q_D);
* every intramolecular pair excluded by `special_bonds lj/coul 0.0 0.0 0.0`: LAMMPS excludes
  1-2, 1-3 and 1-4 neighbours of the bond graph (bonds, constraints, Drude springs), so pairs
  further apart are joined by an extra `zero` bond ("exclusion", no force, not for SHAKE).
  LAMMPS only sees (and so excludes, kspace part included) pairs within the cutoff: molecules
  spanning the cutoff in the exported configuration are refused;
* bonds `harmonic` (K = k/2), constraints as `zero` bonds carrying r0 (for `fix shake`),
  angles `harmonic` (K = k/2 per rad²) or `cosine/squared` (K = k/2), dihedrals `charmm`
  (weight 0; integer φ0) or else `fourier` (one term), all in kcal/mol and Å.

Drude models (LAMMPS DRUDE package): cores and Drudes are separate atom types (`fix drude`
C/D/N letters), the springs `harmonic` bonds with K = k_D/2 and r0 = 0, and `pair_style
hybrid/overlay lj/cut/coul/long + thole` with `pair_coeff I J thole sqrt(α_I α_J) (a_I + a_J)/2`
for every core/Drude type pair. LAMMPS `pair thole` acts on *all* dipole pairs within the
cutoff: the full screened interaction for excluded (intramolecular) pairs, the (T − 1)
correction otherwise. A LAMMPS Drude model therefore always has intermolecular Thole screening
and matches an OpenMM model with `DrudeModel.intermolecular_thole=True`; models without it are
refused (InputError) unless `allow_intermolecular_thole=True`, which writes them with a warning
in the header line of both files. LAMMPS has no hard wall on the Drude distance (use a 1 fs step).

Known numerical difference: LAMMPS's real-space erfc (`table 0`) is a 1e-7 polynomial fit;
for an excluded core–Drude pair at distance r it errs by ~1e-7 · 332 q_C q_D / r kcal/mol, so
Drudes sitting exactly on their cores (r → 0) give visible Coulomb errors in LAMMPS.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import polcg
from polcg.cg.model import CGModel, MoleculeType
from polcg.errors import InputError
from polcg.export import ENGINES
from polcg.export.lammps_input import input_file
from polcg.md.layout import Particle, bead_index, molecule_order, molecule_slices
from polcg.units import KCAL_TO_KJ, NM_TO_ANGSTROM

if TYPE_CHECKING:
    from polcg.md.packing import Configuration

#: kJ mol⁻¹ nm⁻² → kcal mol⁻¹ Å⁻²
KJ_MOL_NM2_TO_KCAL_MOL_A2 = 1.0 / (KCAL_TO_KJ * NM_TO_ANGSTROM**2)
MAX_SPECIAL_DISTANCE = 3  # special_bonds covers 1-2, 1-3, 1-4 neighbours


@ENGINES.register("lammps", help="data.lmp, in.lammps; Drude by the DRUDE package")
def write_lammps(model: CGModel, config: Configuration, out_dir: str | Path, *,
                 kspace_accuracy: float | None = None, temperature_k: float = 300.0,
                 allow_intermolecular_thole: bool = False) -> dict[str, Path]:
    """Write data.lmp, in.lammps (and the model file) to `out_dir`; their paths by kind.

    `in.lammps` evaluates one single-point energy (`run 0`, per-term thermo output) and carries
    a commented production recipe (lines starting `#md `: remove that prefix to run it).
    `kspace_accuracy` (relative force accuracy of pppm/ewald) defaults to the model's
    ewald_tolerance, at most 1e-5."""
    _check_exportable(model, config, allow_intermolecular_thole)
    accuracy = kspace_accuracy or min(model.nonbonded.ewald_tolerance, 1e-5)
    topo = _build_topology(model, config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"data": out / "data.lmp", "input": out / "in.lammps"}
    header = _header(model)
    paths["data"].write_text(_data_file(config, topo, header), encoding="utf-8")
    paths["input"].write_text(input_file(model, topo, header, accuracy, temperature_k), encoding="utf-8")
    paths["model"] = model.save(out)
    return paths


def _check_exportable(model: CGModel, config: Configuration, allow_intermolecular_thole: bool) -> None:
    n = len(config.particles(model))
    if config.positions_nm.shape != (n, 3):
        raise InputError(f"configuration has {config.positions_nm.shape} positions for {n} particles")
    if 2.0 * model.nonbonded.cutoff_nm >= min(config.box_nm):
        raise InputError(f"cutoff {model.nonbonded.cutoff_nm} nm is not below half the box {config.box_nm} nm")
    _check_molecule_extent(model, config)
    if model.nonbonded.coulomb not in ("pme", "ewald"):
        raise InputError(f"Coulomb method {model.nonbonded.coulomb!r} has no LAMMPS equivalent here (pme, ewald)")
    if model.drude is not None and not model.drude.intermolecular_thole and not allow_intermolecular_thole:
        raise InputError("LAMMPS `pair thole` also screens dipole pairs between molecules, which this Drude model "
                         "does not; rebuild it with intermolecular Thole (`polcg model build --intermolecular-thole`, "
                         "build_drude(..., intermolecular_thole=True)) to export it to LAMMPS")


def _check_molecule_extent(model: CGModel, config: Configuration) -> None:
    """LAMMPS excludes an intramolecular pair (and removes its kspace part) only when it is in the
    neighbour list, i.e. within the cutoff: every molecule must be smaller than the cutoff."""
    parts = config.particles(model)
    box_nm = np.asarray(config.box_nm)
    for sl in molecule_slices(parts):
        xyz = config.positions_nm[sl.start:sl.stop]
        d = xyz[:, None] - xyz[None]
        span = float(np.max(np.linalg.norm(d - box_nm * np.round(d / box_nm), axis=-1)))
        if span >= model.nonbonded.cutoff_nm:
            raise InputError(f"a {parts[sl.start].mol_type} molecule spans {span:.3f} nm, not below the cutoff "
                             f"{model.nonbonded.cutoff_nm} nm: LAMMPS would not exclude its farthest pairs")


def _header(model: CGModel) -> str:
    """One line naming polcg, the model hash and kind, and any mismatch with the OpenMM reference."""
    text = f"polcg {polcg.__version__} LAMMPS export of CG model sha256 {model.sha256()} ({model.kind})"
    if model.drude is not None and not model.drude.intermolecular_thole:
        text += (" WARNING: LAMMPS pair thole adds intermolecular Thole screening that this model "
                 "(intermolecular_thole=False) and its OpenMM System do not have")
    return text


# -- topology ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AtomType:
    name: str
    bead: str  # bead type it belongs to
    mass_u: float
    drude_flag: str  # fix drude letter: N (not polarizable), C (core), D (Drude)


@dataclass
class _TermTypes:
    """Numbered LAMMPS types of one kind of term: (style, coefficient text, comment) each."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, style: str, coeffs: str, comment: str) -> int:
        self.rows.append((style, coeffs, comment))
        return len(self.rows)

    def styles(self) -> list[str]:
        return list(dict.fromkeys(style for style, _, _ in self.rows))

    def style_command(self, kind: str) -> str | None:
        styles = self.styles()
        if not styles:
            return None
        return f"{kind}_style {styles[0] if len(styles) == 1 else 'hybrid ' + ' '.join(styles)}"

    def coeff_lines(self) -> list[str]:
        hybrid = len(self.styles()) > 1
        return [f"{n} {style + ' ' if hybrid else ''}{coeffs}  # {comment}"
                for n, (style, coeffs, comment) in enumerate(self.rows, start=1)]


@dataclass
class _MolTerms:
    """A molecule type's terms as (LAMMPS type, bead indices…), and how to hold its constraints."""

    bonds: list[tuple[int, ...]] = field(default_factory=list)
    angles: list[tuple[int, ...]] = field(default_factory=list)
    dihedrals: list[tuple[int, ...]] = field(default_factory=list)
    constraint_types: list[int] = field(default_factory=list)
    constraint_mode: str = ""  # "" | "shake" | "rigid" | "rigid-approx"


@dataclass
class _Topology:
    atom_types: list[_AtomType]
    type_of: dict[str, int]  # particle type name → LAMMPS atom type
    bond_types: _TermTypes
    angle_types: _TermTypes
    dihedral_types: _TermTypes
    mol_terms: dict[str, _MolTerms]
    particles: list[Particle]
    molecules: list[MoleculeType]  # per molecule instance
    bonds: list[tuple[int, int, int]] = field(default_factory=list)  # (type, atom id, atom id), 1-based
    angles: list[tuple[int, ...]] = field(default_factory=list)
    dihedrals: list[tuple[int, ...]] = field(default_factory=list)

    def types_with(self, flag: str) -> list[int]:
        return [n for n, t in enumerate(self.atom_types, start=1) if t.drude_flag == flag]


def _build_topology(model: CGModel, config: Configuration) -> _Topology:
    atom_types = _atom_types(model)
    bond_types, angle_types, dihedral_types = _TermTypes(), _TermTypes(), _TermTypes()
    mol_terms = {m.name: _molecule_terms(m, bond_types, angle_types, dihedral_types) for m in model.molecules}
    drude_bond = 0
    if any(t.drude_flag == "D" for t in atom_types):
        k = 0.5 * model.drude.k_drude_kj_mol_nm2 * KJ_MOL_NM2_TO_KCAL_MOL_A2
        drude_bond = bond_types.add("harmonic", f"{k:.10g} 0.0", "Drude spring, K = k_D/2")
    parts = config.particles(model)
    topo = _Topology(atom_types, {t.name: n for n, t in enumerate(atom_types, start=1)}, bond_types, angle_types,
                     dihedral_types, mol_terms, parts, molecule_order(model, config.composition))
    for sl, mol in zip(molecule_slices(parts), topo.molecules):
        ix = {b: i + 1 for b, i in bead_index(parts, sl).items()}  # bead → 1-based atom id
        terms = mol_terms[mol.name]
        topo.bonds += [(t, ix[i], ix[j]) for t, i, j in terms.bonds]
        topo.angles += [(t, ix[i], ix[j], ix[k]) for t, i, j, k in terms.angles]
        topo.dihedrals += [(t, ix[i], ix[j], ix[k], ix[m]) for t, i, j, k, m in terms.dihedrals]
        topo.bonds += [(drude_bond, d, d + 1) for d in sl if parts[d].is_drude]  # core id d, Drude id d + 1
    return topo


def _atom_types(model: CGModel) -> list[_AtomType]:
    """One type per bead type (core mass for polarizable beads), then one per Drude."""
    drude = model.drude
    polar = [b for b in model.bead_types if drude is not None and b.alpha_nm3 > 0]
    names = {b.name for b in polar}
    types = [_AtomType(b.name, b.name, b.mass_u - (drude.drude_mass_u if b.name in names else 0.0),
                       "C" if b.name in names else "N") for b in model.bead_types]
    return types + [_AtomType("D" + b.name, b.name, drude.drude_mass_u, "D") for b in polar]


def _molecule_terms(mol: MoleculeType, bonds: _TermTypes, angles: _TermTypes, dihedrals: _TermTypes) -> _MolTerms:
    """Types (one per template term) and bead-index terms of one molecule type."""
    out = _MolTerms()
    for t in mol.bonds:
        k = 0.5 * t.k_kj_mol_nm2 * KJ_MOL_NM2_TO_KCAL_MOL_A2
        out.bonds.append((bonds.add("harmonic", f"{k:.10g} {t.r0_nm * NM_TO_ANGSTROM:.10g}",
                                    f"{mol.name} {_label(mol, t.i, t.j)}"), t.i, t.j))
    for t in mol.constraints:
        n = bonds.add("zero", f"{t.r0_nm * NM_TO_ANGSTROM:.10g}", f"{mol.name} {_label(mol, t.i, t.j)} constraint")
        out.bonds.append((n, t.i, t.j))
        out.constraint_types.append(n)
    out.constraint_mode = _constraint_mode(mol)
    for i, j in _far_pairs(mol):
        out.bonds.append((bonds.add("zero", "0.0", f"{mol.name} {_label(mol, i, j)} exclusion only (not for SHAKE)"),
                          i, j))
    for t in mol.angles:
        out.angles.append((_angle_type(mol, t, angles), t.i, t.j, t.k))
    integral = all(float(d.phi0_deg).is_integer() for d in mol.dihedrals)
    for t in mol.dihedrals:
        k = t.k_kj_mol / KCAL_TO_KJ
        style, coeffs = (("charmm", f"{k:.10g} {t.periodicity:d} {int(t.phi0_deg):d} 0.0") if integral
                         else ("fourier", f"1 {k:.10g} {t.periodicity:d} {t.phi0_deg:.10g}"))
        out.dihedrals.append((dihedrals.add(style, coeffs, f"{mol.name} {_label(mol, t.i, t.j, t.k, t.l)}"),
                              t.i, t.j, t.k, t.l))
    return out


def _angle_type(mol: MoleculeType, t, angles: _TermTypes) -> int:
    styles = {"harmonic": ("harmonic", "per rad^2"), "cosine_squared": ("cosine/squared", "(cos - cos0)^2")}
    if t.form not in styles:
        raise InputError(f"{mol.name}: angle form {t.form!r} has no LAMMPS equivalent")
    style, what = styles[t.form]
    k = 0.5 * t.k_kj_mol / KCAL_TO_KJ
    return angles.add(style, f"{k:.10g} {t.theta0_deg:.10g}", f"{mol.name} {_label(mol, t.i, t.j, t.k)} K=k/2 {what}")


def _label(mol: MoleculeType, *beads: int) -> str:
    return "-".join(mol.beads[b] for b in beads)


def _far_pairs(mol: MoleculeType) -> list[tuple[int, int]]:
    """Bead pairs more than 3 bonds (incl. constraints) apart: special_bonds would miss them."""
    graph: dict[int, set[int]] = {b: set() for b in range(mol.nbeads)}
    for t in (*mol.bonds, *mol.constraints):
        graph[t.i].add(t.j)
        graph[t.j].add(t.i)
    far = []
    for start in range(mol.nbeads):
        dist, todo = {start: 0}, deque([start])
        while todo:
            b = todo.popleft()
            for c in graph[b] - dist.keys():
                dist[c] = dist[b] + 1
                todo.append(c)
        far += [(start, j) for j in range(start + 1, mol.nbeads)
                if dist.get(j, MAX_SPECIAL_DISTANCE + 1) > MAX_SPECIAL_DISTANCE]
    return far


def _constraint_mode(mol: MoleculeType) -> str:
    """"shake": a star of ≤ 3 constraints around one bead (a SHAKE cluster); "rigid": all bead
    pairs constrained (a rigid body: fix rigid/small); "rigid-approx": anything else."""
    cons = mol.constraints
    if not cons:
        return ""
    pairs = [{t.i, t.j} for t in cons]
    centres = set.intersection(*pairs)
    if len(cons) <= 3 and centres and len({b for p in pairs for b in p}) == len(cons) + 1:
        return "shake"
    if len({frozenset(p) for p in pairs}) == mol.nbeads * (mol.nbeads - 1) // 2:
        return "rigid"
    return "rigid-approx"


# -- data file ---------------------------------------------------------------------------------


def _data_file(config: Configuration, topo: _Topology, header: str) -> str:
    box_a = [b * NM_TO_ANGSTROM for b in config.box_nm]
    counts = [("atoms", len(topo.particles)), ("bonds", len(topo.bonds)), ("angles", len(topo.angles)),
              ("dihedrals", len(topo.dihedrals))]
    type_counts = [("atom", len(topo.atom_types)), ("bond", len(topo.bond_types.rows)),
                   ("angle", len(topo.angle_types.rows)), ("dihedral", len(topo.dihedral_types.rows))]
    lines = [f"{header} (units real, atom_style full)", ""]
    lines += [f"{n} {what}" for what, n in counts if n or what == "atoms"] + [""]
    lines += [f"{n} {what} types" for what, n in type_counts if n or what == "atom"] + [""]
    lines += [f"0.0 {length:.10f} {lo} {hi}" for length, (lo, hi) in zip(box_a, (("xlo", "xhi"), ("ylo", "yhi"),
                                                                               ("zlo", "zhi")))]
    lines += ["", "Masses", ""]
    lines += [f"{n} {t.mass_u:.6f}  # {t.name}" for n, t in enumerate(topo.atom_types, start=1)]
    for title, types in (("Bond", topo.bond_types), ("Angle", topo.angle_types), ("Dihedral", topo.dihedral_types)):
        if types.rows:
            styles = types.styles()
            lines += ["", f"{title} Coeffs  # {styles[0] if len(styles) == 1 else 'hybrid'}", ""]
            lines += types.coeff_lines()
    lines += ["", "Atoms  # full", ""] + _atom_lines(config, topo)
    for title, rows in (("Bonds", topo.bonds), ("Angles", topo.angles), ("Dihedrals", topo.dihedrals)):
        if rows:
            lines += ["", title, ""] + [f"{n} {' '.join(map(str, row))}" for n, row in enumerate(rows, start=1)]
    return "\n".join(lines) + "\n"


def _atom_lines(config: Configuration, topo: _Topology) -> list[str]:
    """atom-ID molecule-ID type q x y z nx ny nz: wrapped into the box, image flags keep molecules whole."""
    box_a = np.asarray(config.box_nm) * NM_TO_ANGSTROM
    xyz = np.asarray(config.positions_nm) * NM_TO_ANGSTROM
    image = np.floor(xyz / box_a).astype(int)
    wrapped = xyz - image * box_a
    lines = []
    for n, (p, r, img) in enumerate(zip(topo.particles, wrapped, image), start=1):
        lines.append(f"{n} {p.molecule + 1} {topo.type_of[p.type_name]} {p.charge_e:.10f} "
                     f"{r[0]:.8f} {r[1]:.8f} {r[2]:.8f} {img[0]:d} {img[1]:d} {img[2]:d}")
    return lines
