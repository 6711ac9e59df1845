"""Plots of a dielectric fit (PNG): properties vs x against experiment, ε(x) with the fitted forms,
and the surrogates' predicted loss landscape per x."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from polcg.cg.model import Epsilon


def write_plots(doc: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = [_properties(doc, out / "properties_vs_x.png", plt), _epsilon(doc, out / "epsilon_vs_x.png", plt),
             _landscapes(doc, out / "loss_landscape.png", plt)]
    return files


def _properties(doc, path, plt) -> Path:
    keys = sorted({k for px in doc["per_x"] for k in px["against_targets"]})
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.6), dpi=110, squeeze=False)
    for ax, key in zip(axes[0], keys):
        rows = [(px["x_mol_percent"], px["against_targets"][key]) for px in doc["per_x"]
                if key in px["against_targets"]]
        x = [r[0] for r in rows]
        ax.errorbar(x, [r[1]["target"] for r in rows], [r[1]["uncertainty"] for r in rows], fmt="ks", label="target")
        ax.errorbar(x, [r[1]["predicted"] for r in rows], [r[1]["predicted_sd"] for r in rows], fmt="o",
                    color="C0", label="model at fitted ε")
        ax.set_xlabel("water / mol %")
        ax.set_title(key, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _epsilon(doc, path, plt) -> Path:
    fig, ax = plt.subplots(figsize=(5.0, 3.6), dpi=110)
    grid = np.linspace(0.0, 1.0, 101)
    for name, colour in (("eps_il", "C3"), ("eps_w", "C0")):
        fit = doc.get(name)
        if not fit:
            continue
        pts = fit["points"]
        ax.errorbar(100 * np.array(pts["x"]), pts["eps"], pts["error"], fmt="o", color=colour,
                    label=f"{name} optima")
        eps = Epsilon.from_dict(fit["epsilon"])
        ax.plot(100 * grid, [eps.at(v) for v in grid], color=colour, label=f"{name}: {fit['form']}")
    ax.set_xlabel("water / mol %")
    ax.set_ylabel("ε")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _landscapes(doc, path, plt) -> Path:
    n = len(doc["per_x"])
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n, 3.2), dpi=110, squeeze=False)
    for ax, px in zip(axes[0], doc["per_x"]):
        land, names = px["landscape"], px["parameters"]
        loss = np.log10(np.maximum(np.array(land["loss"]), 1e-6))
        if len(names) == 1:
            p = np.array(land["params"][names[0]])
            order = np.argsort(p)
            ax.plot(p[order], loss[order])
            ax.axvline(px["optimum"][names[0]], color="k", lw=0.8)
            ax.set_xlabel(names[0])
            ax.set_ylabel("log10 predicted χ²")
        else:
            sc = ax.scatter(land["params"][names[0]], land["params"][names[1]], c=loss, s=4, cmap="viridis")
            ax.plot(px["optimum"][names[0]], px["optimum"][names[1]], "r*", ms=10)
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
            fig.colorbar(sc, ax=ax, label="log10 χ²")
        ax.set_title(f"x = {px['x_mol_percent']:g} mol %", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
