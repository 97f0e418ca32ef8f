"""Where each platform's artifacts live: written once here, used by the CLI's defaults, the platform
resolver, the MLflow tracking and registry (flows/), and checked against dvc.yaml by a test.

Example::

    >>> PlatformLayout.of("cpu-torch").evaluator
    PosixPath('models/evaluator/cpu-torch.pt')
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

# artifacts every platform's type shares (the mbv3 ones only exist for supernet-backed platforms)
PREPARED = Path("data/prepared")
ARCHS = Path("data/archs.parquet")
ACCURACY = Path("data/accuracy.parquet")
SUPERNET = Path("models/supernet.pt")


@dataclass(frozen=True)
class PlatformLayout:
    """One platform's files, relative to the project root (``root`` joins them onto another folder)."""

    latency: Path  # latency@ / table@: arch_id, latency_ms, source, spread
    latency_model: Path  # the latency of any architecture (LatencyModel, skops)
    latency_metrics: Path  # latency@ / table@ metrics, read by validate@
    latency_plot: Path
    validation: Path  # validate@: the Great Expectations report
    dataset: Path  # arch_dataset@ / table@: the architecture dataset
    dataset_metrics: Path
    evaluator: Path
    evaluator_metrics: Path
    generator: Path
    generator_metrics: Path
    frontier: Path  # frontier@: JSON (also its metrics)
    engine: Path  # frontier@: the serving engine (nag.serving.engine), what nag generate and the model load
    plots: Path  # frontier@ / finetune@ plots folder
    subnets: Path  # finetune@: models folder (index.json of model cards)
    subnets_work: Path
    finetune_metrics: Path

    @classmethod
    def of(cls, name: str, root: str | Path | None = None) -> PlatformLayout:
        paths = cls(
            Path(f"data/latency/{name}.parquet"),
            Path(f"models/latency/{name}.skops"),
            Path(f"reports/metrics/latency/{name}.json"),
            Path(f"reports/plots/latency/{name}.png"),
            Path(f"reports/validation/{name}.json"),
            Path(f"data/archdata/{name}.parquet"),
            Path(f"reports/metrics/arch_dataset/{name}.json"),
            Path(f"models/evaluator/{name}.pt"),
            Path(f"reports/metrics/train_evaluator/{name}.json"),
            Path(f"models/generator/{name}.pt"),
            Path(f"reports/metrics/train_generator/{name}.json"),
            Path(f"reports/frontier/{name}.json"),
            Path(f"models/engine/{name}.skops"),
            Path(f"reports/plots/{name}"),
            Path(f"models/subnets/{name}"),
            Path(f"models/subnets.work/{name}"),
            Path(f"reports/finetune/{name}.json"),
        )
        if root is None:
            return paths
        return cls(*(Path(root) / getattr(paths, f.name) for f in fields(cls)))
