"""VaCG and Drude model builders: library parameters + GEBF charges (+ polarizabilities) → CGModel."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from polcg.cg.library import bases, ion_molecule, water_molecule
from polcg.cg.model import BeadType, CGModel, Dielectric, DrudeModel, Epsilon, MoleculeType, Nonbonded
from polcg.errors import InputError
from polcg.io import file_sha256
from polcg.structure.library import IonEntry, load_library
from polcg.units import ANGSTROM_TO_NM

#: Drude defaults for CG models: a quarter of the CHARMM spring (250 kcal mol⁻¹ Å⁻²) and a 3.2 u
#: Drude (same α, so q_D halves): a 31 fs core–Drude period and a 5 fs step with the properties
#: of the CHARMM 4184 / 0.4 u / 1 fs model within error (benchmarks/drude_timestep.py, docs/simulate.md)
DEFAULT_KD_KJ_MOL_A2 = 1046.0
DEFAULT_DRUDE_MASS_U = 3.2


@dataclass(frozen=True)
class IonsSpec:
    """Which ions, from which base models, with which extra parameter file."""

    cation: str
    anion: str
    base: str | None = None
    params: str | None = None  # YAML: {ion: {base: cg-block}} added to the library's


def build_vacg(ions: IonsSpec, charges: str | None = None, water: str | None = "PW",
               eps_il: Epsilon = Epsilon(), eps_w: Epsilon | None = None,
               nonbonded: Nonbonded = Nonbonded()) -> CGModel:
    """VaCG: fixed (GEBF) bead charges, ion–ion Coulomb / ε_IL, water–water / ε_W,
    ion–water / sqrt(ε_IL ε_W). ε_W defaults to the water model's recommended ε_r."""
    molecules, types, prov = _ions(ions, charges)
    if water:
        wmol, wtypes, eps_default = water_molecule(water)
        molecules.append(wmol)
        types.update(wtypes)
        prov["water"] = {"model": water, "citation": wmol.citation}
        eps_w = eps_w or Epsilon(value=eps_default)
    model = CGModel(kind="vacg", bead_types=_unique(types, molecules), molecules=tuple(molecules),
                    dielectric=Dielectric(eps_il=eps_il, eps_w=eps_w or Epsilon()), nonbonded=nonbonded)
    return model.with_provenance(**prov, **_versions())


def build_drude(ions: IonsSpec, charges: str | None = None, polarizability: str | None = None,
                thole: float = 2.6, intermolecular_thole: bool = False,
                k_drude_kj_mol_a2: float = DEFAULT_KD_KJ_MOL_A2, drude_mass_u: float = DEFAULT_DRUDE_MASS_U,
                nonbonded: Nonbonded = Nonbonded(), max_drude_distance_nm: float | None = None) -> CGModel:
    """Drude-polarizable CG: one Drude per bead with α > 0 (from `polarizability`, the JSON of
    `polcg polarizability`, or the shipped qm_jobs/polarizability values), Thole a per bead.
    The hard wall on the Drude distance defaults to 0.02 nm at k_D = 4184 kJ mol⁻¹ Å⁻² (the
    SAPT-FF/OpenMM value) and scales as 1/sqrt(k_D), as the induced displacements q_D E / k_D do."""
    if thole <= 0 or k_drude_kj_mol_a2 <= 0 or drude_mass_u <= 0:
        raise InputError("--thole, the Drude spring and the Drude mass must be positive")
    molecules, types, prov = _ions(ions, charges)
    alphas, prov["polarizability"] = _alphas(molecules, polarizability)
    for mol in molecules:
        for bead in mol.beads:
            t = types[bead]
            if drude_mass_u >= t.mass_u:
                raise InputError(f"Drude mass {drude_mass_u} u is not below bead {bead}'s mass {t.mass_u} u")
            types[bead] = replace(t, alpha_nm3=alphas[mol.name][bead] * ANGSTROM_TO_NM**3, thole=thole)
    wall = max_drude_distance_nm or 0.02 * math.sqrt(4184.0 / k_drude_kj_mol_a2)
    drude = DrudeModel(k_drude_kj_mol_nm2=k_drude_kj_mol_a2 / ANGSTROM_TO_NM**2, drude_mass_u=drude_mass_u,
                       intermolecular_thole=intermolecular_thole, max_drude_distance_nm=wall)
    model = CGModel(kind="drude", bead_types=_unique(types, molecules), molecules=tuple(molecules),
                    drude=drude, nonbonded=nonbonded)
    return model.with_provenance(**prov, **_versions())


# ---------------------------------------------------------------------------------------


