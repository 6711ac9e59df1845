"""On-disk job store: one JSON file per finished job, named by the job key, written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

from polcg.io import write_json_atomic
from polcg.qm.spec import QMJob, QMResult


class JobStore:
    """Finished QM jobs under `root/jobs/<key[:2]>/<key>.json` (input and result together).

    A file exists only once its job finished (write to a temporary file, then rename), so a
    killed run leaves no half-written result and a rerun reuses every finished job.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / "jobs" / key[:2] / f"{key}.json"

    def get(self, job: QMJob) -> QMResult | None:
        path = self.path(job.key())
        if not path.exists():
            return None
        try:
            with open(path) as fh:
                return QMResult.from_dict(json.load(fh)["result"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable: treat as not done, it will be recomputed and replaced

    def put(self, job: QMJob, result: QMResult) -> Path:
        path = self.path(job.key())
        write_json_atomic(path, {"job": job.to_dict(), "result": result.to_dict()})
        return path

    def count(self) -> int:
        return sum(1 for _ in (self.root / "jobs").glob("*/*.json")) if (self.root / "jobs").exists() else 0
