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
    if device not in DEVICES:
        raise InputError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    if device != "auto":
        return device, None
    reason = probe_gpu()
    return ("cpu", f"--device auto: using the CPU: {reason}") if reason else ("gpu", None)


def resolve_device(device: str) -> str:
    """Map "auto" to the GPU where a tiny GPU4PySCF calculation runs (`probe_gpu`), else the CPU."""
    return explain_device(device)[0]


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
