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
    """Map "auto" to the best usable backend; check the others.

    Until the GPU4PySCF backend lands, "auto" always resolves to "cpu"."""
    if device not in DEVICES:
        raise InputError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    return "cpu" if device == "auto" else device


def get_backend(device: str):
    """The backend object for a resolved device ("cpu" or "gpu")."""
    if device == "cpu":
        from polcg.qm.pyscf_backend import PySCFBackend
        return PySCFBackend()
    if device == "gpu":
        if not gpu_usable():
            raise BackendNotFound("--device gpu: no usable GPU with gpu4pyscf here "
                                  "(install with `pip install polcg[gpu]` on a CUDA machine)")
        raise BackendNotFound("--device gpu: the GPU4PySCF backend is not part of this release yet; "
                              "use --device cpu")
    raise InputError(f"unknown device {device!r}")
