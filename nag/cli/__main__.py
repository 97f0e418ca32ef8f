"""``python -m nag.cli`` is the ``nag`` command."""

from nag.cli import main

main()
