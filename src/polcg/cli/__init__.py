"""The `polcg` command line: one command per stage, in the order of the data flow. Each command module
parses its options, calls one library function and prints; they share only `common` and `output`."""

from __future__ import annotations

import sys

import typer

from polcg.cli.chain import chain_cmd
from polcg.cli.charges import charges_cmd
from polcg.cli.fit import fit_dielectric_cmd
from polcg.cli.md import analyze_cmd, simulate_cmd
from polcg.cli.model import model_app
from polcg.cli.polarizability import polarizability_cmd

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Polarizable coarse-grained models of ionic liquids from GEBF quantum chemistry.")


@app.callback()
def _main() -> None:
    """polcg: GEBF cluster charges → CG models → simulations."""


app.command("charges")(charges_cmd)
app.command("polarizability")(polarizability_cmd)
app.add_typer(model_app, name="model")
app.command("simulate")(simulate_cmd)
app.command("analyze")(analyze_cmd)
app.command("fit-dielectric")(fit_dielectric_cmd)
app.command("chain")(chain_cmd)


def main() -> None:  # pragma: no cover - entry point for `python -m polcg`
    sys.exit(app())
