"""Great Expectations validation of every platform's latency before anything trains on it.

Suites (built per platform kind):

* ``latency`` — on ``data/latency/<platform>.parquet``: required columns and types, ``arch_id``
  unique and equal to the platform's architecture set, latency present, > 0 and inside
  ``latency.range_ms``, ``source`` from the known set, spread ≤ ``latency.max_spread`` on (a
``latency.spread_mostly`` share of the) measured rows.
* ``measurements`` (imported devices) — on the device's file: at least ``latency.min_measured`` rows,
  positive latencies in range, one row per (architecture, resolution); for an ``ofa`` platform, the same on
  its lookup tables' entries (one row per layer and resolution).
* ``model_error`` (local and imported) — the LUT's cross-validated / the predictor's held-out MAPE ≤
  ``latency.max_mape``.
* ``bound_coverage`` (local and imported) — on the rows the latency model did not fit (``calibration`` in
  the latency metrics), each row's upper bound calibrated on the other folds (cross-conformal): at least
  ``latency.confidence - latency.coverage_tolerance`` of the measurements at or under their bound (fewer
  where a device has too few rows for that to be a fair test: :func:`coverage_floor`).

``python -m flows.validate --platform NAME`` writes ``reports/validation/<NAME>.json`` and exits 1 with
a readable list of the failed expectations (and example bad rows) when any fails.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pandas as pd
import typer

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

COLUMNS = {"arch_id": "str", "latency_ms": "float64", "source": "str", "spread": "float64"}
SOURCES = ["measured", "lut", "predicted"]


def _gx():
    import great_expectations as gx
    import great_expectations.expectations as gxe

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    return gx, gxe


def latency_expectations(kind: str, arch_ids: list[str], cfg, max_spread: float = 0.0) -> list:
    _, gxe = _gx()
    from great_expectations.expectations.row_conditions import Column

    lo, hi = cfg.range_ms
    exps = [gxe.ExpectColumnToExist(column=c) for c in COLUMNS]
    exps += [gxe.ExpectColumnValuesToBeOfType(column=c, type_=t) for c, t in COLUMNS.items()]
    exps += [
        gxe.ExpectColumnValuesToBeUnique(column="arch_id"),
        gxe.ExpectTableRowCountToEqual(value=len(arch_ids)),
        gxe.ExpectColumnDistinctValuesToEqualSet(column="arch_id", value_set=arch_ids),
        gxe.ExpectColumnValuesToNotBeNull(column="latency_ms"),
        gxe.ExpectColumnValuesToBeBetween(column="latency_ms", min_value=lo, max_value=hi),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=SOURCES),
        # a few noisy rows on a shared machine do not spoil a table whose LUT error is validated on its own
        gxe.ExpectColumnValuesToBeBetween(
            column="spread",
            min_value=0,
            max_value=max_spread or cfg.max_spread,
            row_condition=Column("source") == "measured",
            mostly=cfg.spread_mostly,
        ),
    ]
    return exps


def measurement_expectations(cfg, nb201: bool = False) -> list:
    """A device's measurement file: at least ``latency.min_measured`` rows (few rows: latency transferred
    from the known devices of its space, nag.fewshot), sane, no duplicates."""
    _, gxe = _gx()
    lo, hi = cfg.range_ms
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=cfg.min_measured),
        gxe.ExpectColumnValuesToNotBeNull(column="latency_ms"),
        gxe.ExpectColumnValuesToBeBetween(column="latency_ms", min_value=lo, max_value=hi),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["arch_id", "resolution"]),
    ]


def model_error_frame(kind: str, metrics: dict) -> pd.DataFrame | None:
    if kind == "local":
        return pd.DataFrame({"mape": [metrics["lut_vs_direct"]["correction"]["cross_validated"]["mape"]]})
    if kind == "imported":
        return pd.DataFrame({"mape": [metrics["predictor"]["heldout"]["mape"]]})
    return None


def coverage_frame(metrics: dict, confidence: float, seed: int = 0) -> pd.DataFrame | None:
    """``source, measured, estimate, bound`` of every calibration row, the bound out of fold."""
    from nag.latency.bound import out_of_fold_bounds

    parts = []
    for source, rows in (metrics.get("calibration") or {}).items():
        if len(rows["measured"]) >= 2:
            bound = out_of_fold_bounds(rows["measured"], rows["estimate"], confidence, seed=seed)
            parts.append(pd.DataFrame({"source": source, "measured": rows["measured"],
                                       "estimate": rows["estimate"], "bound": bound}))
    return pd.concat(parts, ignore_index=True) if parts else None


def coverage_floor(n: int, confidence: float, tolerance: float, alpha: float = 0.05) -> float:
    """The share of ``n`` calibration rows that must lie at or under their bound: ``confidence -
    tolerance``, or lower where so few rows are measured that a bound of the right coverage would often
    miss it by chance — then the share below which misses are significant at ``alpha`` (binomial, one-sided:
    10 rows at 0.9 allow 3 misses, since P(≥ 4 | 10, 0.1) = 1.3 %; the fixed 0.85 would reject a right
    bound 26 % of the time, P(≥ 2))."""
    from scipy.stats import binom

    allowed = int(binom.ppf(1 - alpha, n, 1 - confidence)) if n else 0
    return max(min(confidence - tolerance, 1 - allowed / max(n, 1)), 1e-6)


def coverage_summary(frame: pd.DataFrame | None, confidence: float) -> dict:
    """Per source and over all: rows, share covered, mean margin (%) of the bound over the estimate."""
    if frame is None:
        return {"confidence": confidence, "sources": {}}
    out = {}
    for source, g in [*frame.groupby("source"), ("all", frame)]:
        out[source] = {"n": int(len(g)), "coverage": float((g["measured"] <= g["bound"]).mean()),
                       "mean_margin_pct": float(100 * (g["bound"] / g["estimate"] - 1).mean())}
    return {"confidence": confidence, "sources": out}


def run_suite(name: str, df: pd.DataFrame, expectations: list) -> list[dict]:
    """Validate ``df``; one dict per expectation with its verdict and up to 5 example bad rows."""
    gx, _ = _gx()
    ctx = gx.get_context(mode="ephemeral")
    try:
        ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
    except Exception:  # older/newer config shapes: progress bars are cosmetic
        pass
    batch = (ctx.data_sources.add_pandas(name).add_dataframe_asset(name)
             .add_batch_definition_whole_dataframe(name).get_batch(batch_parameters={"dataframe": df}))
    suite = gx.ExpectationSuite(name=name)
    for e in expectations:
        suite.add_expectation(e)
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    out = []
    for r in result.results:
        d = r.to_json_dict()
        kw = {
            k: v for k, v in d["expectation_config"]["kwargs"].items() if k not in ("value_set", "batch_id")
        }
        res = d.get("result") or {}
        idx = (res.get("unexpected_index_list") or [])[:5]
        out.append(
            {
                "suite": name,
                "expectation": d["expectation_config"]["type"],
                "kwargs": kw,
                "success": bool(d["success"]),
                "unexpected_count": res.get("unexpected_count"),
                "observed_value": res.get("observed_value"),
                "examples": df.iloc[[i for i in idx if isinstance(i, int)]].to_dict("records") if idx else [],
                "error": (d.get("exception_info") or {}).get("exception_message"),
            }
        )
    return out


def validate_platform(name: str, kind: str, cfg, latency: pd.DataFrame, arch_ids: list[str], metrics: dict,
                      measurements: pd.DataFrame | None = None, max_spread: float = 0.0) -> dict:
    """Run the platform kind's suites; ``max_spread`` overrides ``cfg.max_spread`` (0: keep it)."""
    results = run_suite(f"latency_{name}", latency, latency_expectations(kind, arch_ids, cfg, max_spread))
    if measurements is not None:
        results += run_suite(f"measurements_{name}", measurements,
                             measurement_expectations(cfg, "arch_str" in measurements.columns))
    err = model_error_frame(kind, metrics)
    if err is not None:
        _, gxe = _gx()
        results += run_suite(
            f"model_error_{name}",
            err,
            [gxe.ExpectColumnValuesToBeBetween(column="mape", min_value=0, max_value=cfg.max_mape)],
        )
    cover = coverage_frame(metrics, cfg.confidence)
    if cover is not None:
        _, gxe = _gx()
        results += run_suite(f"bound_coverage_{name}", cover, [gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="bound", column_B="measured", or_equal=True,
            mostly=coverage_floor(len(cover), cfg.confidence, cfg.coverage_tolerance))])
    failed = [r for r in results if not r["success"]]
    return {"platform": name, "kind": kind, "success": not failed, "n_expectations": len(results),
            "n_failed": len(failed), "failed": failed, "bound": coverage_summary(cover, cfg.confidence),
            "results": results}


