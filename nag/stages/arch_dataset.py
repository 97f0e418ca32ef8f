"""The ``arch_dataset@<p>`` stage (supernet-backed platforms): every sampled architecture with its supernet
accuracy and the platform's validated latency."""

from __future__ import annotations

from pathlib import Path

from nag.config import Params
from nag.platforms import Platform, check_validated


def run(params: Params, platform: Platform, out: str | Path) -> dict:
    """Write the platform's architecture dataset as parquet (refused when its latency failed validation)."""
    if platform.files is not None:
        check_validated(platform.name, platform.files.validation)
    data, _ = platform.make_dataset(params.dataset)
    data.save(out)
    return {"platform": platform.name, "kind": platform.config.kind, "n_archs": len(data),
            "accuracy_mean": float(data.acc.mean()), "accuracy_max": float(data.acc.max()),
            "latency_min_ms": float(data.lat.min()), "latency_max_ms": float(data.lat.max())}
