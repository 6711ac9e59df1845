"""`CGModel`: the one frozen description of a CG model that builders produce and exporters read.

Units are OpenMM's: nm, kJ/mol, u, e, degrees for angles in the file (radians nowhere here).
Charges are the *physical* bead charges; the dielectric screening of a VaCG model is applied
by the system builders as an exact charge scaling, q / sqrt(ε) (see `effective_charge`).

Nonbonded conventions, the same in every engine polcg writes for:
* LJ 12-6 with Lorentz–Berthelot mixing, truncated at the cutoff (no shift; forces are those
  of a shifted potential), optional isotropic long-range dispersion correction; or, with
  `lj_switch_nm`, the GROMACS force switch (the MARTINI 2 convention, 0.9–1.2 nm): forces go
  smoothly to zero between the switch distance and the cutoff, no dispersion correction;
* Coulomb by PME (or Ewald) with the same cutoff;
* all pairs within one molecule excluded from LJ and Coulomb (small, rigid or stiff CG ions;
  MARTINI PW); intramolecular induced dipoles interact through Thole-screened pairs only.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path

from polcg.errors import InputError

SCHEMA = "polcg.cgmodel/1"
MODEL_FILE = "model.json"


@dataclass(frozen=True)
class BeadType:
    """A bead type. charge_e is the physical charge (before ε scaling, including any Drude)."""

    name: str
    mass_u: float
    sigma_nm: float
    epsilon_kj_mol: float
    charge_e: float
    alpha_nm3: float = 0.0  # 0: not polarizable
    thole: float = 0.0  # Thole a of this bead's dipole (pair value = arithmetic mean)
    charge_spread_e: float = 0.0  # std of the GEBF bead charges averaged into charge_e
    charge_samples: int = 0


@dataclass(frozen=True)
class Bond:
    i: int
    j: int
    r0_nm: float
    k_kj_mol_nm2: float  # E = ½ k (r − r0)²


@dataclass(frozen=True)
class Constraint:
    i: int
    j: int
    r0_nm: float


@dataclass(frozen=True)
class Angle:
    """form 'harmonic': E = ½ k (θ − θ0)² (k per rad²); 'cosine_squared': E = ½ k (cos θ − cos θ0)²."""

    i: int
    j: int
    k: int
    theta0_deg: float
    k_kj_mol: float
    form: str = "harmonic"


@dataclass(frozen=True)
class Dihedral:
    """Periodic proper dihedral, E = k (1 + cos(n φ − φ0))."""

    i: int
    j: int
    k: int
    l: int  # noqa: E741
    periodicity: int
    phi0_deg: float
    k_kj_mol: float


@dataclass(frozen=True)
class MoleculeType:
    """A molecule: its beads (bead-type names, in order), bonded terms (bead indices in the
    molecule), a template geometry (nm) for building boxes, and what it is."""

    name: str
    role: str  # "cation" | "anion" | "water"
    beads: tuple[str, ...]
    positions_nm: tuple[tuple[float, float, float], ...]
    bonds: tuple[Bond, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    angles: tuple[Angle, ...] = ()
    dihedrals: tuple[Dihedral, ...] = ()
    base: str = ""
    citation: str = ""
    waters_per_molecule: int = 0  # water models: real waters one molecule stands for

    @property
    def nbeads(self) -> int:
        return len(self.beads)


@dataclass(frozen=True)
class Epsilon:
    """A relative permittivity: constant, or a function of the water mole fraction x ∈ [0, 1].

    forms: constant (value); polynomial (coefficients c0 + c1 x + …); exponential
    (a + b exp(c x)); rational ((c0 + c1 x) / (1 + c2 x))."""

    form: str = "constant"
    value: float = 1.0
    coefficients: tuple[float, ...] = ()

    def at(self, x: float) -> float:
        if not 0.0 <= x <= 1.0:
            raise InputError(f"water fraction {x} outside [0, 1]")
        c = self.coefficients
        if self.form == "constant":
            eps = self.value
        elif self.form == "polynomial":
            eps = sum(ci * x**n for n, ci in enumerate(c))
        elif self.form == "exponential":
            eps = c[0] + c[1] * math.exp(c[2] * x)
        elif self.form == "rational":
            eps = (c[0] + c[1] * x) / (1.0 + c[2] * x)
        else:
            raise InputError(f"unknown ε form {self.form!r}")
        if not eps > 0:
            raise InputError(f"ε({x}) = {eps} is not positive ({self.form} {c or self.value})")
        return float(eps)

    @classmethod
    def parse(cls, text: str, option: str = "ε") -> Epsilon:
        """'2.5' (constant) or 'FORM:c0,c1,...' with FORM polynomial | exponential | rational (x ∈ [0, 1]);
        InputError naming `option` unless ε is positive at x = 0, 0.5 and 1."""
        need = {"polynomial": None, "exponential": 3, "rational": 3}
        try:
            if ":" not in text:
                eps = cls(value=float(text))
            else:
                form, coeffs = text.split(":", 1)
                eps = cls(form=form, coefficients=tuple(float(v) for v in coeffs.split(",")))
            if eps.form != "constant" and (eps.form not in need or len(eps.coefficients) != (need[eps.form]
                                                                                            or len(eps.coefficients))):
                raise ValueError(eps.form)
            for x in (0.0, 0.5, 1.0):
                eps.at(x)
        except ValueError:  # InputError is one too
            raise InputError(f"{option} {text!r}: give a positive number or FORM:c0,c1,... (polynomial: any "
                             "count; exponential a+b*exp(c x): 3; rational (c0+c1 x)/(1+c2 x): 3)") from None
        return eps

    @classmethod
    def from_dict(cls, raw: dict) -> Epsilon:
        """The inverse of `dataclasses.asdict` (the form of model.json and the fit's result.json)."""
        coefficients = tuple(float(c) for c in raw["coefficients"])
        return cls(form=raw["form"], value=float(raw["value"]), coefficients=coefficients)


@dataclass(frozen=True)
class Dielectric:
    """VaCG screening: ion–ion by ε_IL, water–water by ε_W, ion–water by sqrt(ε_IL ε_W)."""

    eps_il: Epsilon = Epsilon()
    eps_w: Epsilon = Epsilon()


@dataclass(frozen=True)
class DrudeModel:
    """Drude oscillators: spring (kJ mol⁻¹ nm⁻²), Drude mass (u, taken from the parent),
    intermolecular Thole, the hard-wall distance (nm) for the integrator."""

    k_drude_kj_mol_nm2: float = 418400.0
    drude_mass_u: float = 0.4
    intermolecular_thole: bool = False
    max_drude_distance_nm: float = 0.02


@dataclass(frozen=True)
class Nonbonded:
    """Cutoff, Coulomb method and LJ treatment. lj_switch_nm (None: plain truncation) starts the
    GROMACS force switch (`vdw-modifier = force-switch`, LAMMPS `lj/gromacs`)."""

    cutoff_nm: float = 1.2
    coulomb: str = "pme"  # pme | ewald
    ewald_tolerance: float = 5e-4
    dispersion_correction: bool = True
    lj_switch_nm: float | None = None

    def __post_init__(self):
        if not self.cutoff_nm > 0:
            raise InputError(f"cutoff {self.cutoff_nm} nm is not positive")
        if self.lj_switch_nm is not None:
            if not 0.0 < self.lj_switch_nm < self.cutoff_nm:
                raise InputError(f"LJ switch distance {self.lj_switch_nm} nm is not between 0 and the "
                                 f"cutoff {self.cutoff_nm} nm")
            if self.dispersion_correction:
                raise InputError("the LJ force switch and the dispersion correction do not go together "
                                 "(the switched potential is zero beyond the cutoff; MARTINI uses neither)")

    @classmethod
    def from_options(cls, cutoff_nm: float = 1.2, dispersion_correction: bool | None = None,
                     lj_switch_nm: float | None = None) -> Nonbonded:
        """dispersion_correction None: on with plain truncation, off with the force switch (they exclude each other)."""
        if dispersion_correction is None:
            dispersion_correction = lj_switch_nm is None
        return cls(cutoff_nm=cutoff_nm, dispersion_correction=dispersion_correction, lj_switch_nm=lj_switch_nm)


@dataclass(frozen=True)
class CGModel:
    kind: str  # "vacg" | "drude" | "plain"
    bead_types: tuple[BeadType, ...]
    molecules: tuple[MoleculeType, ...]
    dielectric: Dielectric = Dielectric()
    drude: DrudeModel | None = None
    nonbonded: Nonbonded = Nonbonded()
    provenance: dict = field(default_factory=dict, compare=False, hash=False)

    @cached_property
    def _bead_types_by_name(self) -> dict[str, BeadType]:
        """Built once per model (a dict lookup per particle when a System is built, not a search)."""
        index: dict[str, BeadType] = {}
        for b in self.bead_types:
            index.setdefault(b.name, b)
        return index

    def bead_type(self, name: str) -> BeadType:
        try:
            return self._bead_types_by_name[name]
        except KeyError:
            raise KeyError(name) from None

    def molecule(self, name: str) -> MoleculeType:
        for m in self.molecules:
            if m.name == name:
                return m
        raise KeyError(name)

    def role(self, role: str) -> MoleculeType:
        for m in self.molecules:
            if m.role == role:
                return m
        raise KeyError(role)

    def epsilon_of(self, role: str, water_fraction: float) -> float:
        """ε that scales a charge of a molecule with this role (its square root does)."""
        if self.kind != "vacg":
            return 1.0
        eps = self.dielectric.eps_w if role == "water" else self.dielectric.eps_il
        return eps.at(water_fraction)

    def effective_charge(self, bead: str, role: str, water_fraction: float) -> float:
        """The charge an engine uses: q / sqrt(ε_role) (VaCG), else q."""
        return self.bead_type(bead).charge_e / math.sqrt(self.epsilon_of(role, water_fraction))

    def with_provenance(self, **extra) -> CGModel:
        return replace(self, provenance={**self.provenance, **extra})

    def with_lj(self, changes: dict[str, float]) -> CGModel:
        """The model with bead LJ parameters changed: keys `TARGET.sigma` (nm) or `TARGET.epsilon`
        (kJ/mol) set a value, `TARGET.sigma_scale` / `TARGET.epsilon_scale` multiply it; TARGET is a
        bead type or a role (cation, anion, water: all of its molecules' bead types). Recorded in
        the provenance (`lj`)."""
        beads = {b.name: b for b in self.bead_types}
        for key, value in changes.items():
            target, field_name, scale = _lj_key(key)
            names = ([n for m in self.molecules if m.role == target for n in m.beads] if target in ROLES
                     else [target])
            if not names or any(n not in beads for n in names):
                raise InputError(f"LJ change {key!r}: no bead type or role {target!r} in this model "
                                 f"(bead types: {', '.join(beads)})")
            for n in dict.fromkeys(names):
                old = getattr(beads[n], field_name)
                beads[n] = replace(beads[n], **{field_name: old * value if scale else value})
        lj = {**self.provenance.get("lj", {}), **changes}
        return replace(self, bead_types=tuple(beads[b.name] for b in self.bead_types)).with_provenance(lj=lj)

    # -- files -----------------------------------------------------------------------------

    def to_dict(self) -> dict:
        data = asdict(self)
        data["schema"] = SCHEMA
        return data

    def sha256(self) -> str:
        body = {k: v for k, v in self.to_dict().items() if k != "provenance"}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def save(self, directory: str | Path) -> Path:
        from polcg.io import write_json_atomic

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        path = out / MODEL_FILE
        write_json_atomic(path, {**self.to_dict(), "model_sha256": self.sha256()})
        return path

    @classmethod
    def from_dict(cls, data: dict, source: str = "model") -> CGModel:
        if data.get("schema") != SCHEMA:
            raise InputError(f"{source}: not a polcg CG model (schema {data.get('schema')!r}, want {SCHEMA})")
        try:
            return cls(
                kind=data["kind"],
                bead_types=tuple(BeadType(**b) for b in data["bead_types"]),
                molecules=tuple(_molecule(m) for m in data["molecules"]),
                dielectric=Dielectric(**{k: Epsilon.from_dict(v) for k, v in data["dielectric"].items()}),
                drude=DrudeModel(**data["drude"]) if data.get("drude") else None,
                nonbonded=Nonbonded(**data["nonbonded"]),
                provenance=dict(data.get("provenance", {})),
            )
        except (KeyError, TypeError) as exc:
            raise InputError(f"{source}: malformed CG model: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> CGModel:
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no CG model here (run `polcg model build ... --out DIR`)") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: cannot read CG model: {exc}") from None
        return cls.from_dict(data, str(path))


ROLES = ("cation", "anion", "water")
LJ_FIELDS = {"sigma": "sigma_nm", "epsilon": "epsilon_kj_mol"}


def _lj_key(key: str) -> tuple[str, str, bool]:
    """`TARGET.sigma|epsilon[_scale]` → (target, BeadType field, is a scale); InputError otherwise."""
    target, _, attr = key.partition(".")
    base = attr.removesuffix("_scale")
    if not target or base not in LJ_FIELDS:
        raise InputError(f"LJ change {key!r}: want BEAD.sigma, BEAD.epsilon, BEAD.sigma_scale or "
                         "BEAD.epsilon_scale (BEAD a bead type or cation/anion/water)")
    return target, LJ_FIELDS[base], attr.endswith("_scale")


def _molecule(raw: dict) -> MoleculeType:
    terms = {"bonds": Bond, "constraints": Constraint, "angles": Angle, "dihedrals": Dihedral}
    kw = {f.name: raw[f.name] for f in fields(MoleculeType) if f.name in raw}
    for key, typ in terms.items():
        kw[key] = tuple(typ(**t) for t in raw.get(key, ()))
    kw["beads"] = tuple(raw["beads"])
    kw["positions_nm"] = tuple(tuple(p) for p in raw["positions_nm"])
    return MoleculeType(**kw)
