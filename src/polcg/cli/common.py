"""What every CLI command shares: the output and error consoles and the one-line failure exit."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console(stderr=False)
errors = Console(stderr=True)


def fail(message: object, code: int = 2) -> None:
    """Print `error: message` on stderr and exit with `code` (2: bad input or a failed run)."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
