"""Files of `polcg analyze`: properties JSON, RDFs as CSV and PNG."""

from __future__ import annotations

from pathlib import Path

from polcg.io import write_csv_atomic, write_json_atomic
from polcg.md.analysis import Properties


def write_outputs(props: Properties, out_dir: str | Path) -> dict[str, Path]:
    """`properties.json`, and where RDFs were computed `rdf.csv` (r_nm, one g(r) column per bead
    pair) and `rdf.png`, in `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "properties.json"}
    if props.rdf:
        files["rdf_csv"], files["rdf_png"] = out / "rdf.csv", out / "rdf.png"
        _rdf_csv(props, files["rdf_csv"])
        _rdf_png(props, files["rdf_png"])
    write_json_atomic(files["json"], props.to_dict())  # last: a properties file means the outputs are complete
    return files


def _rdf_csv(props: Properties, path: Path) -> None:
    keys = list(props.rdf)
    rows = ([f"{r:.4f}", *(f"{props.rdf[k][i]:.5f}" for k in keys)] for i, r in enumerate(props.rdf_r_nm))
    write_csv_atomic(path, ["r_nm", *(f"g_{k}" for k in keys)], rows)


def _rdf_png(props: Properties, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for key, g in props.rdf.items():
        ax.plot(props.rdf_r_nm, g, label=key, lw=1.2)
    ax.axhline(1.0, color="0.6", lw=0.6)
    ax.set_xlabel("r / nm")
    ax.set_ylabel("g(r)")
    ax.set_title(f"intermolecular RDFs, T = {props.temperature_k:g} K, x = {props.water_fraction:.3f}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
