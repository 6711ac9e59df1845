"""Input hashes and records: how a stage (or one item of it) knows it is already done.

A record is a JSON file written after its outputs: the sha256 of the inputs that determine them,
the outputs with their sha256, and provenance (polcg version). A record whose inputs hash matches
and whose outputs all exist means "done": the work is skipped and its outputs are read back.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from polcg.io import write_json_atomic

RECORD = "stage.json"


def digest(obj) -> str:
    """sha256 of a JSON-able object (keys sorted; paths and other objects as strings)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def inputs_key(inputs: dict) -> str:
    """The hash that names a set of inputs: everything but their "paths" (files enter by sha256),
    so a moved output folder or config file still matches."""
    return digest({k: v for k, v in inputs.items() if k != "paths"})


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_record(path: str | Path, inputs_sha256: str) -> dict | None:
    """The record at `path` if it is for these inputs and every output it lists still exists."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if rec.get("inputs_sha256") != inputs_sha256:
        return None
    if not all(Path(p).is_file() for p in rec.get("outputs", {}).values()):
        return None
    return rec


def write_record(path: str | Path, inputs: dict, inputs_sha256: str, outputs: dict[str, Path],
                 summary: dict | None = None) -> dict:
    """Write a record after its outputs exist; returns it."""
    import polcg

    rec = {"inputs_sha256": inputs_sha256, "inputs": inputs,
           "outputs": {k: str(v) for k, v in outputs.items()},
           "outputs_sha256": {k: file_sha256(v) for k, v in outputs.items()},
           "summary": summary or {}, "provenance": {"polcg": polcg.__version__}}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, rec)
    return rec
