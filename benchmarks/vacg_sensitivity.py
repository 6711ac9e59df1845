"""How the VaCG properties of a neat IL answer to its parameters: one run per variant, side by side.

A variant changes ε_IL and/or bead LJ parameters of the VaCG model built from GEBF charges:

    python benchmarks/vacg_sensitivity.py --charges qm_jobs/gebf/c4mim_bf4/charges_4.json \
        --variant base:eps_il=1.39 --variant eps1.30:eps_il=1.30 --variant bf4eps:eps_il=1.39,BF4.epsilon=1.5 \
        --variant cat:eps_il=1.39,cation.epsilon_scale=1.3 \
        --out benchmarks/results/vacg_sensitivity_c4mim_bf4.json --workdir /work/vacg_sens

`lj_switch=R1` force-switches the LJ from R1 nm to the cutoff with no dispersion correction
(the MARTINI 2 convention that PW was parametrised with). `NAME.sigma=` / `NAME.epsilon=` set a
bead type's LJ σ (nm) / ε (kJ/mol); `NAME.epsilon_scale=` and
`NAME.sigma_scale=` scale them; NAME is a bead type or `cation` / `anion` (all of that ion's beads),
as `CGModel.with_lj` and the chain's `vacg.lj_grid` take them.
Every run is a chain run (`polcg.chain.runs`: resumable, keyed by model and settings), so a rerun
continues killed runs and reuses finished ones. The JSON has each variant's properties and, against
the first variant, the change of each property (D and conductivity as logarithms).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from polcg.cg.model import Epsilon

KEYS = ("density_kg_m3", "hvap_kJ_mol", "D_cation_m2_s", "D_anion_m2_s", "conductivity_S_m")
LOG = {"D_cation_m2_s", "D_anion_m2_s", "conductivity_S_m"}


def parse_variant(text: str) -> tuple[str, dict[str, float]]:
    name, _, body = text.partition(":")
    changes = {}
    for item in filter(None, body.split(",")):
        key, _, value = item.partition("=")
        changes[key.strip()] = float(value)
    if not name or "eps_il" not in changes:
        sys.exit(f"--variant {text!r}: want NAME:eps_il=VALUE[,BEAD.epsilon=..,...]")
    return name, changes


def apply(base, changes: dict[str, float]):
    """The base model with ε_IL, the bead LJ changes of one variant (`CGModel.with_lj`) and, with
    `lj_switch=R1`, the LJ force-switched from R1 (nm) to the cutoff without the dispersion
    correction (the MARTINI 2 convention: `Nonbonded.from_options`)."""
    from dataclasses import replace

    from polcg.cg.model import Nonbonded
    from polcg.chain.scan import with_eps

    lj = {k: v for k, v in changes.items() if k not in ("eps_il", "lj_switch")}
    model = base.with_lj(lj) if lj else base
    if "lj_switch" in changes:
        nb = Nonbonded.from_options(model.nonbonded.cutoff_nm, lj_switch_nm=changes["lj_switch"])
        model = replace(model, nonbonded=nb).with_provenance(lj_switch_nm=changes["lj_switch"])
    return with_eps(model, changes["eps_il"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--charges", required=True)
    p.add_argument("--cation", default="C4mim")
    p.add_argument("--anion", default="BF4")
    p.add_argument("--variant", action="append", required=True)
    p.add_argument("--temperature", type=float, default=303.0)
    p.add_argument("--pairs", type=int, default=150)
    p.add_argument("--equilibrate-ps", type=float, default=500.0)
    p.add_argument("--production-ps", type=float, default=6000.0)
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--workdir", default="vacg_sensitivity")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)

    from polcg.cg.builders import IonsSpec, build_vacg
    from polcg.cg.model import Nonbonded
    from polcg.chain.config import MDConfig
    from polcg.chain.quantities import from_analysis
    from polcg.chain.runs import analysis_settings, md_job, run_jobs, run_settings

    base = build_vacg(IonsSpec(a.cation, a.anion, None, None), a.charges, "PW", Epsilon(value=1.0), None,
                      Nonbonded.from_options(1.2))
    md = MDConfig(pairs=a.pairs, equilibrate_ps=a.equilibrate_ps, production_ps=a.production_ps, report_ps=2.0,
                  segment_ps=500.0, platform="CPU", blocks=a.blocks, gas_production_ps=1000.0, workers=a.workers)
    variants = [parse_variant(v) for v in a.variant]
    jobs = {name: md_job(Path(a.workdir), apply(base, ch), run_settings(md, a.temperature, a.pairs, 0.0, 1),
                         analysis_settings(md)) for name, ch in variants}
    t0 = time.time()
    records = run_jobs(list(jobs.values()), md, lambda label, k, n: print(f"{label}: {k}/{n}", flush=True))
    rows = []
    for name, changes in variants:
        rec = records[jobs[name].key]
        q = from_analysis(rec["values"], a.cation, a.anion, apparent=True)
        rows.append({"variant": name, "changes": changes, "run": rec["run"], "box_nm": rec["box_nm"],
                     **{k: q.get(k, {}).get("value") for k in KEYS},
                     **{f"{k}_err": q.get(k, {}).get("error") for k in KEYS},
                     "details": {k: q.get(k, {}).get("detail") for k in KEYS}})
    ref = rows[0]
    for r in rows[1:]:
        r["change_vs_first"] = {k: (math.log(r[k] / ref[k]) if k in LOG else r[k] - ref[k])
                                for k in KEYS if r[k] and ref[k] and (k not in LOG or r[k] > 0 < ref[k])}
    doc = {"charges": a.charges, "temperature_k": a.temperature, "pairs": a.pairs,
           "equilibrate_ps": a.equilibrate_ps, "production_ps": a.production_ps, "blocks": a.blocks,
           "wall_s": time.time() - t0, "rows": rows,
           "note": "D and conductivity changes are natural logarithms of the ratio to the first variant"}
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    for r in rows:
        print(r["variant"], {k: (f"{r[k]:.4g}" if r[k] is not None else None) for k in KEYS})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
