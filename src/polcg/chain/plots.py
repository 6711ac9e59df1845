"""The chain's PNG plots: the ε_IL scan, and the report's properties against temperature (and
against the water fraction where the chain has more than one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from polcg.chain.choice import LOG_KEYS, predict
from polcg.chain.quantities import KEYS

LABELS = {"density_kg_m3": "density / kg m$^{-3}$", "D_cation_m2_s": "D cation / m$^2$ s$^{-1}$",
          "D_anion_m2_s": "D anion / m$^2$ s$^{-1}$", "conductivity_S_m": "conductivity / S m$^{-1}$",
          "hvap_kJ_mol": "$\\Delta H_{vap}$ / kJ mol$^{-1}$"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _panels(plt, n: int):
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 3.4), dpi=110)
    return fig, np.atleast_1d(axes)


def scan_plot(doc: dict, path: Path) -> None:
    """Each scored property and the score against ε_IL: grid points and fits (one colour per value
    of the other scanned parameters), the fit at the chosen values, the choice, the target."""
    plt = _pyplot()
    choice, targets = doc["choice"], {t["key"]: t["value"] for t in doc["targets"]}
    chosen = choice.get("params") or {"eps_il": choice["eps_il"]}
    names = list(chosen)
    points = [r.get("params") or {"eps_il": r["eps_il"]} for r in doc["rows"]]
    others = sorted({tuple(p[n] for n in names[1:]) for p in points})
    eps = np.array([p["eps_il"] for p in points])
    keys = list(choice["fits"])
    fig, axes = _panels(plt, len(keys) + 1)
    fine = np.linspace(eps.min(), eps.max(), 200)

    def at(rest):
        return np.column_stack([fine] + [np.full_like(fine, v) for v in rest])

    curves = [(rest, f"C{i}", ", ".join(f"{n} {v:g}" for n, v in zip(names[1:], rest)))
              for i, rest in enumerate(others)]
    for ax, key in zip(axes, keys):
        for rest, colour, label in curves:
            sel = [i for i, p in enumerate(points) if tuple(p[n] for n in names[1:]) == rest]
            vals = [doc["rows"][i]["values"].get(key, {"value": np.nan, "error": 0.0}) for i in sel]
            ax.errorbar(eps[sel], [v["value"] for v in vals], [v["error"] for v in vals], fmt="o", capsize=3,
                        color=colour, label=label or None)
            ax.plot(fine, predict(key, choice["fits"][key], at(rest)), "-", lw=1, color=colour)
        if len(names) > 1:
            ax.plot(fine, predict(key, choice["fits"][key], at([chosen[n] for n in names[1:]])), "--", lw=1,
                    color="C3", label="at the chosen LJ")
        if key in LOG_KEYS:
            ax.set_yscale("log")
        ax.axhline(targets[key], color="k", ls="--", lw=0.8, label="experiment")
        ax.axvline(choice["eps_il"], color="C3", lw=0.8)
        ax.set_ylabel(LABELS[key], fontsize=8)
    axes[0].legend(fontsize=6)
    for rest, colour, _ in curves:
        sel = [i for i, p in enumerate(points) if tuple(p[n] for n in names[1:]) == rest]
        axes[-1].plot(eps[sel], [choice["grid_scores"][i] for i in sel], "o", color=colour)
    text = ", ".join(f"{'ε_IL' if n == 'eps_il' else n} {v:.3g}" for n, v in chosen.items())
    axes[-1].axvline(choice["eps_il"], color="C3", lw=0.8, label=f"chosen {text}")
    axes[-1].set_ylabel("score (mean sq. rel. deviation)", fontsize=8)
    axes[-1].legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("$\\varepsilon_{IL}$")
    fig.suptitle(f"VaCG scan at {doc['temperature_k']:g} K, {doc['pairs']} pairs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report_plots(report: dict, folder: Path) -> dict[str, Path]:
    """`vs_temperature.png` (neat IL) and, with more than one water fraction, `vs_water_fraction.png`."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"vs_temperature": folder / "vs_temperature.png"}
    neat = [r for r in report["rows"] if r["x_water"] == 0.0]
    _plot(neat + report["published"], "T_K", "T / K", files["vs_temperature"])
    if len({r["x_water"] for r in report["rows"]}) > 1:
        files["vs_water_fraction"] = folder / "vs_water_fraction.png"
        mix = [r for r in report["rows"] if r["model"] == "polcg VaCG"]
        _plot(mix, "x_water", "water mole fraction x", files["vs_water_fraction"])
    return files


def _plot(rows: list[dict], xkey: str, xlabel: str, path: Path) -> None:
    plt = _pyplot()
    fig, axes = _panels(plt, len(KEYS))
    groups = list(dict.fromkeys(r["model"] for r in rows))
    for ax, key in zip(axes, KEYS):
        for k, model in enumerate(groups):
            pts = sorted((r[xkey], r[key], r.get(f"{key}_err") or 0.0) for r in rows
                         if r["model"] == model and r.get(key) is not None)
            if not pts:
                continue
            x, y, e = zip(*pts)
            style = dict(fmt="o-" if model.startswith("polcg") else "s", capsize=3, ms=4,
                         color="k" if model == "experiment" else f"C{k}")
            ax.errorbar(x, y, e, label=model, **style)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(LABELS[key], fontsize=8)
        if key.startswith("D_"):
            ax.set_yscale("log")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
