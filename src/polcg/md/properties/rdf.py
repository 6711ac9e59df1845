"""Intermolecular RDFs between bead types (Drude particles left out), by mdtraj, from at most
`rdf_max_frames` evenly spread frames; written as `rdf.csv` (r_nm, one g(r) column per bead pair)
and `rdf.png`."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from polcg.io import write_csv_atomic
from polcg.md.properties import Context, Property, register

RDF_BIN_NM = 0.01
#: at most this many frames × pairs in one distance call (memory)
RDF_BLOCK = 20_000_000


@register
class RDF(Property):
    name = "rdf"
    help = "intermolecular RDFs per bead-type pair: rdf.csv, rdf.png"
    order = 60

    def prepare(self, run, settings):
        if not settings.rdf_max_frames:
            return None
        stride = max(1, int(np.ceil(len(run.state()) / settings.rdf_max_frames)))
        return _RDF(run, stride)

    def compute(self, ctx: Context) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """(r_nm, {"A-B": g(r)}), or None where no RDF was asked for (rdf_max_frames 0)."""
        reducer = ctx.reducers.get(self.name)
        return reducer.conclude() if reducer is not None else None

    def write(self, props, out_dir: Path) -> dict[str, Path]:
        r, rdf = props.raw[self.name]
        if not rdf:
            return {}
        files = {"rdf_csv": Path(out_dir) / "rdf.csv", "rdf_png": Path(out_dir) / "rdf.png"}
        keys = list(rdf)
        rows = ([f"{x:.4f}", *(f"{rdf[k][i]:.5f}" for k in keys)] for i, x in enumerate(r))
        write_csv_atomic(files["rdf_csv"], ["r_nm", *(f"g_{k}" for k in keys)], rows)
        _png(props, r, rdf, files["rdf_png"])
        return files


class _RDF:
    """Histogram accumulators per bead-type pair (intermolecular pairs only), every `stride`-th frame."""

    def __init__(self, run, stride: int):
        import mdtraj

        from polcg.md.layout import molecule_slices

        parts = run.particles
        mol_of = np.empty(len(parts), dtype=int)
        for m, sl in enumerate(molecule_slices(list(parts))):
            mol_of[sl.start:sl.stop] = m
        types = list(dict.fromkeys(p.type_name for p in parts if not p.is_drude))
        index = {t: np.array([i for i, p in enumerate(parts) if p.type_name == t and not p.is_drude]) for t in types}
        self.pairs = {}
        for a, b in itertools.combinations_with_replacement(types, 2):
            ia, ib = index[a], index[b]
            grid = np.array(np.meshgrid(ia, ib, indexing="ij")).reshape(2, -1).T
            keep = mol_of[grid[:, 0]] != mol_of[grid[:, 1]]
            if a == b:
                keep &= grid[:, 0] < grid[:, 1]
            if keep.any():
                self.pairs[f"{a}-{b}"] = grid[keep]
        top = mdtraj.Topology()
        res = top.add_residue("CG", top.add_chain())
        for p in parts:
            top.add_atom(p.type_name, mdtraj.element.virtual, res)
        self.top, self.stride, self.sums, self.weights, self.r_max = top, stride, {}, 0.0, None

    def add(self, chunk, first_frame: int) -> None:
        import mdtraj

        n = chunk.time_ps.size
        frames = np.arange(n)[(np.arange(n) + first_frame) % self.stride == 0]
        if frames.size == 0:
            return
        box = chunk.box_nm[frames]
        if self.r_max is None:
            self.r_max = min(2.0, 0.5 * float(box.min()))
        traj = mdtraj.Trajectory(chunk.positions_nm[frames].astype(np.float32), self.top,
                                 unitcell_lengths=box, unitcell_angles=np.full_like(box, 90.0))
        weight = float(np.sum(1.0 / traj.unitcell_volumes))
        for key, pairs in self.pairs.items():
            step = max(1, RDF_BLOCK // len(pairs))
            for s in range(0, traj.n_frames, step):
                sub = traj[s:s + step]
                r, g = mdtraj.compute_rdf(sub, pairs, r_range=(0.0, self.r_max), bin_width=RDF_BIN_NM)
                self.sums[key] = self.sums.get(key, 0.0) + g * float(np.sum(1.0 / sub.unitcell_volumes))
        self.r, self.weights = r, self.weights + weight

    def conclude(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self.r, {k: v / self.weights for k, v in self.sums.items()}


def _png(props, r: np.ndarray, rdf: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for key, g in rdf.items():
        ax.plot(r, g, label=key, lw=1.2)
    ax.axhline(1.0, color="0.6", lw=0.6)
    ax.set_xlabel("r / nm")
    ax.set_ylabel("g(r)")
    ax.set_title(f"intermolecular RDFs, T = {props.temperature_k:g} K, x = {props.water_fraction:.3f}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
