"""The dielectric fit: per water fraction x, find the (ε_IL, ε_W) whose simulated properties best
match the targets, with a surrogate model so that few simulations are needed.

Per x the free parameters are those that act there: ε_IL at x = 0, ε_W at x = 1, both in between.
1. A Latin hypercube (scipy.stats.qmc) of `n_init` points in ln ε inside the bounds.
2. Rounds: fit one surrogate per target property, propose the candidate of largest expected
   improvement of the χ² loss, evaluate all proposals of the round together (one per x still
   open; in parallel through the evaluator).
3. An x closes when its largest expected improvement falls below `ei_tol` (the predicted gain is
   below the properties' uncertainty, in χ² units) or the budget is spent.
4. The optimum per x minimises the surrogates' mean loss; where the targets leave a direction
   unconstrained (density alone cannot fix two ε's), a Gaussian prior in ln ε, centred on the
   line between the endpoint optima, picks the point nearest it. Its uncertainty is the range of
   ε whose mean loss is within one χ² unit (summed over the targets) of the minimum.

The evaluator maps a list of `Point`s to `Evaluation`s; `polcg.fit.evaluate` runs OpenMM, tests
use analytic stand-ins. Reweighted static properties (MBAR) join the training data where the
evaluator provides them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import qmc

from polcg.errors import InputError
from polcg.fit.surrogate import Prior, Surrogate, expected_loss_and_improvement

CANDIDATES = 2048


@dataclass(frozen=True)
class Point:
    x: float
    eps_il: float
    eps_w: float

    def params(self) -> dict[str, float]:
        return {"eps_il": self.eps_il, "eps_w": self.eps_w}


@dataclass(frozen=True)
class Evaluation:
    point: Point
    values: dict[str, tuple[float, float]]  # analysis key → (value, standard error)
    reweighted: tuple[tuple[Point, dict[str, tuple[float, float]]], ...] = ()  # static values at nearby ε
    directory: str = ""


@dataclass(frozen=True)
class FitTarget:
    key: str
    value: float
    uncertainty: float
    weight: float


@dataclass(frozen=True)
class LoopSettings:
    xs: tuple[float, ...]
    budget: int
    bounds_il: tuple[float, float] = (1.0, 4.0)
    bounds_w: tuple[float, float] = (1.5, 4.0)
    default_il: float = 1.0  # ε_IL where it does not act (x = 1)
    default_w: float = 2.5  # ε_W where it does not act (x = 0)
    n_init: int | None = None  # per x; None: 3 for one parameter, 5 for two
    surrogate: str = "gp"
    ei_tol: float = 0.05
    prior_width_ln: float = 0.5
    seed: int = 1

    def __post_init__(self):
        if self.budget < 1:
            raise InputError(f"budget {self.budget}: need at least one simulation")
        if not self.xs or any(not 0.0 <= x <= 1.0 for x in self.xs):
            raise InputError(f"water fractions {self.xs}: need values in [0, 100] mol %")
        for lo, hi in (self.bounds_il, self.bounds_w):
            if not 0 < lo < hi:
                raise InputError(f"ε bounds ({lo}, {hi}) must satisfy 0 < low < high")

    def names(self, x: float) -> tuple[str, ...]:
        return ("eps_il",) if x == 0.0 else ("eps_w",) if x == 1.0 else ("eps_il", "eps_w")

    def initial(self, x: float) -> int:
        return self.n_init or (3 if len(self.names(x)) == 1 else 5)


@dataclass(frozen=True)
class XResult:
    x: float
    names: tuple[str, ...]
    optimum: dict[str, float]
    uncertainty: dict[str, float]
    predicted: dict[str, tuple[float, float]]  # key → (mean, sd) at the optimum
    loss: float
    evaluations: int
    stopped: str
    dropped: tuple[str, ...] = ()  # targets no two simulations could compute
    landscape: dict = field(default_factory=dict, repr=False)  # candidates and their mean loss


def run_loop(settings: LoopSettings, targets: dict[float, list[FitTarget]],
             evaluate: Callable[[list[Point]], list[Evaluation]],
             on_round=None) -> tuple[list[XResult], list[Evaluation]]:
    """The whole fit; returns per-x results and every evaluation (in order)."""
    rng = np.random.default_rng(settings.seed)
    done: dict[float, list[Evaluation]] = {x: [] for x in settings.xs}
    stopped: dict[float, str] = {}
    first = [pt for x in settings.xs for pt in _design(settings, x, rng)]
    if len(first) > settings.budget:
        raise InputError(f"budget {settings.budget} is below the initial design ({len(first)} simulations for "
                         f"{len(settings.xs)} water fractions)")
    _record(done, evaluate(first))
    while True:
        used = sum(len(v) for v in done.values())
        open_x = [x for x in settings.xs if x not in stopped]
        if not open_x or used >= settings.budget:
            for x in open_x:
                stopped[x] = "budget"
            break
        proposals = []
        for x in open_x:
            pt, ei = _propose(settings, x, targets[x], done[x], rng)
            if ei < settings.ei_tol:
                stopped[x] = f"expected improvement {ei:.3g} < {settings.ei_tol:g}"
            else:
                proposals.append((ei, pt))
        proposals = [pt for _, pt in sorted(proposals, key=lambda p: -p[0])][: settings.budget - used]
        if not proposals:
            continue
        _record(done, evaluate(proposals))
        if on_round:
            on_round(sum(len(v) for v in done.values()), settings.budget)
    results = _optima(settings, targets, done, stopped)
    return results, [e for x in settings.xs for e in done[x]]


def _record(done: dict, evaluations: list[Evaluation]) -> None:
    for ev in evaluations:
        done[ev.point.x].append(ev)


def _point(settings: LoopSettings, x: float, values: dict[str, float]) -> Point:
    return Point(x, values.get("eps_il", settings.default_il), values.get("eps_w", settings.default_w))


def _bounds_ln(settings: LoopSettings, names) -> np.ndarray:
    b = {"eps_il": settings.bounds_il, "eps_w": settings.bounds_w}
    return np.log(np.array([b[n] for n in names]))


def _design(settings: LoopSettings, x: float, rng) -> list[Point]:
    names = settings.names(x)
    lo, hi = _bounds_ln(settings, names).T
    sample = qmc.LatinHypercube(d=len(names), seed=rng).random(settings.initial(x))
    return [_point(settings, x, dict(zip(names, np.exp(qmc.scale(s[None, :], lo, hi)[0])))) for s in sample]


def _candidates(settings: LoopSettings, names, rng) -> dict[str, np.ndarray]:
    lo, hi = _bounds_ln(settings, names).T
    pts = np.exp(qmc.scale(qmc.LatinHypercube(d=len(names), seed=rng).random(CANDIDATES), lo, hi))
    return {n: pts[:, i] for i, n in enumerate(names)}


def _training(names, evals: list[Evaluation], key: str):
    params, values, errors = [], [], []
    for ev in evals:
        rows = [(ev.point, ev.values)] + list(ev.reweighted)
        for pt, vals in rows:
            if key in vals and all(math.isfinite(v) for v in vals[key]):
                params.append({n: pt.params()[n] for n in names})
                values.append(vals[key][0])
                errors.append(vals[key][1])
    return params, np.array(values), np.array(errors)


def available(targets: list[FitTarget], evals) -> list[FitTarget]:
    """The targets at least two simulations gave a value for (a run too short for a diffusive
    regime gives no conductivity, say); the others cannot be modelled and are left out."""
    return [t for t in targets if sum(t.key in ev.values for ev in evals) >= 2]


def _surrogates(settings, names, targets: list[FitTarget], evals) -> dict[str, Surrogate]:
    if not targets:
        raise InputError("no target property could be computed from the simulations (see their notes)")
    out = {}
    for t in targets:
        params, y, e = _training(names, evals, t.key)
        out[t.key] = Surrogate(settings.surrogate, names, settings.seed).fit(params, y, e)
    return out


def _loss_targets(targets: list[FitTarget], evals) -> list[tuple]:
    """(key, value, σ, w) with σ² = u² + the simulations' median error² of that key."""
    out = []
    for t in targets:
        errs = [ev.values[t.key][1] for ev in evals if t.key in ev.values]
        sim = float(np.median(errs)) if errs else 0.0
        out.append((t.key, t.value, math.hypot(t.uncertainty, sim), t.weight))
    return out


