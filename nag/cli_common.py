"""What every ``nag`` subcommand shares: the ``--params`` option, reading it, and the one-line error."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

PARAMS = typer.Option(Path("params.yaml"), "--params", help="params file to read")
PLATFORM = typer.Option(..., "--platform", "-p", help="platform name from the params file")


def read_params(path: Path):
    """params.yaml parsed and checked once (:func:`nag.config.load_params`); sections it lacks take the
    code's defaults, and stderr says which."""
    from nag.config import load_params

    return load_params(path, note=lambda msg: typer.secho(msg, fg=typer.colors.YELLOW, err=True))


def fail(exc: Exception) -> NoReturn:
    """The user's error as one line on stderr, exit code 2."""
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)
