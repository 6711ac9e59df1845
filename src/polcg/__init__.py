"""polcg: polarizable coarse-grained models of ionic liquids from GEBF quantum chemistry.

The stage entry points and their result types, in the order of the data flow (docs/api.md):

    cluster = polcg.load_cluster("cluster.xyz")                       # structure (Å, e)
    charges = polcg.compute_charges(cluster)                          # GEBF → polcg.ClusterCharges
    model = polcg.build_vacg(polcg.IonsSpec("C4mim", "BF4"), charges="charges.json")   # → polcg.CGModel
    polcg.simulate(model, polcg.RunSettings(n_pairs=300), "run")      # OpenMM
    props = polcg.analyze("run")                                      # → polcg.Properties

Names are imported on first use, so ``import polcg`` stays cheap (no PySCF or OpenMM) and
the package root imports no stage at import time.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name → the module that defines it (the stages' order)
_API = {
    # structure
    "load_cluster": "polcg.structure.io", "Cluster": "polcg.structure.cluster",
    # charges (GEBF)
    "compute_charges": "polcg.charges", "ClusterCharges": "polcg.charges", "RunOptions": "polcg.charges",
    "MethodSpec": "polcg.qm.spec", "GEBFSettings": "polcg.gebf.driver",
    # polarizabilities
    "ion_polarizability": "polcg.polarizabilities", "ion_from_library": "polcg.polarizabilities",
    "ion_from_file": "polcg.polarizabilities", "ion_from_target": "polcg.polarizabilities",
    "IonPolarizability": "polcg.polarizabilities",
    "load_polarizabilities": "polcg.polarizabilities",
    "cluster_polarizabilities": "polcg.polarizabilities.cluster",
    # CG models
    "build_vacg": "polcg.cg.builders", "build_drude": "polcg.cg.builders", "IonsSpec": "polcg.cg.builders",
    "CGModel": "polcg.cg.model", "Epsilon": "polcg.cg.model",
    # simulation, analysis, export
    "simulate": "polcg.md.run", "RunSettings": "polcg.md.run",
    "analyze": "polcg.md.analysis", "AnalysisSettings": "polcg.md.analysis", "Properties": "polcg.md.analysis",
    "export": "polcg.export",
    # fitting ε(x)
    "fit_dielectric": "polcg.fit.dielectric", "FitResult": "polcg.fit.dielectric",
    "SimSettings": "polcg.fit.evaluate", "LoopSettings": "polcg.fit.loop",
    # errors
    "PolcgError": "polcg.errors", "InputError": "polcg.errors", "QMError": "polcg.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'polcg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
