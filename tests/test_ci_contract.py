"""What CI relies on: the cross-engine tests fail (not skip) where the engines are required, and no test
installs system packages (.ci/run does)."""

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_missing_engine_fails_when_engines_are_required(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path), "POLCG_REQUIRE_ENGINES": "1", "COLUMNS": "400"}  # no gmx
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          f"{TESTS / 'test_export_gromacs.py'}::test_production_mdp_passes_grompp"],
                         cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout[-2000:]
    assert "required here" in run.stdout and "1 error" in run.stdout  # the fixture fails: an error


def test_missing_engine_skips_outside_ci(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "POLCG_REQUIRE_ENGINES"}
    env["PATH"] = str(tmp_path)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          f"{TESTS / 'test_export_gromacs.py'}::test_production_mdp_passes_grompp"],
                         cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "1 skipped" in run.stdout, run.stdout[-2000:]


def test_no_test_installs_system_packages():
    offenders = [p.name for p in TESTS.glob("*.py") if p.name != Path(__file__).name
                 and any(word in p.read_text() for word in ("apt-get", "apt install", "yum install"))]
    assert offenders == []
    ci = (TESTS.parent / ".ci" / "run").read_text()
    assert "gromacs" in ci and "POLCG_REQUIRE_ENGINES=1" in ci
