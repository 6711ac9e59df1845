"""The extension-point table: lookup, errors that list the choices, discovery of a package's modules."""

import sys

import pytest

from polcg.errors import InputError
from polcg.registry import Registry


def test_lookup_is_case_and_dash_insensitive_and_errors_list_the_choices():
    reg = Registry("widget")
    reg.add("meta_lowdin", len, help="m")
    reg.add("npa", abs)
    assert reg.get("Meta-Lowdin") is len and "npa" in reg and reg.names() == ("meta_lowdin", "npa")
    assert reg.choices_help() == "meta_lowdin (m), npa"
    with pytest.raises(InputError, match=r"unknown widget 'cm6'; choose from meta_lowdin, npa"):
        reg.get("cm6")


def test_a_second_implementation_under_one_name_is_refused():
    reg = Registry("widget")
    reg.add("a", len)
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("a", abs)


def test_every_module_of_the_package_registers_itself_on_first_lookup(tmp_path, monkeypatch):
    pkg = tmp_path / "plugpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from polcg.registry import Registry\nREG = Registry('thing', package='plugpkg')\n")
    (pkg / "one.py").write_text(
        "from plugpkg import REG\n@REG.register('one', help='first')\ndef one():\n    return 1\n")
    (pkg / "_private.py").write_text("raise RuntimeError('private modules are not imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import plugpkg

    try:
        assert plugpkg.REG.get("one")() == 1 and plugpkg.REG.help("one") == "first"
    finally:
        for name in [m for m in sys.modules if m.startswith("plugpkg")]:
            del sys.modules[name]
