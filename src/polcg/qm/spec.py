"""What determines a QM calculation (`MethodSpec`, `QMJob`) and what it produced (`QMResult`).

Only what changes the answer goes into a job and its key; resources (threads, memory,
device) live in `RunConfig`. Coordinates are in Å, charges in e, energies in hartree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from polcg.qm.charge_schemes import CHARGE_SCHEMES

KEY_VERSION = 1  # bump when the meaning of a job key changes


@dataclass(frozen=True)
class MethodSpec:
    """A QM model chemistry plus the population scheme used for atomic charges.

    xc: a PySCF functional name, or "HF" for Hartree-Fock.
    basis / auxbasis: PySCF basis names; auxbasis is used when density_fit is true.
    grid_level: PySCF DFT grid level (0-9); ignored for HF.
    conv_tol: SCF energy convergence (hartree).
    embedding_scheme: the scheme whose charges a job also returns for embedding other jobs
    (GEBF background charges): NPA, as in GEBF (LSQC), whatever `scheme` reports; None means
    `scheme` itself. Hirshfeld charges (+0.61 e on [EtNH3]+) embed too weakly: GEBF then misses
    the full cluster by 0.014 e and 1.7 kcal/mol, with NPA embedding by 0.008 e and 0.5 kcal/mol.
    """

    xc: str = "M06-2X"
    basis: str = "6-31G**"
    auxbasis: str = "def2-universal-jkfit"
    grid_level: int = 3
    scheme: str = "npa"
    density_fit: bool = True
    conv_tol: float = 1e-9
    max_cycle: int = 100
    embedding_scheme: str | None = "npa"

    def __post_init__(self) -> None:
        names = CHARGE_SCHEMES.names()  # exact names: a spelling variant would change the job key
        for name in (self.scheme, self.embedding_scheme):
            if name is not None and name not in names:
                raise ValueError(f"unknown charge scheme {name!r}; choose from {', '.join(names)}")

    @property
    def background_scheme(self) -> str:
        """The scheme of the charges that embed other jobs."""
        return self.embedding_scheme or self.scheme

    @property
    def is_hf(self) -> bool:
        return self.xc.upper() in ("HF", "RHF", "UHF")

    def as_dict(self) -> dict:
        """The fields that determine a result; an embedding scheme equal to `scheme` is left out, so
        such jobs keep the keys they had before the field existed."""
        d = asdict(self)
        if self.background_scheme == self.scheme:
            d.pop("embedding_scheme")
        return d


def embedding_option(value: str) -> str | None:
    """A command-line background scheme: a scheme name, or 'same' (None: each scheme embeds with itself)."""
    return None if value == "same" else value


@dataclass(frozen=True)
class QMJob:
    """One QM calculation: a set of atoms with charge and spin, in a field of point charges.

    elements / coords_angstrom: the QM atoms. charge: net charge of the QM region (e).
    spin: 2S (number of unpaired electrons). bg_coords_angstrom / bg_charges: the
    background (embedding) point charges. label: a human name (not part of the key).
    guess: where a first SCF density may come from when none is kept for these atoms: options,
    best first, each a tuple of `polcg.qm.guess.GuessPart`s (not part of the key: a starting
    density changes the SCF cycles, not the answer).
    """

    elements: tuple[str, ...]
    coords_angstrom: tuple[tuple[float, float, float], ...]
    charge: int
    method: MethodSpec
    spin: int = 0
    bg_coords_angstrom: tuple[tuple[float, float, float], ...] = ()
    bg_charges: tuple[float, ...] = ()
    label: str = field(default="", compare=False)
    guess: tuple = field(default=(), compare=False)

    @classmethod
    def build(cls, elements, coords, charge, method, bg_coords=None, bg_charges=None, spin=0, label="", guess=()):
        """Build a job from arrays (coordinates rounded to 1e-8 Å, charges to 1e-10 e)."""
        def _pts(a):
            a = np.round(np.asarray(a, dtype=float).reshape(-1, 3), 8)
            return tuple(tuple(float(x) for x in row) for row in a)
        bgq = () if bg_charges is None else tuple(float(q) for q in np.round(np.asarray(bg_charges, float), 10))
        bgx = () if bg_coords is None else _pts(bg_coords)
        if len(bgq) != len(bgx):
            raise ValueError("QMJob: background charges and coordinates differ in length")
        return cls(tuple(elements), _pts(coords), int(charge), method, int(spin), bgx, bgq, label, tuple(guess))

    @property
    def natoms(self) -> int:
        return len(self.elements)

    def key(self) -> str:
        """sha256 of everything that determines the result (not the label)."""
        payload = {
            "v": KEY_VERSION,
            "elements": self.elements,
            "coords": self.coords_angstrom,
            "charge": self.charge,
            "spin": self.spin,
            "method": self.method.as_dict(),
            "bg_coords": self.bg_coords_angstrom,
            "bg_charges": self.bg_charges,
        }
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()

    def geometry_key(self) -> str:
        """Hash of the QM region and method without the embedding: names a reusable SCF guess."""
        payload = [self.elements, self.coords_angstrom, self.charge, self.spin, self.method.basis]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("guess")
        d["key"] = self.key()
        return d


@dataclass(frozen=True)
class QMResult:
    """What a QM job produced. energy_hartree includes the QM-background interaction but not
    the background-background energy (PySCF's QM/MM convention). dipole_au is the QM region's
    dipole (nuclei + electrons) about the coordinate origin, in e·bohr. embedding_charges are the
    method's embedding-scheme charges when that differs from `scheme` (empty otherwise)."""

    key: str
    label: str
    energy_hartree: float
    charges: tuple[float, ...]
    dipole_au: tuple[float, float, float]
    converged: bool
    scf_cycles: int
    wall_s: float
    backend: str
    versions: dict
    notes: tuple[str, ...] = ()
    embedding_charges: tuple[float, ...] = ()

    @property
    def background_charges(self) -> tuple[float, ...]:
        """Charges for embedding other jobs: those of the method's embedding scheme."""
        return self.embedding_charges or self.charges

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> QMResult:
        d = dict(d)
        d["charges"] = tuple(d["charges"])
        d["dipole_au"] = tuple(d["dipole_au"])
        d["notes"] = tuple(d.get("notes", ()))
        d["embedding_charges"] = tuple(d.get("embedding_charges", ()))
        return cls(**d)


@dataclass(frozen=True)
class RunConfig:
    """Resources for running jobs: never part of a job key.

    device: "auto" | "cpu" | "gpu" ("auto" is probed where the job runs). threads: per QM process
    (0: decided where the job runs, `jobs.executors.local_config`). memory_mb: PySCF max_memory
    (None: decided where the job runs). guess_dir: where SCF densities are kept to warm-start
    later jobs on the same atoms (None: no warm start). reuse: keep with each density its
    two-electron potential, and small density-fitting tensors, for later jobs on the same atoms
    (`polcg.qm.reuse`; CPU backend). check_cycle: PySCF's extra Fock build after convergence (its
    `conv_check`; off: the converged cycle's density and energy are the result). verbose: PySCF
    verbosity. None of these changes an answer beyond the SCF threshold.
    """

    device: str = "cpu"
    threads: int = 0
    memory_mb: int | None = 4000
    guess_dir: str | None = None
    verbose: int = 0
    reuse: bool = True
    check_cycle: bool = False
