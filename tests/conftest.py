"""Shared fixtures: tiny ion-pair clusters built in code (HF/STO-3G-sized)."""

import os
from pathlib import Path

import numpy as np
import pytest

# The tests' CG boxes hold tens to a few hundred beads: one OpenMM CPU thread runs them faster than two
# (the tiny chain: 91 s instead of 127 s on 2 cores; the second thread mostly costs synchronisation).
# OpenMM reads this when it loads, so it is set before any test module imports it.
os.environ.setdefault("OPENMM_CPU_THREADS", "1")

TETRA = np.array([[1, 1, 1], [-1, -1, 1], [-1, 1, -1], [1, -1, -1]]) / np.sqrt(3)


def nh4cl_pair(centre, direction=(1, 1, 1), nh=1.03, hcl=2.05):
    """NH4+ with Cl- on the extension of one N-H bond (an N-H...Cl hydrogen bond)."""
    c = np.asarray(centre, float)
    atoms = [("N", c)] + [("H", c + nh * v) for v in TETRA]
    u = np.asarray(direction, float) / np.linalg.norm(direction)
    rot = _rotation_from_to(TETRA[0], u)
    atoms = [(el, c + rot @ (x - c)) for el, x in atoms]
    atoms.append(("Cl", c + u * (nh + hcl)))
    return atoms


def _rotation_from_to(a, b):
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, s, cth = np.cross(a, b), np.linalg.norm(np.cross(a, b)), np.dot(a, b)
    if s < 1e-12:
        return np.eye(3) if cth > 0 else -np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * ((1 - cth) / s**2)


def write_xyz(path: Path, atoms, comment="test cluster") -> Path:
    lines = [str(len(atoms)), comment] + [f"{el} {x:.6f} {y:.6f} {z:.6f}" for el, (x, y, z) in atoms]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def nh4cl_cluster(tmp_path):
    """Three NH4Cl pairs in contact (closest inter-pair contacts 2.5, 2.9 and 3.1 Å)."""
    atoms = (nh4cl_pair([0, 0, 0], (-1.2, 0.6, 0.6)) + nh4cl_pair([-0.7, -2.0, 4.8], (-1.0, 2.5, -1.2))
             + nh4cl_pair([-1.4, -4.2, 1.6], (-1.7, -1.2, 1.4)))
    return write_xyz(tmp_path / "nh4cl3.xyz", atoms)


@pytest.fixture
def separated_pairs(tmp_path):
    """Three NH4Cl pairs 25 Å apart, plus each pair alone in its own file."""
    centres = [[0, 0, 0], [25, 0, 0], [0, 25, 0]]
    pairs = [nh4cl_pair(c, (1, 0.3, 0.2)) for c in centres]
    single = [write_xyz(tmp_path / f"pair{i}.xyz", p) for i, p in enumerate(pairs)]
    return write_xyz(tmp_path / "separated.xyz", sum(pairs, [])), single


def missing_engine(message: str):
    """Skip a cross-engine test whose engine is missing; fail it where the engines are required
    (POLCG_REQUIRE_ENGINES=1, set by .ci/run after it installs them), so CI cannot go green on a skip."""
    import os

    if os.environ.get("POLCG_REQUIRE_ENGINES") == "1":
        pytest.fail(f"{message} (required here: POLCG_REQUIRE_ENGINES=1)", pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `gpu` where no usable GPU backend is present."""
    from polcg.qm.backends import gpu_usable

    if gpu_usable():
        return
    skip = pytest.mark.skip(reason="no usable GPU (gpu4pyscf + CUDA device) here")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
