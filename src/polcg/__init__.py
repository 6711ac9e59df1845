"""polcg: polarizable coarse-grained models of ionic liquids from GEBF quantum chemistry."""

__version__ = "0.1.0"
