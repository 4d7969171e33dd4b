"""``python -m autofin.cli``: the same as the ``autofin`` command."""

from autofin.cli import main

main()
