"""GROMACS export: a self-contained `topol.top`, `conf.gro` and `grompp.mdp` for a CG model in a box.

What is expressed exactly (the OpenMM System of `polcg.md.system` is the reference):
* LJ 12-6, Lorentz–Berthelot (`comb-rule 2`, σ/ε per atom type), truncated at the cutoff with no
  potential shift (`vdw-modifier = None`), or force-switched (`vdw-modifier = Force-switch`,
  `rvdw-switch`) where the model says so; bead types with σ = 0 get σ = ε = 0 (no LJ at all);
* Coulomb by PME (or Ewald) with the same cutoff, using the effective charges of
  `polcg.md.layout.particles` (VaCG: q / sqrt(ε) of the molecule's role, water its own ε);
* all intramolecular pairs excluded (`nrexcl 1` plus an explicit `[ exclusions ]` list);
* bonds (type 1), constraints (type 1, LINCS), harmonic angles (type 1), cos²-harmonic angles
  (type 2, GROMOS-96: ½k(cos θ − cos θ0)²), periodic dihedrals (type 9).

What is not:
* Drude oscillators and Thole screening: standard GROMACS releases have neither, so Drude models
  are refused (export them to OpenMM or LAMMPS);
* the long-range dispersion correction exactly: GROMACS `DispCorr = EnerPres` corrects only the
  −C6/r⁶ tail and averages C6 over non-excluded pairs, while OpenMM also corrects the r⁻¹² part
  and averages over all pairs (for a 60-pair [C4mim][PF6] box the two tails differ by ~0.1 % of
  the tail, ~1e-4 of the LJ energy). Compare energies term by term with the correction off;
* GROMACS's `ewald-rtol` (erfc(β r_c)) is not OpenMM's error tolerance: the production mdp keeps
  GROMACS defaults, the single-point mdp uses a tight grid so both engines agree to < 0.1 %.

Names: `.gro` atom and residue names have 5 characters, so longer (or whitespace-containing)
bead-type and molecule names are mapped to unique short ones, listed in a topology comment.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import TYPE_CHECKING

import polcg
from polcg.cg.model import CGModel, MoleculeType
from polcg.errors import InputError
from polcg.export import ENGINES
from polcg.md.layout import Particle, molecule_order, molecule_slices

if TYPE_CHECKING:
    from polcg.md.packing import Configuration

GRO_NAME_CHARS = 5
MAX_TYPE_NAME_CHARS = 40
PRODUCTION_DT_PS = 0.005  # CG beads of ≥ 15 u, rigid ions under LINCS; check energy drift when changing
ANGLE_TYPE = {"harmonic": 1, "cosine_squared": 2}


@ENGINES.register("gromacs", help="topol.top, conf.gro, grompp.mdp; no Drude")
def write_gromacs(model: CGModel, config: Configuration, out_dir: str | Path, single_point: bool = False,
                  temperature_k: float = 300.0) -> dict[str, Path]:
    """Write topol.top, conf.gro, grompp.mdp (and the model file) to `out_dir`; their paths by kind.

    `single_point=True` writes an mdp for one energy evaluation (nsteps 0, tight PME), for
    `gmx mdrun -rerun conf.gro` or a plain mdrun."""
    _check_exportable(model, config)
    parts = config.particles(model)
    names = _Names(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"top": out / "topol.top", "gro": out / "conf.gro", "mdp": out / "grompp.mdp"}
    header = f"polcg {polcg.__version__} GROMACS export of CG model sha256 {model.sha256()}"
    paths["top"].write_text(_topology(model, config, names, header), encoding="utf-8")
    paths["gro"].write_text(_gro(config, parts, names, header), encoding="utf-8")
    mdp = _single_point_mdp(model) if single_point else _production_mdp(model, temperature_k)
    paths["mdp"].write_text(f"; {header}\n{mdp}", encoding="utf-8")
    paths["model"] = model.save(out)
    return paths


def _check_exportable(model: CGModel, config: Configuration) -> None:
    if model.drude is not None or model.kind == "drude":
        raise InputError("GROMACS (standard releases) has no Drude oscillators or Thole screening; "
                         "export Drude models to OpenMM or LAMMPS")
    n = len(config.particles(model))
    if config.positions_nm.shape != (n, 3):
        raise InputError(f"configuration has {config.positions_nm.shape} positions for {n} particles")
    if 2.0 * model.nonbonded.cutoff_nm >= min(config.box_nm):
        raise InputError(f"cutoff {model.nonbonded.cutoff_nm} nm is not below half the box {config.box_nm} nm")


# -- names -----------------------------------------------------------------------------------


class _Names:
    """GROMACS-safe names: atom types and residues ≤ 5 characters, molecule types one token."""

    def __init__(self, model: CGModel):
        self.atom = _safe_names([b.name for b in model.bead_types], GRO_NAME_CHARS)
        mols = [m.name for m in model.molecules]
        self.residue = _safe_names(mols, GRO_NAME_CHARS)
        self.molecule = _safe_names(mols, MAX_TYPE_NAME_CHARS)

    def renamed(self) -> list[str]:
        pairs = itertools.chain(self.atom.items(), self.residue.items(), self.molecule.items())
        return sorted({f"{old} -> {new}" for old, new in pairs if old != new})


def _safe_names(names: list[str], max_chars: int) -> dict[str, str]:
    """Each name kept if it is a short plain token, else cleaned and shortened to a unique one."""
    out = {n: n for n in names if _token(n) == n and len(n) <= max_chars}
    used = set(out.values())
    for name in dict.fromkeys(n for n in names if n not in out):
        clean = _token(name)
        candidate, k = clean[:max_chars], 0
        while candidate in used:
            k += 1
            candidate = clean[: max_chars - len(str(k))] + str(k)
        out[name] = candidate
        used.add(candidate)
    return out


def _token(name: str) -> str:
    """`name` with anything but letters, digits, _ + - replaced by _ (never empty)."""
    return re.sub(r"[^A-Za-z0-9_+\-]", "_", name) or "X"


# -- topology --------------------------------------------------------------------------------


def _topology(model: CGModel, config: Configuration, names: _Names, header: str) -> str:
    """topol.top: defaults, atom types, one moleculetype per molecule present, the molecule counts."""
    parts = config.particles(model)
    lines = [f"; {header}", "; units: nm, kJ/mol, u, e; charges are the effective (ε-scaled) ones"]
    lines += [f"; renamed: {r}" for r in names.renamed()]
    lines += ["", "[ defaults ]", "; nbfunc  comb-rule  gen-pairs  fudgeLJ  fudgeQQ", "  1  2  no  1.0  1.0", ""]
    lines += _atomtypes(model, names)
    slices = molecule_slices(parts)
    mols = molecule_order(model, config.composition)
    first: dict[str, range] = {}
    for sl, mol in zip(slices, mols):
        first.setdefault(mol.name, sl)
    for mol in model.molecules:
        if mol.name in first:
            lines += _moleculetype(mol, [parts[i] for i in first[mol.name]], names)
    lines += ["[ system ]", header, "", "[ molecules ]", "; name  count"]
    for name, count in _runs([mol.name for mol in mols]):
        lines.append(f"{names.molecule[name]:<12s} {count:d}")
    return "\n".join(lines) + "\n"


def _runs(items: list[str]) -> list[tuple[str, int]]:
    return [(k, len(list(g))) for k, g in itertools.groupby(items)]


def _atomtypes(model: CGModel, names: _Names) -> list[str]:
    lines = ["[ atomtypes ]", "; name  mass(u)  charge(e)  ptype  sigma(nm)  epsilon(kJ/mol)"]
    for b in model.bead_types:
        sigma, eps = (b.sigma_nm, b.epsilon_kj_mol) if b.sigma_nm > 0 else (0.0, 0.0)
        lines.append(f"{names.atom[b.name]:<6s} {b.mass_u:10.4f} {0.0:8.4f}  A  {sigma:12.6e} {eps:12.6e}")
    return lines + [""]


def _moleculetype(mol: MoleculeType, parts: list[Particle], names: _Names) -> list[str]:
    """One [ moleculetype ]: atoms with this molecule's effective charges, bonded terms, exclusions."""
    res = names.residue[mol.name]
    lines = [f"; {mol.name} ({mol.role}) {mol.base}".rstrip(), "[ moleculetype ]", "; name  nrexcl",
             f"{names.molecule[mol.name]}  1", "", "[ atoms ]",
             "; nr  type  resnr  residue  atom  cgnr  charge(e)  mass(u)"]
    for n, p in enumerate(parts, start=1):
        atom = names.atom[p.type_name]
        lines.append(f"{n:5d} {atom:<5s} 1 {res:<5s} {atom:<5s} {n:5d} {p.charge_e:13.8f} {p.mass_u:10.4f}")
    lines += _bonded_sections(mol)
    if mol.nbeads > 1:
        lines += ["", "[ exclusions ]", "; all intramolecular pairs"]
        lines += [" ".join(str(k) for k in range(i, mol.nbeads + 1)) for i in range(1, mol.nbeads)]
    return lines + [""]


