"""Published and experimental values to compare with (a review's Table 1), read from a CSV.

Columns: `model,resolution,property,T_K,value,unit,text,source,note`. `property` is density,
D_cation, D_anion, conductivity or hvap; `text` is the cell exactly as printed (e.g.
`1.20/0.53 (303)`, D of cation/anion at 303 K) and `source` the file and line it was read from
(`review-ge-zhu-wang-ma-2025.txt:119`). Given the folder that holds that file, every row is
checked against it: the text must be on the cited line, and the value and temperature must be
the ones the text prints. Values are converted to the report's SI units.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from polcg.errors import InputError

#: table property → (report key, {unit: factor to the report unit})
PROPERTIES = {
    "density": ("density_kg_m3", {"kg/m3": 1.0, "g/cm3": 1000.0}),
    "D_cation": ("D_cation_m2_s", {"m2/s": 1.0, "1e-9 m2/s": 1e-9, "1e-11 m2/s": 1e-11}),
    "D_anion": ("D_anion_m2_s", {"m2/s": 1.0, "1e-9 m2/s": 1e-9, "1e-11 m2/s": 1e-11}),
    "conductivity": ("conductivity_S_m", {"S/m": 1.0, "mS/cm": 0.1}),
    "hvap": ("hvap_kJ_mol", {"kJ/mol": 1.0, "kcal/mol": 4.184}),
}
EXPERIMENT = "experiment"
COLUMNS = ("model", "resolution", "property", "T_K", "value", "unit", "text", "source", "note")
_CELL = re.compile(r"\s*([0-9.]+)\s*(?:/\s*([0-9.]+))?\s*\(\s*([0-9.]+)\s*\)\s*")


@dataclass(frozen=True)
class PublishedValue:
    model: str
    resolution: str
    key: str  # report key, e.g. density_kg_m3
    temperature_k: float
    value: float  # report (SI) unit
    unit: str  # the unit the table wrote it in
    factor: float  # that unit in report units
    text: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class PublishedTable:
    path: Path
    sha256: str
    rows: tuple[PublishedValue, ...]
    checked_against: dict | None  # {"file", "sha256", "rows"} when verified against the cited source

    def models(self) -> list[str]:
        return list(dict.fromkeys(r.model for r in self.rows))

    def value(self, model: str, key: str, temperature_k: float, tolerance_k: float) -> PublishedValue | None:
        """The row of `model` for `key` nearest `temperature_k`, if within the tolerance."""
        near = [r for r in self.rows if r.model == model and r.key == key
                and abs(r.temperature_k - temperature_k) <= tolerance_k]
        return min(near, key=lambda r: abs(r.temperature_k - temperature_k)) if near else None


def load_table(path: str | Path, reference: str | Path | None = None) -> PublishedTable:
    path = Path(path)
    try:
        data = path.read_bytes()
        lines = data.decode("utf-8").splitlines()
        rows = list(csv.DictReader(line for line in lines if not line.lstrip().startswith("#")))
    except FileNotFoundError:
        raise InputError(f"{path}: table not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the table: {exc}") from None
    if not rows or any(c not in rows[0] for c in COLUMNS):
        raise InputError(f"{path}: want a CSV with columns {', '.join(COLUMNS)}")
    values = tuple(_row(r, f"{path} row {n}") for n, r in enumerate(rows, start=1))
    checked = _check(values, path, Path(reference)) if reference else None
    return PublishedTable(path, hashlib.sha256(data).hexdigest(), values, checked)


def _row(raw: dict, where: str) -> PublishedValue:
    prop, unit = raw["property"].strip(), raw["unit"].strip()
    if prop not in PROPERTIES:
        raise InputError(f"{where}: unknown property {prop!r} (known: {', '.join(PROPERTIES)})")
    key, units = PROPERTIES[prop]
    if unit not in units:
        raise InputError(f"{where}: unit {unit!r} for {prop} (use {', '.join(units)})")
    try:
        temp, value = float(raw["T_K"]), float(raw["value"])
    except ValueError as exc:
        raise InputError(f"{where}: bad number ({exc})") from None
    return PublishedValue(raw["model"].strip(), raw["resolution"].strip(), key, temp, value * units[unit], unit,
                          units[unit], raw["text"].strip(), raw["source"].strip(), raw["note"].strip())


def printed_value(row: PublishedValue) -> tuple[float, float]:
    """(value in the table's unit, T) as the row's printed text gives them."""
    m = _CELL.fullmatch(row.text)
    if not m:
        raise InputError(f"{row.source}: cannot read a value and a temperature from {row.text!r}")
    first, second, temp = m.groups()
    if row.key == "D_anion_m2_s" and second is None:
        raise InputError(f"{row.source}: {row.text!r} has no anion value (cation/anion)")
    return float(second if row.key == "D_anion_m2_s" else first), float(temp)


def _check(rows: tuple[PublishedValue, ...], path: Path, reference: Path) -> dict:
    """Every row's text on its cited line of the source in `reference`, with its value and T."""
    files = {}
    for row in rows:
        name, _, line = row.source.rpartition(":")
        src = reference / name
        if not src.is_file() or not line.isdigit():
            raise InputError(f"{path}: {row.model} {row.key}: source {row.source!r} is not a line of a file "
                             f"in {reference}")
        text = files.setdefault(src, src.read_text(encoding="utf-8").splitlines())
        if not 1 <= int(line) <= len(text) or row.text not in text[int(line) - 1]:
            raise InputError(f"{path}: {row.model} {row.key}: {row.text!r} is not on {row.source}")
        value, temp = printed_value(row)
        if abs(value * row.factor - row.value) > 1e-9 * abs(row.value) or temp != row.temperature_k:
            raise InputError(f"{path}: {row.model} {row.key}: value {row.value:g} at {row.temperature_k:g} K "
                             f"differs from the printed {row.text!r}")
    return {"files": {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}, "rows": len(rows)}

