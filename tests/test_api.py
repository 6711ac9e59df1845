"""The public API: every name in `polcg.__all__` resolves, `import polcg` stays light, and the
script in docs/api.md runs as written (cluster → GEBF charges → VaCG model → run → density)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import polcg

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves_and_the_root_imports_no_stage():
    assert all(getattr(polcg, name) is not None for name in polcg.__all__)
    code = "import sys, polcg; print(sorted(m for m in sys.modules if m.startswith(('polcg.', 'pyscf', 'openmm'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    with pytest.raises(AttributeError, match="no attribute 'compute_charge'"):
        polcg.compute_charge  # noqa: B018


def test_the_script_in_docs_api_runs_and_the_model_carries_its_charges(tmp_path, monkeypatch, capsys):
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    (script,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    namespace: dict = {}
    exec(compile(script, "docs/api.md", "exec"), namespace)
    charges = json.loads(Path("charges.json").read_text())
    beads = {b["name"]: b["charge"] for ion in charges["ions"] for b in ion["beads"]}
    model = polcg.CGModel.load("model")
    for name, q in beads.items():  # one pair: each bead's charge is the cluster's, not the library's
        assert model.bead_type(name).charge_e == pytest.approx(q, abs=1e-12)
    assert sum(beads.values()) == pytest.approx(0.0, abs=1e-6)
    assert 0.7 < abs(charges["ions"][0]["charge"]) < 1.0  # charge transfer in the pair: below ±1
    density = namespace["density"]
    assert 0.8 < density.value < 1.6 and 0 < density.error < 0.1  # g/cm3: a liquid, not a gas or a crash
    assert "density" in capsys.readouterr().out
