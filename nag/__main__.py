"""``python -m nag`` is the ``nag`` command (used by torchrun: ``torchrun ... -m nag train-supernet``)."""

from nag.cli import main

main()
