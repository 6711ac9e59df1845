"""How GEBF charges change with cluster size: per cluster, the mean cation and anion charge and
the mean charge of every bead, each with its standard deviation over the ions of that cluster
(e). The cluster with the most ion pairs is the one the models take their charges from."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _stats(values: list[float]) -> dict:
    return {"mean_e": float(np.mean(values)), "std_e": float(np.std(values)), "count": len(values)}


def cluster_row(name: str, doc: dict, cation: str, anion: str) -> dict:
    """One cluster's ion and bead charge statistics from its `polcg charges` document."""
    row = {"cluster": name, "file": doc["provenance"].get("input_file"),
           "sha256": doc["provenance"].get("input_sha256")}
    for role, ion in (("cation", cation), ("anion", anion)):
        ions = [i for i in doc["ions"] if i["name"] == ion]
        beads = {b["name"] for i in ions for b in i["beads"]}
        row[role] = {"name": ion, **_stats([i["charge"] for i in ions]),
                     "beads": {b: _stats([x["charge"] for i in ions for x in i["beads"] if x["name"] == b])
                               for b in sorted(beads)}}
    row["pairs"] = row["cation"]["count"]
    return row


def transferability(docs: dict[str, dict], cation: str, anion: str) -> dict:
    """Rows sorted by the number of pairs, each cluster's drift from the largest one, and the largest."""
    rows = sorted((cluster_row(n, d, cation, anion) for n, d in docs.items()), key=lambda r: r["pairs"])
    big = rows[-1]
    for r in rows:
        r["cation_minus_largest_e"] = r["cation"]["mean_e"] - big["cation"]["mean_e"]
    method = docs[big["cluster"]]["method"]
    return {"units": "e", "rows": rows, "what": "mean and standard deviation over the ions of each cluster",
            "largest": {"cluster": big["cluster"], "pairs": big["pairs"], "method": method,
                        "cluster_file": big["file"], "cluster_sha256": big["sha256"]}}


def write_plot(table: dict, path: Path) -> None:
    """Ion and bead charges (± std over the ions) against the number of ion pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table["rows"]
    n = [r["pairs"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.8), dpi=120)
    for role in ("cation", "anion"):
        axes[0].errorbar(n, [abs(r[role]["mean_e"]) for r in rows], [r[role]["std_e"] for r in rows],
                         marker="o", capsize=3, label=f"|{rows[0][role]['name']}|")
        for bead in rows[-1][role]["beads"]:
            stats = [r[role]["beads"].get(bead) for r in rows]
            axes[1].errorbar([k for k, s in zip(n, stats) if s], [s["mean_e"] for s in stats if s],
                             [s["std_e"] for s in stats if s], marker="s", capsize=3, label=bead)
    axes[0].set_ylabel("|ion charge| / e")
    axes[1].set_ylabel("bead charge / e")
    for ax in axes:
        ax.set_xlabel("ion pairs in the cluster")
        ax.legend(fontsize=8)
    fig.suptitle(f"GEBF charges vs cluster size ({table['largest']['method'].get('xc')}/"
                 f"{table['largest']['method'].get('basis')}, {table['largest']['method'].get('scheme')})")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
