"""polcg.io: a write interrupted by an error leaves the old file and no temporary; reads fail in one
line naming the file."""

from __future__ import annotations

import json

import pytest

from polcg.errors import InputError
from polcg.io import atomic_path, file_sha256, read_json, write_csv_atomic, write_json_atomic


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(KeyboardInterrupt), atomic_path(path) as tmp:
        tmp.write_text('{"a": 2, "half": ')
        raise KeyboardInterrupt  # a kill in the middle of writing
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    write_csv_atomic(tmp_path / "t.csv", ["x", "y"], [[1, 2.5], [3, 4]])
    assert (tmp_path / "t.csv").read_text().splitlines() == ["x,y", "1,2.5", "3,4"]
    assert file_sha256(tmp_path / "t.csv") == file_sha256(tmp_path / "t.csv") != file_sha256(path)


def test_read_json_fails_in_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "charges.json"
    bad.write_text('{"ions": [1, 2,')
    for path, why in ((bad, "not a valid charges file"), (tmp_path / "missing.json", "charges file not found")):
        with pytest.raises(InputError, match=why) as exc:
            read_json(path, "charges file")
        assert str(path) in str(exc.value) and "\n" not in str(exc.value)
    write_json_atomic(tmp_path / "t.json", [1, {"q": -0.8}])
    assert read_json(tmp_path / "t.json") == [1, {"q": -0.8}]
