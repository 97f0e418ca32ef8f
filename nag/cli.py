"""The ``nag`` command: one subcommand per pipeline stage plus the user-facing commands.

Paths come from the command line (dvc.yaml writes them once); settings from params.yaml, parsed once
here into :mod:`nag.config` dataclasses.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from nag.cli_common import PARAMS, fail as _fail, read_params
from nag.config import ConfigError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)



@app.callback()
def _root() -> None:
    """NAG: the most accurate architecture that fits a latency budget, per device."""




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
        cfg = read_params(params)
        result = run_prepare(cfg.data, out)
    except (ConfigError, DatasetError) as exc:
        _fail(exc)
    write_json(metrics, result)
    typer.echo(json.dumps(result))


def _platform(params_path: Path, name: str, prepared: Path | None = None, latency: Path | None = None,
              model: Path | None = None, archs: Path | None = None, accuracy: Path | None = None,
              validation: Path | None = None):
    """params + the resolved platform; mbv3 platforms read their artifacts from the given paths
    (defaults: the paths dvc.yaml writes)."""
    from nag.platforms import PlatformFiles, resolve

    params = read_params(params_path)
    plat = params.platform(name)
    d = PlatformFiles.default(name)
    files = PlatformFiles(prepared or d.prepared, latency or d.latency, model or d.model, archs or d.archs,
                          accuracy or d.accuracy, validation or d.validation)
    return params, resolve(plat, params.supernet, files)


def _errors():
    """The exception types that are the user's to fix (shown as one line, exit code 2)."""
    from nag.archdata import DataError
    from nag.budget import BudgetError
    from nag.checkpoint import CheckpointError
    from nag.data.benchmarks import TableError
    from nag.data.fashion_mnist import DatasetError
    from nag.infer import InfeasibleError
    from nag.latency.model import LatencyModelError
    from nag.spaces.base import ArchError

    return (ConfigError, DataError, BudgetError, CheckpointError, TableError, InfeasibleError, DatasetError, ArchError,
            LatencyModelError)


def _register_more() -> None:
    from nag import cli_latency, cli_subnets, cli_supernet

    cli_supernet.register(app, _fail, _errors)
    cli_latency.register(app, _fail, _errors)
    cli_subnets.register(app, _fail, _errors)


_register_more()


PLATFORM = typer.Option(..., "--platform", "-p", help="platform name from params.yaml")
# an mbv3 platform's artifacts (benchmark platforms read their table from params.yaml)
PREPARED = typer.Option(None, help="prepared data (the mbv3 space); default data/prepared")
LATENCY = typer.Option(None, help="latency table; default data/latency/<platform>.parquet")
LATENCY_MODEL = typer.Option(None, "--latency-model", help="latency model; default models/latency/<platform>.pkl")


def _stage(params_path: Path, platform: str, metrics: Path, run, *args, files: dict | None = None) -> None:
    """Run one per-platform stage function and write its metrics JSON (errors: one line, exit 2)."""
    from nag.atomic import write_json

    try:
        cfg, plat = _platform(params_path, platform, **(files or {}))
        write_json(metrics, run(cfg, plat, *args))
    except _errors() as exc:
        _fail(exc)


@app.command("arch-dataset")
def arch_dataset(platform: str = PLATFORM, out: Path = typer.Option(...), metrics: Path = typer.Option(...),
                 prepared: Path = PREPARED, latency: Path = LATENCY, latency_model: Path = LATENCY_MODEL,
                 archs: Path = typer.Option(None, help="mbv3: default data/archs.parquet"),
                 accuracy: Path = typer.Option(None, help="mbv3: default data/accuracy.parquet"),
                 validation: Path = typer.Option(None, help="mbv3: the latency's validation report (must pass)"),
                 params: Path = PARAMS) -> None:
    """The architecture dataset of a platform: M archs with accuracy and latency (a seeded sample of a
    benchmark table; for mbv3 platforms every sampled arch, with supernet accuracy and validated latency)."""
    from nag.pipeline import run_arch_dataset

    _stage(params, platform, metrics, run_arch_dataset, out,
           files=dict(prepared=prepared, latency=latency, model=latency_model, archs=archs, accuracy=accuracy,
                      validation=validation))


@app.command("train-evaluator")
def train_evaluator_cmd(platform: str = PLATFORM, dataset: Path = typer.Option(...), out: Path = typer.Option(...),
                        metrics: Path = typer.Option(...), prepared: Path = PREPARED, latency: Path = LATENCY,
                        latency_model: Path = LATENCY_MODEL, params: Path = PARAMS) -> None:
    """Train the Pareto-dominance evaluator R(β|B) (and the candidate-ranking accuracy predictor)."""
    from nag.pipeline import run_train_evaluator

    _stage(params, platform, metrics, run_train_evaluator, dataset, out,
           files=dict(prepared=prepared, latency=latency, model=latency_model))


