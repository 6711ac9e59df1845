"""The Drude time step: how large a step the cold-Drude dual thermostat tolerates for polcg's
Drude CG [C4mim][PF6], as a function of the spring k_D (same α, so q_D = −sqrt(α k_D / 4πε₀)) and
the Drude mass m_D, and whether the properties move when the step grows.

    python benchmarks/drude_timestep.py scan       # stability: short NPT runs over k_D × m_D × dt
    python benchmarks/drude_timestep.py properties --variants 4184:0.4:1,1046:1.6:4 [--pairs 100]

`scan` runs each (k_D, m_D, dt) for `--ps` ps and records whether it blew up, the mean Drude and
core temperatures and the Drude period; `properties` runs equilibration + production for the
named variants (k_D kJ/mol/Å² : m_D u : dt fs) and compares density, potential energy per pair,
ε_∞ and the cost per ns. Both write JSON under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from polcg.cg.builders import IonsSpec, build_drude
from polcg.md.analysis import AnalysisSettings, analyze
from polcg.md.run import RunSettings, SimulationError, read_state, simulate

RESULTS = Path(__file__).parent / "results"


def period_fs(k_a2: float, m_drude: float, m_bead: float) -> float:
    """Core–Drude oscillation period 2π sqrt(μ/k) (fs), μ the reduced mass of bead core and Drude."""
    mu = m_drude * (m_bead - m_drude) / m_bead
    return 2 * math.pi * math.sqrt(mu / (k_a2 * 100.0)) * 1e3


def scan(args) -> None:
    rows = []
    for k in (float(v) for v in args.kd.split(",")):
        for m in (float(v) for v in args.md.split(",")):
            model = build_drude(IonsSpec("C4mim", "PF6"), k_drude_kj_mol_a2=k, drude_mass_u=m)
            t_min = min(period_fs(k, m, b.mass_u) for b in model.bead_types)
            for dt in (float(v) for v in args.dt.split(",")):
                rows.append(_stability(model, k, m, dt, t_min, args))
                print(json.dumps(rows[-1]))
    _write(args.out or RESULTS / "drude_timestep_scan.json", {"pairs": args.pairs, "ps": args.ps, "rows": rows})


def _stability(model, k, m, dt, t_min, args) -> dict:
    s = RunSettings(n_pairs=args.pairs, temperature_k=298.15, equilibrate_ps=0.0, production_ps=args.ps,
                    report_ps=0.06, segment_ps=args.ps,  # 60 fs: a whole number of 1-6 fs steps
                    timestep_fs=dt, platform="CPU", seed=11)
    row = {"k_drude_kj_mol_a2": k, "drude_mass_u": m, "timestep_fs": dt, "shortest_period_fs": t_min,
           "steps_per_period": t_min / dt}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            res = simulate(model, s, Path(tmp) / "r")
            st = read_state(Path(tmp) / "r")
            row.update(stable=True, drude_temperature_k=float(np.mean(st["drude_temperature_k"])),
                       drude_temperature_max_k=float(np.max(st["drude_temperature_k"])),
                       temperature_k=float(np.mean(st["temperature_k"])), ns_per_day=res.ns_per_day)
        except SimulationError as exc:
            row.update(stable=False, failure=str(exc))
    return row


def properties(args) -> None:
    rows = []
    for spec in args.variants.split(","):
        k, m, dt = (float(v) for v in spec.split(":"))
        model = build_drude(IonsSpec("C4mim", "PF6"), k_drude_kj_mol_a2=k, drude_mass_u=m)
        s = RunSettings(n_pairs=args.pairs, temperature_k=args.temperature, equilibrate_ps=args.equilibrate,
                        production_ps=args.production, report_ps=1.0, segment_ps=50.0, timestep_fs=dt,
                        platform="auto", seed=5)
        out = Path(args.workdir) / f"k{k:g}_m{m:g}_dt{dt:g}"
        t0 = time.perf_counter()
        res = simulate(model, s, out)
        props = analyze(out, AnalysisSettings(properties=("density", "dielectric"), blocks=5))
        st = read_state(out)
        prod = st[-round(args.production):]
        rows.append({"k_drude_kj_mol_a2": k, "drude_mass_u": m, "timestep_fs": dt, "platform": res.platform,
                     "ns_per_day": res.ns_per_day, "wall_s": time.perf_counter() - t0,
                     "drude_temperature_k": float(np.mean(prod["drude_temperature_k"])),
                     "temperature_k": float(np.mean(prod["temperature_k"])),
                     "potential_per_pair_kj_mol": float(np.mean(prod["potential_kj_mol"])) / args.pairs,
                     "properties": {n: e.__dict__ for n, e in props.values.items()}})
        print(json.dumps(rows[-1], default=str))
    _write(args.out or RESULTS / "drude_timestep_properties.json",
           {"pairs": args.pairs, "temperature_k": args.temperature, "equilibrate_ps": args.equilibrate,
            "production_ps": args.production, "rows": rows})


def _write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, default=str))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    a = sub.add_parser("scan")
    a.add_argument("--kd", default="4184,1046,465")
    a.add_argument("--md", default="0.4,1.6,3.2")
    a.add_argument("--dt", default="1,2,3,4,5,6")
    a.add_argument("--pairs", type=int, default=100)
    a.add_argument("--ps", type=float, default=12.0)
    a.add_argument("--out", type=Path)
    b = sub.add_parser("properties")
    b.add_argument("--variants", default="4184:0.4:1,1046:1.6:4")
    b.add_argument("--pairs", type=int, default=100)
    b.add_argument("--temperature", type=float, default=298.15)
    b.add_argument("--equilibrate", type=float, default=100.0)
    b.add_argument("--production", type=float, default=200.0)
    b.add_argument("--workdir", default="validation_runs/drude_timestep")
    b.add_argument("--out", type=Path)
    args = ap.parse_args()
    scan(args) if args.what == "scan" else properties(args)


if __name__ == "__main__":
    main()
