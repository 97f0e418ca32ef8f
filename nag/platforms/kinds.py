"""Platforms, two types behind one small protocol (:class:`Platform`): the space, the latency of any
architecture, accuracy queries (where they are cheap), the cheapest latency, and the architecture dataset.

* :class:`TablePlatform` (``table_platforms:``) — a table of real measurements (NB201 schema): the
  device's latency column is the latency model and the accuracy column answers (counted) queries. Cells
  the table lacks, or that are no network (no input-output path), are never feasible (infinite latency).
* :class:`SupernetPlatform` (``supernet_platforms:``, kinds ``local`` and ``imported``) — the mbv3
  space: latency is the platform's latency table (``data/latency/<p>.parquet``, the M sampled
  architectures) and, for any other architecture the generator proposes, its latency model
  (``models/latency/<p>.skops``). Accuracy is not a cheap query there (a supernet evaluation), so
  inference ranks by prediction (zero-query), and the chosen subnets can be extracted and finetuned.

Latency comes as an :attr:`Platform.estimate` and an upper :attr:`Platform.bound` at
``latency.confidence`` (the latency model's error model); :attr:`Platform.latency` is the one a budget
must hold (``infer.feasibility``: the bound by default) — what datasets, training rewards, inference and
the registry gate judge feasibility by.

One is built from its params.yaml entry by :func:`nag.platforms.resolve.resolve`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from nag.config import ConfigError, DatasetConfig, InferConfig, PlatformConfig
from nag.data.benchmarks import BenchmarkTable, load_nb201
from nag.method.archdata import ArchDataset, DataError, Lookup
from nag.spaces.base import SearchSpace
from nag.spaces.mbv3 import MBV3Space


@dataclass(frozen=True)
class PlatformFiles:
    """The artifacts an mbv3 platform is built from (defaults: the paths dvc.yaml writes)."""

    prepared: Path
    latency: Path
    model: Path
    archs: Path = Path("data/archs.parquet")
    accuracy: Path = Path("data/accuracy.parquet")
    validation: Path | None = None

    @classmethod
    def default(cls, name: str, root: str | Path | None = None) -> PlatformFiles:
        """The paths dvc.yaml writes (``nag.platforms.layout``), under ``root`` if given."""
        from nag.platforms import layout  # a leaf: paths only

        lay = layout.PlatformLayout.of(name, root)
        base = Path(root) if root is not None else Path()
        return cls(
            base / layout.PREPARED,
            lay.latency,
            lay.latency_model,
            base / layout.ARCHS,
            base / layout.ACCURACY,
            lay.validation,
        )


@dataclass(frozen=True)
class Feasibility:
    """Which latency a budget must hold: the estimate or its upper bound at ``confidence``."""

    mode: str = "bound"  # bound | estimate
    confidence: float = 0.9

    @classmethod
    def of(cls, params) -> Feasibility:
        return cls(params.infer.feasibility, params.latency.confidence)


@dataclass
class Platform(ABC):
    """What every platform answers; :func:`resolve` builds the right type from a ``platforms:`` entry."""

    config: PlatformConfig
    space: SearchSpace
    latency: Lookup  # the latency (ms) a budget must hold, of any architecture; inf = never feasible
    accuracy: Lookup | None  # the counted accuracy oracle, where a query is cheap (a table)
    files: PlatformFiles | None = None
    cheapest_ms: float | None = None
    estimate: Lookup | None = None  # the point estimate (None: ``latency`` is it)
    bound: Lookup | None = None  # the upper bound at ``feasibility.confidence`` (None: ``latency``)
    feasibility: Feasibility = Feasibility()
    has_supernet: ClassVar[bool] = False  # its architectures can be extracted from the supernet

    def __post_init__(self) -> None:
        self.estimate = self.estimate or self.latency
        self.bound = self.bound or self.latency

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def cheapest(self) -> float:
        return self.latency.min if self.cheapest_ms is None else self.cheapest_ms

    def cheapest_arch(self) -> str:
        """The cheapest network, described where it is known (``""`` otherwise)."""
        return ""

    @abstractmethod
    def ranking_predictor(self, cfg: InferConfig) -> tuple[str, ...]:
        """The accuracy predictor kinds that may rank candidates on this platform (``infer:``): the one
        with the best held-out Kendall τ is kept."""

    def infer_config(self, cfg: InferConfig) -> InferConfig:
        """``infer:`` as this platform's engine samples (mbv3 platforms: their own pool sizes)."""
        return cfg

    @abstractmethod
    def make_dataset(self, cfg: DatasetConfig) -> tuple[ArchDataset, np.ndarray]:
        """The architecture dataset and the indices of its architectures in :attr:`latency`."""


@dataclass
class TablePlatform(Platform):
    """A benchmark table: real accuracy (counted queries) and the device's real latency."""

    table: BenchmarkTable | None = None

    def cheapest_arch(self) -> str:
        arch = self.table.archs[int(np.argmin(self.latency.values))]
        return f"the cheapest network that sees its input: {json.dumps(self.space.describe(arch))}"

    def ranking_predictor(self, cfg: InferConfig) -> tuple[str, ...]:
        return (cfg.predictor,)

    def make_dataset(self, cfg: DatasetConfig) -> tuple[ArchDataset, np.ndarray]:
        """A seeded sample of ``cfg.train_size`` of the table's cells that are networks."""
        real = np.flatnonzero(np.isfinite(self.latency.values))  # cells that see their input
        if not 0 < cfg.train_size <= len(real):
            raise ConfigError(f"dataset.train_size = {cfg.train_size}: must be between 1 and the table's "
                              f"{len(real)} networks")
        idx = real[np.random.default_rng(cfg.seed).choice(len(real), size=cfg.train_size, replace=False)]
        archs = [self.table.archs[i] for i in idx]
        return ArchDataset(self.space, archs, self.accuracy.values[idx], self.latency.values[idx]), idx


