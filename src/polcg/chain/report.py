"""Chain stage 5: the report, `<out>/report.json` and `<out>/report.md` with PNG plots.

One row per polcg model, temperature (and water fraction) with the keys of `quantities.KEYS`, each
with an `_err` twin, where the charges came from, the MSD windows of the D fits and each value's
relative deviation from the experiment row at that temperature; beside them the published rows
of the targets table (one per model and temperature), the ε_IL scan's choice, the Yeh–Hummer
check, and provenance (polcg version, inputs' sha256).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from polcg.chain import charges_stage, scan, validate
from polcg.chain.config import ChainConfig
from polcg.chain.published import EXPERIMENT, PublishedTable, load_table
from polcg.chain.quantities import KEYS
from polcg.chain.record import RECORD, file_sha256, inputs_key, read_record, write_record

NAMES = {"vacg": "polcg VaCG", "drude": "polcg Drude"}


def inputs(cfg: ChainConfig, out: Path) -> dict:
    files = {"validation": validate.stage_dir(out) / "validation.json", "table": cfg.targets.table,
             "transferability": charges_stage.stage_dir(out) / "transferability.json"}
    if "vacg" in cfg.models:
        files["scan"] = scan.stage_dir(out) / "scan.json"
    return {"paths": {k: str(v) for k, v in files.items()}, "sha256": {k: file_sha256(v) for k, v in files.items()},
            "reference": str(cfg.targets.reference) if cfg.targets.reference else None,
            "tolerance_K": cfg.targets.tolerance_k}


def is_done(cfg: ChainConfig, out: Path) -> bool:
    return read_record(Path(out) / "report" / RECORD, inputs_key(inputs(cfg, out))) is not None


def run(cfg: ChainConfig, out: Path) -> dict:
    from polcg.chain.plots import report_plots
    from polcg.chain.report_md import write_markdown
    from polcg.io import write_json_atomic

    ins = inputs(cfg, out)
    doc = build(cfg, out, ins)
    write_json_atomic(Path(out) / "report.json", clean(doc))
    plots = report_plots(doc, Path(out) / "report")
    write_markdown(doc, plots, Path(out) / "report.md")
    outputs = {"json": Path(out) / "report.json", "markdown": Path(out) / "report.md", **plots}
    write_record(Path(out) / "report" / RECORD, ins, inputs_key(ins), outputs, {"rows": len(doc["rows"])})
    return {"rows": len(doc["rows"]), "report": str(Path(out) / "report.json")}


def load(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def build(cfg: ChainConfig, out: Path, ins: dict) -> dict:
    import polcg

    paths = ins["paths"]
    table = load_table(cfg.targets.table, cfg.targets.reference)
    validation, charges = load(paths["validation"]), load(paths["transferability"])["largest"]
    scan_doc = load(paths["scan"]) if "scan" in paths else None
    rows = [_polcg_row(c, validation, charges, table, cfg) for c in validation["conditions"]
            if c["pairs"] == cfg.md.pairs]
    return {"name": cfg.name, "system": f"[{cfg.cation}][{cfg.anion}]", "rows": rows,
            "published": published_rows(table), "scan": _scan_summary(scan_doc),
            "yeh_hummer": validation["yeh_hummer"], "transferability": paths["transferability"],
            "units": {k: unit for k, (_, _, unit) in KEYS.items()},
            "provenance": {"polcg": polcg.__version__, "config": str(cfg.path), "config_sha256": cfg.sha256,
                           "inputs_sha256": ins["sha256"], "table": str(table.path),
                           "table_checked_against": table.checked_against,
                           "models": {k: v["sha256"] for k, v in validation["models"].items()}}}


def _polcg_row(cond: dict, validation: dict, charges: dict, table: PublishedTable, cfg: ChainConfig) -> dict:
    row = {"model": NAMES[cond["model"]], "T_K": cond["T_K"], "x_water": cond["x_water"], "pairs": cond["pairs"]}
    for key in KEYS:
        v = cond["values"].get(key)
        row[key], row[f"{key}_err"] = (v["value"], v["error"]) if v else (None, None)
    m = charges["method"]
    row["charges"] = {"file": charges["file"], "method": f"{m.get('xc')}/{m.get('basis')} {m.get('scheme')}",
                      "cluster": charges["cluster"], "cluster_pairs": charges["pairs"],
                      "cluster_file": charges["cluster_file"], "cluster_sha256": charges["cluster_sha256"]}
    if cond["model"] == "vacg":
        row["eps_il"] = validation["models"]["vacg"]["eps_il"]
        if validation["models"]["vacg"].get("lj"):
            row["lj"] = validation["models"]["vacg"]["lj"]
    row["msd_window_ps"] = cond["msd_window_ps"]
    row["experiment"], row["deviation_from_experiment"] = {}, {}
    for key in KEYS:
        exp = table.value(EXPERIMENT, key, cond["T_K"], cfg.targets.tolerance_k) if cond["x_water"] == 0 else None
        if exp is not None:
            row["experiment"][key] = {"value": exp.value, "T_K": exp.temperature_k, "source": exp.source}
            row["deviation_from_experiment"][key] = row[key] / exp.value - 1.0 if row[key] is not None else None
    row["nernst_einstein"] = cond.get("nernst_einstein", {})
    row["notes"], row["runs"] = cond["notes"], cond["runs"]
    row["yeh_hummer"] = _finite_size(cond, validation, row["experiment"], cfg)
    given = _given_viscosity(cond, row["experiment"], cfg)
    if given:
        row["yeh_hummer_given_viscosity"] = given
    return row


def _given_viscosity(cond: dict, experiment: dict, cfg: ChainConfig) -> dict | None:
    """D∞ = D(L) + k_B T ξ / (6π η L) with the viscosity of `targets.viscosity_mPa_s` at the row's
    temperature (within `targets.tolerance_K`), each with its deviation from experiment; None without."""
    from polcg.md.estimators import yeh_hummer_m2_s

    eta = next((v for t, v in cfg.targets.viscosity_mpa_s if abs(t - cond["T_K"]) <= cfg.targets.tolerance_k), None)
    if eta is None or cond["x_water"] != 0:
        return None
    corr = yeh_hummer_m2_s(cond["T_K"], eta * 1e-3, cond["box_nm"])
    out = {"viscosity_mPa_s": eta, "box_nm": cond["box_nm"], "correction_m2_s": corr}
    for key in ("D_cation_m2_s", "D_anion_m2_s"):
        v = cond["values"].get(key)
        if v:
            exp = experiment.get(key)
            out[key] = {"value": v["value"] + corr, "error": v["error"],
                        "deviation_from_experiment": (v["value"] + corr) / exp["value"] - 1.0 if exp else None}
    return out


def _finite_size(cond: dict, validation: dict, experiment: dict, cfg: ChainConfig) -> dict | None:
    """D∞ of a box-checked condition (the species' common Yeh–Hummer slope), each with its deviation
    from experiment; None for conditions without a second box."""
    joint = validation["yeh_hummer"].get(cond["model"], {}).get("joint")
    if not joint or cond["x_water"] != 0 or abs(cond["T_K"] - cfg.targets.experiment_t_k) > 1e-6:
        return None
    if joint["viscosity_pa_s"] is None:  # D fell with the box: the two boxes do not resolve the correction
        return {"note": joint["note"]}
    out = {"viscosity_pa_s": joint["viscosity_pa_s"], "viscosity_err_pa_s": joint["viscosity_err_pa_s"],
           "correction_m2_s": joint["correction_m2_s"]}
    for key, v in joint["D_infinite_m2_s"].items():
        exp = experiment.get(key)
        out[key] = {**v, "deviation_from_experiment": v["value"] / exp["value"] - 1.0 if exp else None}
    return out


def published_rows(table: PublishedTable) -> list[dict]:
    """One row per table model and temperature, the keys it has (None elsewhere) and the sources."""
    out = []
    for model in table.models():
        for temp in sorted({r.temperature_k for r in table.rows if r.model == model}):
            here = {r.key: r for r in table.rows if r.model == model and r.temperature_k == temp}
            row = {"model": model if model == EXPERIMENT else f"published {model}", "T_K": temp}
            for key in KEYS:
                row[key] = here[key].value if key in here else None
                row[f"{key}_err"] = None
            row["source"] = sorted({f"{table.path.name}: {r.source}" for r in here.values()})
            out.append(row)
    return out


def _scan_summary(doc: dict | None) -> dict | None:
    if doc is None:
        return None
    c = doc["choice"]
    return {"eps_il": c["eps_il"], "params": c.get("params") or {"eps_il": c["eps_il"]}, "score": c["score"],
            "method": c["method"], "targets": doc["targets"], "dropped": c["dropped"],
            "grid": [{**(r.get("params") or {"eps_il": r["eps_il"]}), "score": s,
                      **{k: v["value"] for k, v in r["values"].items()}}
                     for r, s in zip(doc["rows"], c["grid_scores"])],
            "predicted": c["predicted"], "T_K": doc["temperature_k"]}


def clean(obj):
    """JSON without NaN or infinities (as null)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    return obj
