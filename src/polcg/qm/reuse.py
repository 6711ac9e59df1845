"""Reusing what an earlier SCF on the same atoms computed, across GEBF passes.

A subsystem is computed once per pass on the same atoms; only its background charges change, and
they enter the one-electron Hamiltonian alone. Two things therefore carry over from one pass to the
next:

- **the two-electron potential of the saved density.** A warm start from a job's own saved density
  begins by building Coulomb + XC (+ exchange) for that density: one full Fock build, the same one
  the previous pass ended with. It is saved with the density (`polcg.qm.guess`) under a key of the
  method fields it depends on (`potential_key`) and handed to PySCF's first `get_veff` call, which
  then costs nothing. The key leaves out what the potential does not depend on (SCF threshold,
  charge scheme), so the accurate HF pass after a cheap one reuses it; a cheap DFT pass on a coarser
  grid does not.
- **the density-fitting tensor** (three-centre Cholesky factor), which depends on the atoms, the
  basis and the auxiliary basis alone: saved per geometry as `.npy` under `<guess_dir>/df/` when it
  was built in core and is at most `DF_CACHE_MB`, and loaded instead of rebuilt. The folder is
  working storage for one run; `compute_charges` removes it at the end.

Neither changes an answer beyond round-off: the potential is the one PySCF would build from the same
density, the tensor the one it would compute. Only CPU (PySCF) jobs reuse them.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from polcg.io import atomic_path

#: largest density-fitting tensor kept on disk between passes (MB); larger ones are rebuilt, since
#: their build is then a small part of the job (the XC and J/K builds grow faster with size)
DF_CACHE_MB = 1024
POTENTIAL_FIELDS = ("xc", "basis", "auxbasis", "grid_level", "density_fit")


def potential_key(method) -> str:
    """What the two-electron potential of a density depends on, beyond the atoms: functional, basis,
    auxiliary basis (when fitted) and DFT grid."""
    payload = {f: getattr(method, f) for f in POTENTIAL_FIELDS}
    if method.is_hf:
        payload["grid_level"] = None
    if not method.density_fit:
        payload["auxbasis"] = None
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def potential_arrays(veff, key: str) -> dict:
    """A PySCF `get_veff` result as arrays for `np.savez` (the matrix and, for DFT, its energies)."""
    arrays = {"veff": np.asarray(veff), "veff_key": np.array(key)}
    for name in ("ecoul", "exc"):
        value = getattr(veff, name, None)
        if value is not None:
            arrays[f"veff_{name}"] = np.array(value)
    return arrays


def potential_from_arrays(data, key: str, shape):
    """The saved potential back as PySCF returns it, or None when absent, of another method or shape."""
    names = set(data.files)
    if "veff" not in names or str(data["veff_key"]) != key or data["veff"].shape != tuple(shape):
        return None
    veff = np.array(data["veff"])
    energies = {name: data[f"veff_{name}"][()] for name in ("ecoul", "exc") if f"veff_{name}" in names}
    if not energies:
        return veff
    from pyscf import lib

    return lib.tag_array(veff, **energies, vj=None, vk=None)


class PotentialHook:
    """Stands in for `mf.get_veff`: answers the first call on exactly `dm0` with `start` (the saved
    potential of that density), passes every other call to PySCF, and remembers the last density and
    potential it returned, so that the converged pair can be saved."""

    def __init__(self, mf, dm0=None, start=None):
        self._inner = mf.get_veff
        self._start = (dm0, start) if dm0 is not None and start is not None else None
        self.last = None
        self.reused = False
        mf.get_veff = self

    def __call__(self, mol=None, dm=None, *args, **kwargs):
        if self._start is not None and dm is not None and dm is self._start[0]:
            veff, self._start, self.reused = self._start[1], None, True
        else:
            veff = self._inner(mol, dm, *args, **kwargs)
        self.last = (dm, veff)
        return veff

    def potential_of(self, dm):
        """The potential last built for a density equal to `dm`, else None."""
        if self.last is None or self.last[0] is None or not np.array_equal(np.asarray(self.last[0]), dm):
            return None
        return self.last[1]


def df_path(guess_dir: str, geometry_key: str, auxbasis: str) -> str:
    tag = hashlib.sha256(f"{geometry_key}|{auxbasis}".encode()).hexdigest()[:32]
    return os.path.join(guess_dir, "df", tag + ".npy")


def load_df_tensor(mf, path: str | None) -> bool:
    """Give `mf` the saved density-fitting tensor at `path`; False when there is none."""
    if not path or not os.path.exists(path) or getattr(mf, "with_df", None) is None:
        return False
    try:
        cderi = np.load(path)
    except (OSError, ValueError):
        return False
    mf.with_df._cderi = cderi
    return True


def save_df_tensor(mf, path: str | None, cap_mb: float | None = None) -> bool:
    """Keep `mf`'s in-core density-fitting tensor at `path` when it is at most `cap_mb` (default
    `DF_CACHE_MB`)."""
    cap_mb = DF_CACHE_MB if cap_mb is None else cap_mb
    cderi = getattr(getattr(mf, "with_df", None), "_cderi", None)
    if not path or not isinstance(cderi, np.ndarray) or cderi.nbytes > cap_mb * 1e6 or os.path.exists(path):
        return False
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, cderi)
    return True