@dataclass
class SupernetPlatform(Platform):
    """mbv3 subnets of the supernet, timed here (local) or known by a device's measurements (imported)."""

    has_supernet: ClassVar[bool] = True

    def ranking_predictor(self, cfg: InferConfig) -> tuple[str, ...]:
        return tuple(cfg.predictor_mbv3)

    def infer_config(self, cfg: InferConfig) -> InferConfig:
        return replace(cfg, pool=cfg.pool_mbv3, max_total_samples=cfg.max_total_samples_mbv3)

    def make_dataset(self, cfg: DatasetConfig) -> tuple[ArchDataset, np.ndarray]:
        """All M sampled architectures with their supernet accuracy and this platform's latency."""
        return _mbv3_dataset(self), np.arange(len(self.latency.values))


@lru_cache(maxsize=8)
def _table(path: str) -> BenchmarkTable:
    return load_nb201(path)


def check_validated(name: str, report: Path | None) -> None:
    """Refuse to use a platform's latency unless its Great Expectations report says it passed."""
    if report is None:
        return
    if not report.is_file():
        raise DataError(f"platform {name!r}: no validation report {report}; validate its latency first "
                        f"(dvc repro validate@{name})")
    try:
        ok = json.loads(report.read_text()).get("success")
    except (OSError, ValueError, AttributeError) as exc:
        raise DataError(
            f"platform {name!r}: unreadable validation report {report} ({exc}); rerun validate@{name}"
        )
    if ok is not True:
        raise DataError(f"platform {name!r}: its latency failed validation ({report}); nothing trains on it "
                        f"until the measurements are fixed and validate@{name} passes")


def read_latency_table(path: Path, name: str) -> pd.DataFrame:
    """``arch_id, latency_ms`` of a platform (the latency stage's output), checked."""
    if not path.is_file():
        raise DataError(f"missing latency table {path}: run latency@{name} first (dvc repro latency@{name})")
    df = pd.read_parquet(path)
    if {"arch_id", "latency_ms"} - set(df.columns):
        raise DataError(f"{path} lacks arch_id/latency_ms; rerun latency@{name}")
    lat = df["latency_ms"].to_numpy(dtype=np.float64)
    if not np.isfinite(lat).all() or (lat <= 0).any():
        raise DataError(
            f"{path}: non-finite or non-positive latency; rerun latency@{name} and validate@{name}"
        )
    return df


def table_platform(cfg: PlatformConfig, space: SearchSpace, latency_table: pd.DataFrame, model,
                   files: PlatformFiles | None = None, feasibility: Feasibility = Feasibility()
                   ) -> SupernetPlatform:
    """A platform from its latency table (``arch_id, latency_ms[, source]``) and latency model
    (``LatencyModel``: the latency of architectures outside the table, and the error model of every
    estimate). No accuracy oracle."""
    ids, est = latency_table["arch_id"].tolist(), latency_table["latency_ms"].to_numpy()
    sources = latency_table["source"].to_numpy() if "source" in latency_table else model.source
    conf = feasibility.confidence
    estimate = Lookup(ids, est, f"latency on {cfg.name}", fallback=lambda archs: model.predict(space, archs))
    bound = Lookup(ids, model.error.bounds(est, sources, conf), f"latency bound on {cfg.name}",
                   fallback=lambda archs: model.predict_bound(space, archs, conf))
    lookup = bound if feasibility.mode == "bound" else estimate
    cheapest = lookup.min
    if isinstance(space, MBV3Space):  # the smallest network may lie outside the M sampled
        m = space.macro
        smallest = space.from_ofa([3] * 4 * m.num_stages, [3] * 4 * m.num_stages, [2] * m.num_stages)
        cheapest = min(cheapest, float(lookup([smallest])[0]))
    return SupernetPlatform(cfg, space, lookup, None, files=files, cheapest_ms=cheapest, estimate=estimate,
                            bound=bound, feasibility=feasibility)


def _mbv3_dataset(p: Platform) -> ArchDataset:
    """All M sampled architectures with supernet accuracy (measured or predicted) and this platform's
    latency; refuses latency that has not passed validation."""
    from nag.supernet.archs import load_archs

    f = p.files
    df, archs = load_archs(f.archs, p.space)
    if not f.accuracy.is_file():
        raise DataError(f"missing {f.accuracy}: run the accuracy stage first (dvc repro accuracy)")
    acc = pd.read_parquet(f.accuracy).set_index("arch_id")["accuracy"]
    ids = df["arch_id"]
    lat = pd.Series(p.latency.values, index=p.latency.ids)
    for what, table, path in (("accuracy", acc, f.accuracy), ("latency", lat, f.latency)):
        missing = ~ids.isin(table.index)
        if missing.any():
            raise DataError(
                f"{path} has no {what} for {int(missing.sum())} of the {len(ids)} architectures of "
                f"{f.archs} (e.g. {ids[missing].iloc[0]}); it was made for other archs: rerun it"
            )
    return ArchDataset(p.space, archs, acc.loc[ids].to_numpy(), lat.loc[ids].to_numpy())