def _bonded_sections(mol: MoleculeType) -> list[str]:
    lines: list[str] = []
    if mol.bonds:
        lines += ["", "[ bonds ]", "; i  j  type  r0(nm)  k(kJ/mol/nm^2)"]
        lines += [f"{t.i + 1} {t.j + 1} 1 {t.r0_nm:.6f} {t.k_kj_mol_nm2:.6f}" for t in mol.bonds]
    if mol.constraints:
        lines += ["", "[ constraints ]", "; i  j  type  r0(nm)"]
        lines += [f"{t.i + 1} {t.j + 1} 1 {t.r0_nm:.6f}" for t in mol.constraints]
    if mol.angles:
        lines += ["", "[ angles ]", "; i  j  k  type  theta0(deg)  k (type 1: kJ/mol/rad^2, type 2: kJ/mol)"]
        for t in mol.angles:
            if t.form not in ANGLE_TYPE:
                raise InputError(f"{mol.name}: angle form {t.form!r} has no GROMACS equivalent")
            lines.append(f"{t.i + 1} {t.j + 1} {t.k + 1} {ANGLE_TYPE[t.form]} {t.theta0_deg:.6f} {t.k_kj_mol:.6f}")
    if mol.dihedrals:
        lines += ["", "[ dihedrals ]", "; i  j  k  l  type  phi0(deg)  k(kJ/mol)  n"]
        lines += [f"{t.i + 1} {t.j + 1} {t.k + 1} {t.l + 1} 9 {t.phi0_deg:.6f} {t.k_kj_mol:.6f} {t.periodicity:d}"
                  for t in mol.dihedrals]
    return lines


