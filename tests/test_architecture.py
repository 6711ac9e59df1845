"""The layering of docs/architecture.md holds: import-linter's contracts pass and no two polcg modules
import each other, directly or through others (function-level imports included)."""

import shutil
import subprocess
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")  # import-linter's graph library ([test] extra)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter not installed")
def test_import_contracts_hold():
    run = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "0 broken" in run.stdout


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("polcg", exclude_type_checking_imports=True)  # annotations only: no import
    cycles = sorted({tuple(sorted((m, i))) for m in graph.modules for i in graph.find_modules_directly_imported_by(m)
                     if i != "polcg" and graph.chain_exists(importer=i, imported=m)})
    assert cycles == []


def test_ci_runs_the_contracts():
    assert "lint-imports" in (ROOT / ".ci" / "run").read_text()
