"""GEBF: primitive subsystems, coefficients, the embedding loop and the assembly of charges and energy."""

from polcg.gebf.driver import GEBFResult, GEBFSettings, run_gebf
from polcg.gebf.subsystems import Subsystem, build_subsystems, gebf_coefficients, primitive_subsystems

__all__ = ["GEBFResult", "GEBFSettings", "Subsystem", "build_subsystems", "gebf_coefficients",
           "primitive_subsystems", "run_gebf"]
