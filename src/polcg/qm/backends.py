"""Backend registry: one interface (`found`, `version`, `compute`) per device."""

from __future__ import annotations

from polcg.errors import BackendNotFound, InputError

DEVICES = ("auto", "cpu", "gpu")


def gpu_usable() -> bool:
    """True when gpu4pyscf imports and CUDA reports at least one device."""
    try:
        import cupy
        import gpu4pyscf  # noqa: F401
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDA driver errors: no usable GPU
        return False


def resolve_device(device: str) -> str:
    """Map "auto" to the GPU where one is usable (gpu4pyscf + a CUDA device), else the CPU."""
    if device not in DEVICES:
        raise InputError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    if device == "auto":
        return "gpu" if gpu_usable() else "cpu"
    return device


def get_backend(device: str):
    """The backend object for a resolved device ("cpu" or "gpu")."""
    if device == "cpu":
        from polcg.qm.pyscf_backend import PySCFBackend
        return PySCFBackend()
    if device == "gpu":
        if not gpu_usable():
            raise BackendNotFound("--device gpu: no usable GPU with gpu4pyscf here "
                                  "(install with `pip install polcg[gpu]` on a CUDA machine)")
        from polcg.qm.gpu4pyscf_backend import GPU4PySCFBackend
        return GPU4PySCFBackend()
    raise InputError(f"unknown device {device!r}")
