"""Gas-phase ion pairs of a CG model, for the heat of vaporisation.

The vapour of an ionic liquid is neutral cation–anion pairs. `gas_pair_energy` simulates
`copies` isolated pairs side by side, `GAS_SPACING_NM` apart in one non-periodic system (no
cutoff, so the pairs' own Coulomb energy is exact; neutral pairs that far apart interact by
< 1e-4 kJ/mol), with the run's integrator (Langevin; Drude: cold-Drude dual thermostat), and
returns the mean potential energy per pair with its blocking error. The result is cached next to
the liquid run, keyed by everything that determines it, so a rerun of `polcg analyze` reuses it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import openmm
from scipy.spatial.transform import Rotation

from polcg.cg.model import CGModel
from polcg.errors import InputError
from polcg.io import write_json_atomic
from polcg.md.estimators import Estimate, block_average
from polcg.md.layout import Composition, molecule_order, particles
from polcg.md.packing import Configuration
from polcg.md.run import RunSettings, SimulationError, integrator_for
from polcg.md.system import build_system, minimized

GAS_SPACING_NM = 200.0
#: start distance (nm) between the cation's and the anion's centres
START_SEPARATION_NM = 0.6


@dataclass(frozen=True)
class GasSettings:
    temperature_k: float
    copies: int = 32
    equilibrate_ps: float = 100.0
    production_ps: float = 2000.0
    report_ps: float = 1.0
    timestep_fs: float | None = None  # None: the liquid run's default for the model
    seed: int = 1


def gas_pair_energy(model: CGModel, gas: GasSettings, cache_dir: Path | None = None,
                    platform: str = "CPU") -> Estimate:
    """Mean potential energy (kJ/mol) of one isolated ion pair, ± its standard error."""
    key = hashlib.sha256(json.dumps({"model": model.sha256(), **asdict(gas)}, sort_keys=True).encode()).hexdigest()
    cache = cache_dir / f"gas_{key[:16]}.json" if cache_dir else None
    if cache is not None and cache.is_file():
        d = json.loads(cache.read_text(encoding="utf-8"))
        return Estimate(d["value"], d["error"], d["detail"])
    series = _sample(model, gas, platform)
    est = block_average(series)
    est = Estimate(est.value, est.error, f"{gas.copies} pairs x {gas.production_ps:g} ps in vacuum; {est.detail}")
    if cache is not None:
        write_json_atomic(cache, {**asdict(est), "settings": asdict(gas), "model_sha256": model.sha256()})
    return est


def gas_configuration(model: CGModel, copies: int, seed: int) -> Configuration:
    """`copies` cation–anion pairs on a line, GAS_SPACING_NM apart, each randomly oriented."""
    comp = Composition(copies)
    mols = molecule_order(model, comp)
    rng = np.random.default_rng(seed)
    rot = Rotation.random(2 * copies, random_state=seed).as_matrix()
    centres = []
    for k in range(copies):
        u = rng.normal(size=3)
        centres.append(np.array([k * GAS_SPACING_NM, 0.0, 0.0]))
        centres.append(centres[-1] + START_SEPARATION_NM * u / np.linalg.norm(u))
    order = [2 * k for k in range(copies)] + [2 * k + 1 for k in range(copies)]  # cations, then anions
    beads = []
    for m, (mol, c) in enumerate(zip(mols, (centres[i] for i in order))):
        tmpl = np.asarray(mol.positions_nm)
        beads.extend((tmpl - tmpl.mean(axis=0)) @ rot[m].T + c)
    pos, k = [], 0
    for p in particles(model, comp):
        if p.is_drude:
            pos.append(pos[-1] + 1e-3 * rng.normal(size=3) / np.sqrt(3))
        else:
            pos.append(beads[k])
            k += 1
    return Configuration(comp, np.asarray(pos), None)


def _sample(model: CGModel, gas: GasSettings, platform: str) -> np.ndarray:
    if gas.copies < 1 or gas.production_ps <= 0 or gas.report_ps <= 0:
        raise InputError("gas-phase run: need >= 1 pair copy and positive production and report times")
    settings = RunSettings(n_pairs=gas.copies, temperature_k=gas.temperature_k, pressure_bar=None,
                           timestep_fs=gas.timestep_fs, seed=gas.seed)
    config = minimized(model, gas_configuration(model, gas.copies, gas.seed), platform=platform)
    system, _ = build_system(model, config)
    integ = integrator_for(model, settings)
    ctx = openmm.Context(system, integ, openmm.Platform.getPlatformByName(platform))
    ctx.setPositions(config.positions_nm)
    ctx.setVelocitiesToTemperature(gas.temperature_k * openmm.unit.kelvin, gas.seed)
    dt_ps = settings.timestep(model) * 1e-3
    every = max(1, round(gas.report_ps / dt_ps))
    integ.step(round(gas.equilibrate_ps / dt_ps))
    n = round(gas.production_ps / dt_ps) // every
    out = np.empty(n)
    for i in range(n):
        integ.step(every)
        out[i] = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
            openmm.unit.kilojoule_per_mole) / gas.copies
    if not np.all(np.isfinite(out)):
        raise SimulationError("gas-phase ion-pair run blew up (non-finite energy): use a smaller time step")
    return out
