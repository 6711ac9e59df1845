"""Chain stage 1: GEBF charges of every cluster, then how they change with cluster size.

Each cluster's charges go to `<out>/charges/<cluster>.json` (the `polcg charges --json` document)
with a record beside it (`<cluster>.record.json`) keyed by the cluster file's sha256, the method
and the GEBF settings; finished QM jobs live in the job store (`qm.workdir`), so a stage killed
in the middle of a cluster loses only the jobs in flight. The largest cluster (most ion pairs)
gives the models' charges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from polcg.chain.config import ChainConfig
from polcg.chain.record import RECORD, digest, inputs_key, read_record, write_record
from polcg.errors import InputError, PolcgError


@dataclass(frozen=True)
class ClusterJob:
    cluster: Path
    output: Path
    record: Path
    inputs: dict
    key: str


def stage_dir(out: Path) -> Path:
    return Path(out) / "charges"


def method_and_settings(cfg: ChainConfig):
    from polcg.gebf import GEBFSettings
    from polcg.qm import MethodSpec

    method = MethodSpec(xc=cfg.qm.xc, basis=cfg.qm.basis, scheme=cfg.qm.scheme, grid_level=cfg.qm.grid)
    return method, GEBFSettings(xi=cfg.gebf.xi, eta=cfg.gebf.eta)


def jobs(cfg: ChainConfig, out: Path) -> list[ClusterJob]:
    from polcg.chain.record import file_sha256

    method, settings = method_and_settings(cfg)
    result = []
    for path in cfg.clusters:
        inputs = {"paths": {"cluster": str(path)}, "cluster_sha256": file_sha256(path), "method": asdict(method),
                  "gebf": _settings_key(settings), "fragments": cfg.gebf.fragments}
        key = inputs_key(inputs)
        d = stage_dir(out)
        result.append(ClusterJob(path, d / f"{path.stem}.json", d / f"{path.stem}.record.json", inputs, key))
    return result


def _settings_key(settings) -> dict:
    """The GEBF settings that define the charges: how a run decides it has converged to them
    (`predict`) is left out, as warm starts are, so charges recorded before it existed stay valid."""
    return {k: v for k, v in asdict(settings).items() if k != "predict"}


def stage_key(cfg: ChainConfig, out: Path) -> str:
    return digest([j.key for j in jobs(cfg, out)])


def is_done(cfg: ChainConfig, out: Path) -> bool:
    return read_record(stage_dir(out) / RECORD, stage_key(cfg, out)) is not None


def run(cfg: ChainConfig, out: Path, on_job=None) -> dict:
    """Charges of every cluster (reusing finished ones), the transferability table and plot."""
    from polcg.chain.transferability import transferability, write_plot
    from polcg.io import write_json_atomic

    docs, timings = {}, {}
    for job in jobs(cfg, out):
        docs[job.cluster.stem], timings[job.cluster.stem] = _cluster(cfg, out, job, on_job)
    d = stage_dir(out)
    table = transferability(docs, cfg.cation, cfg.anion)
    table["largest"]["file"] = str(d / f"{table['largest']['cluster']}.json")
    write_json_atomic(d / "transferability.json", table)
    write_plot(table, d / "transferability.png")
    outputs = {"transferability": d / "transferability.json", "plot": d / "transferability.png",
               **{name: d / f"{name}.json" for name in docs}}
    summary = {"largest": table["largest"], "timing": timings}
    write_record(d / RECORD, {"clusters": [j.inputs for j in jobs(cfg, out)]}, stage_key(cfg, out), outputs, summary)
    return summary


def _cluster(cfg: ChainConfig, out: Path, job: ClusterJob, on_job) -> tuple[dict, dict]:
    from polcg.charges import ClusterCharges, RunOptions, compute_charges
    from polcg.io import write_json_atomic
    from polcg.structure.io import load_cluster

    if read_record(job.record, job.key) is not None:
        return ClusterCharges.load(job.output).to_dict(), {"reused": True, "jobs_computed": 0}
    cluster = load_cluster(job.cluster, total_charge=0)
    _check_ions(cluster, cfg, job.cluster)
    method, settings = method_and_settings(cfg)
    workdir = cfg.qm.workdir or stage_dir(out) / "qm_work"
    options = RunOptions(device=cfg.qm.device, workers=cfg.qm.workers, workdir=str(workdir),
                         memory_mb=cfg.qm.memory_mb)
    result = compute_charges(cluster, method, settings, fragments=cfg.gebf.fragments, options=options, on_job=on_job)
    if not result.converged:
        raise PolcgError(f"{job.cluster}: GEBF embedding charges did not converge in {settings.max_iter} passes "
                         f"(last change {result.max_charge_change[-1]:.2e} e)")
    doc = result.to_dict()
    write_json_atomic(job.output, doc)
    write_record(job.record, job.inputs, job.key, {"charges": job.output}, {"timing": result.timing})
    return doc, {"reused": False, **result.timing}


def _check_ions(cluster, cfg: ChainConfig, path: Path) -> None:
    names = sorted({m.name for m in cluster.molecules})
    if names != sorted({cfg.cation, cfg.anion}):
        raise InputError(f"{path}: holds {', '.join(map(str, names))}, not the chain's {cfg.cation} and {cfg.anion}")


def largest_charges(out: Path) -> dict:
    """{'file', 'pairs', 'method'} of the cluster whose charges the models use (from the stage's table)."""
    import json

    path = stage_dir(out) / "transferability.json"
    if not path.is_file():
        raise InputError(f"{path}: no charges yet: run the charges stage first")
    return json.loads(path.read_text(encoding="utf-8"))["largest"]
