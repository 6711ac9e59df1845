"""The LAMMPS input script of a polcg export (`in.lammps`): styles, pair coefficients, groups,
the single-point section and the commented production recipe. See `polcg.export.lammps`."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from polcg.cg.model import CGModel
from polcg.units import KCAL_TO_KJ, NM_TO_ANGSTROM

if TYPE_CHECKING:
    from polcg.export.lammps import _AtomType, _Topology

PRODUCTION_DT_FS = {"drude": 1.0, "default": 5.0}
DRUDE_TEMPERATURE_K = 1.0
LMP_PAIR = "lj/cut/coul/long"


def input_file(model: CGModel, topo: _Topology, header: str, accuracy: float, temperature_k: float) -> str:
    drude = bool(topo.types_with("D"))
    lines = [f"# {header}", "# units real: Angstrom, kcal/mol, fs, e, g/mol (model.json holds the model in nm, kJ/mol)",
             "# single point: lmp -in in.lammps; production: remove the '#md ' prefixes below", "",
             "units real", "atom_style full", "boundary p p p"]
    for kind, types in (("bond", topo.bond_types), ("angle", topo.angle_types), ("dihedral", topo.dihedral_types)):
        command = types.style_command(kind)
        if command:
            lines.append(command)
    lines += ["# every pair within a molecule is a 1-2, 1-3 or 1-4 neighbour (extra zero bonds where needed),",
              "# so this excludes all intramolecular LJ and Coulomb (kspace corrections included)",
              "special_bonds lj/coul 0.0 0.0 0.0"]
    # fix drude adds each core's Drude (and the Drudes of its neighbours) to the special lists
    extra = f" extra/special/per/atom {max(m.nbeads for m in model.molecules) * 2}" if drude else ""
    lines += [f"read_data data.lmp{extra}", ""]
    if drude:
        flags = " ".join(t.drude_flag for t in topo.atom_types)
        lines += ["# Drude oscillators (DRUDE package): per-type flags N/C/D; Drudes inherit their cores' exclusions",
                  f"fix DRUDE all drude {flags}", "comm_modify vel yes", ""]
    lines += _pair_lines(model, topo, accuracy) + [""] + _group_lines(topo) + [""]
    lines += _single_point_lines(drude) + [""] + _production_lines(model, topo, temperature_k)
    return "\n".join(lines) + "\n"


def _pair_lines(model: CGModel, topo: _Topology, accuracy: float) -> list[str]:
    nb = model.nonbonded
    drude = bool(topo.types_with("D"))
    lines, lj_style, hybrid = _pair_styles(model, topo)
    prefix = f"{lj_style} " if hybrid else ""
    ntypes = len(topo.atom_types)
    for i, j in itertools.combinations_with_replacement(range(1, ntypes + 1), 2):
        eps, sigma = _lj_pair(model, topo.atom_types[i - 1], topo.atom_types[j - 1])
        lines.append(f"pair_coeff {i} {j} {prefix}{eps:.10g} {sigma:.10g}")
    if drude:
        lines += ["# Thole: all core/Drude type pairs, alpha_IJ = sqrt(alpha_I alpha_J) [A^3], a_IJ = (a_I + a_J)/2;",
                  "# excluded (intramolecular) pairs get the full screened interaction, others the (T-1) correction"]
        polar = [n for n, t in enumerate(topo.atom_types, start=1) if t.drude_flag in "CD"]
        for i, j in itertools.combinations_with_replacement(polar, 2):
            bi, bj = (model.bead_type(topo.atom_types[n - 1].bead) for n in (i, j))
            alpha = np.sqrt(bi.alpha_nm3 * bj.alpha_nm3) * NM_TO_ANGSTROM**3
            lines.append(f"pair_coeff {i} {j} thole {alpha:.10g} {0.5 * (bi.thole + bj.thole):.10g}")
    style = "pppm" if nb.coulomb == "pme" else "ewald"
    return lines + [f"kspace_style {style} {accuracy:.3g}"]


def _pair_styles(model: CGModel, topo: _Topology) -> tuple[list[str], str, bool]:
    """The pair_style / pair_modify lines, the LJ sub-style's name and whether the style is hybrid."""
    nb = model.nonbonded
    cut = f"{nb.cutoff_nm * NM_TO_ANGSTROM:.6g}"
    tail = "yes" if nb.dispersion_correction else "no"
    if nb.lj_switch_nm is None:
        lines = ["# LJ (Lorentz-Berthelot, explicit for every type pair; truncated, not shifted) + Coulomb "
                 "(long range)"]
        lj_style, styles = LMP_PAIR, f"{LMP_PAIR} {cut}"
    else:
        lines = ["# LJ force-switched as in GROMACS (lj/gromacs; Lorentz-Berthelot, explicit for every type pair)",
                 "# + Coulomb (long range)"]
        lj_style, styles = "lj/gromacs", f"lj/gromacs {nb.lj_switch_nm * NM_TO_ANGSTROM:.6g} {cut} coul/long {cut}"
    drude = bool(topo.types_with("D"))
    if drude:
        damp = next(model.bead_type(t.bead).thole for t in topo.atom_types if t.drude_flag == "D")
        styles += f" thole {damp:.6g} {cut}"
    if not (drude or nb.lj_switch_nm is not None):
        return lines + [f"pair_style {styles}", f"pair_modify mix arithmetic table 0 tail {tail}"], lj_style, False
    lines += [f"pair_style hybrid/overlay {styles}",
              f"pair_modify pair {lj_style} mix arithmetic table 0 tail {tail}"]
    if nb.lj_switch_nm is not None:
        lines += ["pair_modify pair coul/long table 0", "pair_coeff * * coul/long"]
    return lines, lj_style, True


