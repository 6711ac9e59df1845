"""`report.md`: the chain's report as a readable page (the numbers are those of report.json)."""

from __future__ import annotations

import os
from pathlib import Path

from polcg.chain.quantities import KEYS

HEAD = ("model", "T / K", "x", "density kg/m3", "D+ 1e-11 m2/s", "D- 1e-11 m2/s", "κ S/m", "ΔH_vap kJ/mol")
SCALE = {"D_cation_m2_s": 1e11, "D_anion_m2_s": 1e11}


def cell(row: dict, key: str) -> str:
    v = row.get(key)
    if v is None:
        return "–"
    f = SCALE.get(key, 1.0)
    err = row.get(f"{key}_err")
    return f"{v * f:.4g} ± {err * f:.2g}" if err is not None else f"{v * f:.4g}"


def table_lines(rows: list[dict]) -> list[str]:
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    for r in rows:
        lines.append(f"| {r['model']} | {r['T_K']:g} | {r.get('x_water', 0.0):g} | "
                     + " | ".join(cell(r, k) for k in KEYS) + " |")
    return lines


def _deviations(rows: list[dict]) -> list[str]:
    lines = ["| model | T / K | " + " | ".join(KEYS) + " |", "|" + "---|" * (len(KEYS) + 2)]
    for r in rows:
        dev = r["deviation_from_experiment"]
        lines.append(f"| {r['model']} | {r['T_K']:g} | " + " | ".join(
            f"{100 * dev[k]:+.1f} %" if dev.get(k) is not None else "–" for k in KEYS) + " |")
        given = r.get("yeh_hummer_given_viscosity") or {}
        if given:
            eta = given["viscosity_mPa_s"]
            lines.append(f"| {r['model']}, D∞ (Yeh–Hummer, η {eta:g} mPa s given) | {r['T_K']:g} | "
                         + " | ".join(f"{100 * given[k]['deviation_from_experiment']:+.1f} %"
                                      if isinstance(given.get(k), dict) and given[k]["deviation_from_experiment"]
                                      is not None else "–" for k in KEYS) + " |")
        fs = r.get("yeh_hummer") or {}
        if any(isinstance(fs.get(k), dict) for k in KEYS):
            lines.append(f"| {r['model']}, D∞ (Yeh–Hummer) | {r['T_K']:g} | " + " | ".join(
                f"{100 * fs[k]['deviation_from_experiment']:+.1f} %"
                if isinstance(fs.get(k), dict) and fs[k]["deviation_from_experiment"] is not None else "–"
                for k in KEYS) + " |")
    return lines


def _scan(scan: dict | None) -> list[str]:
    if scan is None:
        return []
    keys = [t["key"] for t in scan["targets"]]
    params = scan.get("params") or {"eps_il": scan["eps_il"]}
    chosen = ", ".join(f"{'ε_IL' if n == 'eps_il' else n} = **{v:.4g}**" for n, v in params.items())
    lines = ["## Scan (VaCG, neat IL)", "",
             f"Chosen {chosen} (score {scan['score']:.4g}) at {scan['T_K']:g} K: {scan['method']}.",
             "Targets: " + "; ".join(f"{t['key']} = {t['value']:.4g} (weight {t['weight']:g}, {t['source']})"
                                      for t in scan["targets"]) + ".", "",
             "| " + " | ".join("ε_IL" if n == "eps_il" else n for n in params) + " | score | " + " | ".join(keys)
             + " |", "|" + "---|" * (len(keys) + len(params) + 1)]
    for g in scan["grid"]:
        lines.append("| " + " | ".join(f"{g.get(n, float('nan')):g}" for n in params) + f" | {g['score']:.4g} | "
                     + " | ".join(f"{g[k]:.4g}" if g.get(k) is not None else "–" for k in keys) + " |")
    if scan["dropped"]:
        lines.append(f"\nNot computed at enough grid points, left out of the score: {', '.join(scan['dropped'])}.")
    return lines + [""]


