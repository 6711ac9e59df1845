"""The dielectric fit: surrogate loop on analytic stand-ins with known optima, ε(x) forms, MBAR
reweighting against direct simulations, targets and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from polcg.cg.builders import IonsSpec, build_vacg
from polcg.cg.model import Epsilon, Nonbonded
from polcg.cli import app
from polcg.errors import InputError
from polcg.fit.epsilon_forms import fit_epsilon
from polcg.fit.loop import Evaluation, FitTarget, LoopSettings, run_loop
from polcg.fit.reweight import coulomb_frames, reweight
from polcg.fit.targets import default_targets_path, read_targets
from polcg.md.estimators import block_average
from polcg.md.run import RunSettings, read_state, simulate

NOISE = 0.002


def _density(p):
    """An analytic stand-in: density falls with ln ε_IL and ln ε_W, differently at each x."""
    return 1.30 - 0.12 * (1 - p.x) * np.log(p.eps_il) - 0.08 * p.x * np.log(p.eps_w)


def _stand_in(calls):
    def evaluate(points):
        rng = np.random.default_rng(len(calls))
        calls.extend(points)
        return [Evaluation(p, {"density_g_cm3": (_density(p) + NOISE * rng.standard_normal(), NOISE)})
                for p in points]
    return evaluate


def test_loop_finds_a_known_optimum_with_fewer_runs_than_a_grid():
    best = 2.1
    value = 1.30 - 0.12 * np.log(best)
    calls = []
    res, evals = run_loop(LoopSettings(xs=(0.0,), budget=15, bounds_il=(1.0, 4.0)),
                          {0.0: [FitTarget("density_g_cm3", value, 0.004, 1.0)]}, _stand_in(calls))
    (r,) = res
    # a grid resolving ±0.1 over [1, 4] needs 15 points; the loop stops on expected improvement
    assert len(evals) == len(calls) < 15
    assert r.optimum["eps_il"] == pytest.approx(best, abs=0.1)
    assert r.uncertainty["eps_il"] < 0.3 and r.stopped.startswith("expected improvement")


def test_loop_over_x_uses_two_parameters_in_mixtures_and_fits_linear_eps():
    """ε_IL(x) = 1.5 + x and ε_W = 2.5 everywhere: the endpoints fix each ε alone; in the mixture
    the prior between the endpoint optima resolves the density valley."""
    xs = (0.0, 0.5, 1.0)
    truth = {x: (1.5 + x, 2.5) for x in xs}
    targets = {x: [FitTarget("density_g_cm3", 1.30 - 0.12 * (1 - x) * np.log(il) - 0.08 * x * np.log(w), 0.003, 1.0)]
               for x, (il, w) in truth.items()}
    res, evals = run_loop(LoopSettings(xs=xs, budget=30, bounds_il=(1.0, 4.0), bounds_w=(1.5, 4.0)),
                          targets, _stand_in([]))
    by_x = {r.x: r for r in res}
    assert by_x[0.0].names == ("eps_il",) and by_x[1.0].names == ("eps_w",)
    assert by_x[0.5].names == ("eps_il", "eps_w")
    assert by_x[0.0].optimum["eps_il"] == pytest.approx(1.5, abs=0.12)
    assert by_x[1.0].optimum["eps_w"] == pytest.approx(2.5, abs=0.3)
    mid = by_x[0.5]
    assert _density(type(evals[0].point)(0.5, mid.optimum["eps_il"], mid.optimum["eps_w"])) == pytest.approx(
        targets[0.5][0].value, abs=0.006)
    assert len(evals) <= 30


def test_random_forest_surrogate_also_converges():
    value = 1.30 - 0.12 * np.log(3.0)
    res, _ = run_loop(LoopSettings(xs=(0.0,), budget=14, surrogate="rf"),
                      {0.0: [FitTarget("density_g_cm3", value, 0.004, 1.0)]}, _stand_in([]))
    assert res[0].optimum["eps_il"] == pytest.approx(3.0, abs=0.3)


def test_aicc_picks_the_generating_form():
    x = np.array([0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0])
    err = np.full(x.size, 0.02)
    rng = np.random.default_rng(3)
    best, _ = fit_epsilon(x, 1.6 + 1.2 * x + 0.02 * rng.standard_normal(x.size), err)
    assert best.name == "linear" and best.epsilon.at(0.5) == pytest.approx(2.2, abs=0.03)
    best, _ = fit_epsilon(x, 1.2 + 0.3 * np.exp(2.5 * x) + 0.02 * rng.standard_normal(x.size), err)
    assert best.name == "exponential" and best.epsilon.at(1.0) == pytest.approx(1.2 + 0.3 * np.exp(2.5), abs=0.1)
    best, _ = fit_epsilon(np.array([0.0, 0.5]), np.array([2.0, 2.02]), np.array([0.05, 0.05]))
    assert best.name == "constant"


def test_reweighted_ilvacg_matches_direct_simulation(tmp_path):
    """A run at ε_IL = 1.0 reweighted to 1.15 gives the potential energy and density of a run at 1.15
    (a wrong Coulomb scaling would miss the energy by ~35 kJ/mol per pair)."""
    direct = {}
    for eps in (1.0, 1.15):
        model = build_vacg(IonsSpec("C4mim", "PF6"), water=None, eps_il=Epsilon(value=eps),
                           nonbonded=Nonbonded(cutoff_nm=1.0))
        s = RunSettings(n_pairs=40, temperature_k=350.0, equilibrate_ps=20.0, production_ps=120.0, report_ps=0.5,
                        segment_ps=40.0, platform="CPU", seed=4)
        simulate(model, s, tmp_path / f"e{eps}")
        st = read_state(tmp_path / f"e{eps}")[-240:]
        direct[eps] = (block_average(st["potential_kj_mol"] / 40), block_average(st["density_g_cm3"]))
    frames = coulomb_frames(tmp_path / "e1.0")
    assert frames.eps_il == 1.0 and frames.potential.size >= 5
    out = reweight([frames], 1.15, 2.5)
    u, rho = direct[1.15]
    # MBAR's error bar with a handful of effective samples is itself uncertain, and 2-thread CPU runs are
    # not bit-reproducible: allow 3 kJ/mol beyond 3σ, a tenth of what a wrong Coulomb scaling would miss by
    assert abs(out["potential_per_pair_kj_mol"].value - u.value) < 3 * np.hypot(out["potential_per_pair_kj_mol"].error,
                                                                                 u.error) + 3.0
    assert abs(out["density_g_cm3"].value - rho.value) < 3 * np.hypot(out["density_g_cm3"].error, rho.error) + 0.01
    assert abs(direct[1.0][0].value - u.value) > 20.0  # the two states really differ
    same = reweight([frames], 1.0, 2.5)  # reweighting to the sampled state is the plain average
    assert same["effective_samples"].value == pytest.approx(frames.potential.size)


def test_shipped_targets_and_bad_target_files(tmp_path):
    rows = read_targets(default_targets_path())
    assert {t.property for t in rows} >= {"density", "conductivity", "hvap", "dielectric"}
    dry = next(t for t in rows if t.property == "density" and t.x == 0.0)
    assert 1.19 < dry.value < 1.21  # g/cm3, from kg/m3
    for body, msg in (("surface_tension,0,298.15,43.6,mN/m,1,1,x", "unknown property"),
                      ("density,0,298.15,1.2,lb/ft3,0.01,1,x", "unit 'lb/ft3'"),
                      ("density,120,298.15,1.2,g/cm3,0.01,1,x", r"outside \[0, 100\]"),
                      ("density,0,298.15,1.2,g/cm3,,1,x", "uncertainty > 0")):
        f = tmp_path / "t.csv"
        f.write_text("property,x,T_K,value,unit,uncertainty,weight,source\n" + body + "\n")
        with pytest.raises(InputError, match=msg):
            read_targets(f)


def test_cli_bad_input_exit_2(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "t.csv"
    bad.write_text("property,x,T_K,value,unit,uncertainty,weight,source\nviscosity,0,298.15,100,mPa s,10,1,x\n")
    for args, msg in ((["--targets", str(bad)], "unknown property"), (["--x", "0,150"], "[0, 100] mol %"),
                      (["--budget", "0"], "budget 0"), (["--x", "0,20,100", "--budget", "4"], "below the initial"),
                      (["--lj-switch", "1.5"], "not between 0 and the")):
        res = runner.invoke(app, ["fit-dielectric", "--out", str(tmp_path / "fit"), *args])
        assert res.exit_code == 2 and msg in res.output, (args, res.output)
        assert not (tmp_path / "fit" / "result.json").exists()


@pytest.mark.slow
def test_end_to_end_c4mim_bf4_water(tmp_path):
    """A real fit on [C4mim][BF4]-water: small boxes, short runs, three compositions."""
    runner = CliRunner()
    res = runner.invoke(app, ["fit-dielectric", "--x", "0,50,100", "--budget", "16", "--pairs", "60",
                              "--waters-alone", "200", "--equilibrate", "50ps", "--production", "150ps",
                              "--out", str(tmp_path / "fit")])
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads((tmp_path / "fit" / "result.json").read_text())
    assert doc["simulations"] <= 16 and doc["eps_il"] and doc["eps_w"]
    for px in doc["per_x"]:
        assert all(1.0 <= v <= 4.0 for v in px["optimum"].values())
    assert (tmp_path / "fit" / "model" / "model.json").exists()
    for png in ("properties_vs_x.png", "epsilon_vs_x.png", "loss_landscape.png"):
        assert (tmp_path / "fit" / png).stat().st_size > 1000


def test_fit_killed_mid_round_resumes_without_redoing_finished_simulations(tmp_path):
    """SIGKILL `polcg fit-dielectric` once the first simulation of its first round (3 design points) is
    finished: the rerun keeps that record untouched, runs each design point once, and ends with the budget."""
    import os
    import signal
    import subprocess
    import sys
    import time

    targets = tmp_path / "density.csv"
    targets.write_text("property,x,T_K,value,unit,uncertainty,weight,source\n"
                       "density,0,298.15,1201.4,kg/m3,12.0,1,test\n")
    args = ["fit-dielectric", "--x", "0", "--budget", "3", "--pairs", "60", "--equilibrate", "2ps",
            "--production", "32ps", "--no-reweight", "--targets", str(targets), "--out", str(tmp_path / "fit")]
    sims = tmp_path / "fit" / "sims"
    proc = subprocess.Popen([sys.executable, "-m", "polcg", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "OPENMM_CPU_THREADS": "1"})
    try:
        deadline = time.monotonic() + 300
        while not list(sims.glob("*/record.json")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = {p: p.stat().st_mtime_ns for p in sims.glob("*/record.json")}
    assert len(finished) == 1 and not (tmp_path / "fit" / "result.json").exists()
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert all(p.stat().st_mtime_ns == t for p, t in finished.items())  # not redone
    import json

    doc = json.loads((tmp_path / "fit" / "result.json").read_text())
    assert doc["simulations"] == 3 and len(list(sims.glob("*/record.json"))) == 3  # no point run twice
    from polcg.cg.model import CGModel
    from polcg.fit.dielectric import FitResult

    back = FitResult.load(tmp_path / "fit")  # the result loads back, and the model carries its fitted ε(x)
    assert back.simulations == 3 and back.per_x == doc["per_x"]
    assert CGModel.load(tmp_path / "fit" / "model").dielectric.eps_il == back.epsilon("eps_il")


def test_fit_lj_convention_reaches_the_model_and_names_the_runs(tmp_path):
    """`lj_switch_nm` builds the fit's models with the force-switched LJ and no dispersion correction
    (the MARTINI 2 convention) and names their runs apart; the default keeps the run names that
    fits made before the option existed (the hash of the settings without the LJ fields)."""
    import hashlib
    import json
    from dataclasses import asdict

    from polcg.fit.evaluate import SimJob, SimSettings, vacg_model
    from polcg.fit.loop import Point

    plain, martini = SimSettings(), SimSettings(lj_switch_nm=0.9)
    m = vacg_model(martini, Epsilon(value=1.3), Epsilon(value=2.75))
    assert m.nonbonded.lj_switch_nm == 0.9 and not m.nonbonded.dispersion_correction
    assert m.dielectric.eps_w.value == 2.75
    assert vacg_model(plain, Epsilon(value=1.3), Epsilon(value=2.75)).nonbonded.dispersion_correction
    point = Point(x=1.0, eps_il=1.0, eps_w=2.75)
    old = {k: v for k, v in asdict(plain).items() if k not in ("lj_switch_nm", "cutoff_nm")}
    key = hashlib.sha256(json.dumps({"point": asdict(point), "settings": old}, sort_keys=True).encode()).hexdigest()
    assert SimJob.at(point, plain, tmp_path).directory.endswith(key[:12])
    assert SimJob.at(point, martini, tmp_path).directory != SimJob.at(point, plain, tmp_path).directory
