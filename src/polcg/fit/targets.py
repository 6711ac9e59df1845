"""Experimental targets of the dielectric fit: a CSV (or YAML list) with one row per number.

Columns: property, x (mol % water, 0–100), T_K, value, unit, uncertainty, weight, source.
`uncertainty` is the agreement the fit aims for (same unit as value): experimental error, or a
tolerance for what a CG model can reproduce; `weight` multiplies that row's χ² term (default 1).

Properties and the units accepted (converted to the units `polcg analyze` reports):
density (kg/m3, g/cm3), conductivity (S/m, mS/cm), hvap (kJ/mol, kcal/mol), dielectric (1),
diffusion_cation / diffusion_anion / diffusion_water (m2/s, 1e-9 m2/s, 1e-11 m2/s).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from polcg.errors import InputError

#: property → (analysis key template, {unit: factor to the analysis unit})
PROPERTIES = {
    "density": ("density_g_cm3", {"kg/m3": 1e-3, "g/cm3": 1.0}),
    "conductivity": ("conductivity_einstein_helfand_s_m", {"S/m": 1.0, "mS/cm": 0.1}),
    "hvap": ("hvap_kj_mol", {"kJ/mol": 1.0, "kcal/mol": 4.184}),
    "dielectric": ("dielectric_constant", {"1": 1.0, "": 1.0}),
    "diffusion_cation": ("diffusion_{cation}_m2_s", {"m2/s": 1.0, "1e-9 m2/s": 1e-9, "1e-11 m2/s": 1e-11}),
    "diffusion_anion": ("diffusion_{anion}_m2_s", {"m2/s": 1.0, "1e-9 m2/s": 1e-9, "1e-11 m2/s": 1e-11}),
    "diffusion_water": ("diffusion_{water}_m2_s", {"m2/s": 1.0, "1e-9 m2/s": 1e-9, "1e-11 m2/s": 1e-11}),
}
#: properties that are averages over configurations, and so can be reweighted to another ε
STATIC = ("density", "hvap")
COLUMNS = ("property", "x", "T_K", "value", "unit", "uncertainty", "weight", "source")


@dataclass(frozen=True)
class Target:
    """One experimental number in the analysis unit of its property; x is a mole fraction 0–1."""

    property: str
    x: float
    temperature_k: float
    value: float
    uncertainty: float
    weight: float = 1.0
    source: str = ""

    def key(self, names: dict[str, str]) -> str:
        """The `polcg analyze` key; `names` maps roles (cation, anion, water) to molecule names."""
        return PROPERTIES[self.property][0].format(**names)


def default_targets_path() -> Path:
    from polcg.structure.library import default_path

    return default_path() / "targets" / "C4mim_BF4_water.csv"


def read_targets(path: str | Path) -> tuple[Target, ...]:
    path = Path(path)
    try:
        if path.suffix in (".yaml", ".yml"):
            rows = yaml.safe_load(path.read_text(encoding="utf-8"))
        else:
            with open(path, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(row for row in fh if not row.lstrip().startswith("#")))
    except FileNotFoundError:
        raise InputError(f"{path}: targets file not found") from None
    except (OSError, yaml.YAMLError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read targets: {exc}") from None
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{path}: no targets (want rows with {', '.join(COLUMNS)})")
    return tuple(_target(r, path, n) for n, r in enumerate(rows, start=2))


def _target(row: dict, path: Path, line: int) -> Target:
    where = f"{path}:{line}"
    if not isinstance(row, dict):
        raise InputError(f"{where}: a target must be a mapping of {', '.join(COLUMNS)}")
    prop = str(row.get("property", "")).strip()
    if prop not in PROPERTIES:
        raise InputError(f"{where}: unknown property {prop!r} (known: {', '.join(PROPERTIES)})")
    units = PROPERTIES[prop][1]
    unit = str(row.get("unit") or "").strip()
    if unit not in units:
        raise InputError(f"{where}: unit {unit!r} for {prop} (use {', '.join(u for u in units if u)})")
    try:
        x, temp, value = float(row["x"]), float(row["T_K"]), float(row["value"])
        unc = float(row.get("uncertainty") or "nan")
        weight = float(row.get("weight") or 1.0)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: bad number ({exc})") from None
    if not 0.0 <= x <= 100.0:
        raise InputError(f"{where}: x = {x} mol % is outside [0, 100]")
    if not (temp > 0 and math.isfinite(value) and unc > 0 and weight > 0):
        raise InputError(f"{where}: need T_K > 0, a finite value, uncertainty > 0 and weight > 0")
    f = units[unit]
    return Target(prop, x / 100.0, temp, value * f, unc * f, weight, str(row.get("source") or ""))
