"""Chain stage 3: the scan of the VaCG model in the neat IL at the experiment temperature.

For every ε_IL of `vacg.eps_il_grid`, every combination of the bead LJ values of `vacg.lj_grid`
(none by default: ε_IL alone) and every seed, the VaCG model of the model stage with those
parameters is simulated and analysed (`runs.py`); the properties are compared with the experimental
rows of the targets table at `targets.experiment_T` (density, ΔH_vap and `targets.transport`:
the two D's at half weight each, or the conductivity), and `choice.choose_params` picks the
parameters inside the scanned box. Outputs: `<out>/scan/scan.json` (the table, the fits, the
choice), `<out>/scan/scan.png`, and the chosen model in `<out>/scan/model/`.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, replace
from pathlib import Path

from polcg.chain import model_stage
from polcg.chain.choice import ScoreTarget, choose_params
from polcg.chain.config import ChainConfig
from polcg.chain.published import EXPERIMENT, load_table
from polcg.chain.quantities import from_analysis
from polcg.chain.record import RECORD, inputs_key, read_record, write_record
from polcg.chain.runs import analysis_settings, combine, md_job, run_jobs, run_settings
from polcg.errors import InputError


def stage_dir(out: Path) -> Path:
    return Path(out) / "scan"


def with_eps(model, eps_il: float):
    """The model with ε_IL set: what `build_vacg(..., eps_il=Epsilon(value=eps_il))` builds."""
    from polcg.cg.model import Dielectric, Epsilon

    d = Dielectric(eps_il=Epsilon(value=eps_il), eps_w=model.dielectric.eps_w)
    return replace(model, dielectric=d).with_provenance(eps_il={"value": eps_il})


def with_params(model, params: dict[str, float]):
    """The model with a scan point's parameters: `eps_il` and bead LJ changes (`CGModel.with_lj`)."""
    lj = {k: v for k, v in params.items() if k != "eps_il"}
    return with_eps(model.with_lj(lj) if lj else model, params["eps_il"])


def grid_points(cfg: ChainConfig) -> list[dict[str, float]]:
    """Every scan point: ε_IL × the product of the `vacg.lj_grid` axes."""
    names = ["eps_il"] + [k for k, _ in cfg.vacg.lj_grid]
    axes = [cfg.vacg.eps_il_grid] + [v for _, v in cfg.vacg.lj_grid]
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


def targets(cfg: ChainConfig) -> list[ScoreTarget]:
    """The experimental rows the score uses, at the experiment temperature."""
    t = cfg.targets
    table = load_table(t.table, t.reference)
    keys = {"density_kg_m3": 1.0, "hvap_kJ_mol": 1.0}
    keys.update({"D_cation_m2_s": 0.5, "D_anion_m2_s": 0.5} if t.transport == "diffusion"
                else {"conductivity_S_m": 1.0})
    if t.versus and t.versus not in table.models():
        raise InputError(f"{t.table}: targets.versus: no model {t.versus!r} in the table "
                         f"(models: {', '.join(table.models())})")
    out = []
    for key, weight in keys.items():
        row = table.value(EXPERIMENT, key, t.experiment_t_k, t.tolerance_k)
        ref = table.value(t.versus, key, t.experiment_t_k, t.tolerance_k) if t.versus else None
        if row is not None:
            source = f"{row.text} ({row.source})" + (f"; {t.versus} {ref.text} ({ref.source})" if ref else "")
            out.append(ScoreTarget(key, row.value, weight, source, ref.value if ref else None))
    if not out:
        raise InputError(f"{t.table}: no experiment rows within {t.tolerance_k:g} K of "
                         f"targets.experiment_T = {t.experiment_t_k:g} K")
    return out


def jobs(cfg: ChainConfig, out: Path) -> list[tuple[dict, list]]:
    """(scan point, its runs: one per seed) for every point of the grid."""
    base = model_stage.load(out, "vacg")
    analysis = analysis_settings(cfg.md)
    result = []
    for point in grid_points(cfg):
        model = with_params(base, point)
        runs = [md_job(out, model, run_settings(cfg.md, cfg.targets.experiment_t_k, cfg.md.pairs, 0.0, seed),
                       analysis) for seed in cfg.md.seeds]
        result.append((point, runs))
    return result


def inputs(cfg: ChainConfig, out: Path) -> dict:
    grid = {"grid": list(cfg.vacg.eps_il_grid)}
    if cfg.vacg.lj_grid:
        grid["lj_grid"] = {k: list(v) for k, v in cfg.vacg.lj_grid}
    return {"runs": [j.key for _, runs in jobs(cfg, out) for j in runs], **grid,
            "targets": [asdict(t) for t in targets(cfg)], "experiment_T_K": cfg.targets.experiment_t_k}


def is_done(cfg: ChainConfig, out: Path) -> bool:
    return read_record(stage_dir(out) / RECORD, inputs_key(inputs(cfg, out))) is not None


def run(cfg: ChainConfig, out: Path, on_run=None) -> dict:
    from polcg.chain.plots import scan_plot
    from polcg.io import write_json_atomic

    ins, goals = inputs(cfg, out), targets(cfg)
    rows = []
    todo = jobs(cfg, out)
    done = run_jobs([j for _, runs in todo for j in runs], cfg.md, on_run)
    for point, runs in todo:
        records = [done[j.key] for j in runs]
        q = from_analysis(combine(records), cfg.cation, cfg.anion, apparent=True)
        rows.append({"eps_il": point["eps_il"], "params": point, "runs": [r["run"] for r in records], "values": q,
                     "notes": sorted({n for r in records for n in r["notes"]})})
    nan = {"value": float("nan")}
    choice = choose_params([r["params"] for r in rows],
                           {t.key: [r["values"].get(t.key, nan)["value"] for r in rows] for t in goals}, goals)
    source = {"from": "polcg chain scan", "scan": str(stage_dir(out) / "scan.json")}
    model = with_params(model_stage.load(out, "vacg"), choice.params).with_provenance(
        eps_il={"value": choice.eps_il, **source}, **({"lj_fit": source} if cfg.vacg.lj_grid else {}))
    model_path = model.save(stage_dir(out) / "model")
    doc = {"temperature_k": cfg.targets.experiment_t_k, "water_fraction": 0.0, "pairs": cfg.md.pairs,
           "rows": rows, "targets": [asdict(t) for t in goals], "choice": asdict(choice),
           "model": str(model_path), "model_sha256": model.sha256()}
    write_json_atomic(stage_dir(out) / "scan.json", doc)
    scan_plot(doc, stage_dir(out) / "scan.png")
    outputs = {"scan": stage_dir(out) / "scan.json", "model": model_path, "plot": stage_dir(out) / "scan.png"}
    write_record(stage_dir(out) / RECORD, ins, inputs_key(ins), outputs, {"params": choice.params,
                                                                          "score": choice.score})
    return {"eps_il": choice.eps_il, "params": choice.params, "score": choice.score, "dropped": list(choice.dropped)}


def chosen_model(out: Path):
    from polcg.cg.model import CGModel

    return CGModel.load(stage_dir(out) / "model")
