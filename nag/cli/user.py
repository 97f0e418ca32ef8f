"""The user's commands: ``nag generate`` (best architecture per budget), ``nag export`` (a finetuned,
ONNX-exported subnet with its model card), ``nag check-latency`` (has this machine drifted since its
latency table?) and ``nag benchmark`` (the method judged on real tables)."""

from __future__ import annotations

import json
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
    fail,
    platform,
    read_params,
    user_errors,
)
from nag.config import ConfigError
from nag.errors import BudgetError
from nag.platforms.layout import SUPERNET, PlatformLayout

benchmark_app = typer.Typer(help="Judge the method on real benchmark tables.", no_args_is_help=True)


def _describe(row: dict) -> str:
    if row["accuracy"] is not None:
        acc = f"{row['accuracy']:.2f} % ({'queried' if row['n_queried'] else 'known: in the dataset'})"
    elif row["rank_by"] == "predictor":
        acc = f"predicted {row['score']:.2f} %"
    else:
        acc = f"score {row['score']:.3f}"
    arch = json.dumps(row["arch"])
    bound = row.get("latency_bound_ms", row["latency_ms"])
    return (f"budget {row['budget_ms']:g} ms -> {arch}  latency {row['latency_ms']:.4g} ms (bound "
            f"{bound:.4g} ms at {row.get('confidence', 0):.0%}), {acc}")


def _engine(params: Path, name: str, lay: PlatformLayout):
    """The platform's engine file (frontier@'s output) when the files it was built from hold what it recorded
    (content hashes) and it was built from these settings; else None (answer from the checkpoints), saying
    why on stderr."""
    from nag.serving.engine import Engine, EngineError, fingerprint, stale_sources

    cfg = read_params(params)
    cfg.platform(name)  # an unknown platform is the user's error, whatever the files
    if not lay.engine.is_file():
        return None
    sources = {"evaluator": lay.evaluator, "generator": lay.generator, "latency": lay.latency,
               "latency_model": lay.latency_model}
    try:
        engine = Engine.load(lay.engine, expect=fingerprint(cfg, name))
        changed = stale_sources(engine, sources)
        if changed:
            raise EngineError(f"{lay.engine} was built from other {', '.join(changed)} files than those now "
                              f"in place; rerun dvc repro frontier@{name}")
        return engine
    except EngineError as exc:
        typer.secho(f"note: {exc}; answering from the checkpoints (slower)", fg=typer.colors.YELLOW, err=True)
        return None


def _export_ofa(params: Path, name: str, budget: float, out: Path, force: bool, lay: PlatformLayout) -> dict:
    """``nag export --format ofa``: the answer ``nag generate`` gives, as OFA's files (nag.delivery)."""
    from nag.delivery.ofa_format import export_ofa

    kind = read_params(params).platform(name).kind
    if kind != "ofa":
        raise ConfigError(f"--format ofa writes OFA's configs for an ofa platform; {name!r} is {kind}: "
                          f"export it with --format onnx")
    engine = _engine(params, name, lay)
    if engine is None:
        from nag.serving.generated import Generated

        cfg, plat = platform(params, name)
        engine = Generated(cfg, plat, lay.evaluator, lay.generator).engine
    return {"out": str(out), **export_ofa(engine, budget, out, force)}


