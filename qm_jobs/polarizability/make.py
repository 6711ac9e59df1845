"""Compute and record the shipped ion polarizabilities (one JSON record per library ion).

    python qm_jobs/polarizability/make.py                # every library ion, default method
    python qm_jobs/polarizability/make.py C4mim BF4      # some ions

Geometry: the recorded one when `<Ion>.json` exists (so a rerun reproduces the numbers),
else RDKit ETKDGv3 + GFN2-xTB gas-phase relaxation (needs tblite: `pip install 'polcg[xtb]'`).
Method: the `polcg polarizability` defaults (PBE0/def2-SVPD, CPKS α, QTAIM volumes at
ρ ≥ 0.001 a.u. on a 0.1 Å grid, k_D 4184 kJ/mol/Å², m_D 0.4 u, Thole 2.6). Each record is
exactly what `polcg polarizability ION --json` writes for that ion, plus the command.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from polcg.fragments import load_library
from polcg.jobs.store import write_json_atomic
from polcg.polarizabilities import ion_from_library, ion_polarizability, load_shipped

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> None:
    for name in names or list(load_library().names):
        t0 = time.perf_counter()
        ion = ion_from_library(name, "auto" if load_shipped(name, HERE) else "xtb")
        res = ion_polarizability(ion, workdir=HERE.parents[1] / "polcg_work" / "shipped")
        doc = {"ions": [res.to_dict()], "command": f"polcg polarizability {name} --json {name}.json"}
        write_json_atomic(HERE / f"{name}.json", doc)
        beads = ", ".join(f"{b.name} {b.alpha_angstrom3:.3f}" for b in res.beads)
        print(f"{name}: α = {res.alpha_iso_angstrom3:.3f} Å³ ({beads}); {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
