"""`polcg fit-dielectric`: targets → surrogate-guided simulations per water fraction → ε per x →
ε_IL(x), ε_W(x) → the final VaCG model with ε(x) built in; everything under one directory.

    fit/sims/<point>/       each simulation (run/, record.json, frames.npz): resumable, reused
    fit/evaluations.json    every simulated point with its properties (and reweighted values)
    fit/result.json         per-x optima ± uncertainty, predicted properties vs targets,
                            the ε(x) forms with coefficients and AICc, provenance
    fit/model/model.json    the fitted VaCG model
    fit/*.png               properties vs x, ε(x) with the fits, loss landscapes
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from polcg.errors import InputError
from polcg.fit.epsilon_forms import fit_epsilon
from polcg.fit.evaluate import SimSettings, make_evaluator, vacg_model
from polcg.fit.loop import FitTarget, LoopSettings, run_loop
from polcg.fit.targets import STATIC, Target, default_targets_path, read_targets
from polcg.io import file_sha256, write_json_atomic

#: target property → what `polcg analyze` must compute for it
ANALYSIS = {"density": "density", "conductivity": "conductivity", "hvap": "hvap", "dielectric": "dielectric",
            "diffusion_cation": "diffusion", "diffusion_anion": "diffusion", "diffusion_water": "diffusion"}


@dataclass(frozen=True)
class FitResult:
    """What `fit_dielectric` returns and `FitResult.load(directory)` reads back from its result.json."""

    directory: Path
    simulations: int
    reweighted: int
    per_x: list
    eps_il: dict | None
    eps_w: dict | None

    @classmethod
    def from_document(cls, directory: str | Path, doc: dict) -> FitResult:
        where = Path(directory) / "result.json"
        missing = [k for k in ("per_x", "eps_il", "eps_w", "simulations", "reweighted_points") if k not in doc]
        if missing:
            raise InputError(f"{where}: not a polcg fit result (no {', '.join(missing)})")
        for name in ("eps_il", "eps_w"):
            fit = doc[name]
            if fit is not None and not {"form", "value", "coefficients"} <= set(fit.get("epsilon", {})):
                raise InputError(f"{where}: {name} has no ε(x) form with its coefficients")
        return cls(Path(directory), int(doc["simulations"]), int(doc["reweighted_points"]), list(doc["per_x"]),
                   doc["eps_il"], doc["eps_w"])

    @classmethod
    def load(cls, directory: str | Path) -> FitResult:
        from polcg.io import read_json

        doc = read_json(Path(directory) / "result.json", "fit result")
        if not isinstance(doc, dict):
            raise InputError(f"{Path(directory) / 'result.json'}: not a polcg fit result (expected an object)")
        return cls.from_document(directory, doc)

    def epsilon(self, name: str):
        """The fitted ε(x) of "eps_il" or "eps_w" as an `Epsilon`, None where it was not fitted."""
        from polcg.cg.model import Epsilon

        fit = {"eps_il": self.eps_il, "eps_w": self.eps_w}[name]
        return None if fit is None else Epsilon.from_dict(fit["epsilon"])


def fit_dielectric(sim: SimSettings, loop: LoopSettings, out: str | Path, targets: str | Path | None = None,
                   executor=None, on_round=None) -> FitResult:
    from polcg.jobs.executors import SerialExecutor

    out = Path(out)
    path = Path(targets) if targets else default_targets_path()
    rows = [t for t in read_targets(path) if abs(t.temperature_k - sim.temperature_k) < 0.5]
    names = {"cation": sim.cation, "anion": sim.anion, "water": sim.water}
    by_x = _targets_by_x(rows, loop.xs, names, path, sim.temperature_k)
    sim = replace(sim, properties=tuple(sorted({ANALYSIS[t.property] for t in rows if t.x in loop.xs})),
                  reweight=sim.reweight and any(t.property in STATIC for t in rows))
    evaluate = make_evaluator(sim, out / "sims", executor or SerialExecutor())
    results, evaluations = run_loop(loop, by_x, evaluate, on_round)
    fits = {name: _fit_form(results, name) for name in ("eps_il", "eps_w")}
    model_dir = _final_model(sim, fits, out)
    doc = _document(sim, loop, path, results, evaluations, fits, model_dir, by_x)
    write_json_atomic(out / "evaluations.json", [_evaluation_dict(e) for e in evaluations])
    write_json_atomic(out / "result.json", doc)
    from polcg.fit.plots import write_plots

    write_plots(doc, out)
    return FitResult.from_document(out, doc)


def _targets_by_x(rows: list[Target], xs, names, path, temperature) -> dict[float, list[FitTarget]]:
    out = {}
    for x in xs:
        here = [t for t in rows if abs(t.x - x) < 1e-9]
        if not here:
            raise InputError(f"{path}: no targets at x = {100 * x:g} mol % and {temperature:g} K")
        out[x] = [FitTarget(t.key(names), t.value, t.uncertainty, t.weight) for t in here]
    return out


def _fit_form(results, name: str) -> dict | None:
    pts = [r for r in results if name in r.names]
    if not pts:
        return None
    x = np.array([r.x for r in pts])
    eps = np.array([r.optimum[name] for r in pts])
    err = np.array([max(r.uncertainty[name], 1e-3) for r in pts])
    best, all_fits = fit_epsilon(x, eps, err)
    return {"form": best.name, "epsilon": asdict(best.epsilon), "aicc": best.aicc, "chi2": best.chi2,
            "candidates": [{"form": f.name, "coefficients": f.epsilon.coefficients, "aicc": f.aicc, "chi2": f.chi2}
                           for f in all_fits],
            "points": {"x": x.tolist(), "eps": eps.tolist(), "error": err.tolist()}}


def _final_model(sim: SimSettings, fits: dict, out: Path) -> Path:
    from polcg.cg.model import Epsilon

    def eps(name, default):
        f = fits.get(name)
        if f is None:
            return Epsilon(value=default)
        return Epsilon.from_dict(f["epsilon"])

    model = vacg_model(sim, eps("eps_il", 1.0), eps("eps_w", 2.5))
    model = model.with_provenance(dielectric_fit=str(out / "result.json"))
    model.save(out / "model")
    return out / "model"


def _document(sim, loop, targets_path, results, evaluations, fits, model_dir, by_x) -> dict:
    import polcg

    per_x = []
    for r in results:
        errs = {t.key: {"target": t.value, "uncertainty": t.uncertainty, "predicted": r.predicted[t.key][0],
                        "predicted_sd": r.predicted[t.key][1],
                        "relative_error": r.predicted[t.key][0] / t.value - 1.0}
                for t in by_x[r.x] if t.key in r.predicted}
        per_x.append({"x_mol_percent": 100 * r.x, "parameters": list(r.names), "optimum": r.optimum,
                      "uncertainty": r.uncertainty, "loss": r.loss, "simulations": r.evaluations,
                      "stopped": r.stopped, "against_targets": errs, "targets_not_computed": list(r.dropped),
                      "landscape": r.landscape})
    digest = file_sha256(targets_path)
    return {"per_x": per_x, "eps_il": fits["eps_il"], "eps_w": fits["eps_w"], "simulations": len(evaluations),
            "reweighted_points": sum(len(e.reweighted) for e in evaluations), "model": str(model_dir),
            "settings": {"simulation": asdict(sim), "loop": asdict(loop)},
            "provenance": {"polcg": polcg.__version__, "targets": str(targets_path), "targets_sha256": digest,
                           "charges": sim.charges or "library default bead charges"}}


def _evaluation_dict(e) -> dict:
    return {"point": asdict(e.point), "values": e.values, "directory": e.directory,
            "reweighted": [{"point": asdict(p), "values": v} for p, v in e.reweighted]}
