"""Ion-pair lifetimes from the cation–anion pair time-correlation functions (not in the default set).

A cation and an anion are paired, h_ij(t) = 1, while their centres of mass are closer than r_c:
by default the first minimum of the cation–anion centre-of-mass g(r) (from at most 200 frames,
smoothed over 0.05 nm), or `cutoff_nm` given to the property. From h over all production frames:

* continuous TCF S(t) = <h_ij(0) H_ij(t)> / <h_ij(0)>, H = 1 while the pair has stayed paired at
  every frame since 0 (a break between two frames is missed: the frame interval bounds what it sees);
* intermittent TCF C(t) = (<h_ij(0) h_ij(t)> − <h>²) / (<h> − <h>²), <h> over all cation–anion
  pairs: it decays to 0 in a box of any size once pairs forget each other.

Each lifetime is the mean relaxation time ∫ exp(−(t/τ)^β) dt = τ Γ(1/β)/β of a stretched
exponential fitted (ln(−ln C) linear in ln t) to the TCF between 0.98 and 0.02, so a slow TCF is
extrapolated; its error is the spread over `blocks` time blocks. The TCFs are written to
ion_pair_tcf.csv. Pair distances of every frame make it costlier than the default properties.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from polcg.errors import InputError
from polcg.io import write_csv_atomic
from polcg.md.estimators import Estimate
from polcg.md.properties import Context, Property, register

RDF_FRAMES = 200
RDF_BIN_NM = 0.01
SMOOTH_BINS = 5
#: the stretched exponential is fitted where the TCF is within these bounds
FIT_HIGH, FIT_LOW = 0.98, 0.02


@register
class IonPairLifetime(Property):
    name = "ion_pair_lifetime"
    help = "continuous and intermittent cation-anion pair lifetimes, ps: ion_pair_tcf.csv"
    order = 70
    default = False

    def __init__(self, cutoff_nm: float | None = None):
        self.cutoff_nm = cutoff_nm  # None: the first minimum of the cation-anion COM g(r)

    def prepare(self, run, settings):
        return _Boxes()

    def compute(self, ctx: Context) -> dict:
        """Adds ion_pair_lifetime_{continuous,intermittent}_ps; returns {cutoff_nm, t_ps, continuous, intermittent}."""
        s, dt, blocks = ctx.series, ctx.dt_ps, ctx.settings.blocks
        cat = [i for i, r in enumerate(s.molecule_role) if r == "cation"]
        an = [i for i, r in enumerate(s.molecule_role) if r == "anion"]
        if not cat or not an:
            raise InputError("no cations and anions in the run")
        box = ctx.reducers[self.name].box_nm()
        xc, xa = s.com_nm[:, cat], s.com_nm[:, an]
        source = f"r_c {self.cutoff_nm:.3f} nm (given)" if self.cutoff_nm else ""
        cutoff = self.cutoff_nm or first_minimum(*com_rdf(xc, xa, box))
        source = source or f"r_c {cutoff:.3f} nm (first minimum of the cation-anion COM g(r))"
        h = pair_indicator(xc, xa, box, cutoff)
        if not h.any():
            raise InputError(f"no cation-anion pair within {cutoff:.3f} nm")
        n_pairs = len(cat) * len(an)
        lag = np.arange(h.shape[0] // 2) * dt
        out, failed = {"cutoff_nm": cutoff, "t_ps": lag}, []
        for kind, tcf in (("continuous", continuous_tcf), ("intermittent", intermittent_tcf)):
            out[kind] = tcf(h, n_pairs)[:lag.size]
            try:
                ctx.values[f"ion_pair_lifetime_{kind}_ps"] = _lifetime(h, tcf, n_pairs, out[kind], dt, blocks,
                                                                       source)
            except InputError as exc:
                failed.append((kind, str(exc)))
        if len(failed) == 2:
            raise InputError("; ".join(f"{kind}: {why}" for kind, why in failed))
        ctx.notes.extend(f"ion_pair_lifetime_{kind}_ps not computed: {why}" for kind, why in failed)
        return out

    def write(self, props, out_dir: Path) -> dict[str, Path]:
        raw = props.raw[self.name]
        path = Path(out_dir) / "ion_pair_tcf.csv"
        rows = ([f"{t:.4f}", f"{c:.6f}", f"{i:.6f}"] for t, c, i in zip(raw["t_ps"], raw["continuous"],
                                                                        raw["intermittent"]))
        write_csv_atomic(path, ["t_ps", "continuous", "intermittent"], rows)
        return {"ion_pair_tcf_csv": path}


class _Boxes:
    """Box edges of every production frame (the series keep only the volume)."""

    def __init__(self):
        self.parts = []

    def add(self, chunk, first_frame: int) -> None:
        self.parts.append(chunk.box_nm)

    def box_nm(self) -> np.ndarray:
        return np.concatenate(self.parts)


def _distances(xc: np.ndarray, xa: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Minimum-image distances (nm) of every cation to every anion in one frame: (Nc, Na)."""
    d = xc[:, None, :] - xa[None, :, :]
    d -= box * np.round(d / box)
    return np.sqrt(np.einsum("ijk,ijk->ij", d, d))


