"""OpenMM runs of a CG model: build the box, minimise, equilibrate (NPT), produce; resumable.

A run directory holds `model.json`, `settings.json`, `start.pdb`, `system.xml`, the checkpoint
`state.chk` with `progress.json`, and `traj/<stage>_<k>.dcd|.csv` per segment. A segment's files
are complete before the checkpoint that follows them is written, so a killed run restarts from
the last checkpoint and rewrites only the unfinished segment: the trajectory continues without a
gap or a duplicated frame. Positions in the DCD files are unwrapped (molecules whole, for MSDs).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import openmm
from openmm import app, unit

from polcg.cg.model import CGModel
from polcg.errors import InputError, PolcgError
from polcg.io import atomic_path, write_json_atomic
from polcg.md.layout import Composition
from polcg.md.packing import lattice_box
from polcg.md.system import build_system, minimized
from polcg.units import AVOGADRO, KB_KJ_MOL_K

#: a Drude temperature above this (K) means the cold-Drude thermostat lost control
DRUDE_RUNAWAY_K = 50.0
PLATFORMS = ("CUDA", "OpenCL", "CPU", "Reference")


#: Drude models: the automatic step gives at least this many steps per core–Drude period
#: (benchmarks/drude_timestep.py: cold Drudes below ~2 K and no blow-up from ~6 steps on)
AUTO_STEPS_PER_PERIOD = 6.0


def drude_timestep_fs(model: CGModel) -> float:
    """The largest multiple of 0.5 fs (at most 10 fs) with AUTO_STEPS_PER_PERIOD steps in the
    shortest bead–Drude oscillation period of the model: 1 fs for the CHARMM-style spring
    (4184 kJ mol⁻¹ Å⁻², 0.4 u), 5 fs for polcg's default (1046, 3.2 u)."""
    from polcg.polarizabilities.drude import oscillation_period_fs

    k_a2 = model.drude.k_drude_kj_mol_nm2 / 100.0
    m_d = model.drude.drude_mass_u
    period = min(oscillation_period_fs(k_a2, m_d, b.mass_u - m_d) for b in model.bead_types if b.alpha_nm3 > 0)
    return max(0.5, min(10.0, math.floor(2.0 * period / AUTO_STEPS_PER_PERIOD) / 2.0))


class SimulationError(PolcgError):
    """A run became unphysical (NaN energy, hot Drudes)."""


@dataclass(frozen=True)
class RunSettings:
    n_pairs: int
    water_fraction: float = 0.0
    n_water: int | None = None  # water-model molecules, instead of water_fraction (n_pairs 0: water alone)
    temperature_k: float = 298.15
    pressure_bar: float | None = 1.0  # None: NVT throughout
    ensemble: str = "npt"  # production ensemble (npt | nvt); equilibration is NPT when a pressure is set
    equilibrate_ps: float = 1000.0
    production_ps: float = 5000.0
    timestep_fs: float | None = None  # None: 10 fs fixed-charge; Drude: from the Drude period (drude_timestep_fs)
    report_ps: float = 10.0
    segment_ps: float = 100.0
    friction_per_ps: float = 1.0
    start_density_g_cm3: float = 1.0
    seed: int = 1
    platform: str = "auto"

    def timestep(self, model: CGModel) -> float:
        return self.timestep_fs or (drude_timestep_fs(model) if model.drude is not None else 10.0)

    def composition(self, model: CGModel) -> Composition:
        if self.n_water is None:
            return Composition.from_water_fraction(model, self.n_pairs, self.water_fraction)
        if self.n_water < 0 or self.n_pairs < 0 or self.n_water + self.n_pairs == 0:
            raise InputError(f"need molecules: {self.n_pairs} pairs and {self.n_water} waters")
        if self.n_water:
            try:
                model.role("water")
            except KeyError:
                raise InputError("the model has no water; build it with --water to simulate water") from None
        return Composition(self.n_pairs, self.n_water)


@dataclass(frozen=True)
class RunResult:
    directory: Path
    platform: str
    ns_per_day: float
    frames: int