def _lj_pair(model: CGModel, a: _AtomType, b: _AtomType) -> tuple[float, float]:
    """(ε kcal/mol, σ Å) of a type pair; 0, 0 where either has no LJ (Drudes, σ = 0 beads)."""
    if "D" in (a.drude_flag, b.drude_flag):
        return 0.0, 0.0
    ba, bb = model.bead_type(a.bead), model.bead_type(b.bead)
    eps = float(np.sqrt(ba.epsilon_kj_mol * bb.epsilon_kj_mol)) / KCAL_TO_KJ
    if eps == 0.0 or ba.sigma_nm <= 0 or bb.sigma_nm <= 0:
        return 0.0, 0.0
    return eps, 0.5 * (ba.sigma_nm + bb.sigma_nm) * NM_TO_ANGSTROM


def _group_lines(topo: _Topology) -> list[str]:
    """ATOMS (all but Drudes), DRUDES, and one group of atoms (cores) per molecule type."""
    ids = lambda ns: " ".join(map(str, ns))  # noqa: E731
    cores = [n for n, t in enumerate(topo.atom_types, start=1) if t.drude_flag != "D"]
    lines = [f"group ATOMS type {ids(cores)}"]
    if topo.types_with("D"):
        lines.append(f"group DRUDES type {ids(topo.types_with('D'))}")
    for mol in dict.fromkeys(topo.molecules):
        beads = set(mol.beads)
        lines.append(f"group mol_{mol.name} type {ids(n for n in cores if topo.atom_types[n - 1].bead in beads)}")
    return lines


def _single_point_lines(drude: bool) -> list[str]:
    lines = ["# single-point energy by term (kcal/mol): ebond includes the Drude springs; with Drudes, ecoul",
             "# includes the Thole energy (c_THOLE), so Coulomb alone = ecoul - c_THOLE + elong"]
    columns = "step pe ebond eangle edihed evdwl ecoul elong"
    if drude:
        lines.append("compute THOLE all pair thole")
        columns += " c_THOLE"
    return lines + [f"thermo_style custom {columns}", "thermo_modify norm no format float %.12g", "run 0"]


def _production_lines(model: CGModel, topo: _Topology, temperature_k: float) -> list[str]:
    """A commented NVT recipe: rigid/small for fully constrained molecules, SHAKE for star clusters,
    for Drude models a dual thermostat (cores at T, Drude oscillators at 1 K)."""
    drude = bool(topo.types_with("D"))
    t = f"{temperature_k:g}"
    dt = PRODUCTION_DT_FS["drude" if drude else "default"]
    present = list(dict.fromkeys(m.name for m in topo.molecules))
    rigid = [n for n in present if topo.mol_terms[n].constraint_mode.startswith("rigid")]
    shake = [c for n in present if topo.mol_terms[n].constraint_mode == "shake"
             for c in topo.mol_terms[n].constraint_types]
    free = [n for n in present if n not in rigid]
    lines = ["# --- production MD (NVT), not run by default: remove the '#md ' prefixes -------------------------",
             "# constraints: molecules whose beads are all constrained pairwise (e.g. the RM C4mim triangle) are",
             "# rigid bodies (fix rigid/small; SHAKE cannot do a closed triangle); star-shaped constraint sets",
             "# (e.g. MARTINI PW: W-WP, W-WM) use fix shake on their constraint bond types"]
    lines += [f"# {n}: constraints only approximated by a rigid body" for n in rigid
              if topo.mol_terms[n].constraint_mode == "rigid-approx"]
    if drude:
        lines += ["# Drudes: dual Nose-Hoover thermostat on reduced coordinates (cores/COM at T, Drude",
                  "# oscillators at 1 K); alternatives without rigid bodies: fix langevin/drude or tgnvt/drude, e.g.",
                  f"#   fix TSTAT all tgnvt/drude temp {t} {t} 100 {DRUDE_TEMPERATURE_K:g} 20 ; fix NVE all nve",
                  "# LAMMPS has no hard wall on the Drude distance (OpenMM's max_drude_distance): keep dt at 1 fs"]
    md = ["variable nsteps index 100000", f"timestep {dt:g}"]
    if rigid:
        md += [f"group RIGID union {' '.join('mol_' + n for n in rigid)}"]
    if free:
        md += [f"group FREE union {' '.join('mol_' + n for n in free)}"]
    md += [f"velocity ATOMS create {t} 4928459 mom yes rot yes dist gaussian"]
    if shake:
        md += [f"fix SHAKE ATOMS shake 1.0e-8 100 0 b {' '.join(map(str, shake))}"]
    if drude:
        md += ["fix DIRECT all drude/transform/direct"]
    if rigid:
        md += [f"fix RIGID RIGID rigid/nvt/small molecule temp {t} {t} 100"]
    if free:
        md += [f"fix NVT FREE nvt temp {t} {t} 100"]
    if drude:
        md += [f"fix NVT_DRUDE DRUDES nvt temp {DRUDE_TEMPERATURE_K:g} {DRUDE_TEMPERATURE_K:g} 20",
               "fix INVERSE all drude/transform/inverse", "compute TDRUDE all temp/drude",
               "thermo_style custom step cpu temp c_TDRUDE[1] c_TDRUDE[2] pe ebond evdwl ecoul elong press"]
    else:
        md += ["thermo_style custom step cpu temp pe ebond eangle evdwl ecoul elong press"]
    md += ["thermo 1000", "dump TRJ all custom 5000 traj.lammpstrj id mol type q x y z ix iy iz", "run ${nsteps}"]
    return lines + ["#md " + line for line in md]
