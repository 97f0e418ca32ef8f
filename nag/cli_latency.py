"""``nag latency`` (one platform's latency table) and ``nag machine`` (this machine's description)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer

from nag.cli_common import PARAMS, read_params



def register(app: typer.Typer, fail: Callable[[Exception], None], errors: Callable[[], tuple]) -> None:
    @app.command("latency")
    def latency_cmd(
        platform: str = typer.Option(..., "--platform", "-p", help="platform name from params.yaml"),
        prepared: Path = typer.Option(Path("data/prepared")),
        archs: Path = typer.Option(Path("data/archs.parquet")),
        out: Path = typer.Option(None, help="default data/latency/<platform>.parquet"),
        model: Path = typer.Option(None, help="latency model of any arch (default models/latency/<platform>.pkl)"),
        metrics: Path = typer.Option(None, help="default reports/metrics/latency/<platform>.json"),
        plot: Path = typer.Option(None, help="default reports/plots/latency/<platform>.png"),
        params: Path = PARAMS,
    ) -> None:
        """Latency of every architecture on a platform: measured (LUT) here, imported, or from a table."""
        from nag.atomic import write_json
        from nag.latency.model import LatencyModelError
        from nag.latency.predictor import MeasurementError
        from nag.latency.stage import run_latency
        from nag.supernet.data import make_space

        out = out or Path(f"data/latency/{platform}.parquet")
        metrics = metrics or Path(f"reports/metrics/latency/{platform}.json")
        try:
            cfg = read_params(params)
            plat = cfg.platform(platform)
            space = None if plat.kind == "benchmark" else make_space(cfg.supernet, prepared)
            result = run_latency(plat, cfg.latency, space, archs, out, model or Path(f"models/latency/{platform}.pkl"),
                                 plot or Path(f"reports/plots/latency/{platform}.png"))
        except (*errors(), MeasurementError, LatencyModelError) as exc:
            fail(exc)
        write_json(metrics, result)
        typer.echo(json.dumps({k: v for k, v in result.items() if not isinstance(v, (list, dict))}))

    @app.command("machine")
    def machine_cmd(out: Path = typer.Option(Path("data/devices/machine.json"))) -> None:
        """Describe this machine (CPU, cores, runtime versions): local platforms' latency depends on it."""
        from nag.atomic import write_json
        from nag.latency.machine import machine_description

        desc = machine_description()
        if out.is_file() and json.loads(out.read_text()) == desc:
            typer.echo(f"{out} unchanged")  # same bytes: DVC sees no change, nothing downstream reruns
            return
        write_json(out, desc)
        typer.echo(json.dumps(desc))
