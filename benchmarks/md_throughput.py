"""MD throughput: ns/day of `polcg simulate` for VaCG and Drude [C4mim][PF6] boxes, beside the
ns/day of a bare OpenMM System with the same particles and forces built here, without polcg
(the floor polcg's own overhead — reporters, checkpoints, segments — is measured against).

    python benchmarks/md_throughput.py [--pairs 500,2000,10000] [--kinds vacg,drude] [--platform auto]

Writes JSON (default benchmarks/results/md_throughput_<platform>.json). Each timing runs a fixed
number of steps after a warm-up; step counts scale down with size so that a point takes ~1 min
on two CPU cores.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import openmm
from openmm import unit

from polcg.cg.builders import IonsSpec, build_drude, build_vacg
from polcg.md.packing import lattice_box
from polcg.md.run import RunSettings, simulate

#: steps timed per point at 500 pairs; scaled by 500 / pairs, at least 50
STEPS_500 = {"vacg": 4000, "drude": 1000}


def bare_system(model, config):
    """The same System as polcg builds, written out here with plain OpenMM calls."""
    parts = config.particles(model)
    system = openmm.System()
    for p in parts:
        system.addParticle(p.mass_u)
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) for row in np.diag(config.box_nm)))
    nb = openmm.NonbondedForce()
    nb.setNonbondedMethod(openmm.NonbondedForce.PME)
    nb.setCutoffDistance(model.nonbonded.cutoff_nm)
    nb.setEwaldErrorTolerance(model.nonbonded.ewald_tolerance)
    nb.setUseDispersionCorrection(True)
    drude = openmm.DrudeForce() if model.drude else None
    start = 0
    while start < len(parts):
        end = start
        while end < len(parts) and parts[end].molecule == parts[start].molecule:
            end += 1
        for i in range(start, end):
            p = parts[i]
            bt = model.bead_type(p.type_name[1:] if p.is_drude else p.type_name)
            if p.is_drude:
                nb.addParticle(p.charge_e, 1.0, 0.0)
                drude.addParticle(i, i - 1, -1, -1, -1, p.charge_e, bt.alpha_nm3, 1.0, 1.0)
            else:
                nb.addParticle(p.charge_e, bt.sigma_nm or 1.0, bt.epsilon_kj_mol)
        for i, j in itertools.combinations(range(start, end), 2):
            nb.addException(i, j, 0.0, 1.0, 0.0)
        mol = model.molecule(parts[start].mol_type)
        cores = [i for i in range(start, end) if not parts[i].is_drude]
        for c in mol.constraints:
            system.addConstraint(cores[c.i], cores[c.j], c.r0_nm)
        if drude is not None:
            ds = [drude_index for drude_index in range(drude.getNumParticles())
                  if start <= drude.getParticleParameters(drude_index)[0] < end]
            for a, b in itertools.combinations(ds, 2):
                ta, tb = (model.bead_type(parts[drude.getParticleParameters(d)[0]].type_name[1:]).thole
                          for d in (a, b))
                drude.addScreenedPair(a, b, 0.5 * (ta + tb))
        start = end
    system.addForce(nb)
    if drude is not None:
        system.addForce(drude)
    system.addForce(openmm.CMMotionRemover())
    system.addForce(openmm.MonteCarloBarostat(1.0 * unit.bar, 298.15 * unit.kelvin, 25))
    return system


def bare_ns_per_day(model, config, state, settings, steps, platform) -> float:
    from polcg.md.run import integrator_for

    system = bare_system(model, config)
    integ = integrator_for(model, settings)
    props = {"Precision": "mixed"} if platform.getName() in ("CUDA", "OpenCL") else {}
    ctx = openmm.Context(system, integ, platform, props)
    ctx.setPeriodicBoxVectors(*state.getPeriodicBoxVectors())
    ctx.setPositions(state.getPositions())
    ctx.setVelocitiesToTemperature(settings.temperature_k * unit.kelvin, 1)
    integ.step(max(10, steps // 10))
    ctx.getState(getEnergy=True)
    t0 = time.perf_counter()
    integ.step(steps)
    ctx.getState(getEnergy=True)
    return steps * settings.timestep(model) * 1e-6 / (time.perf_counter() - t0) * 86400


def point(kind: str, pairs: int, platform_name: str) -> dict:
    model = build_vacg(IonsSpec("C4mim", "PF6"), water=None) if kind == "vacg" else build_drude(IonsSpec("C4mim",
                                                                                                       "PF6"))
    steps = max(50, STEPS_500[kind] * 500 // pairs)
    dt_fs = RunSettings(n_pairs=1).timestep(model)  # the default step: 10 fs VaCG, Drude from its period
    report = steps * dt_fs * 1e-3 / 5  # five frames and state rows per timing
    with tempfile.TemporaryDirectory() as tmp:
        warm = RunSettings(n_pairs=pairs, equilibrate_ps=0.0, production_ps=report * 5, report_ps=report,
                           segment_ps=report * 5, timestep_fs=dt_fs, platform=platform_name)
        res = simulate(model, warm, Path(tmp) / "timed")  # timed over its steps, not its set-up
        platform = openmm.Platform.getPlatformByName(res.platform)
        config = lattice_box(model, warm.composition(model), warm.start_density_g_cm3, warm.seed)
        state = _checkpoint_state(model, config, warm, Path(tmp) / "timed" / "state.chk", platform)
        bare = bare_ns_per_day(model, config, state, warm, steps, platform)
    return {"kind": kind, "pairs": pairs, "particles": len(config.particles(model)), "timestep_fs": dt_fs,
            "steps": steps, "platform": res.platform, "polcg_ns_per_day": res.ns_per_day,
            "bare_openmm_ns_per_day": bare, "polcg_over_bare": res.ns_per_day / bare}


def _checkpoint_state(model, config, settings, chk: Path, platform):
    from polcg.md.run import integrator_for
    from polcg.md.system import build_system

    system, _ = build_system(model, config)
    system.addForce(openmm.MonteCarloBarostat(1.0 * unit.bar, 298.15 * unit.kelvin, 25))
    system.addForce(openmm.CMMotionRemover())
    ctx = openmm.Context(system, integrator_for(model, settings), platform)
    ctx.loadCheckpoint(chk.read_bytes())
    return ctx.getState(getPositions=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", default="500,2000,10000")
    ap.add_argument("--kinds", default="vacg,drude")
    ap.add_argument("--platform", default="auto")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = []
    for kind in args.kinds.split(","):
        for pairs in (int(p) for p in args.pairs.split(",")):
            rows.append(point(kind, pairs, args.platform))
            print(json.dumps(rows[-1]))
    out = args.out or Path(__file__).parent / "results" / f"md_throughput_{rows[0]['platform']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"openmm": openmm.version.full_version, "points": rows}, indent=1))


if __name__ == "__main__":
    main()
