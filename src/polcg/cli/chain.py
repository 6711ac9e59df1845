"""`polcg chain`: the whole chain from one YAML file (cluster → charges → models → ε scan →
validation → report), each stage resumable."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from polcg.cli.common import console, errors, fail
from polcg.errors import PolcgError


def chain_cmd(
    config: Path = typer.Argument(..., help="Chain YAML file (docs/chain.md)."),
    out: Path = typer.Option(..., help="Output folder; rerun the same command to resume."),
    stages: str = typer.Option("charges,model,scan,validate,report", help="Comma-separated stages to run."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what each stage would run and what is done; "
                                 "run nothing."),
) -> None:
    """Run the chain: GEBF charges → VaCG/Drude models → ε_IL scan → validation runs → report."""
    from polcg.chain.config import load_config
    from polcg.chain.pipeline import parse_stages, plan, run_chain

    try:
        cfg = load_config(config)
        wanted = parse_stages(stages)
        if dry_run:
            _print_plan(plan(cfg, out, wanted))
            return
        outcomes = run_chain(cfg, out, wanted, on_stage=_print_outcome, on_run=_print_run)
    except (PolcgError, ValueError) as exc:
        fail(exc)
    if any(o.stage == "report" for o in outcomes):
        _print_report(out / "report.json")


def _print_plan(plans) -> None:
    for p in plans:
        console.print(f"[bold]{p.stage}[/]: {p.status}")
        for line in p.lines:
            console.print(f"  {line}", highlight=False)


def _print_outcome(outcome) -> None:
    extra = ", ".join(f"{k} {v}" for k, v in outcome.summary.items() if isinstance(v, int | float | str))
    console.print(f"[bold]{outcome.stage}[/]: {outcome.status}" + (f" ({extra})" if extra else ""))


def _print_run(label: str, done: int, total: int) -> None:
    errors.print(f"  {label}: segment {done}/{total}", highlight=False)


def _print_report(path: Path) -> None:
    from polcg.chain.quantities import KEYS
    from polcg.chain.report import load
    from polcg.chain.report_md import cell

    doc = load(path)
    table = Table(title=f"{doc['system']}: {doc['name']} (D in 1e-11 m²/s)")
    for col in ("model", "T K", "x", *(k.replace("_", " ") for k in KEYS), "vs exp."):
        table.add_column(col)
    for r in doc["rows"] + doc["published"]:
        dev = r.get("deviation_from_experiment") or {}
        devs = " ".join(f"{k.split('_')[0] if not k.startswith('D_') else k[:3]} {100 * v:+.0f}%"
                        for k, v in dev.items() if v is not None)
        table.add_row(r["model"], f"{r['T_K']:g}", f"{r.get('x_water', 0.0):g}", *(cell(r, k) for k in KEYS), devs)
    console.print(table)
    if doc["scan"]:
        chosen = ", ".join(f"{'ε_IL' if n == 'eps_il' else n} = {v:.4g}"
                           for n, v in (doc["scan"].get("params") or {"eps_il": doc["scan"]["eps_il"]}).items())
        console.print(f"{chosen} (scan at {doc['scan']['T_K']:g} K, interpolated)")
    console.print(f"report: {path} and {path.with_suffix('.md')}")
