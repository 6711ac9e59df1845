"""The export-engine registry: `export()` and `polcg model export --to` dispatch through `ENGINES`,
whose modules register themselves when the package is listed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from polcg.cg.builders import IonsSpec, build_vacg
from polcg.cli import app
from polcg.errors import InputError
from polcg.export import ENGINES, export
from polcg.export.gromacs import write_gromacs
from polcg.export.lammps import write_lammps
from polcg.export.openmm_xml import write_openmm
from polcg.md.layout import Composition
from polcg.md.packing import lattice_box

WRITERS = {"openmm": write_openmm, "gromacs": write_gromacs, "lammps": write_lammps}


@pytest.fixture(scope="module")
def box():
    model = build_vacg(IonsSpec("C4mim", "PF6"))
    return model, lattice_box(model, Composition(60, 0), seed=1)


def test_listing_the_engines_finds_every_module_and_imports_no_engine():
    code = ("import sys; from polcg.export import ENGINES; print(','.join(sorted(ENGINES.names())));"
            "print(','.join(m for m in ('openmm', 'scipy', 'polcg.md.system') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == ["gromacs,lammps,openmm", ""]


def test_export_writes_what_each_registered_writer_writes(box, tmp_path):
    model, config = box
    assert {e.name: e.obj for e in ENGINES.entries()} == WRITERS
    for name, writer in WRITERS.items():
        via = export(model, config, name.upper(), tmp_path / "via" / name)
        direct = writer(model, config, tmp_path / "direct" / name)
        assert via.keys() == direct.keys() and "model" in via
        assert all(via[role].read_bytes() == direct[role].read_bytes() for role in via), name


def test_an_unknown_engine_is_refused_naming_the_registered_ones(box, tmp_path):
    with pytest.raises(InputError, match=r"unknown engine 'namd'; choose from ") as err:
        export(*box, "namd", tmp_path / "out")
    assert all(name in str(err.value) for name in ENGINES.names())
    assert not (tmp_path / "out").exists()


def test_export_help_lists_every_engine():
    out = CliRunner().invoke(app, ["model", "export", "--help"], env={"COLUMNS": "300"}).output
    text = " ".join(out.replace("│", " ").split())
    assert all(f"{e.name} ({e.help})" in text for e in ENGINES.entries()), out