def _ions(spec: IonsSpec, charges: str | None):
    lib = load_library()
    extra = _read_params(spec.params) if spec.params else {}
    molecules, types = [], {}
    for name, role, sign in ((spec.cation, "cation", 1), (spec.anion, "anion", -1)):
        if name not in lib:
            raise InputError(f"unknown ion {name!r}; the library has {', '.join(lib.names)}")
        entry = lib[name]
        if (entry.formal_charge > 0) != (sign > 0):
            article = "an" if role == "anion" else "a"
            raise InputError(f"{name} (charge {entry.formal_charge:+d}) is not {article} {role}")
        if entry.formal_charge != sign:
            raise InputError(f"{name}: only 1:1 salts are supported (formal charge {entry.formal_charge:+d})")
        if name in extra:
            entry = replace(entry, extra={**entry.extra, "cg": {**(entry.extra.get("cg") or {}), **extra[name]}})
        mol, mtypes = ion_molecule(entry, _pick_base(entry, spec.base, extra.get(name)), role)
        molecules.append(mol)
        types.update(mtypes)
    prov = {"ions": {m.role: {"name": m.name, "base": m.base, "citation": m.citation} for m in molecules}}
    if charges:
        types, prov["charges"] = _gebf_charges(charges, molecules, types)
    else:
        prov["charges"] = {"source": "library default bead charges (no --charges given)",
                           "bases": {m.name: m.base for m in molecules}}
    return molecules, types, prov


def _pick_base(entry: IonEntry, base: str | None, user: dict | None) -> str | None:
    """--base where this ion has it; else a user-supplied base; else the library's first."""
    if base is not None and base in bases(entry):
        return base
    if user:
        return next(iter(user))
    return None


def _read_params(path: str) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read parameters: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InputError(f"{path}: expected {{ion: {{base: {{beads: ..., positions: ...}}}}}}")
    return data


def _gebf_charges(path: str, molecules: list[MoleculeType], types: dict[str, BeadType]):
    """Per-bead mean (and spread) of the bead charges of every ion of that name in the JSON."""
    from polcg.charges import ClusterCharges

    data = ClusterCharges.load(path)
    types = dict(types)
    summary = {"source": "GEBF bead charges averaged per bead type", "file": str(path),
               "sha256": file_sha256(path), "method": data.method, "ions": {}}
    for mol in molecules:
        ions = [i for i in data.ions if i.name == mol.name]
        if not ions:
            found = sorted({i.name for i in data.ions})
            raise InputError(f"{path}: no {mol.name} ions in the charges (it has {', '.join(found)})")
        per_bead = {b: [] for b in mol.beads}
        for ion in ions:
            got = {b.name: b.charge for b in ion.beads}
            if sorted(got) != sorted(mol.beads):
                raise InputError(f"{path}: {mol.name} beads {sorted(got)} differ from the model's {list(mol.beads)}")
            for b in mol.beads:
                per_bead[b].append(got[b])
        for b, qs in per_bead.items():
            types[b] = replace(types[b], charge_e=float(np.mean(qs)), charge_spread_e=float(np.std(qs)),
                               charge_samples=len(qs))
        summary["ions"][mol.name] = {"count": len(ions), "mean_ion_charge": sum(types[b].charge_e for b in mol.beads)}
    net = sum(types[b].charge_e for m in molecules for b in m.beads)
    if abs(net) > 1e-3:
        raise InputError(f"{path}: mean cation + anion charge is {net:+.4f} e, not neutral; "
                         "is the cluster a 1:1 salt of these ions?")
    return types, summary


def _alphas(molecules: list[MoleculeType], path: str | None) -> tuple[dict, dict]:
    if path is None:
        from polcg.polarizabilities import bead_polarizabilities

        out = {m.name: bead_polarizabilities(m.name) for m in molecules}
        return _check_alphas(out, molecules, "shipped qm_jobs/polarizability"), {
            "source": "shipped qm_jobs/polarizability/<ion>.json (PBE0/def2-SVPD, QTAIM split)"}
    from polcg.polarizabilities import load_polarizabilities

    ions = load_polarizabilities(path)
    out = {}
    for ion in ions:
        out.setdefault(ion.name, {b.name: b.alpha_angstrom3 for b in ion.beads})
    for mol in molecules:
        if mol.name not in out:
            raise InputError(f"{path}: no polarizability for {mol.name} (it has {', '.join(map(str, out))})")
    return _check_alphas(out, molecules, path), {"file": str(path), "sha256": file_sha256(path),
                                                 "method": ions[0].method}


def _check_alphas(out: dict, molecules: list[MoleculeType], where: str) -> dict:
    for mol in molecules:
        missing = [b for b in mol.beads if b not in out.get(mol.name, {})]
        if missing:
            raise InputError(f"{where}: no polarizability for {mol.name} bead(s) {', '.join(missing)}")
        bad = [b for b in mol.beads if not out[mol.name][b] > 0 or not math.isfinite(out[mol.name][b])]
        if bad:
            raise InputError(f"{where}: {mol.name} bead(s) {', '.join(bad)} have non-positive α")
    return out


def _unique(types: dict[str, BeadType], molecules: list[MoleculeType]) -> tuple[BeadType, ...]:
    names = [b for m in molecules for b in m.beads]
    if len(set(names)) != len(names):
        raise InputError(f"bead names repeat across molecules: {names}")
    return tuple(types[n] for n in names)


def _versions() -> dict:
    import polcg

    return {"polcg": polcg.__version__}
