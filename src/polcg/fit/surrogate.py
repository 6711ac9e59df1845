"""Surrogate models of a property vs the dielectric constants, and the loss and acquisition on them.

Inputs are ln ε (the screening acts through 1/ε, so properties are smoother in ln ε); each
property has its own model, trained on values with their standard errors:
* `gp`: scikit-learn Gaussian process, constant × Matern(ν = 5/2) + white noise, with each
  point's own variance on the diagonal (alpha) and normalised targets;
* `rf`: random forest; its uncertainty is the spread of the trees (plus the points' mean error).

The loss of a set of properties against the targets at one x is the weighted mean χ²,
Σ w ((p − t)/σ)² / Σ w with σ² = u_target² + s.e.(p)², plus an optional Gaussian prior on ln ε.
Expected improvement is estimated by sampling the surrogates' predictive distributions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from polcg.errors import InputError

KINDS = ("gp", "rf")


@dataclass(frozen=True)
class Prior:
    """Gaussian prior on ln ε per parameter: centre ε and width in ln units."""

    centre: dict[str, float]
    width_ln: float = 0.5

    def penalty(self, params: dict[str, np.ndarray]) -> np.ndarray:
        out = 0.0
        for name, c in self.centre.items():
            out = out + ((np.log(params[name]) - np.log(c)) / self.width_ln) ** 2
        return out


class Surrogate:
    """One property's model over ln ε of the parameters in `names`."""

    def __init__(self, kind: str, names: tuple[str, ...], seed: int = 0):
        if kind not in KINDS:
            raise InputError(f"surrogate {kind!r}: choose {' or '.join(KINDS)}")
        self.kind, self.names, self.seed = kind, names, seed

    def _x(self, params: list[dict] | dict) -> np.ndarray:
        if isinstance(params, dict):
            return np.log(np.column_stack([np.atleast_1d(params[n]) for n in self.names]))
        return np.log(np.array([[p[n] for n in self.names] for p in params]))

    def fit(self, params: list[dict], values: np.ndarray, errors: np.ndarray) -> Surrogate:
        x, y, e = self._x(params), np.asarray(values, float), np.maximum(np.asarray(errors, float), 1e-12)
        self.y_scale = float(np.std(y)) or float(np.mean(np.abs(y))) or 1.0
        self.y_mean = float(np.mean(y))
        yn, en = (y - self.y_mean) / self.y_scale, e / self.y_scale
        if self.kind == "gp":
            from sklearn.exceptions import ConvergenceWarning
            from sklearn.gaussian_process import GaussianProcessRegressor
            from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

            kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.ones(len(self.names)), (0.05, 20.0), nu=2.5) \
                + WhiteKernel(1e-3, (1e-8, 1.0))
            with warnings.catch_warnings():  # hyperparameters at a bound are expected with few points
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.model = GaussianProcessRegressor(kernel, alpha=en**2, n_restarts_optimizer=3,
                                                      random_state=self.seed).fit(x, yn)
        else:
            from sklearn.ensemble import RandomForestRegressor

            self.model = RandomForestRegressor(200, min_samples_leaf=1, random_state=self.seed).fit(x, yn)
            self.noise = float(np.mean(en))
        return self

    def predict(self, params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation at the points params[name][i]."""
        x = self._x(params)
        if self.kind == "gp":
            mu, sd = self.model.predict(x, return_std=True)
        else:
            trees = np.array([t.predict(x) for t in self.model.estimators_])
            mu, sd = trees.mean(axis=0), np.hypot(trees.std(axis=0), self.noise)
        return mu * self.y_scale + self.y_mean, sd * self.y_scale


def chi2_loss(pred: dict[str, np.ndarray], errors: dict[str, np.ndarray], targets) -> np.ndarray:
    """Weighted mean χ² of predicted properties (keys as in `targets`: (key, value, u, w) tuples)."""
    num, den = 0.0, 0.0
    for key, value, u, w in targets:
        sigma2 = u**2 + errors.get(key, 0.0) ** 2
        num = num + w * (pred[key] - value) ** 2 / sigma2
        den += w
    return num / den


def expected_loss_and_improvement(surrogates: dict[str, Surrogate], params: dict[str, np.ndarray], targets,
                                  best: float, prior: Prior | None = None, samples: int = 64,
                                  rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean predicted loss and expected improvement over `best` at each candidate point."""
    rng = rng or np.random.default_rng(0)
    stats = {k: s.predict(params) for k, s in surrogates.items()}
    n = len(next(iter(params.values())))
    losses = np.empty((samples, n))
    for i in range(samples):
        draw = {k: mu + sd * rng.standard_normal(n) for k, (mu, sd) in stats.items()}
        losses[i] = chi2_loss(draw, {}, targets)
    if prior is not None:
        losses = losses + prior.penalty(params)
    return losses.mean(axis=0), np.maximum(best - losses, 0.0).mean(axis=0)
