"""The ``table@<p>`` stage (table-backed platforms): everything a benchmark table gives a platform, from the
table alone — its latency column for every cell (with the table's latency model: nothing outside the table
is feasible) and the seeded M-sample architecture dataset (cells that see their input only). No supernet,
nothing measured here; validate@ then checks the latency before train_evaluator@ uses it.
"""

from __future__ import annotations

from pathlib import Path

from nag.config import Params, PlatformConfig
from nag.platforms import resolve
from nag.stages import latency


def run(params: Params, plat: PlatformConfig, latency_out: str | Path, model_out: str | Path,
        dataset_out: str | Path, plot: str | Path | None = None) -> dict:
    """Write the latency table, latency model, dataset (and a latency histogram); returns the metrics
    (the latency figures, and the dataset's under ``dataset``)."""
    metrics = latency.run(plat, params.latency, None, None, latency_out, model_out, plot)
    data, _ = resolve(plat).make_dataset(params.dataset)
    data.save(dataset_out)
    metrics["dataset"] = {"n_archs": len(data), "seed": params.dataset.seed,
                          "accuracy_mean": float(data.acc.mean()), "accuracy_max": float(data.acc.max()),
                          "latency_min_ms": float(data.lat.min()), "latency_max_ms": float(data.lat.max())}
    return metrics
