"""The real evaluator of the dielectric fit: one `polcg simulate` + `polcg analyze` per point,
in its own directory under `fit/sims/`, through the local-process (or Dask) executor.

A point's directory is named by a hash of everything that determines it; a finished point has
`record.json` and is never recomputed, and an unfinished run continues from its checkpoint, so a
killed fit loses only the runs in flight. With reweighting on, the Coulomb decomposition of the
run's frames is stored beside it (`frames.npz`), and after each round every run at that x is
reweighted (MBAR) to the ε of the other runs there and to points between them; values with at
least `MIN_EFFECTIVE_SAMPLES` effective samples join the surrogates' training data.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from polcg.fit.loop import Evaluation, Point
from polcg.io import write_json_atomic


@dataclass(frozen=True)
class SimSettings:
    cation: str = "C4mim"
    anion: str = "BF4"
    charges: str | None = None
    water: str = "PW"
    temperature_k: float = 298.15
    n_pairs: int = 100
    n_water_alone: int = 400  # PW molecules at x = 1
    equilibrate_ps: float = 200.0
    production_ps: float = 400.0
    report_ps: float = 2.0
    timestep_fs: float = 10.0
    platform: str = "CPU"
    properties: tuple[str, ...] = ("density",)
    reweight: bool = True
    seed: int = 1
    lj_switch_nm: float | None = None  # force-switched LJ from here to the cutoff, no dispersion correction
    cutoff_nm: float = 1.2

    def __post_init__(self) -> None:
        from polcg.cg.model import Nonbonded

        Nonbonded.from_options(self.cutoff_nm, lj_switch_nm=self.lj_switch_nm)  # InputError if out of range

    def key_fields(self) -> dict:
        """What names a point's run: every field, less the LJ fields at their defaults (so runs
        made before these fields existed keep their directories)."""
        from dataclasses import fields as dc_fields

        out, default = asdict(self), {f.name: f.default for f in dc_fields(self)}
        if all(out[k] == default[k] for k in _LJ_FIELDS):
            for k in _LJ_FIELDS:
                del out[k]
        return out


_LJ_FIELDS = ("lj_switch_nm", "cutoff_nm")  # added after the first fits: left out of run names at their defaults


def vacg_model(s: SimSettings, eps_il, eps_w):
    """The VaCG model of a fit at ε_IL, ε_W (`Epsilon`s): ions and charges of `s`, its water model
    and its LJ convention (`Nonbonded.from_options`: the plain cut with the dispersion correction,
    or with `lj_switch_nm` the force switch without it, MARTINI 2's convention)."""
    from polcg.cg.builders import IonsSpec, build_vacg
    from polcg.cg.model import Nonbonded

    return build_vacg(IonsSpec(s.cation, s.anion), charges=s.charges, water=s.water, eps_il=eps_il, eps_w=eps_w,
                      nonbonded=Nonbonded.from_options(s.cutoff_nm, lj_switch_nm=s.lj_switch_nm))


@dataclass(frozen=True)
class SimJob:
    point: Point
    settings: SimSettings
    directory: str

    @classmethod
    def at(cls, point: Point, settings: SimSettings, root: Path) -> SimJob:
        spec = json.dumps({"point": asdict(point), "settings": settings.key_fields()}, sort_keys=True)
        key = hashlib.sha256(spec.encode()).hexdigest()[:12]
        name = f"x{100 * point.x:05.1f}_il{point.eps_il:.4f}_w{point.eps_w:.4f}_{key}"
        return cls(point, settings, str(root / name))

    @property
    def label(self) -> str:
        """The run directory's name (names the job in errors)."""
        return Path(self.directory).name


def run_job(job: SimJob) -> dict:
    """Simulate and analyse one point (or read its finished record)."""
    record = Path(job.directory) / "record.json"
    if record.is_file():
        return json.loads(record.read_text(encoding="utf-8"))
    from polcg.cg.model import Epsilon
    from polcg.jobs.executors import worker_threads
    from polcg.md.analysis import AnalysisSettings, analyze
    from polcg.md.run import RunSettings, simulate

    s, p = job.settings, job.point
    model = vacg_model(s, Epsilon(value=p.eps_il), Epsilon(value=p.eps_w))
    alone = p.x == 1.0
    run = RunSettings(n_pairs=0 if alone else s.n_pairs, water_fraction=0.0 if alone else p.x,
                      n_water=s.n_water_alone if alone else None, temperature_k=s.temperature_k,
                      equilibrate_ps=s.equilibrate_ps, production_ps=s.production_ps, report_ps=s.report_ps,
                      segment_ps=s.report_ps * 50, timestep_fs=s.timestep_fs, platform=s.platform, seed=s.seed)
    out = Path(job.directory)
    simulate(model, run, out / "run", threads=worker_threads())
    props = analyze(out / "run", AnalysisSettings(properties=s.properties, rdf_max_frames=0, platform="CPU"))
    doc = {"point": asdict(p), "values": {k: [v.value, v.error] for k, v in props.values.items()},
           "notes": list(props.notes), "directory": str(out)}
    if s.reweight:
        from polcg.fit.reweight import coulomb_frames

        coulomb_frames(out / "run", platform="CPU").save(out / "frames.npz")
        doc["frames"] = str(out / "frames.npz")
    write_json_atomic(record, doc)
    return doc


def make_evaluator(settings: SimSettings, root: Path, executor, reweight_keys=("density_g_cm3",)):
    """`evaluate(points) → evaluations` for `run_loop`, running points through `executor`."""
    records: dict[float, list[dict]] = {}

    def evaluate(points: list[Point]) -> list[Evaluation]:
        jobs = [SimJob.at(pt, settings, root) for pt in points]
        by_dir = {}
        for job, doc in executor.map_unordered(run_job, jobs):
            by_dir[job.directory] = doc
        docs = [by_dir[j.directory] for j in jobs]
        for doc in docs:
            records.setdefault(doc["point"]["x"], []).append(doc)
        return [_evaluation(doc, records, settings, reweight_keys) for doc in docs]

    return evaluate


def _evaluation(doc: dict, records: dict, settings: SimSettings, keys) -> Evaluation:
    pt = Point(**doc["point"])
    values = {k: tuple(v) for k, v in doc["values"].items()}
    rew = ()
    if settings.reweight and "frames" in doc:
        rew = tuple(_reweighted(pt, records[pt.x], keys))
    return Evaluation(pt, values, rew, doc["directory"])


def _reweighted(pt: Point, docs: list[dict], keys):
    """Static values at the ε of the other runs at this x and halfway to them, from all its runs."""
    from polcg.fit.reweight import MIN_EFFECTIVE_SAMPLES, CoulombFrames, reweight

    frames = [CoulombFrames.load(Path(d["frames"])) for d in docs if "frames" in d]
    others = [Point(**d["point"]) for d in docs if Point(**d["point"]) != pt]
    targets = [replace(pt, eps_il=math.sqrt(pt.eps_il * o.eps_il), eps_w=math.sqrt(pt.eps_w * o.eps_w))
               for o in others]
    for new in targets:
        res = reweight(frames, new.eps_il, new.eps_w)
        if res["effective_samples"].value >= MIN_EFFECTIVE_SAMPLES:
            yield new, {k: (res[k].value, res[k].error) for k in keys if k in res}
