"""``nag train-supernet``, ``nag sample-archs`` and ``nag accuracy`` (registered on the main app)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer

from nag.cli_common import PARAMS, read_params

PREPARED = typer.Option(Path("data/prepared"), help="output of the prepare stage")


def register(app: typer.Typer, fail: Callable[[Exception], None], errors: Callable[[], tuple]) -> None:
    @app.command("train-supernet")
    def train_supernet_cmd(
        prepared: Path = PREPARED,
        out: Path = typer.Option(Path("models/supernet.pt")),
        work: Path = typer.Option(Path("models/supernet.work"), help="per-epoch checkpoints (resume point)"),
        metrics: Path = typer.Option(Path("reports/metrics/supernet.json")),
        params: Path = PARAMS,
    ) -> None:
        """Progressive shrinking of the elastic MobileNetV3; resumes from WORK when interrupted.
        Runs under torchrun for data-parallel training (rank 0 writes)."""
        import torch.distributed as dist

        from nag.atomic import write_json
        from nag.supernet.stages import run_train_supernet

        try:
            result = run_train_supernet(read_params(params).supernet, prepared, out, work)
        except errors() as exc:
            fail(exc)
        finally:
            if dist.is_initialized():
                dist.destroy_process_group()
        if result is not None:
            write_json(metrics, result)
            typer.echo(json.dumps({k: v for k, v in result.items() if not isinstance(v, (list, dict))}))

    @app.command("sample-archs")
    def sample_archs_cmd(
        prepared: Path = PREPARED,
        out: Path = typer.Option(Path("data/archs.parquet")),
        metrics: Path = typer.Option(Path("reports/metrics/sample_archs.json")),
        params: Path = PARAMS,
    ) -> None:
        """Sample the M unique mbv3 architectures of the dataset (seeded)."""
        from nag.atomic import write_json
        from nag.supernet.data import make_space
        from nag.supernet.stages import run_sample_archs

        try:
            cfg = read_params(params)
            result = run_sample_archs(make_space(cfg.supernet, prepared), cfg.archs, out)
        except errors() as exc:
            fail(exc)
        write_json(metrics, result)
        typer.echo(json.dumps(result))

    @app.command("accuracy")
    def accuracy_cmd(
        prepared: Path = PREPARED,
        archs: Path = typer.Option(Path("data/archs.parquet")),
        supernet: Path = typer.Option(Path("models/supernet.pt")),
        out: Path = typer.Option(Path("data/accuracy.parquet")),
        work: Path = typer.Option(Path("data/accuracy.work.json"), help="measured so far (resume point)"),
        metrics: Path = typer.Option(Path("reports/metrics/accuracy.json")),
        params: Path = PARAMS,
    ) -> None:
        """Measure a subset of the archs through the supernet; a predictor fills in the rest."""
        from nag.atomic import write_json
        from nag.supernet.accuracy import run_accuracy
        from nag.supernet.data import make_space

        try:
            cfg = read_params(params)
            result = run_accuracy(make_space(cfg.supernet, prepared), cfg.accuracy, archs, supernet, prepared,
                                  out, work)
        except errors() as exc:
            fail(exc)
        write_json(metrics, result)
        typer.echo(json.dumps({k: v for k, v in result.items() if not isinstance(v, (list, dict))}))
