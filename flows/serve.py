"""``python -m flows.serve``: both flows as deployments of a Prefect server, on their schedules.

* ``nag-new-device/device-inbox`` — the inbox scan, ``orchestration.inbox_cron`` (default hourly);
* ``nag-pipeline/nightly`` — the full pipeline, ``orchestration.pipeline_cron`` (default 02:00).

Start a server first (``prefect server start``; UI at http://127.0.0.1:4200) and point this process at
it (``export PREFECT_API_URL=http://127.0.0.1:4200/api``); trigger a run by hand with
``prefect deployment run 'nag-new-device/device-inbox'``.
"""

from __future__ import annotations

from pathlib import Path

import typer


def deployments(root: Path, params_file: str = "params.yaml") -> list:
    """The two deployments, with the task runner and schedules from params.yaml."""
    from flows.new_device import new_device
    from flows.pipeline import pipeline, task_runner
    from nag.config import load_params

    cfg = load_params(root / params_file).orchestration
    args = {"root": str(root.resolve()), "params_file": params_file}
    runner = task_runner(cfg)
    return [
        new_device.with_options(task_runner=runner).to_deployment(
            name="device-inbox", cron=cfg.inbox_cron, parameters=args,
            description="validate, add, train and register devices dropped in the inbox"),
        pipeline.with_options(task_runner=runner).to_deployment(
            name="nightly", cron=cfg.pipeline_cron, parameters=args,
            description="the whole pipeline, then registration and promotion"),
    ]


def main(root: Path = typer.Option(Path(".")), params: str = typer.Option("params.yaml")) -> None:
    """Serve the inbox scan and the nightly pipeline until interrupted."""
    from prefect import serve

    serve(*deployments(root, params))


if __name__ == "__main__":
    typer.run(main)
