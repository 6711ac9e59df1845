"""The charges stage: Cluster → GEBF → `ClusterCharges` (atom, ion and bead charges, GEBF energy).

`run` holds the entry point `compute_charges` and the job runner; `result` the result types."""

from polcg.charges.result import BeadCharge, ClusterCharges, IonCharge, ion_charges
from polcg.charges.run import RunOptions, compute_charges, full_reference, make_runner, molecule_fragments

__all__ = ["BeadCharge", "ClusterCharges", "IonCharge", "RunOptions", "compute_charges", "full_reference",
           "ion_charges", "make_runner", "molecule_fragments"]
