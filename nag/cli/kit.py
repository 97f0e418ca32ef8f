"""``nag kit …``: what a measurement kit brings back from a device (:mod:`nag.kit`)."""

from __future__ import annotations

from pathlib import Path

import typer

from nag.cli.common import user_errors

kit_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                      help="Measurement kits: bring a device's timings back into the kit's plan.csv.")


@kit_app.command("import-logs")
def import_logs(kit: Path = typer.Argument(..., help="the kit folder (nag measure-plan --kit)"),
                logs: Path = typer.Argument(..., help="folder of LiteRT benchmark_model logs, <arch_id>.log")
                ) -> None:
    """Fill the kit's plan.csv from benchmark_model logs (one per model)."""
    from nag.kit.logs import import_logs as run

    with user_errors():
        out = run(kit, logs)
    typer.echo(f"filled {out['file']}: {out['rows']} models; add it: python -m flows.devices add NAME "
               f"{out['file']}")
