"""The pipeline's stage commands: ``nag <stage>`` runs ``nag/stages/<stage>.py`` (dvc.yaml calls them with
every path spelled out; the defaults are :mod:`nag.platforms.layout`'s)."""

from __future__ import annotations

from pathlib import Path

import typer

from nag.cli.common import (
    EVALUATOR,
    GENERATOR,
    LATENCY,
    LATENCY_MODEL,
    PARAMS,
    PLATFORM,
    PREPARED_OPT,
    VALIDATION,
    platform,
    read_params,
    run_stage,
    user_errors,
)
from nag.platforms.layout import ACCURACY, ARCHS, SUPERNET, PlatformLayout


def register(app: typer.Typer) -> None:
    """Add every stage command to ``app``."""

    @app.command()
    def prepare(
        out: Path = typer.Option(Path("data/prepared"), help="output folder"),
        metrics: Path = typer.Option(Path("reports/metrics/prepare.json")),
        params: Path = PARAMS,
    ) -> None:
        """Read Fashion-MNIST (or an image folder) and write the seeded train/val/test split."""
        from nag.stages import prepare as stage

        run_stage(metrics, lambda: stage.run(read_params(params).data, out), echo=True)

    @app.command("train-supernet")
    def train_supernet(
        prepared: Path = PREPARED_OPT,
        out: Path = typer.Option(SUPERNET),
        work: Path = typer.Option(Path("models/supernet.work"), help="per-epoch checkpoints (resume)"),
        metrics: Path = typer.Option(Path("reports/metrics/supernet.json")),
        params: Path = PARAMS,
    ) -> None:
        """Progressive shrinking of the elastic MobileNetV3; resumes from WORK when interrupted. Runs under
        torchrun for data-parallel training (rank 0 writes)."""
        import json

        import torch.distributed as dist

        from nag.atomic import write_json
        from nag.stages import train_supernet as stage

        try:
            with user_errors():
                result = stage.run(read_params(params).supernet, prepared, out, work)
        finally:
            if dist.is_initialized():
                dist.destroy_process_group()
        if result is not None:  # rank 0
            write_json(metrics, result)
            typer.echo(json.dumps({k: v for k, v in result.items() if not isinstance(v, (list, dict))}))

    @app.command("sample-archs")
    def sample_archs(prepared: Path = PREPARED_OPT, out: Path = typer.Option(ARCHS),
                     metrics: Path = typer.Option(Path("reports/metrics/sample_archs.json")),
                     params: Path = PARAMS) -> None:
        """Sample the M unique mbv3 architectures every supernet-backed platform shares (seeded)."""
        from nag.stages import sample_archs as stage
        from nag.supernet.data import make_space

        def run() -> dict:
            cfg = read_params(params)
            return stage.run(make_space(cfg.supernet, prepared), cfg.archs, out)

        run_stage(metrics, run, echo=True)

    @app.command()
    def accuracy(prepared: Path = PREPARED_OPT, archs: Path = typer.Option(ARCHS),
                 supernet: Path = typer.Option(SUPERNET), out: Path = typer.Option(ACCURACY),
                 work: Path = typer.Option(Path("data/accuracy.work.json"), help="measured so far (resume)"),
                 metrics: Path = typer.Option(Path("reports/metrics/accuracy.json")),
                 params: Path = PARAMS) -> None:
        """Measure a subset of the archs through the supernet; a predictor fills in the rest."""
        from nag.stages import accuracy as stage
        from nag.supernet.data import make_space

        def run() -> dict:
            cfg = read_params(params)
            return stage.run(
                make_space(cfg.supernet, prepared), cfg.accuracy, archs, supernet, prepared, out, work
            )

        run_stage(metrics, run, echo=True)

    @app.command()
    def machine(out: Path = typer.Option(Path("data/devices/machine.json"))) -> None:
        """Describe this machine (CPU, cores, runtime versions): local platforms' latency depends on it."""
        from nag.stages import machine as stage

        desc = stage.run(out)
        typer.echo(f"{out} {'written' if desc.pop('changed') else 'unchanged'}: {desc}")

    @app.command()
    def latency(
        name: str = PLATFORM,
        prepared: Path = PREPARED_OPT,
        archs: Path = typer.Option(ARCHS),
        out: Path = typer.Option(None, help="default data/latency/<platform>.parquet"),
        model: Path = typer.Option(None, help="latency model of any arch (default models/latency/<p>.skops)"),
        metrics: Path = typer.Option(None, help="default reports/metrics/latency/<platform>.json"),
        plot: Path = typer.Option(None, help="default reports/plots/latency/<platform>.png"),
        params: Path = PARAMS,
    ) -> None:
        """Latency of every sampled architecture on a supernet-backed platform: measured here (block LUT,
        corrected by whole networks) or predicted from the device's own measurement file."""
        from nag.stages import latency as stage
        from nag.supernet.data import make_space

        lay = PlatformLayout.of(name)

        def run() -> dict:
            cfg = read_params(params)
            plat = cfg.platform(name)
            space = None if plat.group == "table_platforms" else make_space(cfg.supernet, prepared)
            return stage.run(plat, cfg.latency, space, archs, out or lay.latency, model or lay.latency_model,
                             plot or lay.latency_plot)

        run_stage(metrics or lay.latency_metrics, run, echo=True)

    @app.command()
    def table(name: str = PLATFORM, latency: Path = LATENCY, latency_model: Path = LATENCY_MODEL,
              dataset: Path = typer.Option(None, help="default data/archdata/<platform>.parquet"),
              metrics: Path = typer.Option(None, help="default reports/metrics/latency/<platform>.json"),
              plot: Path = typer.Option(None, help="default reports/plots/latency/<platform>.png"),
              params: Path = PARAMS) -> None:
        """A table-backed platform from its table alone: latency of every cell and the M-sample dataset."""
        from nag.stages import table as stage

        lay = PlatformLayout.of(name)

        def run() -> dict:
            cfg = read_params(params)
            return stage.run(
                cfg,
                cfg.platform(name),
                latency or lay.latency,
                latency_model or lay.latency_model,
                dataset or lay.dataset,
                plot or lay.latency_plot,
            )

        run_stage(metrics or lay.latency_metrics, run, echo=True)

    @app.command("arch-dataset")
    def arch_dataset(
        name: str = PLATFORM,
        out: Path = typer.Option(None, help="default data/archdata/<p>.parquet"),
        metrics: Path = typer.Option(None),
        prepared: Path = PREPARED_OPT,
        latency: Path = LATENCY,
        latency_model: Path = LATENCY_MODEL,
        archs: Path = typer.Option(ARCHS),
        accuracy: Path = typer.Option(ACCURACY),
        validation: Path = VALIDATION,
        params: Path = PARAMS,
    ) -> None:
        """The architecture dataset of a supernet-backed platform: every sampled arch with its supernet
        accuracy and the platform's validated latency."""
        from nag.stages import arch_dataset as stage

        lay = PlatformLayout.of(name)

        def run() -> dict:
            cfg, plat = platform(params, name, prepared, latency, latency_model, archs, accuracy, validation)
            return stage.run(cfg, plat, out or lay.dataset)

        run_stage(metrics or lay.dataset_metrics, run)

    @app.command("train-evaluator")
    def train_evaluator(
        name: str = PLATFORM,
        dataset: Path = typer.Option(None),
        out: Path = typer.Option(None, help="default models/evaluator/<platform>.pt"),
        metrics: Path = typer.Option(None),
        validation: Path = VALIDATION,
        prepared: Path = PREPARED_OPT,
        latency: Path = LATENCY,
        latency_model: Path = LATENCY_MODEL,
        params: Path = PARAMS,
    ) -> None:
        """Train the Pareto-dominance evaluator R(β|B) (and the candidate-ranking accuracy predictor)."""
        from nag.stages import train_evaluator as stage

        lay = PlatformLayout.of(name)

        def run() -> dict:
            cfg, plat = platform(params, name, prepared, latency, latency_model, validation=validation)
            return stage.run(cfg, plat, dataset or lay.dataset, out or lay.evaluator)

        run_stage(metrics or lay.evaluator_metrics, run)

    @app.command("train-generator")
    def train_generator(
        name: str = PLATFORM,
        evaluator: Path = EVALUATOR,
        out: Path = typer.Option(None, help="default models/generator/<platform>.pt"),
        metrics: Path = typer.Option(None),
        prepared: Path = PREPARED_OPT,
        latency: Path = LATENCY,
        latency_model: Path = LATENCY_MODEL,
        params: Path = PARAMS,
    ) -> None:
        """Train the budget-conditioned generator with REINFORCE over all K budgets."""
        from nag.stages import train_generator as stage

        lay = PlatformLayout.of(name)

        def run() -> dict:
            cfg, plat = platform(params, name, prepared, latency, latency_model)
            return stage.run(cfg, plat, evaluator or lay.evaluator, out or lay.generator)

        run_stage(metrics or lay.generator_metrics, run)

    @app.command()
    def frontier(name: str = PLATFORM, dataset: Path = typer.Option(None), out: Path = typer.Option(None),
                 plots: Path = typer.Option(None), engine: Path = typer.Option(None, help="engine to write"),
                 evaluator: Path = EVALUATOR, generator: Path = GENERATOR,
                 prepared: Path = PREPARED_OPT, latency: Path = LATENCY, latency_model: Path = LATENCY_MODEL,
                 params: Path = PARAMS) -> None:
        """Generate at the K trained budgets and the interpolated midpoints; write JSON, CSV and plots."""
        from nag.stages import frontier as stage

        lay = PlatformLayout.of(name)

        def run() -> dict:
            cfg, plat = platform(params, name, prepared, latency, latency_model)
            sources = {"latency": latency or lay.latency, "latency_model": latency_model or lay.latency_model}
            return stage.run(cfg, plat, evaluator or lay.evaluator, generator or lay.generator,
                             dataset or lay.dataset, plots or lay.plots, engine or lay.engine, sources)

        run_stage(out or lay.frontier, run)

    @app.command()
    def finetune(
        name: str = PLATFORM,
        frontier: Path = typer.Option(None, help="frontier@'s JSON"),
        out: Path = typer.Option(None, help="model folder: <arch_id>.onnx/.pt + index.json"),
        work: Path = typer.Option(None, help="finished subnets kept here (an interrupted run resumes)"),
        metrics: Path = typer.Option(None),
        plots: Path = typer.Option(None),
        prepared: Path = PREPARED_OPT,
        supernet: Path = typer.Option(SUPERNET),
        latency: Path = LATENCY,
        latency_model: Path = LATENCY_MODEL,
        evaluator: Path = EVALUATOR,
        generator: Path = GENERATOR,
        params: Path = PARAMS,
    ) -> None:
        """Extract, finetune, export and measure the subnet generated for each budget of a platform."""
        from nag.stages import finetune as stage

        lay = PlatformLayout.of(name)

        def run() -> dict:
            cfg, plat = platform(params, name, prepared, latency, latency_model)
            return stage.run(cfg, plat, frontier or lay.frontier, supernet, prepared, out or lay.subnets,
                             work or lay.subnets_work, plots or lay.plots, evaluator or lay.evaluator,
                             generator or lay.generator)

        result = run_stage(
            metrics or lay.finetune_metrics, run, extra=(FloatingPointError,)
        )  # a diverged finetune
        for b in result["budgets"]:
            meas = b["latency_measured_corrected_ms"]
            typer.echo(
                f"budget {b['budget_ms']:.4g} ms: {b['arch_id']} test {b['test_acc_before']:.2f} -> "
                f"{b['test_acc_after']:.2f} %, latency predicted {b['latency_predicted_ms']:.4g} ms (bound "
                f"{b['latency_bound_ms']:.4g})"
                + (f", measured {meas:.4g} ms drift-corrected ({b['latency_measured_ms']:.4g} as timed)"
                   if meas is not None else "")
                + (f", {b['fallbacks']} fallback(s)" if b["fallbacks"] else "")
                + ("" if b["within_budget"] else f"  OVER BUDGET by {b['over_budget_ms']:.3g} ms")
            )
        if result.get("drift"):
            drift = result["drift"]["drift_pct"]
            typer.echo(f"machine drift since the latency table (probes): {drift:+.1f} %")