# -- coordinates -----------------------------------------------------------------------------


def _gro(config: Configuration, parts: list[Particle], names: _Names, header: str) -> str:
    """conf.gro with 6 decimals (GROMACS reads the precision from the decimal-point spacing)."""
    lines = [header, f"{len(parts):d}"]
    for n, (p, xyz) in enumerate(zip(parts, config.positions_nm)):
        res, atom = names.residue[p.mol_type], names.atom[p.type_name]
        x, y, z = (float(v) for v in xyz)
        lines.append(f"{(p.molecule + 1) % 100000:5d}{res:<5s}{atom:>5s}{(n + 1) % 100000:5d}"
                     f"{x:11.6f}{y:11.6f}{z:11.6f}")
    lines.append("".join(f"{v:11.6f}" for v in config.box_nm))
    return "\n".join(lines) + "\n"


# -- run parameters --------------------------------------------------------------------------


def _nonbonded_mdp(model: CGModel) -> list[str]:
    nb = model.nonbonded
    return [
        "; nonbonded as in the polcg model (OpenMM reference): exact LJ truncation, PME, no intramolecular pairs",
        "cutoff-scheme            = Verlet",
        "pbc                      = xyz",
        f"coulombtype              = {'PME' if nb.coulomb == 'pme' else 'Ewald'}",
        f"rcoulomb                 = {nb.cutoff_nm:g}",
        "vdwtype                  = Cut-off",
        *_vdw_modifier(nb),
        f"rvdw                     = {nb.cutoff_nm:g}",
        f"DispCorr                 = {'EnerPres' if nb.dispersion_correction else 'no'}"
        + ("  ; r^-6 tail only (OpenMM also corrects r^-12)" if nb.dispersion_correction else ""),
        "; constraints: only the [ constraints ] of the topology (rigid ions, PW); triangles need a higher order",
        "constraints              = none",
        "constraint-algorithm     = lincs",
        "lincs-order              = 6",
        "lincs-iter               = 2",
    ]


def _vdw_modifier(nb) -> list[str]:
    if nb.lj_switch_nm is None:
        return ["vdw-modifier             = None"]
    return ["vdw-modifier             = Force-switch", f"rvdw-switch              = {nb.lj_switch_nm:g}"]


def _production_mdp(model: CGModel, temperature_k: float) -> str:
    lines = [
        f"; production-like NPT defaults: dt = {PRODUCTION_DT_PS} ps; check the energy drift before longer runs",
        "integrator               = md",
        f"dt                       = {PRODUCTION_DT_PS}",
        "nsteps                   = 200000",
        "nstcalcenergy            = 100",
        "nstenergy                = 1000",
        "nstlog                   = 1000",
        "nstxout-compressed       = 1000",
        "continuation             = no",
        "gen-vel                  = yes",
        f"gen-temp                 = {temperature_k:g}",
        "gen-seed                 = -1",
        "tcoupl                   = v-rescale",
        "tc-grps                  = System",
        "tau-t                    = 1.0",
        f"ref-t                    = {temperature_k:g}",
        "pcoupl                   = C-rescale",
        "pcoupltype               = isotropic",
        "tau-p                    = 5.0",
        "ref-p                    = 1.0",
        "compressibility          = 4.5e-5",
        "verlet-buffer-tolerance  = 0.005",
        "fourierspacing           = 0.12",
        "ewald-rtol               = 1e-5",
    ]
    return "\n".join(lines + _nonbonded_mdp(model)) + "\n"


def _single_point_mdp(model: CGModel) -> str:
    lines = [
        "; single-point energy (gmx mdrun -rerun conf.gro, or plain mdrun): no step, nothing constrained",
        "integrator               = md",
        "dt                       = 0.001",
        "nsteps                   = 0",
        "nstcalcenergy            = 1",
        "nstenergy                = 1",
        "nstlog                   = 1",
        "continuation             = yes",
        "gen-vel                  = no",
        "tcoupl                   = no",
        "pcoupl                   = no",
        "; pair list exactly at the cutoff (one evaluation needs no buffer)",
        "verlet-buffer-tolerance  = -1",
        f"rlist                    = {model.nonbonded.cutoff_nm:g}",
        "nstlist                  = 10",
        "; tight PME, for comparison with OpenMM at ewald_tolerance 1e-6",
        "fourierspacing           = 0.06",
        "pme-order                = 6",
        "ewald-rtol               = 1e-6",
    ]
    return "\n".join(lines + _nonbonded_mdp(model)) + "\n"
