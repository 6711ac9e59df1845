"""Chain stage 4: validation runs of every model with the chosen parameters.

Each model (VaCG with the scan's ε_IL, Drude) at every temperature in the neat IL; the VaCG model at
every water fraction x > 0 at the experiment temperature; and, with `md.box_check_pairs`, each
model in a second box at the experiment temperature for the Yeh–Hummer check of D
(`finite_size.py`; its production `md.box_check_production`, by default the validation runs').
Every condition runs once per seed (`runs.py`, resumable) and its properties are the seeds' mean.
Output: `<out>/validate/validation.json`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from polcg.chain import model_stage, scan
from polcg.chain.config import ChainConfig, MDConfig
from polcg.chain.quantities import from_analysis
from polcg.chain.record import RECORD, inputs_key, read_record, write_record
from polcg.chain.runs import analysis_settings, combine, fit_window_ps, md_job, run_jobs, run_settings

SPECIES = ("D_cation_m2_s", "D_anion_m2_s")
#: beside σ_EH: the conductivity of uncorrelated ions from the D's, and σ_EH / σ_NE (the inverse Haven ratio)
NERNST_EINSTEIN = ("conductivity_nernst_einstein_s_m", "conductivity_ratio_eh_ne")


@dataclass(frozen=True)
class Condition:
    model: str  # vacg | drude
    temperature_k: float
    water_fraction: float
    pairs: int
    jobs: tuple  # one RunJob per seed


def stage_dir(out: Path) -> Path:
    return Path(out) / "validate"


def models(cfg: ChainConfig, out: Path) -> dict:
    """The models validated: VaCG with the scan's ε_IL, the Drude model as built."""
    return {kind: scan.chosen_model(out) if kind == "vacg" else model_stage.load(out, kind) for kind in cfg.models}


def conditions(cfg: ChainConfig, out: Path) -> list[Condition]:
    t_exp, md = cfg.targets.experiment_t_k, cfg.md
    wanted = [(kind, t, 0.0, md.pairs) for kind in cfg.models for t in cfg.temperatures]
    wanted += [("vacg", t_exp, x, md.pairs) for x in cfg.water_fractions if x > 0]
    if md.box_check_pairs:
        wanted += [(kind, t_exp, 0.0, n) for kind in cfg.models if kind in (md.box_check_models or cfg.models)
                   for n in (md.pairs, md.box_check_pairs)]
    analysis, built, out_conds = analysis_settings(md), models(cfg, out), []
    for kind, t, x, n in dict.fromkeys(wanted):
        run_md = replace(md, production_ps=production_ps(md, n, kind))
        jobs = tuple(md_job(out, built[kind], run_settings(run_md, t, n, x, seed), analysis) for seed in md.seeds)
        out_conds.append(Condition(kind, t, x, n, jobs))
    return out_conds


def production_ps(md: MDConfig, pairs: int, kind: str = "vacg") -> float:
    """A validation run's production: long for transport, the Drude model's own and the second
    box's own where they are given."""
    long = md.validate_production_ps or md.production_ps
    if kind == "drude" and md.drude_production_ps:
        long = md.drude_production_ps
    return md.box_check_production_ps or long if pairs == md.box_check_pairs else long


def inputs(cfg: ChainConfig, out: Path) -> dict:
    return {"runs": [j.key for c in conditions(cfg, out) for j in c.jobs]}


def is_done(cfg: ChainConfig, out: Path) -> bool:
    return read_record(stage_dir(out) / RECORD, inputs_key(inputs(cfg, out))) is not None


def run(cfg: ChainConfig, out: Path, on_run=None) -> dict:
    from polcg.io import write_json_atomic

    ins, conds = inputs(cfg, out), conditions(cfg, out)
    done = run_jobs([j for c in conds for j in c.jobs], cfg.md, on_run)
    rows = [_row(cfg, cond, [done[j.key] for j in cond.jobs]) for cond in conds]
    built = models(cfg, out)
    doc = {"conditions": rows, "yeh_hummer": _box_checks(cfg, rows),
           "models": {k: {"sha256": m.sha256(), "eps_il": m.dielectric.eps_il.value if k == "vacg" else None,
                          "lj": m.provenance.get("lj", {}), "provenance": m.provenance} for k, m in built.items()}}
    path = stage_dir(out) / "validation.json"
    write_json_atomic(path, doc)
    write_record(stage_dir(out) / RECORD, ins, inputs_key(ins), {"validation": path}, {"conditions": len(rows)})
    return {"conditions": len(rows)}


def _row(cfg: ChainConfig, cond: Condition, records: list[dict]) -> dict:
    combined = combine(records)
    values = from_analysis(combined, cfg.cation, cfg.anion)
    apparent = {k: v for k, v in from_analysis(combined, cfg.cation, cfg.anion, apparent=True).items()
                if k not in values}  # upper bounds where a run was not diffusive
    windows = {k: [fit_window_ps(d) for d in values[k]["detail"].split("; ")] for k in SPECIES if k in values}
    return {"model": cond.model, "T_K": cond.temperature_k, "x_water": cond.water_fraction, "pairs": cond.pairs,
            "values": values, "apparent_upper_bounds": apparent, "msd_window_ps": windows,
            "nernst_einstein": {k: combined[k] for k in NERNST_EINSTEIN if k in combined},
            "box_nm": sum(r["box_nm"] for r in records) / len(records),
            "runs": [r["run"] for r in records], "notes": sorted({n for r in records for n in r["notes"]})}


def _box_checks(cfg: ChainConfig, rows: list[dict]) -> dict:
    """Per model: each species' two-box Yeh–Hummer fit, and (key "joint") the one slope they share."""
    from polcg.chain.finite_size import yeh_hummer, yeh_hummer_joint

    n2, t = cfg.md.box_check_pairs, cfg.targets.experiment_t_k
    if not n2:
        return {}
    out = {}
    for kind in [k for k in cfg.models if k in (cfg.md.box_check_models or cfg.models)]:
        pair = [next(r for r in rows if r["model"] == kind and r["T_K"] == t and r["x_water"] == 0.0
                     and r["pairs"] == n) for n in (cfg.md.pairs, n2)]
        boxes = (pair[0]["box_nm"], pair[1]["box_nm"])
        out[kind] = {k: yeh_hummer(t, boxes, (pair[0]["values"][k]["value"], pair[1]["values"][k]["value"]),
                                   (pair[0]["values"][k]["error"], pair[1]["values"][k]["error"]))
                     for k in SPECIES if all(k in p["values"] for p in pair)}
        if out[kind]:
            out[kind]["joint"] = yeh_hummer_joint(t, boxes, out[kind])
    return out
