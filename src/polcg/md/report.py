"""Files of `polcg analyze`: properties.json, and each computed property's own files (RDFs as CSV and PNG, ...)."""

from __future__ import annotations

from pathlib import Path

from polcg.io import write_json_atomic
from polcg.md.analysis import Properties
from polcg.md.properties import ordered


def write_outputs(props: Properties, out_dir: str | Path) -> dict[str, Path]:
    """`properties.json` in `out_dir`, and there the files of every property that has a raw result
    (e.g. `rdf.csv`: r_nm, one g(r) column per bead pair, and `rdf.png`); {role: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "properties.json"}
    for prop in ordered():
        if prop.name in props.raw:
            files.update(prop.write(props, out))
    write_json_atomic(files["json"], props.to_dict())  # last: a properties file means the outputs are complete
    return files