def _yeh_hummer(checks: dict) -> list[str]:
    if not checks:
        return []
    lines = ["## Yeh–Hummer check of D (two box sizes)", "",
             "| model | species | L / nm | D / 1e-11 m2/s | D∞ / 1e-11 m2/s | implied η / mPa s |",
             "|---|---|---|---|---|---|"]
    for model, species in checks.items():
        for key, c in species.items():
            if key == "joint":
                continue
            lines.append(f"| {model} | {key} | {c['box_nm'][0]:.3f}, {c['box_nm'][1]:.3f} | "
                         f"{1e11 * c['D_m2_s'][0]:.4g}, {1e11 * c['D_m2_s'][1]:.4g} | "
                         f"{1e11 * c['D_infinite_m2_s']:.4g} ± {1e11 * c['D_infinite_err_m2_s']:.2g} | {_eta(c)} |")
        joint = species.get("joint")
        if joint:
            d_inf = ", ".join(f"{1e11 * v['value']:.4g} ± {1e11 * v['error']:.2g}"
                              for v in joint["D_infinite_m2_s"].values())
            lines.append(f"| {model} | both, one slope (χ² {joint['consistency_chi2']:.2g} for {joint['dof']} dof) "
                         f"| | {1e11 * joint['correction_m2_s']:+.3g} (correction of the first box) | {d_inf} "
                         f"| {_eta(joint)} |")
    return lines + [""]


def _eta(c: dict) -> str:
    if not c["viscosity_pa_s"]:
        return "– (" + c["note"] + ")"
    return f"{1e3 * c['viscosity_pa_s']:.3g} ± {1e3 * c['viscosity_err_pa_s']:.2g}"


def _msd_plots(rows: list[dict], path: Path) -> list[str]:
    """Links to each run's MSD plots (the MSD and its local log-log slope with the fit window shaded)."""
    links = []
    for r in rows:
        where = f"{r['model']} {r['T_K']:g} K" + (f" x {r['x_water']:g}" if r["x_water"] else "")
        for run in r["runs"]:
            for stem, name in (("msd", "D"), ("conductivity_msd", "σ")):
                png = Path(run) / "analysis" / f"{stem}.png"
                if png.is_file():
                    links.append(f"[{where}, {name}]({os.path.relpath(png, path.parent)})")
    return ["MSD plots, the fit window shaded: " + " · ".join(links), ""] if links else []


def write_markdown(report: dict, plots: dict[str, Path], path: Path) -> None:
    rows = report["rows"]
    ch = rows[0]["charges"] if rows else {}
    lines = [f"# {report['system']}: polcg chain `{report['name']}`", "",
             f"Charges: {ch.get('method')} GEBF charges of `{ch.get('cluster')}` "
             f"({ch.get('cluster_pairs')} ion pairs), "
             f"`{ch.get('file')}`; how they change with cluster size: `{report['transferability']}`.", "",
             "## Properties", "", *table_lines(rows + report["published"]), "",
             "D as simulated in the periodic box (no finite-size correction); conductivity by Einstein–Helfand with "
             "the ions' physical charges. Published rows: the targets table (review Table 1), at their own "
             "temperatures.", "", "## Deviation from experiment (same temperature)", "", *_deviations(rows), "",
             "MSD windows of the D fits (ps): " + "; ".join(
                 f"{r['model']} {r['T_K']:g} K: {r['msd_window_ps']}" for r in rows), "", *_msd_plots(rows, path),
             *_scan(report["scan"]), *_yeh_hummer(report["yeh_hummer"])]
    notes = sorted({n for r in rows for n in r["notes"]})
    if notes:
        lines += ["## Notes from the analyses", "", *(f"- {n}" for n in notes), ""]
    lines += [f"![{name}]({os.path.relpath(p, path.parent)})" for name, p in plots.items()]
    prov = report["provenance"]
    lines += ["", f"polcg {prov['polcg']}; config `{prov['config']}` (sha256 {prov['config_sha256'][:16]}…); "
              f"table `{prov['table']}`" + (" checked against the cited source" if prov["table_checked_against"]
                                            else " (not checked: no targets.reference)") + "."]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
