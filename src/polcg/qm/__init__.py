"""QM layer: method and job specs, backends (PySCF on CPU), population schemes."""

from polcg.qm.backends import get_backend, resolve_device
from polcg.qm.spec import SCHEMES, MethodSpec, QMJob, QMResult, RunConfig

__all__ = ["SCHEMES", "MethodSpec", "QMJob", "QMResult", "RunConfig", "get_backend", "resolve_device"]
