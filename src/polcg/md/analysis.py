"""`polcg analyze`: the properties of a run that users compare with experiment, each ± a standard
error, with what it was computed from.

The properties themselves (density, diffusion, conductivity, dielectric constant, heat of
vaporisation, RDFs, ion-pair lifetimes, ...) are the modules of `polcg.md.properties`, registered in
its `PROPERTIES`; this module reads the trajectory once for the ones asked for (and what they
require), runs them in output order, and holds the result (`Properties`, written and read back as
properties.json).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from polcg.errors import InputError
from polcg.io import read_json
from polcg.md.estimators import Estimate
from polcg.md.properties import Context, default_names, label, normalised, plan
from polcg.md.series import collect
from polcg.md.trajectory import Run


@dataclass(frozen=True)
class AnalysisSettings:
    properties: tuple[str, ...] = field(default_factory=default_names)  # names in polcg.md.properties.PROPERTIES
    viscosity_mpa_s: float | None = None  # for the Yeh–Hummer correction
    blocks: int = 10
    rdf_max_frames: int = 200
    gas_copies: int = 32
    gas_production_ps: float = 2000.0
    platform: str = "CPU"  # for the gas-phase ion-pair runs

    def __post_init__(self):
        object.__setattr__(self, "properties", normalised(tuple(self.properties)))
        if self.viscosity_mpa_s is not None and not self.viscosity_mpa_s > 0:
            raise InputError(f"viscosity must be positive, got {self.viscosity_mpa_s}")


@dataclass(frozen=True)
class Properties:
    run: str
    temperature_k: float
    water_fraction: float
    n_pairs: int
    frames: int
    frame_interval_ps: float
    finished: bool
    values: dict[str, Estimate] = field(default_factory=dict)  # name → estimate (units in the name)
    notes: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # property → raw result (not in the JSON)
    provenance: dict = field(default_factory=dict)

    @property
    def rdf_r_nm(self) -> np.ndarray | None:
        return self.raw["rdf"][0] if "rdf" in self.raw else None

    @property
    def rdf(self) -> dict[str, np.ndarray] | None:
        """g(r) by bead-type pair ("A-B") on `rdf_r_nm`, where RDFs were computed."""
        return self.raw["rdf"][1] if "rdf" in self.raw else None

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("values", "raw")}
        out["properties"] = {k: asdict(v) for k, v in self.values.items()}
        return out

    @classmethod
    def load(cls, path: str | Path) -> Properties:
        """A `properties.json` written by `polcg analyze` (no raw results: RDFs are in rdf.csv)."""
        doc = read_json(path, "properties file")
        if not isinstance(doc, dict):
            raise InputError(f"{path}: a properties file is a JSON object")
        head = {f.name: _field(doc, f.name, path) for f in fields(cls) if f.name not in ("values", "raw")}
        values = _values(_field(doc, "properties", path), path)
        return cls(**{**head, "notes": tuple(head["notes"]), "values": values})


#: JSON field → the types it may have
_SCHEMA = {"run": (str,), "temperature_k": (int, float), "water_fraction": (int, float), "n_pairs": (int,),
           "frames": (int,), "frame_interval_ps": (int, float), "finished": (bool,), "notes": (list,),
           "provenance": (dict,), "properties": (dict,)}


def _field(doc: dict, name: str, path) -> Any:
    if name not in doc:
        raise InputError(f"{path}: properties file has no field {name!r}")
    value, types = doc[name], _SCHEMA[name]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise InputError(f"{path}: field {name!r} must be {' or '.join(t.__name__ for t in types)}, "
                         f"got {type(value).__name__}")
    return value


def _values(doc: dict, path) -> dict[str, Estimate]:
    out = {}
    for name, v in doc.items():
        if not (isinstance(v, dict) and _number(v.get("value")) and _number(v.get("error"))
                and isinstance(v.get("detail", ""), str)):
            raise InputError(f"{path}: property {name!r} must be {{value: number, error: number, detail: text}}")
        out[name] = Estimate(float(v["value"]), float(v["error"]), v.get("detail", ""))
    return out


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def analyze(directory, settings: AnalysisSettings = AnalysisSettings()) -> Properties:
    """The properties `settings` asks for (with those they require), from one pass over the trajectory."""
    run = Run.open(directory)
    todo = plan(settings.properties)
    reducers = {p.name: r for p in todo if (r := p.prepare(run, settings)) is not None}
    series = collect(run, reducers.values())
    ctx = Context(run, settings, series, run.state(), run.frame_interval_ps(), reducers)
    if not run.finished:
        ctx.notes.append("the run is not finished: only its completed production segments were analysed")
    failed = set()
    for prop in todo:
        if failed.intersection(prop.requires):
            continue
        try:
            ctx.results[prop.name] = prop.compute(ctx)
        except InputError as exc:  # a property the data cannot give is reported, the others still are
            ctx.notes.append(f"{label(prop)} not computed: {exc}")
            failed.add(prop.name)
    raw = {k: v for k, v in ctx.results.items() if v is not None}
    return Properties(str(run.directory), run.settings.temperature_k, run.water_fraction, run.settings.n_pairs,
                      len(series.time_ps), ctx.dt_ps, run.finished, ctx.values, tuple(ctx.notes), raw,
                      _provenance(run, settings))


def _provenance(run: Run, st: AnalysisSettings) -> dict:
    import mdtraj
    import openmm

    import polcg

    return {"polcg": polcg.__version__, "openmm": openmm.version.full_version, "mdtraj": mdtraj.__version__,
            "model_sha256": run.model.sha256(), "settings": asdict(st),
            "segments": [dcd.name for dcd, _ in run.segments]}
