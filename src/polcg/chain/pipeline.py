"""The chain's stages in order: each is skipped when its record matches its inputs, run otherwise;
`plan` says, without running anything, what each stage would do and what is already done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from polcg.chain import charges_stage, model_stage, report, scan, validate
from polcg.chain.config import ChainConfig
from polcg.chain.runs import status as run_status
from polcg.errors import InputError

STAGES = ("charges", "model", "scan", "validate", "report")
MODULES = {"charges": charges_stage, "model": model_stage, "scan": scan, "validate": validate, "report": report}


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    status: str  # ran | reused | not needed
    summary: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StagePlan:
    stage: str
    status: str  # done | to run | waits for <stage> | not needed
    lines: tuple[str, ...]


def parse_stages(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in names if s not in STAGES]
    if bad or not names:
        raise InputError(f"--stages {text!r}: choose from {', '.join(STAGES)}")
    return tuple(s for s in STAGES if s in names)


def upstream(cfg: ChainConfig, stage: str) -> str | None:
    if stage == "validate":
        return "scan" if "vacg" in cfg.models else "model"
    return {"model": "charges", "scan": "model", "report": "validate"}.get(stage)


def needed(cfg: ChainConfig, stage: str) -> bool:
    return stage != "scan" or "vacg" in cfg.models


def _done(cfg: ChainConfig, out: Path, stage: str) -> bool:
    """Whether the stage's record matches its inputs; InputError naming the missing upstream output."""
    try:
        return MODULES[stage].is_done(cfg, out)
    except (InputError, FileNotFoundError) as exc:
        before = upstream(cfg, stage)
        raise InputError(f"stage {stage} needs the output of stage {before} in {out} (run it first: "
                         f"--stages {before},{stage}): {exc}") from None


def run_chain(cfg: ChainConfig, out: str | Path, stages=STAGES, on_stage: Callable | None = None,
              on_job: Callable | None = None, on_run: Callable | None = None) -> list[StageOutcome]:
    """Run the requested stages in order. `on_stage(outcome)` after each stage, `on_job` per QM job
    (as `compute_charges` calls it), `on_run(label, segments_done, segments)` per MD segment."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for stage in (s for s in STAGES if s in stages):
        if not needed(cfg, stage):
            outcome = StageOutcome(stage, "not needed", {"why": "no vacg model to scan"})
        elif _done(cfg, out, stage):
            outcome = StageOutcome(stage, "reused")
        else:
            outcome = StageOutcome(stage, "ran", _run(cfg, out, stage, on_job, on_run))
        outcomes.append(outcome)
        if on_stage:
            on_stage(outcome)
    return outcomes


def _run(cfg: ChainConfig, out: Path, stage: str, on_job, on_run) -> dict:
    if stage == "charges":
        return charges_stage.run(cfg, out, on_job)
    if stage in ("scan", "validate"):
        return MODULES[stage].run(cfg, out, on_run)
    return MODULES[stage].run(cfg, out)


def plan(cfg: ChainConfig, out: str | Path, stages=STAGES) -> list[StagePlan]:
    """What each requested stage would run and what is done, from the records on disk only."""
    out = Path(out)
    result = []
    for stage in (s for s in STAGES if s in stages):
        if not needed(cfg, stage):
            result.append(StagePlan(stage, "not needed", ("no vacg model to scan",)))
            continue
        try:
            status = "done" if MODULES[stage].is_done(cfg, out) else "to run"
            lines = DETAIL[stage](cfg, out)
        except (InputError, FileNotFoundError):
            status, lines = f"waits for {upstream(cfg, stage)}", (OUTLINE[stage](cfg),)
        result.append(StagePlan(stage, status, tuple(lines)))
    return result


def _charges_lines(cfg: ChainConfig, out: Path) -> list[str]:
    from polcg.chain.record import read_record
    from polcg.jobs import JobStore

    workdir = cfg.qm.workdir or charges_stage.stage_dir(out) / "qm_work"
    lines = [f"{j.cluster.name}: {'done' if read_record(j.record, j.key) else 'to compute'}"
             for j in charges_stage.jobs(cfg, out)]
    stored = JobStore(workdir).count() if workdir.is_dir() else 0
    return lines + [OUTLINE["charges"](cfg), f"QM job store {workdir}: {stored} finished jobs to reuse"]


def _run_lines(jobs) -> list[str]:
    return [f"{j.label} ({j.settings.n_pairs} pairs, {j.settings.temperature_k:g} K, x {j.settings.water_fraction:g}):"
            f" {run_status(j)}" for j in jobs]


OUTLINE = {
    "charges": lambda c: (f"GEBF charges of {len(c.clusters)} clusters, {c.qm.xc}/{c.qm.basis} {c.qm.scheme}, "
                          f"ξ {c.gebf.xi:g} Å, η {c.gebf.eta}; transferability table + plot"),
    "model": lambda c: f"build {', '.join(c.models)} from the largest cluster's charges",
    "scan": lambda c: (f"VaCG at ε_IL {', '.join(f'{e:g}' for e in c.vacg.eps_il_grid)}"
                       + "".join(f" × {k} {', '.join(f'{v:g}' for v in vs)}" for k, vs in c.vacg.lj_grid)
                       + f" × {len(c.md.seeds)} seeds, {c.md.pairs} pairs, {c.targets.experiment_t_k:g} K, "
                       f"{c.md.equilibrate_ps:g} + {c.md.production_ps:g} ps; choose "
                       + ("ε_IL and " + ", ".join(k for k, _ in c.vacg.lj_grid) if c.vacg.lj_grid else "ε_IL")),
    "validate": lambda c: (f"{', '.join(c.models)} at {', '.join(f'{t:g}' for t in c.temperatures)} K"
                           + (f", VaCG at x {', '.join(f'{x:g}' for x in c.water_fractions if x > 0)}"
                              if any(c.water_fractions) else "")
                           + (f", box check with {c.md.box_check_pairs} pairs" if c.md.box_check_pairs else "")
                           + f"; {(c.md.validate_production_ps or c.md.production_ps):g} ps production, "
                           f"{len(c.md.seeds)} seeds each"),
    "report": lambda c: "report.json, report.md and plots",
}
DETAIL = {
    "charges": _charges_lines,
    "model": lambda c, o: [OUTLINE["model"](c) + f": {charges_stage.largest_charges(o)['file']}"],
    "scan": lambda c, o: _run_lines([j for _, runs in scan.jobs(c, o) for j in runs]),
    "validate": lambda c, o: _run_lines([j for cond in validate.conditions(c, o) for j in cond.jobs]),
    "report": lambda c, o: [f"{OUTLINE['report'](c)} in {o}"],
}
