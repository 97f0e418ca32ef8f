"""Stage functions of the NAG core, one per DVC stage: ``run_<stage>(params, inputs, outputs) -> metrics``.

Paths come from the caller (the CLI, from dvc.yaml's command line); settings from :class:`Params`.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nag.acc_predictor import fit_accuracy_predictor
from nag.archdata import ArchDataset, QueryCounter
from nag.atomic import write_with
from nag.budget import make_budgets
from nag.checkpoint import load_evaluator, load_generator, save_evaluator, save_generator
from nag.config import Params
from nag.evaluator import train_evaluator
from nag.generator import train_generator
from nag.infer import Choice, generate_many, make_score
from nag.platforms import Platform, check_validated


def run_arch_dataset(params: Params, platform: Platform, out: str | Path) -> dict:
    """Write the platform's architecture dataset as parquet (refused when its latency failed validation)."""
    if platform.files is not None:
        check_validated(platform.name, platform.files.validation)
    data, _ = platform.make_dataset(params.dataset)
    data.save(out)
    return {"platform": platform.name, "kind": platform.config.kind, "n_archs": len(data), "accuracy_mean": float(data.acc.mean()), "accuracy_max": float(data.acc.max()),
            "latency_min_ms": float(data.lat.min()), "latency_max_ms": float(data.lat.max())}


def run_train_evaluator(params: Params, platform: Platform, dataset: str | Path, out: str | Path,
                        progress: bool = True) -> dict:
    """Fit the evaluator (and the accuracy predictor used to rank candidates) on the dataset."""
    data = ArchDataset.load(dataset, platform.space)
    b = params.budgets
    budgets = make_budgets(data.lat, b.k, b.lo_pct, b.hi_pct)
    model, metrics = train_evaluator(data, budgets, params.evaluator, progress)
    kind = params.infer.predictor if platform.config.kind == "benchmark" else params.infer.predictor_mbv3
    predictor, pred_report = fit_accuracy_predictor(data.features, data.acc, kinds=(kind,),
                                                    seed=params.evaluator.seed)
    save_evaluator(out, model, params.evaluator, platform.space, predictor,
                   extra={"platform": platform.name, "known": _known_payload(data),
                          "predictor_rmse": pred_report["heldout"]["rmse"]})
    metrics.pop("config")
    return {**metrics, "budgets_ms": budgets.tolist(), "predictor": pred_report}


def _known_payload(data: ArchDataset) -> dict:
    return {"tokens": [list(a.tokens) for a in data.archs], "accuracy": data.acc.tolist(),
            "latency": data.lat.tolist()}


def run_train_generator(params: Params, platform: Platform, evaluator_path: str | Path, out: str | Path,
                        progress: bool = True) -> dict:
    """REINFORCE the generator against the trained evaluator over all K budgets."""
    evaluator, _, meta = load_evaluator(evaluator_path, platform.space, params.budgets.k, platform.name)
    gen, metrics = train_generator(platform.space, evaluator, params.generator, progress)
    save_generator(out, gen, params.generator, platform.space, extra={"platform": platform.name})
    metrics.pop("config")
    return {**metrics, "budgets_ms": meta["budgets"]}


class Generated:
    """A loaded generator bundle, ready to answer budgets for one platform."""

    def __init__(self, params: Params, platform: Platform, evaluator_path: str | Path,
                 generator_path: str | Path) -> None:
        self.params, self.platform = params, platform
        space = platform.space
        k, name = params.budgets.k, platform.name
        self.evaluator, self.predictor, ev_meta = load_evaluator(evaluator_path, space, k, name)
        self.generator, meta = load_generator(generator_path, space, k, name, ev_meta["budgets"])
        self.budgets = np.asarray(meta["budgets"])
        kn = ev_meta["known"]
        self.known = ([space.from_tokens(t) for t in kn["tokens"]], np.asarray(kn["accuracy"]),
                      np.asarray(kn["latency"]))
        self.margin = float(ev_meta.get("predictor_rmse", 0.0))
        self.score = make_score(params.infer.rank_by, self.evaluator, self.predictor, space)

    def choose(self, budgets, zero_query: bool = False) -> tuple[list[Choice], int]:
        """Best architecture per budget and the number of new accuracy queries spent."""
        p = self.platform
        counter = None if zero_query or p.accuracy is None else QueryCounter(p.accuracy, self.known[0])
        choices = generate_many(self.generator, p.space, budgets, p.latency, self.params.infer, self.score,
                                counter, cheapest=p.cheapest, platform=p.name, cheapest_arch=p.cheapest_arch(),
                                known=self.known,
                                known_margin=self.margin)
        return choices, (counter.queries - counter.initial) if counter else 0

    def predicted_accuracy(self, archs) -> np.ndarray:
        """The bundled accuracy predictor's estimate (%) for ``archs``."""
        return np.asarray(self.predictor.predict(self.platform.space.features_batch(archs)), dtype=np.float64)

    def describe(self, c: Choice) -> dict:
        space = self.platform.space
        return {"budget_ms": c.budget, "arch_id": c.arch.arch_id, "tokens": list(c.arch.tokens),
                "arch": space.describe(c.arch), "latency_ms": c.latency,
                "accuracy": c.accuracy, "predicted_accuracy": float(self.predicted_accuracy([c.arch])[0]),
                "score": c.score, "rank_by": self.params.infer.rank_by,
                "n_feasible_candidates": c.n_feasible, "n_queried": c.n_queried}


def run_generate(params: Params, platform: Platform, evaluator_path: str | Path, generator_path: str | Path,
                 dataset: str | Path, plot_dir: str | Path) -> dict:
    """The frontier: choices at the K trained budgets and at the midpoints between them, plus plots."""
    from nag.plots import plot_frontier, plot_latency_histograms

    g = Generated(params, platform, evaluator_path, generator_path)
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
    samples = {}
    with torch.no_grad():
        for b in (trained[len(trained) // 4], trained[(3 * len(trained)) // 4]):
            toks = g.generator.sample(torch.full((1000,), float(b))).tokens.numpy()
            archs = [platform.space.from_tokens(t) for t in toks]
            lat = platform.latency(archs)
            samples[float(b)] = lat[np.isfinite(lat)]
    plot_latency_histograms(Path(plot_dir) / "latency_hist.png", data.lat, samples, platform.name)
    table = pd.DataFrame([{k: r[k] for k in ("budget_ms", "latency_ms", "accuracy", "predicted_accuracy",
                                            "interpolated", "arch_id")} for r in rows])
    write_with(Path(plot_dir) / "frontier.csv", lambda tmp: table.to_csv(tmp, index=False))
    sat = float(np.mean([r["latency_ms"] <= r["budget_ms"] for r in rows]))
    queried = [r["accuracy"] for r in rows if r["accuracy"] is not None]
    return {"platform": platform.name, "frontier": rows, "satisfaction_rate": sat, "new_queries": queries,
            "mean_predicted_accuracy": float(np.mean([r["predicted_accuracy"] for r in rows])),
            "mean_queried_accuracy": float(np.mean(queried)) if queried else None,
            "ms_per_budget": 1000 * seconds / len(grid), "infer": asdict(params.infer)}
