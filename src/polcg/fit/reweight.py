"""Exact reweighting of VaCG runs to other dielectric constants (MBAR, pymbar).

In VaCG, ε only scales Coulomb energies: with the physical-charge Coulomb energies of the ions
among themselves (E_ii), of the waters (E_ww) and between them (E_iw),

    U(ε_IL, ε_W) = U_other + E_ii / ε_IL + E_ww / ε_W + E_iw / sqrt(ε_IL ε_W),

so every frame of a run at one (ε_IL, ε_W) has a known energy at any other. MBAR over all runs at
one composition then gives static averages (density, potential energy per pair) at any (ε_IL, ε_W)
with an uncertainty (the MBAR weights' variance over the effective sample size), and the Kish
effective sample size says whether the sampled states overlap
the new one enough to trust it. Frames are subsampled to uncorrelated ones first (pymbar's
statistical inefficiency of the potential energy), and pV cancels between states (same frame).
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openmm

from polcg.errors import InputError
from polcg.md.estimators import Estimate
from polcg.md.packing import Configuration
from polcg.md.system import GROUP_NONBONDED, build_system
from polcg.md.trajectory import Run
from polcg.units import AVOGADRO, KB_KJ_MOL_K

#: below this many effective samples a reweighted value is not used
MIN_EFFECTIVE_SAMPLES = 20


@dataclass(frozen=True)
class CoulombFrames:
    """Uncorrelated frames of one VaCG run: its ε, and per frame the total potential, the volume and
    the physical-charge Coulomb energies (kJ/mol, nm³)."""

    eps_il: float
    eps_w: float
    temperature_k: float
    n_pairs: int
    mass_u: float
    potential: np.ndarray
    volume_nm3: np.ndarray
    e_ii: np.ndarray
    e_ww: np.ndarray
    e_iw: np.ndarray

    def coulomb(self, eps_il: float, eps_w: float) -> np.ndarray:
        return self.e_ii / eps_il + self.e_ww / eps_w + self.e_iw / math.sqrt(eps_il * eps_w)

    def save(self, path: Path) -> None:
        np.savez(path, **{k: np.asarray(v) for k, v in self.__dict__.items()})

    @classmethod
    def load(cls, path: Path) -> CoulombFrames:
        with np.load(path) as d:
            scalars = {k: d[k].item() for k in ("eps_il", "eps_w", "temperature_k", "n_pairs", "mass_u")}
            return cls(**scalars, **{k: d[k] for k in ("potential", "volume_nm3", "e_ii", "e_ww", "e_iw")})


def coulomb_frames(run_dir: str | Path, platform: str = "CPU") -> CoulombFrames:
    """Decompose the Coulomb energy of every uncorrelated production frame of a VaCG run."""
    run = Run.open(run_dir)
    model, x = run.model, run.water_fraction
    if model.kind != "vacg":
        raise InputError(f"{run_dir}: reweighting in ε needs a VaCG model, not {model.kind}")
    state = run.state()
    keep = _uncorrelated(state["potential_kj_mol"])
    parts = run.particles
    q = run.physical_charges()
    is_water = np.array([p.role == "water" for p in parts])
    frames = [(c.positions_nm[i], c.box_nm[i]) for c in run.chunks() for i in range(c.time_ps.size)]
    frames = [frames[i] for i in keep]
    config = Configuration(run.composition, frames[0][0], tuple(frames[0][1]))
    energies = {}
    for name, charges in (("ions", np.where(is_water, 0.0, q)), ("water", np.where(is_water, q, 0.0)), ("all", q)):
        energies[name] = _coulomb_series(model, config, charges, frames, platform)
    return CoulombFrames(model.dielectric.eps_il.at(x), model.dielectric.eps_w.at(x), run.settings.temperature_k,
                         run.composition.n_pairs, sum(p.mass_u for p in parts), state["potential_kj_mol"][keep],
                         state["volume_nm3"][keep], energies["ions"], energies["water"],
                         energies["all"] - energies["ions"] - energies["water"])


def _pymbar():
    """pymbar, imported without its banner (it logs advice about JAX and timeseries on import)."""
    import logging

    logging.getLogger("pymbar").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()):
        import pymbar
        from pymbar import timeseries  # noqa: F401
    return pymbar


def _uncorrelated(series: np.ndarray) -> np.ndarray:
    timeseries = _pymbar().timeseries
    with contextlib.redirect_stdout(io.StringIO()):
        return np.asarray(timeseries.subsample_correlated_data(series))


def _coulomb_series(model, config, charges, frames, platform) -> np.ndarray:
    system, _ = build_system(model, config)
    nb = next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))
    nb.setUseDispersionCorrection(False)
    for i, qi in enumerate(charges):
        _, sigma, _ = nb.getParticleParameters(i)
        nb.setParticleParameters(i, float(qi), sigma, 0.0)
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName(platform))
    out = np.empty(len(frames))
    for k, (pos, box) in enumerate(frames):
        ctx.setPeriodicBoxVectors(*np.diag(box))
        ctx.setPositions(pos)
        out[k] = ctx.getState(getEnergy=True, groups={GROUP_NONBONDED}).getPotentialEnergy().value_in_unit(
            openmm.unit.kilojoule_per_mole)
    return out


def reweight(runs: list[CoulombFrames], eps_il: float, eps_w: float) -> dict[str, Estimate]:
    """Density (g/cm³) and potential energy per pair (kJ/mol) at (ε_IL, ε_W) from runs at one
    composition and temperature, with MBAR errors; 'effective_samples' says how far to trust them."""
    MBAR = _pymbar().MBAR  # noqa: N806

    temps = {r.temperature_k for r in runs}
    if len(temps) != 1:
        raise InputError("reweighting needs runs at one temperature")
    beta = 1.0 / (KB_KJ_MOL_K * temps.pop())
    other = np.concatenate([r.potential - r.coulomb(r.eps_il, r.eps_w) for r in runs])
    frames = [(r.e_ii, r.e_ww, r.e_iw) for r in runs]
    e_ii, e_ww, e_iw = (np.concatenate([f[i] for f in frames]) for i in range(3))

    def u(a, b):
        return beta * (other + e_ii / a + e_ww / b + e_iw / math.sqrt(a * b))

    u_kn = np.array([u(r.eps_il, r.eps_w) for r in runs])
    n_k = np.array([r.potential.size for r in runs])
    with contextlib.redirect_stdout(io.StringIO()):
        mbar = MBAR(u_kn, n_k, initialize="BAR" if len(runs) > 1 else "zeros")
    u_new = u(eps_il, eps_w)
    log_w = -u_new - _logsumexp(mbar.f_k[:, None] - u_kn, n_k)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    n_eff = float(1.0 / np.sum(w**2))
    volume = np.concatenate([r.volume_nm3 for r in runs])
    mass_g = runs[0].mass_u / AVOGADRO
    out = {"effective_samples": Estimate(n_eff, 0.0, f"Kish, of {int(n_k.sum())} uncorrelated frames")}
    for name, a_n in (("density_g_cm3", mass_g / (volume * 1e-21)),
                      ("potential_per_pair_kj_mol", (u_new / beta) / max(runs[0].n_pairs, 1))):
        out[name] = _expectation(w, a_n, n_eff)
    return out


def _expectation(w: np.ndarray, a: np.ndarray, n_eff: float) -> Estimate:
    """Weighted mean and its standard error (weighted variance over the effective sample size)."""
    mean = float(np.sum(w * a))
    var = float(np.sum(w * (a - mean) ** 2))
    return Estimate(mean, math.sqrt(var / max(n_eff, 1.0)), f"MBAR, {n_eff:.0f} effective samples")


def _logsumexp(a: np.ndarray, n_k: np.ndarray) -> np.ndarray:
    m = a.max(axis=0)
    return m + np.log(np.sum(n_k[:, None] * np.exp(a - m), axis=0))
