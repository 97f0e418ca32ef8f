"""The ``nag`` command: one subcommand per pipeline stage (:mod:`nag.cli.stages`) and the user's commands
(:mod:`nag.cli.user`). Paths come from the command line (dvc.yaml writes them once; defaults:
:mod:`nag.layout`), settings from params.yaml, parsed once into :mod:`nag.config` dataclasses. Imports are
lazy: a command loads only what it runs."""

from __future__ import annotations

import typer

from nag.cli import devices, stages, user

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="NAG: the most accurate architecture that fits a latency budget, per device.")
stages.register(app)
devices.register(app, user.benchmark_app)
user.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
