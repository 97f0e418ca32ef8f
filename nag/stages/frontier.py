"""The ``frontier@<p>`` stage: the generator's picks at the K trained budgets and the midpoints between
them (JSON, CSV, plots), the paper's Fig. 3 latency histograms of what it samples, and the platform's
serving engine (``models/engine/<p>.skops``: what ``nag generate`` and the registered model answer from)."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from nag.atomic import write_with
from nag.config import Params
from nag.method.archdata import ArchDataset
from nag.platforms import Platform
from nag.serving.generated import Generated


def run(params: Params, platform: Platform, evaluator_path: str | Path, generator_path: str | Path,
        dataset: str | Path, plot_dir: str | Path, engine_path: str | Path,
        sources: dict[str, Path] | None = None) -> dict:
    """The frontier: choices at the K trained budgets and at the midpoints between them, plus plots; the
    engine that made them is saved to ``engine_path`` with the content hashes of the files it was built
    from (the checkpoints and ``sources``: the latency table and model), by which staleness is judged."""
    from nag.method.plots import plot_frontier, plot_latency_histograms
    from nag.serving.engine import source_hashes

    g = Generated(params, platform, evaluator_path, generator_path)
    g.engine.meta["sources"] = source_hashes({"evaluator": Path(evaluator_path),
                                              "generator": Path(generator_path), **(sources or {})})
    g.engine.save(engine_path)
    trained = g.budgets
    mids = (trained[:-1] + trained[1:]) / 2
    grid = np.sort(np.concatenate([trained, mids]))
    grid = grid[grid >= platform.cheapest]
    t0 = time.perf_counter()
    choices, queries = g.choose(grid)
    seconds = time.perf_counter() - t0
    trained_set = set(trained.tolist())
    rows = [{**g.describe(c), "interpolated": c.budget not in trained_set} for c in choices]
    data = ArchDataset.load(dataset, platform.space)
    plot_frontier(Path(plot_dir) / "frontier.png", data, rows, platform.name)
    samples, rng = {}, np.random.default_rng(params.infer.seed)
    for b in (trained[len(trained) // 4], trained[(3 * len(trained)) // 4]):
        toks = platform.space.canonical_batch(g.engine.sampler.sample(np.full(1000, float(b)), rng))
        lat = g.engine.latency.on_tokens(toks)
        samples[float(b)] = lat[np.isfinite(lat)]
    plot_latency_histograms(Path(plot_dir) / "latency_hist.png", data.lat, samples, platform.name)
    table = pd.DataFrame([{k: r[k] for k in ("budget_ms", "latency_ms", "latency_bound_ms", "accuracy",
                                            "predicted_accuracy", "interpolated", "arch_id")} for r in rows])
    write_with(Path(plot_dir) / "frontier.csv", lambda tmp: table.to_csv(tmp, index=False))
    sat = float(np.mean([c.latency <= c.budget for c in choices]))  # by the latency feasibility uses
    queried = [r["accuracy"] for r in rows if r["accuracy"] is not None]
    return {"platform": platform.name, "frontier": rows, "satisfaction_rate": sat,
            "feasibility": asdict(platform.feasibility),
            "satisfaction_rate_estimate": float(np.mean([r["latency_ms"] <= r["budget_ms"] for r in rows])),
            "satisfaction_rate_bound": float(np.mean([r["latency_bound_ms"] <= r["budget_ms"]
                                                      for r in rows])),
            "mean_margin_pct": float(np.mean([100 * r["margin_ms"] / r["budget_ms"] for r in rows])),
            "new_queries": queries,
            "mean_predicted_accuracy": float(np.mean([r["predicted_accuracy"] for r in rows])),
            "mean_queried_accuracy": float(np.mean(queried)) if queried else None,
            "ms_per_budget": 1000 * seconds / len(grid), "infer": asdict(params.infer)}