@app.command("train-generator")
def train_generator_cmd(platform: str = PLATFORM, evaluator: Path = typer.Option(...), out: Path = typer.Option(...),
                        metrics: Path = typer.Option(...), prepared: Path = PREPARED, latency: Path = LATENCY,
                        latency_model: Path = LATENCY_MODEL, params: Path = PARAMS) -> None:
    """Train the budget-conditioned generator with REINFORCE over all K budgets."""
    from nag.pipeline import run_train_generator

    _stage(params, platform, metrics, run_train_generator, evaluator, out,
           files=dict(prepared=prepared, latency=latency, model=latency_model))


@app.command("frontier")
def frontier_cmd(platform: str = PLATFORM, dataset: Path = typer.Option(...), out: Path = typer.Option(...),
                 plots: Path = typer.Option(...), evaluator: Path = typer.Option(None),
                 generator: Path = typer.Option(None), prepared: Path = PREPARED, latency: Path = LATENCY,
                 latency_model: Path = LATENCY_MODEL, params: Path = PARAMS) -> None:
    """Generate at the K trained budgets and the interpolated midpoints; write JSON, CSV and plots."""
    from nag.pipeline import run_generate

    ev = evaluator or Path(f"models/evaluator/{platform}.pt")
    gen = generator or Path(f"models/generator/{platform}.pt")
    _stage(params, platform, out, run_generate, ev, gen, dataset, plots,
           files=dict(prepared=prepared, latency=latency, model=latency_model))


@app.command()
def generate(
    platform: str = PLATFORM,
    budget: list[float] = typer.Option(..., "--budget", "-b", help="latency budget in ms (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    zero_query: bool = typer.Option(False, "--zero-query", help="rank by prediction only, query nothing"),
    evaluator: Path = typer.Option(None, help="default models/evaluator/<platform>.pt"),
    generator: Path = typer.Option(None, help="default models/generator/<platform>.pt"),
    prepared: Path = PREPARED, latency: Path = LATENCY, latency_model: Path = LATENCY_MODEL,
    params: Path = PARAMS,
) -> None:
    """The most accurate architecture within each budget (ms) on a platform."""
    from nag.pipeline import Generated

    try:
        cfg, plat = _platform(params, platform, prepared, latency, latency_model)
        g = Generated(cfg, plat, evaluator or Path(f"models/evaluator/{platform}.pt"),
                      generator or Path(f"models/generator/{platform}.pt"))
        choices, queries = g.choose(budget, zero_query=zero_query)
    except _errors() as exc:
        _fail(exc)
    rows = [{"platform": platform, **g.describe(c)} for c in choices]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        acc = f"{r['accuracy']:.2f} % ({'queried' if r['n_queried'] else 'known: in the dataset'})" \
            if r["accuracy"] is not None else \
            (f"predicted {r['score']:.2f} %" if r["rank_by"] == "predictor" else f"score {r['score']:.3f}")
        typer.echo(f"budget {r['budget_ms']:g} ms -> {json.dumps(r['arch'])}  latency {r['latency_ms']:.4g} ms, {acc}")
    typer.echo(f"new accuracy queries: {queries}")


benchmark_app = typer.Typer(help="Judge the method on real benchmark tables.", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("nb201")
def benchmark_nb201(
    device: str = typer.Option(..., help="device column (lat_<device>) of the table"),
    metric: str = typer.Option("acc_cifar10", help="accuracy column"),
    train_size: int = typer.Option(1000, help="M: architectures in the dataset"),
    seed: int = typer.Option(0),
    table: Path = typer.Option(Path("data/benchmarks/nb201.csv"), help="any CSV of the NB201 schema"),
    out_dir: Path = typer.Option(Path("reports/benchmarks")),
    params: Path = PARAMS,
) -> None:
    """Train on an M-sample of NAS-Bench-201 and judge against the oracle on the whole table."""
    from nag.atomic import write_json
    from nag.bench_nb201 import run_nb201_benchmark
    from nag.config import PlatformConfig
    from nag.plots import plot_benchmark
    from nag.platforms import resolve

    try:
        cfg = read_params(params)
        plat = resolve(PlatformConfig(f"nb201-{device}", file=str(table), device=device, metric=metric))
        report = run_nb201_benchmark(plat, cfg, train_size, seed)
    except (*_errors(), ValueError) as exc:
        _fail(exc)
    stem = f"nb201_{device}" if (metric, seed, train_size) == ("acc_cifar10", 0, 1000) else \
        f"nb201_{device}_{metric}_m{train_size}_s{seed}"
    write_json(out_dir / f"{stem}.json", report)
    plot_benchmark(out_dir / f"{stem}.png", plat, report)
    for name, m in report["methods"].items():
        typer.echo(f"{name:22s} regret {m['mean_regret_pp']:.3f} pp  max {m['max_regret_pp']:.3f}  "
                   f"satisfied {m['satisfaction_rate']:.0%}  queries {m['queries']}")
    typer.echo(f"wrote {out_dir / stem}.json and .png")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
