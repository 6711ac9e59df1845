"""A finished (or partly finished) run of `polcg simulate`, read back for analysis.

`Run.open(dir)` checks the directory and gives the model, the settings, the particle list and the
completed production segments; `Run.chunks()` yields their frames one segment at a time
(unwrapped positions, nm; box edges, nm; time, ps), so that analyses never hold more than one
segment of full-resolution coordinates. Only segments whose checkpoint was written are read:
the segment a killed run was in the middle of is ignored.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polcg.cg.model import CGModel
from polcg.errors import InputError
from polcg.md.layout import Composition, Particle, particles
from polcg.md.run import RunSettings
from polcg.units import ANGSTROM_TO_NM


@dataclass(frozen=True)
class Chunk:
    """One production segment: F frames of N particles."""

    time_ps: np.ndarray  # (F,)
    positions_nm: np.ndarray  # (F, N, 3), unwrapped
    box_nm: np.ndarray  # (F, 3), orthorhombic edges


@dataclass(frozen=True)
class Run:
    directory: Path
    model: CGModel
    settings: RunSettings
    composition: Composition
    particles: tuple[Particle, ...]
    segments: tuple[tuple[Path, Path], ...]  # completed production (dcd, csv), in order
    finished: bool  # every planned segment done

    @classmethod
    def open(cls, directory: str | Path) -> Run:
        d = Path(directory)
        for name in ("model.json", "settings.json", "progress.json"):
            if not (d / name).is_file():
                raise InputError(f"{d}: not a polcg run directory ({name} missing; run `polcg simulate` first)")
        model = CGModel.load(d)
        try:
            record = json.loads((d / "settings.json").read_text(encoding="utf-8"))
            settings = RunSettings(**record["settings"])
            progress = json.loads((d / "progress.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{d}: unreadable run record: {exc}") from None
        if record.get("model_sha256") != model.sha256():
            raise InputError(f"{d}: model.json does not match the model the run was made with")
        done = int(progress["segments"])
        segments = []
        for dcd in sorted((d / "traj").glob("prod_*.dcd")):
            k = int(dcd.stem.split("_")[1])
            csv = dcd.with_suffix(".csv")
            if k < done and csv.is_file():
                segments.append((dcd, csv))
        if not segments:
            raise InputError(f"{d}: no finished production segment yet")
        comp = settings.composition(model)
        return cls(d, model, settings, comp, tuple(particles(model, comp)), tuple(segments),
                   done == int(progress["of"]))

    @property
    def water_fraction(self) -> float:
        return self.composition.water_fraction(self.model)

    def state(self) -> np.ndarray:
        """State rows (time, energies, temperature, volume, density) of the completed production."""
        rows = [np.atleast_1d(np.genfromtxt(csv, delimiter=",", names=True)) for _, csv in self.segments]
        return np.concatenate(rows)

    def frame_interval_ps(self) -> float:
        t = self.state()["time_ps"]
        if t.size < 2:
            raise InputError(f"{self.directory}: fewer than two production frames")
        dt = np.diff(t)
        if not np.allclose(dt, dt[0], rtol=1e-6, atol=1e-9):
            raise InputError(f"{self.directory}: production frames are not evenly spaced in time")
        return float(dt[0])

    def chunks(self) -> Iterator[Chunk]:
        from mdtraj.formats import DCDTrajectoryFile

        n = len(self.particles)
        for dcd, csv in self.segments:
            with _quiet_stdout(), DCDTrajectoryFile(str(dcd)) as fh:
                xyz, lengths, _ = fh.read()
            t = np.atleast_1d(np.genfromtxt(csv, delimiter=",", names=True)["time_ps"])
            if xyz.shape[1] != n or xyz.shape[0] != t.size:
                raise InputError(f"{dcd}: {xyz.shape[0]} frames of {xyz.shape[1]} particles, expected "
                                 f"{t.size} of {n} (from {csv.name} and the model)")
            yield Chunk(t, xyz.astype(np.float64) * ANGSTROM_TO_NM, lengths.astype(np.float64) * ANGSTROM_TO_NM)

    def physical_charges(self) -> np.ndarray:
        """Per-particle charges before the VaCG ε scaling (e): the charges that carry current."""
        x = self.water_fraction
        return np.array([p.charge_e * math.sqrt(self.model.epsilon_of(p.role, x)) for p in self.particles])


@contextlib.contextmanager
def _quiet_stdout():
    """Silence the C-level chatter of mdtraj's DCD plugin (it writes to file descriptor 1)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
