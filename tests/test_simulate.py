"""`polcg simulate`: runs, resume without gaps or duplicates, blow-up detection, bad input."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from typer.testing import CliRunner

from polcg.cg.builders import IonsSpec, build_drude, build_vacg
from polcg.cli import app
from polcg.errors import InputError
from polcg.md.run import RunSettings, SimulationError, read_state, simulate

SETTINGS = RunSettings(n_pairs=40, equilibrate_ps=1.0, production_ps=2.0, report_ps=0.1, segment_ps=0.5,
                       platform="CPU", seed=7)


def _dcd_frames(path) -> int:
    with open(path, "rb") as fh:
        head = fh.read(12)
    return struct.unpack("<i", head[8:12])[0]


@pytest.fixture(scope="module")
def vacg():
    return build_vacg(IonsSpec("C4mim", "PF6"), water=None)


def test_killed_run_continues_without_gap_or_duplicate(vacg, tmp_path):
    whole = simulate(vacg, SETTINGS, tmp_path / "whole")
    part = simulate(vacg, SETTINGS, tmp_path / "killed", max_segments=3)  # 2 equil + 1 prod segments done
    assert part.frames == 5
    # a kill in the middle of segment 3 leaves a half-written segment behind
    (tmp_path / "killed" / "traj" / "prod_0003.csv").write_text("step,time_ps\n999,99.9\n")
    resumed = simulate(vacg, SETTINGS, tmp_path / "killed")
    assert resumed.frames == whole.frames == 20
    state = read_state(tmp_path / "killed")
    np.testing.assert_allclose(np.diff(state["time_ps"]), 0.1, atol=1e-9)  # 30 frames, none missing or twice
    assert len(state) == 30
    dcds = sorted((tmp_path / "killed" / "traj").glob("prod_*.dcd"))
    assert sum(_dcd_frames(p) for p in dcds) == 20
    assert 0.5 < state["density_g_cm3"][-1] < 2.0 and np.all(np.isfinite(state["potential_kj_mol"]))


def test_a_run_killed_before_its_first_checkpoint_starts_again_from_the_minimised_lattice(vacg, tmp_path):
    from polcg.md.run import _prepare

    out = tmp_path / "r"
    out.mkdir()
    first, _ = _prepare(vacg, SETTINGS, out)  # settings written, start minimised and warmed up: no checkpoint yet
    assert (out / "settings.json").exists() and not (out / "state.chk").exists()
    again, _ = _prepare(vacg, SETTINGS, out)  # the rerun after a kill at this point
    energy = [sim.context.getState(getEnergy=True).getPotentialEnergy()._value for sim in (first, again)]
    # both warmed up from the minimised lattice (before the fix the rerun took the raw lattice and blew up: NaN)
    assert np.all(np.isfinite(energy)) and abs(energy[1] - energy[0]) < 0.05 * abs(energy[0])


def test_rerun_of_a_finished_run_does_nothing_and_other_settings_are_refused(vacg, tmp_path):
    simulate(vacg, SETTINGS, tmp_path / "r")
    before = read_state(tmp_path / "r")
    again = simulate(vacg, SETTINGS, tmp_path / "r")
    after = read_state(tmp_path / "r")
    assert again.frames == 20
    for col in ("time_ps", "potential_kj_mol", "volume_nm3"):
        np.testing.assert_array_equal(after[col], before[col])
    with pytest.raises(InputError, match="other settings"):
        simulate(vacg, RunSettings(**{**SETTINGS.__dict__, "n_pairs": 41}), tmp_path / "r")


def test_drude_run_reports_cold_drudes_and_fails_loudly_when_they_heat(tmp_path):
    model = build_drude(IonsSpec("C4mim", "PF6"), k_drude_kj_mol_a2=4184.0, drude_mass_u=0.4)  # CHARMM-style
    ok = RunSettings(n_pairs=40, equilibrate_ps=0.2, production_ps=0.2, report_ps=0.05, segment_ps=0.1,
                     platform="CPU")
    simulate(model, ok, tmp_path / "ok")
    state = read_state(tmp_path / "ok")
    assert np.all(state["drude_temperature_k"] < 10.0)
    hot = RunSettings(**{**ok.__dict__, "timestep_fs": 6.0, "equilibrate_ps": 3.0, "report_ps": 0.06,
                         "segment_ps": 0.6})
    with pytest.raises(SimulationError, match="Drude temperature|blew up"):
        simulate(model, hot, tmp_path / "hot")


def test_cli_bad_inputs_exit_2(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["simulate", str(tmp_path / "nothing"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "no CG model here" in res.output
    model_dir = tmp_path / "m"
    build_vacg(IonsSpec("C4mim", "PF6"), water=None).save(model_dir)
    res = runner.invoke(app, ["simulate", str(model_dir), "--water-fraction", "0.5", "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "no water" in res.output
    res = runner.invoke(app, ["simulate", str(model_dir), "--production", "5 parsecs", "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "--production" in res.output
    assert not (tmp_path / "r" / "settings.json").exists()


def test_platform_auto_picks_a_usable_platform():
    import openmm

    from polcg.md.run import PLATFORMS, _platform

    platform = _platform("auto")
    assert platform.getName() in PLATFORMS
    system = openmm.System()
    system.addParticle(1.0)
    openmm.Context(system, openmm.VerletIntegrator(0.001), platform)


def test_drude_timestep_follows_the_drude_period():
    from polcg.md.run import drude_timestep_fs

    charmm = build_drude(IonsSpec("C4mim", "PF6"), k_drude_kj_mol_a2=4184.0, drude_mass_u=0.4)
    assert drude_timestep_fs(charmm) == 1.0  # period 6.1 fs
    default = build_drude(IonsSpec("C4mim", "PF6"))
    assert default.drude.max_drude_distance_nm == pytest.approx(0.04)  # 0.02 nm x sqrt(4184/1046)
    assert RunSettings(n_pairs=1).timestep(default) == 5.0  # period 31 fs
    assert RunSettings(n_pairs=1).timestep(build_vacg(IonsSpec("C4mim", "PF6"), water=None)) == 10.0


def test_run_checkpointed_on_one_platform_continues_on_another(vacg, tmp_path):
    ref = RunSettings(**{**SETTINGS.__dict__, "platform": "Reference"})
    simulate(vacg, ref, tmp_path / "r", max_segments=3)  # killed after 2 equil + 1 prod segments
    assert (tmp_path / "r" / "state.xml").is_file()
    resumed = simulate(vacg, SETTINGS, tmp_path / "r")  # the CPU cannot load the Reference checkpoint
    assert resumed.platform == "CPU" and resumed.frames == 20
    state = read_state(tmp_path / "r")
    np.testing.assert_allclose(np.diff(state["time_ps"]), 0.1, atol=1e-9)  # continuous across the switch
    assert np.all(np.isfinite(state["potential_kj_mol"]))


def test_foreign_checkpoint_without_a_portable_state_is_refused(vacg, tmp_path):
    ref = RunSettings(**{**SETTINGS.__dict__, "platform": "Reference"})
    simulate(vacg, ref, tmp_path / "r", max_segments=1)
    (tmp_path / "r" / "state.xml").unlink()
    with pytest.raises(InputError, match="no portable state.xml"):
        simulate(vacg, SETTINGS, tmp_path / "r")
