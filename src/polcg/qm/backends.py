"""Backend registry: one interface (`found`, `version`, `compute`) per device.

A backend module registers its class under a device name (``@BACKENDS.register("cpu", help=...)``);
the built-in modules are imported on the first lookup, and another distribution adds a backend
through the ``polcg.backends`` entry-point group. A backend class has `found()`, `version()`,
`compute(job, config)` and `not_found`, the one-line error when `found()` is False.
"""

from __future__ import annotations

import importlib

from polcg.errors import BackendNotFound, InputError
from polcg.registry import Registry

BACKENDS: Registry[type] = Registry("device", entry_points="polcg.backends")
BUILTIN_BACKENDS = ("polcg.qm.pyscf_backend", "polcg.qm.gpu4pyscf_backend")  # each registers itself


def backend_registry() -> Registry[type]:
    """`BACKENDS` with the built-in backend modules imported (they import this module, not the reverse)."""
    for module in BUILTIN_BACKENDS:
        importlib.import_module(module)
    return BACKENDS


def devices() -> tuple[str, ...]:
    """The --device choices: "auto" and the device of every registered backend."""
    return ("auto", *backend_registry().names())


def gpu_usable() -> bool:
    """True when gpu4pyscf imports and CUDA reports at least one device."""
    try:
        import cupy
        import gpu4pyscf  # noqa: F401
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDA driver errors: no usable GPU
        return False


GPU4PYSCF_MIN = (1, 5)  # gpu4pyscf.qmmm, the embedding, first shipped in 1.5


def probe_gpu() -> str | None:
    """None when a tiny GPU4PySCF calculation (H2, HF/STO-3G) runs and matches the CPU's energy;
    else one line saying why the GPU cannot be used."""
    try:
        import cupy
        import gpu4pyscf
    except Exception as exc:  # ImportError or a CUDA library that fails to load
        return f"gpu4pyscf/cupy not importable ({type(exc).__name__}: {exc})"
    version = tuple(int(p) for p in gpu4pyscf.__version__.split(".")[:2] if p.isdigit())
    if version < GPU4PYSCF_MIN:
        return f"gpu4pyscf {gpu4pyscf.__version__} is older than 1.5 (no gpu4pyscf.qmmm)"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "CUDA reports no device"
        return _tiny_calculation()
    except Exception as exc:  # driver/runtime mismatch, out of memory, kernel failures
        return f"a tiny GPU calculation failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"


def _tiny_calculation() -> str | None:
    from gpu4pyscf import scf as gscf
    from pyscf import gto, scf

    mol = gto.M(atom="H 0 0 0; H 0 0 0.74", basis="sto-3g", verbose=0)
    e_gpu, e_cpu = float(gscf.RHF(mol).kernel()), float(scf.RHF(mol).kernel())
    return None if abs(e_gpu - e_cpu) < 1e-8 else f"GPU and CPU energies of H2 differ by {e_gpu - e_cpu:.1e} Eh"


def gpu_stack_installed() -> bool:
    """gpu4pyscf is installed (whether or not it can run here)."""
    import importlib.util

    return importlib.util.find_spec("gpu4pyscf") is not None


def explain_device(device: str) -> tuple[str, str | None]:
    """The device a run uses and, where "auto" falls back to the CPU, the one-line reason."""
    if device not in devices():
        raise InputError(f"unknown device {device!r}; choose from {', '.join(devices())}")
    if device != "auto":
        return device, None
    reason = probe_gpu()
    return ("cpu", f"--device auto: using the CPU: {reason}") if reason else ("gpu", None)


def resolve_device(device: str) -> str:
    """Map "auto" to the GPU where a tiny GPU4PySCF calculation runs (`probe_gpu`), else the CPU."""
    return explain_device(device)[0]


def get_backend(device: str):
    """The backend object for a resolved device (a registered name, not "auto"); BackendNotFound
    where that backend cannot run here."""
    backend = backend_registry().get(device)
    if not backend.found():
        raise BackendNotFound(backend.not_found)
    return backend()
