"""`python -m ell_git.cli`: the `ell` command without its console script."""

from . import main

main()