def com_rdf(xc: np.ndarray, xa: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r_nm, g(r)) of cation–anion centres of mass (T, Nc, 3), (T, Na, 3) in boxes (T, 3), from at
    most RDF_FRAMES evenly spread frames, up to half the smallest box edge."""
    frames = np.unique(np.linspace(0, xc.shape[0] - 1, min(RDF_FRAMES, xc.shape[0])).round().astype(int))
    r_max = 0.5 * float(box[frames].min())
    edges = np.arange(0.0, r_max + 1e-9, RDF_BIN_NM)
    counts, density = np.zeros(edges.size - 1), 0.0
    for f in frames:
        counts += np.histogram(_distances(xc[f], xa[f], box[f]), edges)[0]
        density += xc.shape[1] * xa.shape[1] / float(np.prod(box[f]))
    shell = 4.0 / 3.0 * np.pi * np.diff(edges**3)
    return 0.5 * (edges[1:] + edges[:-1]), counts / (shell * density)


def first_minimum(r: np.ndarray, g: np.ndarray) -> float:
    """r of the first minimum after the main peak of a (smoothed) g(r): the lowest point before g
    rises again by 0.1; an InputError where g has no first shell or no minimum within r."""
    gs = np.convolve(g, np.ones(SMOOTH_BINS) / SMOOTH_BINS, mode="same")
    peak = int(np.argmax(gs))
    if gs[peak] < 1.2:
        raise InputError(f"no first shell in the cation-anion COM g(r) (highest {gs[peak]:.2f}), so no pair "
                         "cutoff (IonPairLifetime(cutoff_nm=...) takes one)")
    low = peak
    for i in range(peak + 1, gs.size - SMOOTH_BINS // 2):
        if gs[i] < gs[low]:
            low = i
        elif gs[i] > gs[low] + 0.1:
            return float(r[low])
    raise InputError(f"no first minimum of the cation-anion COM g(r) within {r[-1]:.2f} nm (half the box)")


def pair_indicator(xc: np.ndarray, xa: np.ndarray, box: np.ndarray, cutoff_nm: float) -> np.ndarray:
    """h (T, P) bool: the P cation–anion pairs closer than the cutoff at some frame, at every frame."""
    from scipy.spatial import cKDTree

    n_an, hits = xa.shape[1], []
    for f in range(xc.shape[0]):
        c, a = (_wrapped(x[f], box[f]) for x in (xc, xa))
        near = cKDTree(c, boxsize=box[f]).sparse_distance_matrix(cKDTree(a, boxsize=box[f]), cutoff_nm,
                                                                  output_type="ndarray")
        keep = near["v"] < cutoff_nm
        hits.append(near["i"][keep].astype(np.int64) * n_an + near["j"][keep])
    pairs = np.unique(np.concatenate(hits))
    h = np.zeros((len(hits), pairs.size), dtype=bool)
    for f, hit in enumerate(hits):
        h[f, np.searchsorted(pairs, hit)] = True
    return h


def _wrapped(x: np.ndarray, box: np.ndarray) -> np.ndarray:
    x = np.mod(x, box)
    return np.where(x >= box, 0.0, x)  # mod can round up to the edge itself


def continuous_tcf(h: np.ndarray, n_pairs: int | None = None) -> np.ndarray:
    """S(k), k = 0 … T−1: of the (origin, pair) with h = 1, the fraction paired at every frame up
    to k later, from the lengths of the runs of consecutive paired frames (`n_pairs` unused)."""
    t = h.shape[0]
    edges = np.diff(np.vstack([np.zeros((1, h.shape[1]), bool), h, np.zeros((1, h.shape[1]), bool)]).astype(np.int8),
                    axis=0)
    lengths = np.flatnonzero(edges.T == -1) - np.flatnonzero(edges.T == 1)  # (pair-major, so starts and ends pair up)
    runs = np.bincount(lengths, minlength=t + 1).astype(float)  # runs[L]: runs of L frames
    longer = np.cumsum(runs[::-1])[::-1]  # runs of at least L frames
    frames = np.cumsum((runs * np.arange(t + 1))[::-1])[::-1]
    k = np.arange(t)
    survived = frames[k + 1] - k * longer[k + 1]  # Σ over runs longer than k of (L − k)
    origins = np.cumsum(h.sum(axis=1))[::-1]  # paired (origin, pair) with origin ≤ T − 1 − k
    return survived / np.maximum(origins, 1)


def intermittent_tcf(h: np.ndarray, n_pairs: int) -> np.ndarray:
    """C(k), k = 0 … T−1, normalised with <h> over all `n_pairs` cation–anion pairs (FFT
    autocorrelation: the pairs' power spectra are summed before the one inverse transform)."""
    t = h.shape[0]
    h = h[:, h.any(axis=0)]
    mean = h.sum() / (t * n_pairs)
    if mean == 0:
        raise InputError("no cation-anion pair within the cutoff")
    power = np.zeros(t + 1)
    for start in range(0, h.shape[1], 1024):
        power += (np.abs(np.fft.rfft(h[:, start:start + 1024].astype(float), n=2 * t, axis=0)) ** 2).sum(axis=1)
    hh = np.fft.irfft(power, n=2 * t)[:t] / ((t - np.arange(t)) * n_pairs)
    return (hh - mean**2) / (mean - mean**2)


def kww_lifetime(t_ps: np.ndarray, c: np.ndarray) -> tuple[float, float, float]:
    """(mean time τ Γ(1/β)/β, τ, β) of exp(−(t/τ)^β) fitted to C(t) from its start to where it
    first falls below FIT_LOW, on the points between FIT_LOW and FIT_HIGH."""
    below = np.flatnonzero(c < FIT_LOW)
    end = int(below[0]) if below.size else c.size
    if c[:end].min() > 0.5:
        raise InputError(f"the TCF stays above 0.5 for {t_ps[end - 1]:.3g} ps: run longer (or fewer --blocks)")
    sel = np.flatnonzero((c[:end] < FIT_HIGH) & (c[:end] > FIT_LOW) & (t_ps[:end] > 0))
    if sel.size < 3:
        raise InputError(f"the TCF decays within {end} frames: write frames more often (polcg simulate --report)")
    beta, icept = (float(x) for x in np.polyfit(np.log(t_ps[sel]), np.log(-np.log(c[sel])), 1))
    tau = math.exp(-icept / beta)
    return tau * math.gamma(1.0 / beta) / beta, tau, beta


def _lifetime(h: np.ndarray, tcf, n_pairs: int, whole: np.ndarray, dt: float, blocks: int, source: str) -> Estimate:
    """KWW lifetime of the whole run's TCF `whole`; the error from `blocks` time blocks (lags up to half a block)."""
    size = h.shape[0] // blocks
    if size < 16:
        raise InputError(f"trajectory too short for {blocks} blocks of >= 16 frames")
    value, tau, beta = kww_lifetime(np.arange(whole.size) * dt, whole)
    lag = np.arange(size // 2) * dt
    per_block = []
    for k in range(blocks):
        try:
            per_block.append(kww_lifetime(lag, tcf(h[k * size:(k + 1) * size], n_pairs)[:lag.size])[0])
        except InputError as exc:
            raise InputError(f"block {k + 1} of {blocks}: {exc}") from None
    err = float(np.std(per_block, ddof=1) / math.sqrt(blocks))
    return Estimate(value, err, f"{source}; KWW tau {tau:.4g} ps, beta {beta:.3f}; {blocks} blocks")