def describe_failures(report: dict) -> str:
    lines = [f"latency of platform {report['platform']!r} failed {report['n_failed']} of "
             f"{report['n_expectations']} expectations:"]
    for f in report["failed"]:
        what = ", ".join(f"{k}={v}" for k, v in f["kwargs"].items())
        detail = (
            f"{f['unexpected_count']} bad value(s)"
            if f["unexpected_count"]
            else f"observed {f['observed_value']}"
        )
        lines.append(
            f"  - [{f['suite']}] {f['expectation']}({what}): {detail}"
            + (f"; e.g. {f['examples'][:3]}" if f["examples"] else "")
            + (f"; {f['error']}" if f["error"] else "")
        )
    lines.append(
        "nothing downstream will train on it: fix the measurements (or thresholds in params.yaml latency:) "
        "and rerun"
    )
    return "\n".join(lines)


def main(
    platform: str = typer.Option(..., "--platform", "-p"),
    params: Path = typer.Option(Path("params.yaml")),
    prepared: Path = typer.Option(Path("data/prepared")),
    archs: Path = typer.Option(Path("data/archs.parquet")),
    latency: Path = typer.Option(None, help="default data/latency/<platform>.parquet"),
    metrics: Path = typer.Option(None, help="default reports/metrics/latency/<platform>.json"),
    out: Path = typer.Option(None, help="default reports/validation/<platform>.json"),
) -> None:
    """Validate one platform's latency table; exit 1 with the failed expectations listed."""
    from nag.atomic import write_json
    from nag.config import ConfigError, load_params

    latency = latency or Path(f"data/latency/{platform}.parquet")
    metrics = metrics or Path(f"reports/metrics/latency/{platform}.json")
    out = out or Path(f"reports/validation/{platform}.json")
    try:
        cfg = load_params(params)
        plat = cfg.platform(platform)
        ids, device = expected_ids(cfg, plat, prepared, archs)
        df = pd.read_parquet(latency)
        report = validate_platform(
            platform,
            plat.kind,
            cfg.latency,
            df,
            ids,
            json.loads(metrics.read_text()),
            device,
            plat.max_spread,
        )
    except (ConfigError, OSError, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    write_json(out, report)
    if not report["success"]:
        typer.secho(describe_failures(report), fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"{platform}: all {report['n_expectations']} expectations met ({out})")


def expected_ids(cfg, plat, prepared: Path, archs: Path) -> tuple[list[str], pd.DataFrame | None]:
    """The platform's architecture set, and (imported devices) its parsed measurement file."""
    if plat.kind == "ofa":  # the planned sample of OFA's space, and the lookup tables' entries
        from nag.data.ofa_imagenet import LutLatency

        lut = LutLatency.load(plat.file)
        space = lut.space()
        planned = space.sample(cfg.archs.count, seed=cfg.archs.seed, unique=True)
        return [a.arch_id for a in planned], lut.frame()
    if plat.group == "table_platforms":
        from nag.data.benchmarks import load_nb201

        if plat.kind == "imported":  # an NB201 device: the table's cells, and its own measurement file
            from nag.platforms.table_device import read_nb201_measurements

            return [a.arch_id for a in load_nb201(plat.table).archs], read_nb201_measurements(plat.file)
        return [a.arch_id for a in load_nb201(plat.file).archs], None
    from nag.supernet.archs import load_archs
    from nag.supernet.data import make_space

    df, _ = load_archs(archs, make_space(cfg.supernet, prepared))
    device = None
    if plat.kind == "imported":
        from nag.latency.predictor import imagenet_space, read_measurements

        device = read_measurements(plat.file, imagenet_space())
    return df["arch_id"].tolist(), device


if __name__ == "__main__":
    typer.run(main)
