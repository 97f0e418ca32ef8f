"""The ``nag`` command: one subcommand per pipeline stage plus the user-facing commands.

Paths come from the command line (dvc.yaml writes them once); settings from params.yaml, parsed once
here into :mod:`nag.config` dataclasses.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from nag.config import ConfigError, load_params

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)



@app.callback()
def _root() -> None:
    """NAG: the most accurate architecture that fits a latency budget, per device."""


PARAMS = typer.Option(Path("params.yaml"), "--params", help="params.yaml to read")


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def prepare(
    out: Path = typer.Option(Path("data/prepared"), help="output folder"),
    metrics: Path = typer.Option(Path("reports/metrics/prepare.json"), help="metrics JSON"),
    params: Path = PARAMS,
) -> None:
    """Read Fashion-MNIST (or an image folder) and write the seeded train/val/test split."""
    from nag.atomic import write_json
    from nag.data.fashion_mnist import DatasetError, prepare as run_prepare

    try:
        cfg = load_params(params)
        result = run_prepare(cfg.data, out)
    except (ConfigError, DatasetError) as exc:
        _fail(exc)
    write_json(metrics, result)
    typer.echo(json.dumps(result))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
