"""One simulation of the chain: `polcg simulate` + `polcg analyze` in its own directory.

A job's directory, `<out>/runs/<label>_<hash>/`, is named by what the run is (model, ε_IL, T, x,
pairs, seed) and a hash of the model, the run settings and the analysis settings, so the scan and
the validation share a run they both need. `run/` in it is a `polcg simulate` run directory (a
killed run continues from its last checkpoint), and `record.json` beside it holds the analysed
properties once the run is finished, so a finished job is never recomputed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from polcg.chain.config import MDConfig
from polcg.chain.record import digest
from polcg.io import write_json_atomic

PROPERTIES = ("density", "diffusion", "conductivity", "hvap")


@dataclass(frozen=True)
class RunJob:
    label: str
    model: object  # CGModel
    settings: object  # RunSettings
    analysis: object  # AnalysisSettings
    directory: Path
    key: str


def run_settings(md: MDConfig, temperature_k: float, n_pairs: int, water_fraction: float, seed: int):
    from polcg.md.run import RunSettings

    return RunSettings(n_pairs=n_pairs, water_fraction=water_fraction, temperature_k=temperature_k,
                       equilibrate_ps=md.equilibrate_ps, production_ps=md.production_ps, timestep_fs=md.timestep_fs,
                       report_ps=md.report_ps, segment_ps=md.segment_ps, friction_per_ps=md.friction_per_ps,
                       seed=seed, platform=md.platform)


def analysis_settings(md: MDConfig):
    from polcg.md.analysis import AnalysisSettings

    return AnalysisSettings(properties=PROPERTIES, blocks=md.blocks, gas_production_ps=md.gas_production_ps)


def runs_dir(out: Path) -> Path:
    return Path(out) / "runs"


def md_job(out: Path, model, settings, analysis) -> RunJob:
    key = digest({"model": model.sha256(), "settings": asdict(settings), "analysis": asdict(analysis)})
    eps = f"_eps{model.dielectric.eps_il.value:.4g}" if model.kind == "vacg" else ""
    label = (f"{model.kind}{eps}_T{settings.temperature_k:g}_x{settings.water_fraction:g}_p{settings.n_pairs}"
             f"_s{settings.seed}")
    return RunJob(label, model, settings, analysis, runs_dir(out) / f"{label}_{key[:12]}", key)


def status(job: RunJob) -> str:
    """'done', 'k/n segments' of a started run, or 'to run'."""
    if _record(job) is not None:
        return "done"
    progress = _progress(job)
    return f"{progress[0]}/{progress[1]} segments" if progress else "to run"


def _progress(job: RunJob) -> tuple[int, int] | None:
    """(segments done, segments) of a started run, from its progress file."""
    path = job.directory / "run" / "progress.json"
    if not path.is_file():
        return None
    p = json.loads(path.read_text(encoding="utf-8"))
    return p["segments"], p["of"]


def _record(job: RunJob) -> dict | None:
    path = job.directory / "record.json"
    if not path.is_file():
        return None
    rec = json.loads(path.read_text(encoding="utf-8"))
    return rec if rec.get("key") == job.key else None


def run_jobs(jobs, md: MDConfig, on_run=None) -> dict[str, dict]:
    """Records of `jobs` by job key: finished ones read back, the others simulated and analysed,
    `md_workers` at a time, each in its own process on its share of the cores. On the CPU platform
    one OpenMM process barely uses a second core on the chain's boxes (150 [C4mim][BF4] pairs: 423
    ns/day on one thread, 465 on two), so a stage's independent runs go side by side."""
    records, todo = {}, {}
    for job in jobs:
        rec = _record(job)
        if rec is not None:
            records[job.key] = rec
        else:
            todo.setdefault(job.key, job)
    todo = dict(sorted(todo.items(), key=lambda kv: -relative_cost(kv[1])))  # longest first: the shortest makespan
    workers = min(len(todo), md_workers(md))
    if workers <= 1:
        records.update({key: run_job(job, on_run) for key, job in todo.items()})
        return records
    from polcg.qm.cost import cpu_count

    records.update(_side_by_side(list(todo.values()), workers, max(1, cpu_count() // workers), on_run))
    return records


def relative_cost(job: RunJob) -> float:
    """A run's cost still to pay in particle-steps (pairs × steps, twice for a Drude model's extra
    particles), less the share of its segments a killed run already finished."""
    s, model = job.settings, job.model
    steps = (s.equilibrate_ps + s.production_ps) / (s.timestep(model) * 1e-3)
    done, of = _progress(job) or (0, 1)
    return s.n_pairs * steps * (2.0 if model.drude is not None else 1.0) * (1.0 - done / max(of, 1))


def md_workers(md: MDConfig) -> int:
    """Simulations at once: `md.workers`, or (0) one per core where the runs use the CPU platform."""
    if md.workers > 0:
        return md.workers
    from polcg.md.run import platform_name
    from polcg.qm.cost import cpu_count

    return cpu_count() if platform_name(md.platform) == "CPU" else 1


def _side_by_side(jobs: list[RunJob], workers: int, threads: int, on_run, poll_s: float = 20.0) -> dict[str, dict]:
    """Run `jobs` in `workers` spawned processes and report each run's segments as its progress file
    moves. An error (or Ctrl-C) terminates the processes; their finished segments are checkpointed."""
    import multiprocessing as mp

    shown: dict[str, tuple[int, int]] = {}
    records: dict[str, dict] = {}
    with mp.get_context("spawn").Pool(workers) as pool:  # leaving the block terminates the processes
        pending = {job.key: pool.apply_async(run_job, (job, None, threads)) for job in jobs}
        while pending:
            next(iter(pending.values())).wait(poll_s)
            for key in [k for k, res in pending.items() if res.ready()]:
                records[key] = pending.pop(key).get()
            if on_run:
                _report(jobs, shown, on_run)
    return records


def _report(jobs: list[RunJob], shown: dict[str, tuple[int, int]], on_run) -> None:
    for job in jobs:
        now = _progress(job)
        if now is not None and shown.get(job.key) != now:
            shown[job.key] = now
            on_run(job.label, *now)


def run_job(job: RunJob, on_run=None, threads: int | None = None) -> dict:
    """Simulate (or continue), analyse, and record; a finished job's record is read back.
    `on_run(label, segments_done, segments)` follows the simulation; `threads` caps OpenMM's CPU
    threads."""
    from polcg.md.analysis import analyze
    from polcg.md.report import write_outputs
    from polcg.md.run import simulate
    from polcg.md.trajectory import Run

    done = _record(job)
    if done is not None:
        return done
    run_dir = job.directory / "run"
    progress = (lambda k, n: on_run(job.label, k, n)) if on_run else None
    result = simulate(job.model, job.settings, run_dir, progress=progress, threads=threads)
    props = analyze(run_dir, job.analysis)
    write_outputs(props, run_dir / "analysis")
    volume = Run.open(run_dir).state()["volume_nm3"]
    s = job.settings
    rec = {"key": job.key, "label": job.label, "run": str(run_dir), "model_sha256": job.model.sha256(),
           "temperature_k": s.temperature_k, "water_fraction": s.water_fraction, "n_pairs": s.n_pairs,
           "seed": s.seed, "frames": props.frames, "platform": result.platform,
           "box_nm": float(np.mean(volume) ** (1.0 / 3.0)),
           "values": {k: {"value": v.value, "error": v.error, "detail": v.detail} for k, v in props.values.items()},
           "notes": list(props.notes), "provenance": props.provenance}
    write_json_atomic(job.directory / "record.json", rec)
    return rec


def combine(records: list[dict]) -> dict:
    """Properties of runs that differ only in the seed: the mean, with the larger of the propagated
    error and the seeds' standard error; every run's fit details are kept."""
    names = sorted({k for r in records for k in r["values"]})
    out = {}
    for name in names:
        have = [r["values"][name] for r in records if name in r["values"]]
        vals = np.array([v["value"] for v in have])
        err = math.sqrt(sum(v["error"] ** 2 for v in have)) / len(have)
        if len(have) > 1:
            err = max(err, float(np.std(vals, ddof=1) / math.sqrt(len(have))))
        out[name] = {"value": float(vals.mean()), "error": err, "runs": len(have),
                     "detail": "; ".join(v["detail"] for v in have)}
    return out


def fit_window_ps(detail: str) -> list[float] | None:
    """The lag window (ps) a D or conductivity fit used, from the estimator's detail text."""
    m = re.search(r"fit ([0-9.eE+-]+)-([0-9.eE+-]+) ps", detail or "")
    return [float(m.group(1)), float(m.group(2))] if m else None
