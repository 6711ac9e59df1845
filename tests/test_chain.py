"""`polcg chain` on the tiny example (EtNH3/NO3 at HF/STO-3G, 30 pairs for 20 ps): every stage feeds the
next, a killed run resumes without redoing finished work, the ε_IL choice and the Table 1 transcription."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from polcg.chain.choice import ScoreTarget, choose_eps
from polcg.chain.config import load_config
from polcg.chain.pipeline import run_chain
from polcg.chain.published import EXPERIMENT, load_table
from polcg.cli import app
from polcg.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "chain" / "tiny.yaml"
REFERENCE = ROOT.parent / "shared" / "reference"


class Killed(Exception):
    pass


def test_tiny_chain_runs_every_stage_and_resumes_after_a_kill(tmp_path):
    cfg = load_config(TINY)
    cfg = replace(cfg, md=replace(cfg.md, workers=1))  # one run at a time, so the kill lands mid-run
    out = tmp_path / "chain"
    segments = []

    def kill_after_two(label, done, total):
        segments.append(label)
        if len(segments) == 2:  # the scan's first run is killed mid-way, after its second segment
            raise Killed

    with pytest.raises(Killed):
        run_chain(cfg, out, on_run=kill_after_two)
    assert (out / "model" / "vacg" / "model.json").is_file() and not (out / "scan" / "scan.json").exists()
    killed = segments[-1]

    computed, segments = [], []
    run_chain(cfg, out, on_job=lambda job, res, cached: computed.append(cached),
              on_run=lambda label, done, total: segments.append((label, done)))
    assert computed == []  # the charges stage was finished: no QM job is even looked at again
    resumed = [d for label, d in segments if label == killed]
    assert resumed[0] > 2  # the killed run continued from its checkpoint, not from segment 1

    # each stage's output is the next stage's input
    charges = json.loads((out / "charges" / "transferability.json").read_text())
    model = json.loads((out / "model" / "vacg" / "model.json").read_text())
    largest = charges["rows"][-1]["cation"]
    beads = {b["name"]: b["charge_e"] for b in model["bead_types"]}
    assert sum(beads[name] for name in largest["beads"]) == pytest.approx(largest["mean_e"], abs=1e-6)
    scan = json.loads((out / "scan" / "scan.json").read_text())
    eps = scan["choice"]["eps_il"]
    assert min(cfg.vacg.eps_il_grid) <= eps <= max(cfg.vacg.eps_il_grid)
    validation = json.loads((out / "validate" / "validation.json").read_text())
    assert validation["models"]["vacg"]["eps_il"] == pytest.approx(eps)
    report = json.loads((out / "report.json").read_text())
    rows = {r["model"]: r for r in report["rows"]}
    assert {"polcg VaCG", "polcg Drude"} <= set(rows)
    for key in ("density_kg_m3", "hvap_kJ_mol"):
        assert np.isfinite(rows["polcg VaCG"][key]) and rows["polcg VaCG"][f"{key}_err"] >= 0
    assert "charges" in rows["polcg VaCG"]

    # a finished chain reruns nothing
    again = run_chain(cfg, out)
    assert {o.status for o in again} <= {"reused", "not needed"}


def test_changing_a_downstream_setting_keeps_the_charges(tmp_path):
    raw = yaml.safe_load(TINY.read_text())
    folder = tmp_path / "cfg"
    shutil.copytree(TINY.parent / "tiny", folder / "tiny")
    (folder / "tiny" / "etnh3_no3_2.xyz").write_text((ROOT / "examples/clusters/etnh3_no3_2.xyz").read_text())
    raw["clusters"] = ["tiny/etnh3_no3_1.xyz", "tiny/etnh3_no3_2.xyz"]
    path = folder / "a.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "chain"
    run_chain(load_config(path), out, stages=("charges", "model"))
    raw["cg"]["cutoff_nm"] = 0.8
    path.write_text(yaml.safe_dump(raw))
    outcomes = {o.stage: o.status for o in run_chain(load_config(path), out, stages=("charges", "model"))}
    assert outcomes == {"charges": "reused", "model": "ran"}


def test_bad_config_is_one_line_naming_file_and_key(tmp_path):
    raw = yaml.safe_load(TINY.read_text())
    raw["md"]["pairz"] = 3
    path = TINY.parent / "_bad_test.yaml"
    try:
        path.write_text(yaml.safe_dump(raw))
        with pytest.raises(InputError, match="md.pairz"):
            load_config(path)
        r = CliRunner().invoke(app, ["chain", str(path), "--out", str(tmp_path / "o")])
        assert r.exit_code == 2 and not (tmp_path / "o").exists()
    finally:
        path.unlink(missing_ok=True)


def test_the_second_box_runs_its_own_production_and_the_first_keeps_the_validation_length():
    from polcg.chain.validate import production_ps

    md = load_config(ROOT / "examples" / "chain" / "c4mim_bf4.yaml").md  # 150 pairs 30 ns
    md = replace(md, box_check_pairs=300, box_check_production_ps=15000.0)  # 300 pairs 15 ns: the same ion-ns
    assert (production_ps(md, md.pairs), production_ps(md, 300)) == (30000.0, 15000.0)
    same = replace(md, box_check_production_ps=None)  # by default the second box runs as long as the first
    assert production_ps(same, 150) == production_ps(same, 300) == md.validate_production_ps
    assert production_ps(replace(md, validate_production_ps=None), 150) == md.production_ps
    assert (production_ps(md, 150, "drude"), production_ps(md, 150, "vacg")) == (6000.0, 30000.0)  # shipped


def test_the_second_box_runs_only_for_the_models_named(tmp_path):
    from polcg.chain import validate

    cfg = load_config(TINY)
    out = tmp_path / "chain"
    run_chain(cfg, out, stages=("charges", "model"))
    (out / "scan" / "model").mkdir(parents=True)
    from polcg.chain import model_stage

    model_stage.load(out, "vacg").save(out / "scan" / "model")  # stands in for the scan's choice
    pairs = {(c.model, c.pairs) for c in validate.conditions(cfg, out)}
    assert {("vacg", 45), ("drude", 45)} <= pairs
    only = replace(cfg, md=replace(cfg.md, box_check_models=("vacg",)))
    pairs = {(c.model, c.pairs) for c in validate.conditions(only, out)}
    assert ("vacg", 45) in pairs and ("drude", 45) not in pairs


def test_choice_recovers_the_minimum_of_a_known_score():
    grid = [1.0, 2.0, 3.0]
    # density linear in eps, crossing the target at 2.5; hvap quadratic with its target at eps = 2.5
    values = {"density_kg_m3": [1300.0, 1250.0, 1200.0], "hvap_kJ_mol": [130.0, 120.0, 110.0]}
    targets = [ScoreTarget("density_kg_m3", 1225.0), ScoreTarget("hvap_kJ_mol", 115.0)]
    choice = choose_eps(grid, values, targets)
    assert choice.eps_il == pytest.approx(2.5, abs=0.01)
    assert choice.score == pytest.approx(0.0, abs=1e-8)
    choice = choose_eps(grid, {**values, "D_cation_m2_s": [np.nan] * 3},
                        targets + [ScoreTarget("D_cation_m2_s", 1e-11)])
    assert choice.dropped == ("D_cation_m2_s",)


def test_transport_is_fitted_as_its_logarithm():
    # D = 1e-12 exp(2 eps): two grid points fix it exactly in the log, and the target e^5 1e-12 sits at 2.5
    grid = [1.0, 2.0, 3.0]
    values = {"D_cation_m2_s": [1e-12 * np.exp(2 * e) if e > 1 else np.nan for e in grid]}
    choice = choose_eps(grid, values, [ScoreTarget("D_cation_m2_s", 1e-12 * np.exp(5.0))])
    assert choice.eps_il == pytest.approx(2.5, abs=0.01) and choice.score < 1e-8


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference not beside the checkout")
def test_table1_transcription_matches_the_stored_review():
    table = load_table(ROOT / "fragments" / "targets" / "c4mim_bf4_table1.csv", REFERENCE)
    assert table.value(EXPERIMENT, "density_kg_m3", 303.0, 1.0).value == pytest.approx(1198)
    assert table.value(EXPERIMENT, "D_cation_m2_s", 303.0, 1.0).value == pytest.approx(1.83e-11)
    assert table.value("VaCG", "conductivity_S_m", 303.0, 1.0).value == pytest.approx(0.45)


def test_scan_falls_back_to_apparent_d_and_the_report_does_not():
    from polcg.chain.quantities import from_analysis

    values = {"diffusion_C4mim_m2_s": {"value": 2e-11, "error": 1e-12, "detail": "fit"},
              "diffusion_BF4_apparent_m2_s": {"value": 1e-11, "error": 1e-12, "detail": "apparent (upper bound)"}}
    assert set(from_analysis(values, "C4mim", "BF4")) == {"D_cation_m2_s"}
    scan = from_analysis(values, "C4mim", "BF4", apparent=True)
    assert scan["D_anion_m2_s"]["value"] == 1e-11 and "upper bound" in scan["D_anion_m2_s"]["detail"]


def test_a_stage_runs_its_simulations_side_by_side_and_a_killed_stage_resumes(tmp_path):
    import multiprocessing as mp

    from polcg.chain import runs, scan

    cfg = load_config(TINY)
    cfg = replace(cfg, md=replace(cfg.md, workers=2))
    out = tmp_path / "chain"
    run_chain(cfg, out, stages=("charges", "model"))
    jobs = [j for _, group in scan.jobs(cfg, out) for j in group]
    assert len(jobs) == 2 and runs.md_workers(cfg.md) == 2

    seen = []

    def kill_once_both_started(label, done, total):
        seen.append(label)
        if len(set(seen)) == 2:
            raise Killed

    with pytest.raises(Killed):
        runs._side_by_side(jobs, 2, 1, kill_once_both_started, poll_s=0.2)
    assert mp.active_children() == []  # the kill ended both simulations, not only the parent's wait
    assert {j.label for j in jobs} == set(seen)  # both ran at once: each reported a segment before the kill
    first_segment = {j.key: sorted((j.directory / "run" / "traj").glob("*"))[0] for j in jobs}
    stamps = {k: (p.name, p.stat().st_mtime_ns) for k, p in first_segment.items()}

    records = runs.run_jobs(jobs, cfg.md)
    assert set(records) == {j.key for j in jobs}
    assert all(records[j.key]["values"]["density_g_cm3"]["value"] > 0 for j in jobs)
    # the resumed runs continued from their checkpoints: the segments written before the kill are untouched
    assert {k: (p.name, p.stat().st_mtime_ns) for k, p in first_segment.items()} == stamps
    written = {j.key: (j.directory / "record.json").stat().st_mtime_ns for j in jobs}
    again = runs.run_jobs(jobs, cfg.md)  # finished: read back, nothing rerun
    assert {j.key: (j.directory / "record.json").stat().st_mtime_ns for j in jobs} == written
    assert json.dumps(again, sort_keys=True) == json.dumps(records, sort_keys=True)


def test_yeh_hummer_recovers_the_viscosity_and_d_infinity_of_exact_data_and_the_species_share_one_slope():
    from polcg.chain.finite_size import yeh_hummer, yeh_hummer_joint
    from polcg.md.estimators import yeh_hummer_m2_s

    t, eta, boxes = 303.0, 0.08, (3.6, 4.5)  # Pa s, nm
    d_inf = {"D_cation_m2_s": 2.0e-11, "D_anion_m2_s": 1.5e-11}
    each = {k: yeh_hummer(t, boxes, tuple(d - yeh_hummer_m2_s(t, eta, b) for b in boxes), (1e-13, 2e-13))
            for k, d in d_inf.items()}
    for k, fit in each.items():
        assert fit["viscosity_pa_s"] == pytest.approx(eta, rel=1e-9)
        assert fit["D_infinite_m2_s"] == pytest.approx(d_inf[k], rel=1e-9)
        assert fit["correction_m2_s"][0] == pytest.approx(yeh_hummer_m2_s(t, eta, boxes[0]), rel=1e-9)
    joint = yeh_hummer_joint(t, boxes, each)
    assert joint["viscosity_pa_s"] == pytest.approx(eta, rel=1e-9) and joint["consistency_chi2"] < 1e-12
    assert {k: v["value"] for k, v in joint["D_infinite_m2_s"].items()} == pytest.approx(d_inf, rel=1e-9)
    # the common slope is more certain than either species' own, and a species whose slope disagrees shows in chi2
    assert joint["slope_err_m3_s"] < min(f["slope_err_m3_s"] for f in each.values())
    off = {**each, "D_anion_m2_s": yeh_hummer(t, boxes, (1.5e-11, 1.4e-11), (1e-13, 2e-13))}  # shrinks with L
    assert yeh_hummer_joint(t, boxes, off)["consistency_chi2"] > 10


def test_a_two_parameter_choice_recovers_the_minimum_of_a_known_surface():
    """ε_IL and an LJ well depth: density and ln D linear in both with a cross term, ΔH_vap quadratic in
    ε_IL; the targets meet at ε_IL 1.4, BF4.epsilon 2.0, inside the box, which the choice must find."""
    from polcg.chain.choice import choose_params, predict

    points = [{"eps_il": e, "BF4.epsilon": w} for e in (1.2, 1.4, 1.6) for w in (1.5, 2.5)]

    def props(e, w):
        return {"density_kg_m3": 1200 - 100 * (e - 1.4) + 20 * (w - 2.0) + 10 * (e - 1.4) * (w - 2.0),
                "hvap_kJ_mol": 125 - 50 * (e - 1.4) + 30 * (e - 1.4) ** 2 + 8 * (w - 2.0),
                "D_anion_m2_s": 2e-11 * np.exp(4 * (e - 1.4) - 0.8 * (w - 2.0))}
    values = {k: [props(p["eps_il"], p["BF4.epsilon"])[k] for p in points] for k in props(1, 1)}
    targets = [ScoreTarget("density_kg_m3", 1200.0), ScoreTarget("hvap_kJ_mol", 125.0),
               ScoreTarget("D_anion_m2_s", 2e-11)]
    choice = choose_params(points, values, targets)
    assert choice.params["eps_il"] == pytest.approx(1.4, abs=0.003) == choice.eps_il
    assert choice.params["BF4.epsilon"] == pytest.approx(2.0, abs=0.01)
    assert choice.score < 1e-6
    fit = choice.fits["D_anion_m2_s"]
    assert predict("D_anion_m2_s", fit, [[1.5, 2.2]])[0] == pytest.approx(props(1.5, 2.2)["D_anion_m2_s"], rel=1e-9)
    # a target outside the box is not extrapolated to: the choice stays on the box's edge
    far = choose_params(points, values, [ScoreTarget("density_kg_m3", 1000.0)])
    assert far.params["eps_il"] == pytest.approx(1.6) and far.score > 0


def test_the_lj_grid_scans_every_combination_and_the_chosen_model_carries_its_lj(tmp_path):
    from polcg.chain import scan

    cfg = load_config(TINY)
    cfg = replace(cfg, vacg=replace(cfg.vacg, lj_grid=(("anion.epsilon_scale", (0.8, 1.2)),)))
    out = tmp_path / "chain"
    run_chain(cfg, out, stages=("charges", "model"))
    groups = scan.jobs(cfg, out)
    assert [p for p, _ in groups] == [{"eps_il": e, "anion.epsilon_scale": s} for e in (4.0, 6.0) for s in (0.8, 1.2)]
    assert len({j.key for _, g in groups for j in g}) == 4  # four distinct models, four runs
    from polcg.chain import model_stage

    vacg = model_stage.load(out, "vacg")
    anion = vacg.role("anion").beads[0]
    model = scan.with_params(vacg, {"eps_il": 5.0, "anion.epsilon_scale": 1.1})
    assert model.bead_type(anion).epsilon_kj_mol == pytest.approx(1.1 * vacg.bead_type(anion).epsilon_kj_mol)
    assert model.dielectric.eps_il.value == 5.0 and model.provenance["lj"] == {"anion.epsilon_scale": 1.1}
    cation = vacg.role("cation").beads[0]
    assert model.bead_type(cation) == vacg.bead_type(cation)


def test_a_bad_lj_grid_key_is_one_line_naming_the_file(tmp_path):
    raw = yaml.safe_load(TINY.read_text())
    raw["vacg"]["lj_grid"] = {"NO3.depth": [1.0, 2.0]}
    path = TINY.parent / "_bad_lj.yaml"
    path.write_text(yaml.safe_dump(raw))
    try:
        with pytest.raises(InputError, match=r"_bad_lj.yaml: vacg.lj_grid: LJ change 'NO3.depth'"):
            load_config(path)
    finally:
        path.unlink(missing_ok=True)


def test_a_given_viscosity_corrects_d_by_yeh_hummer_at_its_temperature_only():
    """D∞ = D(L) + k_B T ξ / (6π η L): 303 K, η 80.6 mPa s, L 3.61 nm adds 2.16e-12 m²/s (hand value)."""
    from polcg.chain.report import _given_viscosity

    cfg = load_config(TINY)
    cfg = replace(cfg, targets=replace(cfg.targets, viscosity_mpa_s=((303.0, 80.6),)))
    cond = {"T_K": 303.0, "x_water": 0.0, "box_nm": 3.61,
            "values": {"D_cation_m2_s": {"value": 2.0e-11, "error": 1e-12}}}
    out = _given_viscosity(cond, {"D_cation_m2_s": {"value": 1.83e-11}}, cfg)
    kt_xi = 1.380649e-23 * 303.0 * 2.837297
    assert out["correction_m2_s"] == pytest.approx(kt_xi / (6 * np.pi * 0.0806 * 3.61e-9), rel=1e-9)
    assert out["correction_m2_s"] == pytest.approx(2.16e-12, rel=0.01)
    assert out["D_cation_m2_s"]["value"] == pytest.approx(2.0e-11 + out["correction_m2_s"])
    assert out["D_cation_m2_s"]["deviation_from_experiment"] == pytest.approx((2.216e-11 / 1.83e-11) - 1, abs=1e-3)
    assert "D_anion_m2_s" not in out
    assert _given_viscosity({**cond, "T_K": 350.0}, {}, cfg) is None  # no viscosity given at 350 K


def test_the_viscosity_mapping_is_checked():
    raw = yaml.safe_load(TINY.read_text())
    raw["targets"]["viscosity_mPa_s"] = {303: -1}
    path = TINY.parent / "_bad_eta.yaml"
    path.write_text(yaml.safe_dump(raw))
    try:
        with pytest.raises(InputError, match=r"_bad_eta.yaml: targets.viscosity_mPa_s"):
            load_config(path)
    finally:
        path.unlink(missing_ok=True)


def test_the_versus_score_is_the_largest_ratio_to_the_reference_models_deviation():
    """Against a reference model the choice minimises max |dev| / |dev_ref|: with ΔH_vap rising and D
    falling with ε_IL decreasing, it sits where the two ratios meet, not at the least-squares optimum."""
    from polcg.chain.choice import choose_params, score

    t = [ScoreTarget("hvap_kJ_mol", 128.0, reference=123.52), ScoreTarget("D_cation_m2_s", 1.83e-11, reference=1.2e-11)]
    assert score({"hvap_kJ_mol": 125.76, "D_cation_m2_s": 1.83e-11}, t) == pytest.approx(0.5, rel=1e-6)
    grid = [1.2, 1.3, 1.4]
    values = {"hvap_kJ_mol": [130.0 - 50 * (e - 1.2) for e in grid],  # 130, 125, 120
              "D_cation_m2_s": [1.0e-11 * np.exp(6 * (e - 1.2)) for e in grid]}
    choice = choose_params([{"eps_il": e} for e in grid], values, t)
    e = choice.eps_il
    dev_h = abs((130.0 - 50 * (e - 1.2)) / 128.0 - 1) / (4.48 / 128.0)
    dev_d = abs(np.exp(6 * (e - 1.2)) / 1.83 - 1) / (0.63 / 1.83)
    assert dev_h == pytest.approx(dev_d, abs=0.02) and choice.score == pytest.approx(max(dev_h, dev_d), rel=0.02)
    assert "reference model" in choice.method
