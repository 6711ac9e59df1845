"""The polarizability stage: QM α of an ion (`ion`), split over its CG beads by atoms-in-molecule volumes,
Drude and Thole parameters from the bead α (`drude`), and α of ions inside a GEBF-embedded cluster
(`cluster`). The names below are those of `ion`, the stage's entry point."""

from polcg.polarizabilities.ion import (
    POLARIZABILITY_METHOD,
    ROUTES,
    VOLUME_SCHEMES,
    BeadPolarizability,
    IonInput,
    IonPolarizability,
    QMPolarizability,
    VolumeSettings,
    bead_polarizabilities,
    ion_from_file,
    ion_from_library,
    ion_input,
    ion_job,
    ion_polarizability,
    load_polarizabilities,
    load_shipped,
    shipped_dir,
    split_over_beads,
)

__all__ = [
    "POLARIZABILITY_METHOD", "ROUTES", "VOLUME_SCHEMES", "BeadPolarizability", "IonInput", "IonPolarizability",
    "QMPolarizability", "VolumeSettings", "bead_polarizabilities", "ion_from_file", "ion_from_library", "ion_input",
    "ion_job", "ion_polarizability", "load_polarizabilities", "load_shipped", "shipped_dir", "split_over_beads",
]
