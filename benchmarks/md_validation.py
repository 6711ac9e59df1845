"""Validation of the simulation stage against numbers no one here wrote: polarizable MARTINI water
alone, the 4-site [C4mim][PF6] model and polcg's [C4mim][BF4] (Roy-Maroncelli cation + QTAIM-scaled
BF4 bead), each run with `polcg simulate` and `polcg analyze`, compared with experiment from
../shared/reference. Writes JSON (default benchmarks/results/md_validation.json).

    python benchmarks/md_validation.py [--systems pw,pw-martini,pf6,bf4] [--scale 1.0] [--workdir validation_runs]

`--scale` multiplies every run length (0.1 for a quick look). Runs are resumable (rerun the same
command after a kill).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from polcg.cg.builders import IonsSpec, build_vacg
from polcg.cg.model import Epsilon, Nonbonded
from polcg.md.analysis import AnalysisSettings, analyze
from polcg.md.run import RunSettings, simulate

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"

SYSTEMS = {
    # name: (ions, water, settings, experimental file, temperature)
    "pw": dict(ions=IonsSpec("C4mim", "PF6"), water="PW", n_pairs=0, n_water=500, temperature_k=300.0,
               timestep_fs=20.0, equilibrate_ps=500.0, production_ps=3000.0, report_ps=2.0, experiment=None),
    # PW with the nonbonded convention it was parametrised with (MARTINI 2: LJ force switch 0.9-1.2 nm,
    # no dispersion correction; PME with eps_r 2.5 as in `pw`)
    "pw-martini": dict(ions=IonsSpec("C4mim", "PF6"), water="PW", n_pairs=0, n_water=500, temperature_k=300.0,
                       timestep_fs=20.0, equilibrate_ps=500.0, production_ps=3000.0, report_ps=2.0, experiment=None,
                       nonbonded=Nonbonded(dispersion_correction=False, lj_switch_nm=0.9)),
    # PW at eps_r 2.75 under each convention: where its dielectric constant meets water's (docs/simulate.md)
    "pw-w2.75": dict(ions=IonsSpec("C4mim", "PF6"), water="PW", n_pairs=0, n_water=500, temperature_k=300.0,
                     timestep_fs=20.0, equilibrate_ps=500.0, production_ps=3000.0, report_ps=2.0, experiment=None,
                     eps_w=2.75),
    "pw-martini-w2.75": dict(ions=IonsSpec("C4mim", "PF6"), water="PW", n_pairs=0, n_water=500,
                             temperature_k=300.0, timestep_fs=20.0, equilibrate_ps=500.0, production_ps=3000.0,
                             report_ps=2.0, experiment=None, eps_w=2.75,
                             nonbonded=Nonbonded(dispersion_correction=False, lj_switch_nm=0.9)),
    "pf6": dict(ions=IonsSpec("C4mim", "PF6"), water=None, n_pairs=300, n_water=None, temperature_k=298.15,
                timestep_fs=10.0, equilibrate_ps=1000.0, production_ps=2000.0, report_ps=5.0,
                experiment="experimental_c4mim_pf6.csv"),
    "bf4": dict(ions=IonsSpec("C4mim", "BF4"), water=None, n_pairs=300, n_water=None, temperature_k=298.15,
                timestep_fs=10.0, equilibrate_ps=1000.0, production_ps=2000.0, report_ps=5.0,
                experiment="experimental_c4mim_bf4.csv"),
}


def experimental_density(file: str, temperature_k: float) -> dict:
    """Median and spread of the dry-IL experimental densities within 0.5 K of T (kg/m3)."""
    rows = list(csv.DictReader(open(REFERENCE / file, encoding="utf-8")))
    vals = [float(r["value"]) for r in rows if r["property"] == "density" and float(r["x_water"] or 0) == 0
            and abs(float(r["T_K"]) - temperature_k) < 0.5]
    return {"median_kg_m3": float(np.median(vals)), "min": min(vals), "max": max(vals), "n": len(vals),
            "source": f"../shared/reference/{file}"}


def run_system(name: str, spec: dict, scale: float, workdir: Path) -> dict:
    eps_w = Epsilon(value=spec["eps_w"]) if "eps_w" in spec else None  # None: the water model's own eps_r
    model = build_vacg(spec["ions"], water=spec["water"], eps_w=eps_w, nonbonded=spec.get("nonbonded", Nonbonded()))
    settings = RunSettings(n_pairs=spec["n_pairs"], n_water=spec["n_water"], temperature_k=spec["temperature_k"],
                           timestep_fs=spec["timestep_fs"], equilibrate_ps=spec["equilibrate_ps"] * scale,
                           production_ps=spec["production_ps"] * scale, report_ps=spec["report_ps"],
                           segment_ps=50 * spec["report_ps"], platform="auto")
    t0 = time.perf_counter()
    result = simulate(model, settings, workdir / name)
    props = analyze(workdir / name, AnalysisSettings(platform="CPU"))
    out = {"model": {"ions": [m.name for m in model.molecules], "bases": [m.base for m in model.molecules],
                     "nonbonded": model.nonbonded.__dict__},
           "settings": {k: v for k, v in settings.__dict__.items()}, "platform": result.platform,
           "ns_per_day": result.ns_per_day, "wall_s": time.perf_counter() - t0, "analysis": props.to_dict()}
    if spec["experiment"]:
        exp = experimental_density(spec["experiment"], spec["temperature_k"])
        rho = props.values["density_g_cm3"]
        out["density_vs_experiment"] = {"simulated_kg_m3": rho.value * 1000, "error_kg_m3": rho.error * 1000,
                                        "experiment": exp,
                                        "relative_deviation": rho.value * 1000 / exp["median_kg_m3"] - 1.0}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--systems", default="pw,pf6,bf4")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workdir", type=Path, default=Path("validation_runs"))
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "md_validation.json")
    args = ap.parse_args()
    doc = json.loads(args.out.read_text()) if args.out.exists() else {}
    for name in args.systems.split(","):
        doc[name] = run_system(name, SYSTEMS[name], args.scale, args.workdir)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1, default=str))
        print(name, json.dumps(doc[name].get("density_vs_experiment", doc[name]["analysis"]["properties"]
                                   .get("dielectric_constant")), default=str))


if __name__ == "__main__":
    main()