def _observed_best(evals, lt) -> float:
    best = math.inf
    for ev in evals:
        if all(k in ev.values for k, *_ in lt):
            chi = sum(w * (ev.values[k][0] - v) ** 2 / s**2 for k, v, s, w in lt) / sum(w for *_, w in lt)
            best = min(best, chi)
    return best


def _propose(settings: LoopSettings, x: float, targets: list[FitTarget], evals, rng) -> tuple[Point, float]:
    names = settings.names(x)
    targets = available(targets, evals)
    surr = _surrogates(settings, names, targets, evals)
    lt = _loss_targets(targets, evals)
    cand = _candidates(settings, names, rng)
    mean, ei = expected_loss_and_improvement(surr, cand, lt, _observed_best(evals, lt), rng=rng)
    i = int(np.argmax(ei))
    return _point(settings, x, {n: float(cand[n][i]) for n in names}), float(ei[i])


def _optima(settings: LoopSettings, targets, done, stopped) -> list[XResult]:
    ends = {}
    out = []
    for x in sorted(settings.xs, key=lambda v: (0 < v < 1, v)):  # endpoints first: they centre the prior
        names = settings.names(x)
        prior = None
        if len(names) == 2:
            il = ends.get(0.0, {}).get("eps_il", math.sqrt(np.prod(settings.bounds_il)))
            w = ends.get(1.0, {}).get("eps_w", math.sqrt(np.prod(settings.bounds_w)))
            prior = Prior({"eps_il": il, "eps_w": w}, settings.prior_width_ln)
        res = _optimum(settings, x, targets[x], done[x], prior, stopped[x])
        if x in (0.0, 1.0):
            ends[x] = res.optimum
        out.append(res)
    return sorted(out, key=lambda r: r.x)


def _optimum(settings, x, targets, evals, prior, stopped) -> XResult:
    names = settings.names(x)
    dropped = tuple(t.key for t in targets if t not in available(targets, evals))
    targets = available(targets, evals)
    surr = _surrogates(settings, names, targets, evals)
    lt = _loss_targets(targets, evals)
    cand = _candidates(settings, names, np.random.default_rng(settings.seed + 7))
    preds = {k: s.predict(cand) for k, s in surr.items()}
    mean = sum(w * (preds[k][0] - v) ** 2 / sig**2 for k, v, sig, w in lt) / sum(w for *_, w in lt)
    total = mean + (prior.penalty(cand) if prior else 0.0)
    i = int(np.argmin(total))
    band = total <= total[i] + 1.0 / sum(w for *_, w in lt)
    opt = {n: float(cand[n][i]) for n in names}
    unc = {n: float(0.5 * (cand[n][band].max() - cand[n][band].min())) for n in names}
    return XResult(x, names, opt, unc, {k: (float(m[i]), float(s[i])) for k, (m, s) in preds.items()},
                   float(mean[i]), len(evals), stopped, dropped,
                   {"params": {n: cand[n].tolist() for n in names}, "loss": mean.tolist()})
