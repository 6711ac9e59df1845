"""`python -m polcg`: the same as the `polcg` command."""

from polcg.cli import main

main()
