"""Coarse-grained models: Drude/Thole parameters, CG models and their builders."""
