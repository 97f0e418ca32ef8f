"""Platforms: where latency comes from and who answers accuracy queries, per ``platforms:`` entry.

``benchmark`` platforms are tables of real measurements (NB201 schema): the latency column of the
device is the latency model and the accuracy column answers (counted) queries. A table may cover
only part of the space; cells it lacks are never returned (their latency is unknown).

Example::

    >>> from nag.config import PlatformConfig
    >>> p = resolve(PlatformConfig("nb201-pixel3", device="pixel3"))    # doctest: +SKIP
    >>> p.latency([p.space.parse(s)]), p.cheapest                      # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from nag.archdata import ArchDataset, Lookup
from nag.config import ConfigError, DatasetConfig, PlatformConfig
from nag.data.benchmarks import BenchmarkTable, load_nb201
from nag.spaces.base import SearchSpace
from nag.spaces.nb201 import NB201Space


@dataclass
class Platform:
    """A resolved platform: its space, latency model and (optional) accuracy oracle."""

    config: PlatformConfig
    space: SearchSpace
    latency: Lookup
    accuracy: Lookup | None
    table: BenchmarkTable | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def cheapest(self) -> float:
        return self.latency.min

    def make_dataset(self, cfg: DatasetConfig) -> tuple[ArchDataset, np.ndarray]:
        """A seeded sample of ``cfg.train_size`` architectures with accuracy and latency."""
        if self.table is None or self.accuracy is None:
            raise ConfigError(f"platform {self.name!r} has no table to sample a dataset from")
        n = len(self.table.archs)
        if not 0 < cfg.train_size <= n:
            raise ConfigError(f"dataset.train_size={cfg.train_size} must be between 1 and the table's {n} rows")
        idx = np.random.default_rng(cfg.seed).choice(n, size=cfg.train_size, replace=False)
        archs = [self.table.archs[i] for i in idx]
        return ArchDataset(self.space, archs, self.accuracy.values[idx], self.latency.values[idx]), idx


@lru_cache(maxsize=8)
def _table(path: str) -> BenchmarkTable:
    return load_nb201(path)


def resolve(cfg: PlatformConfig) -> Platform:
    """Build the :class:`Platform` for one ``platforms:`` entry."""
    if cfg.kind != "benchmark":
        raise ConfigError(f"platform {cfg.name!r}: kind {cfg.kind!r} is not supported")
    table = _table(cfg.file)
    try:
        lat = table.latency(cfg.device)
        acc = table.accuracy(cfg.metric)
    except KeyError as exc:
        raise ConfigError(f"platform {cfg.name!r}: {exc.args[0]}") from None
    # a cell missing from a partial table has no measured latency: it is never feasible
    return Platform(cfg, NB201Space(), Lookup(table.archs, lat, f"latency on {cfg.device}", missing=np.inf),
                    Lookup(table.archs, acc, cfg.metric), table)
