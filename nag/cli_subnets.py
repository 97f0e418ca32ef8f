"""``nag finetune`` (the finetune@ stage) and ``nag export`` (registered on the main app)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer

from nag.cli_common import PARAMS

PREPARED = typer.Option(Path("data/prepared"), help="output of the prepare stage")
SUPERNET = typer.Option(Path("models/supernet.pt"), help="the trained supernet")
PLATFORM = typer.Option(..., "--platform", "-p", help="platform name from params.yaml")


def _models(platform: str, evaluator: Path | None, generator: Path | None) -> tuple[Path, Path]:
    """The platform's evaluator and generator checkpoints (default: the paths dvc.yaml writes)."""
    return (evaluator or Path(f"models/evaluator/{platform}.pt"), generator or Path(f"models/generator/{platform}.pt"))


def _subnet_errors(errors: Callable[[], tuple]) -> tuple:
    from nag.export import ExportError

    return (*errors(), ExportError, FloatingPointError)


def register(app: typer.Typer, fail: Callable[[Exception], None], errors: Callable[[], tuple]) -> None:
    @app.command("finetune")
    def finetune_cmd(
        platform: str = PLATFORM,
        frontier: Path = typer.Option(..., help="generate@'s frontier JSON (reports/frontier/<platform>.json)"),
        out: Path = typer.Option(..., help="model folder: <arch_id>.onnx/.pt + index.json"),
        work: Path = typer.Option(..., help="finished subnets kept here (an interrupted run resumes)"),
        metrics: Path = typer.Option(...),
        plots: Path = typer.Option(..., help="folder for finetuned.csv and finetuned.png"),
        prepared: Path = PREPARED, supernet: Path = SUPERNET,
        evaluator: Path = typer.Option(None, help="default models/evaluator/<platform>.pt (extra budgets)"),
        generator: Path = typer.Option(None, help="default models/generator/<platform>.pt (extra budgets)"),
        params: Path = PARAMS,
    ) -> None:
        """Extract, finetune, export and measure the subnet generated for each budget of a platform."""
        from nag.atomic import write_json
        from nag.cli import _platform
        from nag.subnets import run_finetune

        try:
            cfg, plat = _platform(params, platform, prepared)
            result = run_finetune(cfg, plat, frontier, supernet, prepared, out, work, plots,
                                  *_models(platform, evaluator, generator))
        except _subnet_errors(errors) as exc:
            fail(exc)
        write_json(metrics, result)
        for b in result["budgets"]:
            meas = b["latency_measured_ms"]
            typer.echo(f"budget {b['budget_ms']:.4g} ms: {b['arch_id']} test {b['test_acc_before']:.2f} -> "
                       f"{b['test_acc_after']:.2f} %, latency predicted {b['latency_predicted_ms']:.4g} ms"
                       + (f", measured {meas:.4g} ms (a fresh net of this arch: {b['latency_reference_ms']:.4g} ms)"
                          if meas is not None else "")
                       + ("" if b["within_budget"] else f"  OVER BUDGET by {b['over_budget_ms']:.3g} ms"))

    @app.command("export")
    def export_cmd(
        platform: str = PLATFORM,
        budget: float = typer.Option(..., "--budget", "-b", help="latency budget (ms)"),
        out: Path = typer.Option(..., help="folder to write (model.onnx, model.pt, card.json)"),
        finetune: bool = typer.Option(True, "--finetune/--no-finetune", help="finetune (params finetune:) first"),
        force: bool = typer.Option(False, "--force", help="replace an existing --out folder"),
        prepared: Path = PREPARED, supernet: Path = SUPERNET,
        evaluator: Path = typer.Option(None, help="default models/evaluator/<platform>.pt"),
        generator: Path = typer.Option(None, help="default models/generator/<platform>.pt"),
        params: Path = PARAMS,
    ) -> None:
        """Generate the architecture for BUDGET, extract its weights, (finetune), write ONNX + model card."""
        from nag.cli import _platform
        from nag.subnets import run_export

        try:
            cfg, plat = _platform(params, platform, prepared)
            card = run_export(cfg, plat, budget, out, supernet, prepared, *_models(platform, evaluator, generator),
                              finetune, force)
        except _subnet_errors(errors) as exc:
            fail(exc)
        lat, acc = card["latency_ms"], card["accuracy"]
        typer.echo(json.dumps({"out": str(out), "arch_id": card["arch_id"], "budget_ms": card["budget_ms"],
                               "latency_ms": lat, "test_accuracy": acc["test_after_finetune"]}, indent=2))