def register(app: typer.Typer) -> None:
    """Add the user's commands to ``app``."""

    @app.command()
    def generate(
        name: str = PLATFORM,
        budget: list[float] = typer.Option(..., "--budget", "-b", help="latency budget in ms (repeatable)"),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
        zero_query: bool = typer.Option(False, "--zero-query", help="rank by prediction only, query nothing"),
        evaluator: Path = EVALUATOR,
        generator: Path = GENERATOR,
        prepared: Path = PREPARED_OPT,
        latency: Path = LATENCY,
        latency_model: Path = LATENCY_MODEL,
        params: Path = PARAMS,
    ) -> None:
        """The most accurate architecture within each budget (ms) on a platform."""
        lay = PlatformLayout.of(name)
        files = (evaluator, generator, latency, latency_model)
        custom = prepared != PREPARED_OPT.default or any(p is not None for p in files)
        with user_errors():
            limit = read_params(params).serve.max_budgets
            if len(budget) > limit:
                raise BudgetError(f"{len(budget)} budgets in one call; at most {limit} (serve.max_budgets in "
                                 f"{params}): split the call")
            g = None if custom else _engine(params, name, lay)
            if g is None:  # other files than the pipeline's, or its engine is missing or stale
                from nag.serving.generated import Generated

                cfg, plat = platform(params, name, prepared, latency, latency_model)
                g = Generated(cfg, plat, evaluator or lay.evaluator, generator or lay.generator)
            choices, queries = g.choose(budget, zero_query=zero_query)
        rows = [{"platform": name, **g.describe(c)} for c in choices]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for r in rows:
            typer.echo(_describe(r))
        typer.echo(f"new accuracy queries: {queries}")

    @app.command()
    def export(
        name: str = PLATFORM,
        budget: float = typer.Option(..., "--budget", "-b", help="latency budget (ms)"),
        out: Path = typer.Option(..., help="folder to write (model.onnx, model.pt, card.json)"),
        fmt: str = typer.Option("onnx", "--format", help="onnx: the finetuned subnet's weights (supernet "
                                "platforms); ofa: net.config + run.config + card.json for once-for-all (ofa "
                                "platforms: no weights here, the card says how to cut them from OFA's)"),
        finetune: bool = typer.Option(
            True, "--finetune/--no-finetune", help="finetune (params finetune:) first"
        ),
        force: bool = typer.Option(False, "--force", help="replace an existing --out folder"),
        prepared: Path = PREPARED_OPT,
        supernet: Path = typer.Option(SUPERNET, help="the trained supernet"),
        evaluator: Path = EVALUATOR,
        generator: Path = GENERATOR,
        params: Path = PARAMS,
    ) -> None:
        """Generate the architecture for BUDGET, extract its weights, (finetune), write ONNX + model card."""
        from nag.delivery.subnets import run_export

        lay = PlatformLayout.of(name)
        if fmt not in ("onnx", "ofa"):
            fail(ValueError(f"--format {fmt!r}: use onnx (weights, supernet platforms) or ofa "
                             f"(OFA's configs)"))
        if fmt == "ofa":
            with user_errors():
                card = _export_ofa(params, name, budget, out, force, lay)
            keep = ("out", "arch_id", "budget_ms", "latency_ms", "accuracy", "image_size")
            typer.echo(json.dumps({k: card[k] for k in keep}, indent=2))
            return
        with user_errors(FloatingPointError):
            if read_params(params).platform(name).kind == "ofa":
                raise ConfigError(f"{name!r} is an ofa platform: its weights are once-for-all's, not trained "
                                  f"here; use --format ofa (net.config + run.config, and how to load them)")
            cfg, plat = platform(params, name, prepared)
            card = run_export(cfg, plat, budget, out, supernet, prepared, evaluator or lay.evaluator,
                              generator or lay.generator, finetune, force)
        lat, acc = card["latency_ms"], card["accuracy"]
        typer.echo(json.dumps({"out": str(out), "arch_id": card["arch_id"], "budget_ms": card["budget_ms"],
                               "latency_ms": lat, "test_accuracy": acc["test_after_finetune"]}, indent=2))

    @app.command("check-latency")
    def check_latency(
        name: str = PLATFORM,
        prepared: Path = PREPARED_OPT,
        latency: Path = LATENCY,
        latency_model: Path = LATENCY_MODEL,
        params: Path = PARAMS,
    ) -> None:
        """Time a local platform's drift probes now vs in its latency table; exit 1 if the table is stale."""
        from nag.delivery.check import time_beside_probes
        from nag.delivery.subnets import record_drift
        from nag.latency.drift import stale_message

        with user_errors():
            cfg, plat = platform(params, name, prepared, latency, latency_model)
            if plat.config.kind != "local":
                fail(ValueError(f"platform {name!r} is {plat.config.kind}: only a local platform is measured "
                                f"here (an imported device's drift shows in its own new measurements)"))
            _, _, drift, _ = time_beside_probes(cfg, plat, [], f"drift probes on {name}", log=lambda _: None)
            rec = record_drift(plat, drift, "nag check-latency")
        typer.echo(json.dumps({k: rec[k] for k in ("platform", "drift_pct", "per_probe", "stale")}))
        if drift.stale:
            typer.secho(stale_message(name, drift.ratio, drift.max_drift), fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
        typer.echo(f"{name}: probes within ±{100 * drift.max_drift:g} % of the table "
                   f"({rec['drift_pct']:+.1f} %); corrected measurements divide by {drift.ratio:.4f}")

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
        from nag.bench.nb201 import run_nb201_benchmark
        from nag.config import PlatformConfig
        from nag.method.plots import plot_benchmark
        from nag.platforms import resolve

        try:
            with user_errors():
                cfg = read_params(params)
                plat = resolve(
                    PlatformConfig(f"nb201-{device}", file=str(table), device=device, metric=metric)
                )
                report = run_nb201_benchmark(plat, cfg, train_size, seed)
        except ValueError as exc:
            fail(exc)
        stem = f"nb201_{device}" if (metric, seed, train_size) == ("acc_cifar10", 0, 1000) else \
            f"nb201_{device}_{metric}_m{train_size}_s{seed}"
        write_json(out_dir / f"{stem}.json", report)
        plot_benchmark(out_dir / f"{stem}.png", plat, report)
        for m_name, m in report["methods"].items():
            typer.echo(f"{m_name:22s} regret {m['mean_regret_pp']:.3f} pp  max {m['max_regret_pp']:.3f}  "
                       f"satisfied {m['satisfaction_rate']:.0%}  queries {m['queries']}")
        typer.echo(f"wrote {out_dir / stem}.json and .png")

    app.add_typer(benchmark_app, name="benchmark")