def simulate(model: CGModel, settings: RunSettings, out: str | Path, max_segments: int | None = None,
             progress=None, threads: int | None = None) -> RunResult:
    """Run (or continue) `settings` for `model` in `out`. `max_segments` stops early (tests); `threads`
    caps the CPU platform's threads (None: OpenMM's default, OPENMM_CPU_THREADS or every core)."""
    out = Path(out)
    _check(model, settings)
    simulation, platform = _prepare(model, settings, out, threads)
    stages = _stages(settings, model)
    done = json.loads((out / "progress.json").read_text())["segments"] if (out / "progress.json").exists() else 0
    run_segments, t0, steps_run = 0, time.perf_counter(), 0
    for k, (stage, n_steps, report_every, barostat) in enumerate(stages):
        if k < done:
            continue
        if max_segments is not None and run_segments >= max_segments:
            break
        _segment(simulation, model, out, stage, k, n_steps, report_every, barostat, settings)
        _save(simulation, out)
        write_json_atomic(out / "progress.json", {"segments": k + 1, "of": len(stages), "stage": stage})
        run_segments, steps_run = run_segments + 1, steps_run + n_steps
        if progress:
            progress(k + 1, len(stages))
    elapsed = time.perf_counter() - t0
    ns_day = steps_run * settings.timestep(model) * 1e-6 / elapsed * 86400 if steps_run else float("nan")
    frames = sum(max(0, len(f.read_text().splitlines()) - 1) for f in (out / "traj").glob("prod_*.csv"))
    _provenance(out, model, settings, platform, ns_day)
    return RunResult(out, platform, ns_day, frames)


def _check(model: CGModel, s: RunSettings) -> None:
    if (s.n_pairs < 1 and not s.n_water) or s.temperature_k <= 0 or s.equilibrate_ps < 0 or s.production_ps <= 0:
        raise InputError("need >= 1 pair (or waters), T > 0, equilibrate >= 0 and production > 0")
    if s.ensemble not in ("npt", "nvt"):
        raise InputError(f"ensemble {s.ensemble!r}: choose npt or nvt")
    if s.report_ps <= 0 or s.segment_ps < s.report_ps:
        raise InputError("report interval must be positive and no longer than a segment")
    dt_ps = s.timestep(model) * 1e-3
    if abs(s.segment_ps / s.report_ps - round(s.segment_ps / s.report_ps)) > 1e-9 or s.report_ps < dt_ps:
        raise InputError("a segment must hold a whole number of report intervals of >= 1 step")


