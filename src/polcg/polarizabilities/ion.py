"""The polarizability stage: an ion → QM α, AIM volumes, bead α and Drude/Thole parameters.

α_bead = α_ion · V_bead / V_ion, with α_ion the isotropic static polarizability (CPHF/CPKS)
and V the atoms-in-molecule volumes (QTAIM basins or Hirshfeld, inside ρ ≥ cutoff) summed
over each bead's atoms. The beads' α sum to α_ion by construction. Finished ions are kept
in the work directory keyed by a hash of everything that determines them, so a rerun reuses them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from polcg.errors import InputError
from polcg.io import write_json_atomic
from polcg.polarizabilities.drude import DrudeSettings, drude_parameters
from polcg.qm import MethodSpec, QMJob, RunConfig
from polcg.structure.cluster import Bead
from polcg.units import AU_POLARIZABILITY_TO_ANGSTROM3

#: default level for polarizabilities: a hybrid functional and the property-optimised diffuse
#: basis def2-SVPD (Rappoport & Furche, JCP 2010, 133, 134105); see docs/polarizability.md
POLARIZABILITY_METHOD = MethodSpec(xc="PBE0", basis="def2-SVPD", auxbasis="def2-universal-jkfit", grid_level=3)
VOLUME_SCHEMES = ("qtaim", "hirshfeld")
ROUTES = ("analytic", "finite_field")
CACHE_VERSION = 1


@dataclass(frozen=True)
class VolumeSettings:
    """AIM volume partition: scheme, density cutoff (a.u.) bounding the volumes, QTAIM cube spacing (Å)."""

    scheme: str = "qtaim"
    density_cutoff_au: float = 1e-3
    spacing_angstrom: float = 0.1

    def __post_init__(self) -> None:
        if self.scheme not in VOLUME_SCHEMES:
            raise InputError(f"unknown volume scheme {self.scheme!r}; choose from {', '.join(VOLUME_SCHEMES)}")
        if not 0 < self.density_cutoff_au < 1 or self.spacing_angstrom <= 0:
            raise InputError("density cutoff must be in (0, 1) a.u. and the grid spacing > 0 Å")


@dataclass(frozen=True)
class IonInput:
    """The ion to compute: atoms (Å), charge, its CG beads (atom indices into `elements`)."""

    name: str
    elements: tuple[str, ...]
    coords_angstrom: tuple[tuple[float, float, float], ...]
    charge: int
    beads: tuple[Bead, ...] = ()
    geometry_source: str = ""
    bg_coords_angstrom: tuple[tuple[float, float, float], ...] = ()
    bg_charges: tuple[float, ...] = ()


@dataclass(frozen=True)
class QMPolarizability:
    """What the QM part produced (cached): α tensor, per-atom volumes and basin populations."""

    alpha_tensor_au: tuple[tuple[float, ...], ...]
    route: str
    atom_volumes_angstrom3: tuple[float, ...]
    atom_populations: tuple[float, ...]
    volumes: dict
    energy_hartree: float
    wall_s: dict
    versions: dict

    @property
    def alpha_angstrom3(self) -> np.ndarray:
        return np.asarray(self.alpha_tensor_au) * AU_POLARIZABILITY_TO_ANGSTROM3


@dataclass(frozen=True)
class BeadPolarizability:
    name: str
    atoms: tuple[int, ...]
    volume_angstrom3: float
    alpha_angstrom3: float
    drude: dict


@dataclass(frozen=True)
class IonPolarizability:
    """Result for one ion; `to_dict()` is the JSON record."""

    name: str
    charge: int
    elements: tuple[str, ...]
    coords_angstrom: tuple[tuple[float, float, float], ...]
    alpha_tensor_angstrom3: tuple[tuple[float, ...], ...]
    alpha_iso_angstrom3: float
    anisotropy_angstrom3: float
    atoms: tuple[dict, ...]
    beads: tuple[BeadPolarizability, ...]
    method: dict
    volumes: dict
    drude_settings: dict
    provenance: dict
    warnings: tuple[str, ...] = ()
    embedded: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "polarizability") -> IonPolarizability:
        """The inverse of `to_dict` (unknown keys are ignored); InputError naming `where` otherwise."""
        try:
            beads = tuple(BeadPolarizability(str(b["name"]), tuple(int(a) for a in b["atoms"]),
                                             float(b["volume_angstrom3"]), float(b["alpha_angstrom3"]),
                                             dict(b["drude"])) for b in d["beads"])
            return cls(
                name=str(d["name"]), charge=int(d["charge"]), elements=tuple(d["elements"]),
                coords_angstrom=tuple(tuple(float(x) for x in r) for r in d["coords_angstrom"]),
                alpha_tensor_angstrom3=tuple(tuple(float(x) for x in r) for r in d["alpha_tensor_angstrom3"]),
                alpha_iso_angstrom3=float(d["alpha_iso_angstrom3"]),
                anisotropy_angstrom3=float(d["anisotropy_angstrom3"]),
                atoms=tuple(dict(a) for a in d["atoms"]), beads=beads, method=dict(d["method"]),
                volumes=dict(d["volumes"]), drude_settings=dict(d["drude_settings"]),
                provenance=dict(d["provenance"]), warnings=tuple(d.get("warnings", ())),
                embedded=bool(d.get("embedded", False)))
        except (KeyError, TypeError, ValueError) as exc:
            name = d.get("name", "?") if isinstance(d, dict) else "?"
            raise InputError(f"{where}: malformed polarizability record of {name} "
                             f"({type(exc).__name__}: {exc})") from None


def load_polarizabilities(path: str | Path) -> tuple[IonPolarizability, ...]:
    """The ion records of a `polcg polarizability --json` file; for an --in-cluster file, each ion in the cluster."""
    from polcg.io import read_json

    doc = read_json(path, "polarizability file")
    if not isinstance(doc, dict) or not isinstance(doc.get("ions"), list) or not doc["ions"]:
        raise InputError(f"{path}: not a polcg polarizability JSON (no 'ions' list)")
    records = [i.get("in_cluster", i) if isinstance(i, dict) else i for i in doc["ions"]]
    return tuple(IonPolarizability.from_dict(r, str(path)) for r in records)


def compute_qm(ion: IonInput, method: MethodSpec, volumes: VolumeSettings, config: RunConfig,
               route: str = "analytic") -> QMPolarizability:
    """SCF, then α (CPHF/CPKS or finite field) and the AIM volumes of the density."""
    from pyscf.gto import charge as atomic_number

    from polcg.qm.aim import hirshfeld_volumes, qtaim_volumes
    from polcg.qm.polarizability import analytic_polarizability, converged_scf, finite_field_polarizability
    from polcg.qm.pyscf_backend import versions

    nelec = sum(atomic_number(el) for el in ion.elements) - ion.charge
    if nelec % 2:
        raise InputError(f"{ion.name}: {nelec} electrons at charge {ion.charge:+d}: not a closed shell; "
                         "the structure cannot carry this charge as an ion")
    job = ion_job(ion, method)
    t0 = time.perf_counter()
    mf = converged_scf(job, config)
    mol = mf.mol
    t1 = time.perf_counter()
    alpha = analytic_polarizability(mf) if route == "analytic" else finite_field_polarizability(mf)
    t2 = time.perf_counter()
    dm = mf.make_rdm1()
    if volumes.scheme == "qtaim":
        vol = qtaim_volumes(mol, dm, spacing_angstrom=volumes.spacing_angstrom,
                            density_cutoff_au=volumes.density_cutoff_au)
    else:
        vol = hirshfeld_volumes(mol, dm, density_cutoff_au=volumes.density_cutoff_au)
    t3 = time.perf_counter()
    return QMPolarizability(
        alpha_tensor_au=tuple(tuple(float(x) for x in row) for row in alpha), route=route,
        atom_volumes_angstrom3=tuple(vol.volumes_angstrom3), atom_populations=tuple(vol.populations),
        volumes={**vol.as_dict(), "volumes_angstrom3": None, "populations": None},
        energy_hartree=float(mf.e_tot), versions=versions(),
        wall_s={"scf": t1 - t0, "alpha": t2 - t1, "volumes": t3 - t2},
    )


def ion_job(ion: IonInput, method: MethodSpec) -> QMJob:
    return QMJob.build(ion.elements, ion.coords_angstrom, ion.charge, method,
                       bg_coords=ion.bg_coords_angstrom or None, bg_charges=ion.bg_charges or None, label=ion.name)


def cache_key(ion: IonInput, method: MethodSpec, volumes: VolumeSettings, route: str) -> str:
    payload = {"v": CACHE_VERSION, "job": ion_job(ion, method).key(), "volumes": asdict(volumes), "route": route}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def cached_qm(ion: IonInput, method: MethodSpec, volumes: VolumeSettings, config: RunConfig,
              route: str = "analytic", workdir: str | Path | None = None) -> QMPolarizability:
    """`compute_qm` through an on-disk cache (workdir/polarizability/<key>.json)."""
    if route not in ROUTES:
        raise InputError(f"unknown polarizability route {route!r}; choose from {', '.join(ROUTES)}")
    key = cache_key(ion, method, volumes, route)
    path = None if workdir is None else Path(workdir) / "polarizability" / f"{key}.json"
    if path is not None and path.exists():
        try:
            return QMPolarizability(**json.loads(path.read_text())["result"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable: recompute and replace
    res = compute_qm(ion, method, volumes, config, route)
    if path is not None:
        write_json_atomic(path, {"ion": asdict(ion), "method": method.as_dict(), "result": asdict(res)})
    return res


def split_over_beads(alpha_iso: float, atom_volumes: Sequence[float],
                     beads: Sequence[Bead]) -> list[tuple[float, float]]:
    """(V_bead, α_bead) per bead with α_bead = α_ion V_bead / Σ V_bead; beads must cover every atom once."""
    covered = sorted(a for b in beads for a in b.atoms)
    if covered != list(range(len(atom_volumes))):
        raise InputError("the beads must hold every atom of the ion exactly once")
    v_beads = [float(sum(atom_volumes[a] for a in b.atoms)) for b in beads]
    v_ion = sum(v_beads)
    return [(v, alpha_iso * v / v_ion) for v in v_beads]


def assemble(ion: IonInput, qm: QMPolarizability, method: MethodSpec, drude: DrudeSettings) -> IonPolarizability:
    """Bead split and Drude parameters on top of the QM result."""
    from polcg.qm.polarizability import anisotropy, isotropic

    alpha = qm.alpha_angstrom3
    a_iso = isotropic(alpha)
    beads = ion.beads or (Bead(ion.name, tuple(range(len(ion.elements)))),)
    masses = _masses(ion.elements)
    bead_out, warnings = [], []
    for b, (v, a) in zip(beads, split_over_beads(a_iso, qm.atom_volumes_angstrom3, beads)):
        params = drude_parameters(a, drude, parent_mass_u=float(sum(masses[i] for i in b.atoms)),
                                  label=f"{ion.name}/{b.name}")
        warnings += params.warnings
        bead_out.append(BeadPolarizability(b.name, tuple(b.atoms), v, a, params.as_dict()))
    atoms = tuple({"index": i, "element": el, "volume_angstrom3": v, "population": p}
                  for i, (el, v, p) in enumerate(zip(ion.elements, qm.atom_volumes_angstrom3, qm.atom_populations)))
    return IonPolarizability(
        name=ion.name, charge=ion.charge, elements=ion.elements, coords_angstrom=ion.coords_angstrom,
        alpha_tensor_angstrom3=tuple(tuple(float(x) for x in row) for row in alpha),
        alpha_iso_angstrom3=a_iso, anisotropy_angstrom3=anisotropy(alpha), atoms=atoms, beads=tuple(bead_out),
        method={**method.as_dict(), "route": qm.route}, volumes=qm.volumes, drude_settings=asdict(drude),
        provenance={"versions": qm.versions, "geometry_source": ion.geometry_source, "geometry_sha256":
                    _geometry_hash(ion), "wall_s": qm.wall_s, "energy_hartree": qm.energy_hartree},
        warnings=tuple(dict.fromkeys(warnings)), embedded=bool(ion.bg_charges),
    )


def ion_polarizability(ion: IonInput, method: MethodSpec = POLARIZABILITY_METHOD,
                       volumes: VolumeSettings = VolumeSettings(), drude: DrudeSettings = DrudeSettings(),
                       config: RunConfig = RunConfig(), route: str = "analytic",
                       workdir: str | Path | None = None) -> IonPolarizability:
    """The whole stage for one ion (cached QM part, then bead split and Drude parameters)."""
    return assemble(ion, cached_qm(ion, method, volumes, config, route, workdir), method, drude)


def _masses(elements: Sequence[str]) -> list[float]:
    from rdkit import Chem
    table = Chem.GetPeriodicTable()
    return [table.GetAtomicWeight(el) for el in elements]


def _geometry_hash(ion: IonInput) -> str:
    blob = json.dumps([ion.elements, ion.coords_angstrom, ion.charge]).encode()
    return hashlib.sha256(blob).hexdigest()


# ---------------------------------------------------------------------------------------
# inputs: a library ion by name, a structure file, shipped records


def shipped_dir() -> Path:
    """`qm_jobs/polarizability/`: the recorded runs behind the shipped ion polarizabilities."""
    return Path(__file__).resolve().parents[3] / "qm_jobs" / "polarizability"


def load_shipped(name: str, directory: str | Path | None = None) -> IonPolarizability | None:
    """The recorded polarizability of a library ion (the ion record of `polcg polarizability --json`), or None."""
    path = Path(directory or shipped_dir()) / f"{name}.json"
    return load_polarizabilities(path)[0] if path.exists() else None


def bead_polarizabilities(name: str) -> dict[str, float]:
    """Shipped α (Å³) per bead of a library ion, for the model builders; InputError when none is shipped."""
    rec = load_shipped(name)
    if rec is None:
        raise InputError(f"no shipped polarizability for {name}: run `polcg polarizability {name}`")
    return {b.name: b.alpha_angstrom3 for b in rec.beads}


def ion_from_library(name: str, optimizer: str = "auto", library=None) -> IonInput:
    """A library ion with a geometry: the shipped record's (optimizer "auto", when one exists),
    else built from the SMILES (RDKit force field, or "xtb")."""
    from polcg.structure.library import load_library
    from polcg.structure.perceive import perceive

    lib = library or load_library()
    if name not in lib:
        raise InputError(f"unknown ion {name!r}; the library has {', '.join(lib.names)}")
    shipped = load_shipped(name) if optimizer == "auto" else None
    if shipped is not None:
        elements, coords = shipped.elements, np.asarray(shipped.coords_angstrom)
        source = f"qm_jobs/polarizability/{name}.json"
    else:
        from polcg.structure.build3d import ion_geometry
        opt = "ff" if optimizer == "auto" else optimizer
        elements, coords = ion_geometry(lib[name], opt)
        source = f"built from SMILES ({'RDKit ETKDGv3 + MMFF94/UFF' if opt == 'ff' else 'RDKit + GFN2-xTB'})"
    mol = perceive(elements, coords, library=lib, source=name).molecules
    return ion_input(mol[0], elements, coords, source)


def ion_from_target(target: str, ion: str | None = None, charge: int | None = None,
                    optimizer: str = "auto") -> IonInput:
    """`polcg polarizability TARGET`: a structure file (checked against `ion` and `charge`), else a library ion."""
    if Path(target).exists():
        return ion_from_file(target, ion, charge)
    if any(c in target for c in "./\\"):
        raise InputError(f"{target}: file not found")
    inp = ion_from_library(target, optimizer)
    if charge is not None and charge != inp.charge:
        raise InputError(f"{target}: the library ion has charge {inp.charge:+d}, not --charge {charge:+d}")
    return inp


def ion_from_file(path: str | Path, ion: str | None = None, charge: int | None = None) -> IonInput:
    """The single molecule of a structure file; `ion` asserts which library entry it is."""
    from polcg.structure.io import load_cluster

    cluster = load_cluster(path)
    if len(cluster.molecules) != 1:
        raise InputError(f"{path}: expected one ion, found {len(cluster.molecules)} molecules "
                         "(use --in-cluster for a cluster)")
    mol = cluster.molecules[0]
    if ion is not None and mol.name != ion:
        raise InputError(f"{path}: the structure is {mol.name}, not the library ion {ion}")
    if charge is not None and charge != mol.formal_charge:
        raise InputError(f"{path}: {mol.name} carries formal charge {mol.formal_charge:+d}, not --charge {charge:+d}")
    return ion_input(mol, cluster.elements, cluster.coords_angstrom, f"{path} (sha256 {cluster.sha256[:12]})")


def ion_input(mol, elements, coords, source: str, bg_coords=(), bg_charges=()) -> IonInput:
    """An `IonInput` for a perceived molecule of a structure, optionally embedded in point charges (Å, e)."""
    idx = list(mol.atoms)
    local = {a: i for i, a in enumerate(idx)}
    beads = tuple(Bead(b.name, tuple(local[a] for a in b.atoms)) for b in mol.beads)
    xyz = np.round(np.asarray(coords, float)[idx], 8)
    return IonInput(mol.name, tuple(elements[a] for a in idx), tuple(tuple(float(x) for x in r) for r in xyz),
                    mol.formal_charge, beads, source,
                    tuple(tuple(float(x) for x in r) for r in np.asarray(bg_coords, float).reshape(-1, 3)),
                    tuple(float(q) for q in bg_charges))
