"""The `polcg charges` command line: exit codes, one-line errors, nothing half-written."""

import json

import pytest
from typer.testing import CliRunner

from polcg.cli import app

runner = CliRunner()
FAST = ["--xc", "HF", "--basis", "sto-3g", "--scheme", "mulliken"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0].replace("\n", ""), lines[0]


@pytest.mark.parametrize("content, needle", [
    ("", "empty"),
    ("3\ncomment\nH 0 0 0\n", "3"),
    ("2\ncomment\nH 0 0 0\nH 0 0 0.74\nH 0 0 2.0\n", "3"),
    ("1\ncomment\nXx 0 0 0\n", "Xx"),
    ("2\ncomment\nH 0 0 0\nH 0 0 0.3\n", "0.5"),
])
def test_bad_xyz_gives_one_line_error_and_exit_2(tmp_path, content, needle):
    path = tmp_path / "bad.xyz"
    path.write_text(content)
    out = tmp_path / "out.json"
    result = invoke("charges", path, *FAST, "--json", out, "--workdir", tmp_path / "w")
    one_line_error(result, "bad.xyz", needle)
    assert not out.exists()


def test_missing_file(tmp_path):
    one_line_error(invoke("charges", tmp_path / "nope.xyz"), "nope.xyz")


def test_charge_mismatch(nh4cl_cluster, tmp_path):
    result = invoke("charges", nh4cl_cluster, *FAST, "--charge", "1", "--workdir", tmp_path / "w")
    one_line_error(result, "nh4cl3.xyz", "charge")


def test_unknown_scheme_and_reference(nh4cl_cluster, tmp_path):
    one_line_error(invoke("charges", nh4cl_cluster, "--scheme", "bader"), "scheme")
    one_line_error(invoke("charges", nh4cl_cluster, "--reference", "half"), "reference")


def test_scf_failure_is_a_one_line_error(nh4cl_cluster, tmp_path):
    out = tmp_path / "out.json"
    result = invoke("charges", nh4cl_cluster, *FAST, "--scf-max-cycle", "1", "--xi", "1.0",
                    "--json", out, "--workdir", tmp_path / "w")
    one_line_error(result, "SCF did not converge", "subsystem")
    assert not out.exists()


def test_charges_writes_json_csv_and_table(nh4cl_cluster, tmp_path):
    out, csv_out = tmp_path / "q.json", tmp_path / "q.csv"
    result = invoke("charges", nh4cl_cluster, *FAST, "--xi", "1.0", "--json", out, "--csv", csv_out,
                    "--workdir", tmp_path / "w")
    assert result.exit_code == 0, result.output
    assert "mean charge of 3 cations" in result.output and "GEBF energy" in result.output
    doc = json.loads(out.read_text())
    assert len(doc["atom_charges"]) == 18 and doc["converged"]
    rows = csv_out.read_text().strip().splitlines()
    assert rows[0].startswith("atom,element") and len(rows) == 19
