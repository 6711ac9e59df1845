"""QM layer: method and job specs, backends (PySCF on CPU), population schemes."""

from polcg.qm.backends import get_backend, resolve_device
from polcg.qm.charge_schemes import CHARGE_SCHEMES
from polcg.qm.spec import MethodSpec, QMJob, QMResult, RunConfig

__all__ = ["CHARGE_SCHEMES", "MethodSpec", "QMJob", "QMResult", "RunConfig", "get_backend", "resolve_device"]
