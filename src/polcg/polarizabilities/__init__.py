"""The polarizability stage: QM α of an ion (`ion`), split over its CG beads by atoms-in-molecule volumes,
Drude and Thole parameters from the bead α (`drude`), and α of ions inside a GEBF-embedded cluster
(`cluster`). The names below are those of `ion`, the stage's entry point; they are imported on first use,
so `polcg.polarizabilities.drude` (needed by the CG models and MD) loads no QM code."""

from __future__ import annotations

import importlib

__all__ = [
    "POLARIZABILITY_METHOD", "ROUTES", "VOLUME_SCHEMES", "BeadPolarizability", "IonInput", "IonPolarizability",
    "QMPolarizability", "VolumeSettings", "bead_polarizabilities", "ion_from_file", "ion_from_library",
    "ion_from_target", "ion_input", "ion_job", "ion_polarizability", "load_polarizabilities", "load_shipped",
    "shipped_dir", "split_over_beads",
]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module 'polcg.polarizabilities' has no attribute {name!r}")
    return getattr(importlib.import_module("polcg.polarizabilities.ion"), name)