def _stages(s: RunSettings, model: CGModel) -> list[tuple[str, int, int, bool]]:
    """(stage, steps, report interval in steps, barostat on) per segment."""
    dt_ps = s.timestep(model) * 1e-3
    report = max(1, round(s.report_ps / dt_ps))
    seg = report * round(s.segment_ps / s.report_ps)
    out = []
    npt = s.pressure_bar is not None
    plan = (("equil", s.equilibrate_ps, npt), ("prod", s.production_ps, npt and s.ensemble == "npt"))
    for stage, total_ps, baro in plan:
        steps = round(total_ps / dt_ps)
        out += [(stage, seg, report, baro)] * (steps // seg)
        rest = steps % seg // report * report
        if rest:
            out.append((stage, rest, report, baro))
    return out


def _prepare(model: CGModel, s: RunSettings, out: Path, threads: int | None = None):
    settings_file = out / "settings.json"
    record = {"settings": asdict(s), "model_sha256": model.sha256()}
    if settings_file.exists() and not _same_run(json.loads(settings_file.read_text()), record):
        raise InputError(f"{out}: holds a run with other settings or another model; use a new --out")
    comp = s.composition(model)
    if (out / "state.chk").exists():
        config = lattice_box(model, comp, s.start_density_g_cm3, s.seed)  # topology only; state from checkpoint
    else:  # new, or killed before its first checkpoint: start again from the minimised lattice
        out.mkdir(parents=True, exist_ok=True)
        model.save(out)
        config = minimized(model, lattice_box(model, comp, s.start_density_g_cm3, s.seed, drude_offset_nm=0.001))
        write_json_atomic(settings_file, record)
    system, topology = build_system(model, config)
    system.addForce(openmm.CMMotionRemover())
    if s.pressure_bar is not None:
        baro = openmm.MonteCarloBarostat(s.pressure_bar * unit.bar, s.temperature_k * unit.kelvin, 25)
        baro.setRandomNumberSeed(s.seed)
        system.addForce(baro)
    integrator = integrator_for(model, s)
    platform = _platform(s.platform)
    props = {"Precision": "mixed"} if platform.getName() in ("CUDA", "OpenCL") else {}
    if threads and platform.getName() == "CPU":
        props["Threads"] = str(threads)
    simulation = app.Simulation(topology, system, integrator, platform, props)
    if (out / "state.chk").exists():
        _restore(simulation, out, _steps_done(out, s, model))
    else:
        (out / "system.xml").write_text(openmm.XmlSerializer.serialize(system))
        with open(out / "start.pdb", "w") as fh:
            app.PDBFile.writeFile(topology, config.positions_nm * unit.nanometer, fh, keepIds=True)
        simulation.context.setPositions(config.positions_nm)
        simulation.context.setVelocitiesToTemperature(s.temperature_k * unit.kelvin, s.seed)
        _warm_up(simulation)
    return simulation, platform.getName()


def _same_run(stored: dict, record: dict) -> bool:
    """Whether a run directory's record is this run's; the platform may differ (a run continues on
    another platform from its portable state)."""
    def strip(r):
        return {**r, "settings": {k: v for k, v in r["settings"].items() if k != "platform"}}
    return strip(stored) == strip(record)


def _save(simulation: app.Simulation, out: Path) -> None:
    """The platform's checkpoint (exact continuation, RNG included) and a portable XML State (positions,
    velocities, box, step), each written to a temporary file and renamed, so a kill leaves the last pair."""
    for name, save in (("state.chk", simulation.saveCheckpoint), ("state.xml", simulation.saveState)):
        with atomic_path(out / name) as tmp:
            save(str(tmp))


def _steps_done(out: Path, s: RunSettings, model: CGModel) -> int:
    done = json.loads((out / "progress.json").read_text())["segments"] if (out / "progress.json").exists() else 0
    return sum(n for _, n, _, _ in _stages(s, model)[:done])


def _restore(simulation: app.Simulation, out: Path, steps: int) -> None:
    """Continue from the checkpoint; where it is another platform's, from the portable state, when that
    state is the one the finished segments end at; else refuse in one line."""
    try:
        simulation.loadCheckpoint(str(out / "state.chk"))
        return
    except Exception as exc:  # OpenMMException: written by another platform (or another build)
        why = " ".join(str(exc).split())[:160]
    if not (out / "state.xml").exists():
        raise InputError(f"{out}: its checkpoint cannot be loaded on {simulation.context.getPlatform().getName()} "
                         f"({why}) and it has no portable state.xml; continue it with its own --platform")
    simulation.loadState(str(out / "state.xml"))
    if simulation.currentStep != steps:
        raise InputError(f"{out}: state.xml is at step {simulation.currentStep}, the finished segments end at "
                         f"{steps}; continue it with its own --platform")


#: (fraction of the time step, steps) run from the minimised start before anything is recorded
WARM_UP = ((0.1, 2000), (0.5, 1000))


def _warm_up(sim: app.Simulation) -> None:
    """Short runs at reduced time steps from the minimised lattice: its residual strain would
    otherwise meet the full CG step in the first steps (seen: NaN within 5 ps at 10 fs). The clock
    is reset afterwards, so the run's time starts at 0 when equilibration does."""
    integ = sim.integrator
    dt = integ.getStepSize()
    try:
        for frac, steps in WARM_UP:
            integ.setStepSize(dt * frac)
            integ.step(steps)
    except openmm.OpenMMException as exc:
        raise SimulationError(f"warm-up from the minimised start: OpenMM stopped ({' '.join(str(exc).split())}): "
                              "the run blew up; use a smaller --timestep") from None
    finally:
        integ.setStepSize(dt)
    sim.context.setTime(0.0)
    sim.currentStep = 0


def integrator_for(model: CGModel, s: RunSettings) -> openmm.Integrator:
    """Langevin (middle) for fixed-charge models; cold-Drude dual Langevin (1 K, 20 ps⁻¹) with the
    model's hard wall for Drude models."""
    dt = s.timestep(model) * unit.femtosecond
    if model.drude is not None:
        integ = openmm.DrudeLangevinIntegrator(s.temperature_k * unit.kelvin, s.friction_per_ps / unit.picosecond,
                                               1.0 * unit.kelvin, 20.0 / unit.picosecond, dt)
        integ.setMaxDrudeDistance(model.drude.max_drude_distance_nm)
    else:
        integ = openmm.LangevinMiddleIntegrator(s.temperature_k * unit.kelvin, s.friction_per_ps / unit.picosecond, dt)
    integ.setRandomNumberSeed(s.seed)
    return integ


def platform_name(name: str) -> str:
    """The OpenMM platform a run asking for `name` ("auto" or a platform) gets here."""
    return _platform(name).getName()


def _platform(name: str) -> openmm.Platform:
    names = [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]
    if name != "auto":
        if name not in names:
            raise InputError(f"platform {name!r} is not available here ({', '.join(names)})")
        return openmm.Platform.getPlatformByName(name)
    for cand in PLATFORMS:
        if cand in names:
            probe = openmm.System()
            probe.addParticle(1.0)  # a Context of an empty System fails on every platform
            try:
                ctx = openmm.Context(probe, openmm.VerletIntegrator(1.0), openmm.Platform.getPlatformByName(cand))
                del ctx
                return openmm.Platform.getPlatformByName(cand)
            except Exception:  # noqa: BLE001 - a listed platform without a usable device
                continue
    raise InputError("no usable OpenMM platform")


def _segment(sim: app.Simulation, model: CGModel, out: Path, stage: str, k: int, n_steps: int, every: int,
             barostat: bool, s: RunSettings) -> None:
    for force in sim.system.getForces():
        if isinstance(force, openmm.MonteCarloBarostat) and (force.getFrequency() > 0) != barostat:
            force.setFrequency(25 if barostat else 0)
            sim.context.reinitialize(preserveState=True)
    (out / "traj").mkdir(exist_ok=True)
    dcd, csv = out / "traj" / f"{stage}_{k:04d}.dcd", out / "traj" / f"{stage}_{k:04d}.csv"
    sim.reporters = [app.DCDReporter(str(dcd), every, enforcePeriodicBox=False),
                     StateCSV(csv, every, model, sim.system)]
    try:
        sim.step(n_steps)
    except openmm.OpenMMException as exc:
        raise SimulationError(f"{stage} segment {k}: OpenMM stopped ({' '.join(str(exc).split())}): the run blew "
                              "up; use a smaller --timestep") from None
    finally:
        for r in sim.reporters:
            r.close() if hasattr(r, "close") else None
        sim.reporters = []


class StateCSV:
    """time, energies, temperature (and the Drude temperature), volume, density; checks for blow-ups."""

    def __init__(self, path: Path, interval: int, model: CGModel, system: openmm.System):
        self.interval, self.model = interval, model
        self.fh = open(path, "w", encoding="utf-8")
        self.fh.write("step,time_ps,potential_kj_mol,kinetic_kj_mol,temperature_k,drude_temperature_k,"
                      "volume_nm3,density_g_cm3\n")
        self.mass_u = sum(system.getParticleMass(i)._value for i in range(system.getNumParticles()))
        massive = sum(1 for i in range(system.getNumParticles()) if system.getParticleMass(i)._value > 0)
        self.dof = 3 * massive - system.getNumConstraints() - 3

    def describeNextReport(self, simulation):
        steps = self.interval - simulation.currentStep % self.interval
        return (steps, False, False, False, True)

    def report(self, simulation, state):
        pe = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        ke = state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        integ = simulation.integrator
        if isinstance(integ, openmm.DrudeLangevinIntegrator):
            temp, t_drude = integ.computeSystemTemperature()._value, integ.computeDrudeTemperature()._value
        else:
            temp, t_drude = 2 * ke / (self.dof * KB_KJ_MOL_K), float("nan")
        vol = state.getPeriodicBoxVolume().value_in_unit(unit.nanometer**3)
        rho = self.mass_u / AVOGADRO / (vol * 1e-21)
        time_ps = state.getTime().value_in_unit(unit.picosecond)
        self.fh.write(f"{simulation.currentStep},{time_ps:.6f},{pe:.6f},{ke:.6f},{temp:.4f},{t_drude:.4f},"
                      f"{vol:.6f},{rho:.6f}\n")
        self.fh.flush()
        if not math.isfinite(pe):
            raise SimulationError(f"energy is {pe} at step {simulation.currentStep}: the run blew up; "
                                  "use a smaller --timestep")
        if t_drude > DRUDE_RUNAWAY_K:
            raise SimulationError(f"Drude temperature {t_drude:.1f} K at step {simulation.currentStep} (> "
                                  f"{DRUDE_RUNAWAY_K:.0f} K): the cold-Drude thermostat lost control; "
                                  "use a smaller --timestep or a softer spring")

    def close(self):
        self.fh.close()


def _provenance(out: Path, model: CGModel, s: RunSettings, platform: str, ns_day: float) -> None:
    import polcg

    write_json_atomic(out / "provenance.json", {
        "polcg": polcg.__version__, "openmm": openmm.version.full_version, "platform": platform,
        "precision": {"CUDA": "mixed", "OpenCL": "mixed", "Reference": "double"}.get(platform, "mixed (CPU)"),
        "model_sha256": model.sha256(), "settings": asdict(s), "timestep_fs": s.timestep(model),
        "ns_per_day_last_invocation": ns_day,
        "start": "cubic lattice of randomly rotated molecules, OpenMM-minimised, then warm-up steps "
                 + ", ".join(f"{n} x {f:g} dt" for f, n in WARM_UP),
    })


def read_state(out: str | Path) -> np.ndarray:
    """All state rows of a run (production and equilibration, in order) as a structured array."""
    files = sorted(Path(out, "traj").glob("*.csv"), key=lambda p: (p.stem.split("_")[0] != "equil", p.stem))
    rows = [np.genfromtxt(f, delimiter=",", names=True) for f in files]
    return np.concatenate([np.atleast_1d(r) for r in rows]) if rows else np.array([])

