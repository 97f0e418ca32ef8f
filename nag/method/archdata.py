"""The architecture dataset the evaluator learns from: M architectures with accuracy and latency on
one platform (paper §3.1), plus lookups that answer latency and (counted) accuracy queries.

Example::

    >>> from nag.spaces import NB201Space
    >>> space = NB201Space()
    >>> archs = space.sample(3, seed=0, unique=True)
    >>> ds = ArchDataset(space, archs, np.array([90.0, 91.0, 92.0]), np.array([1.0, 2.0, 3.0]))
    >>> ds.features.shape
    (3, 30)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nag.atomic import write_with
from nag.errors import NagError
from nag.spaces.base import Arch, SearchSpace


class DataError(NagError, ValueError):
    """An architecture table with missing, non-finite or inconsistent values."""


def check_finite(name: str, values: np.ndarray, positive: bool = False) -> np.ndarray:
    """Refuse NaN/inf (and, with ``positive``, values ≤ 0), naming the column and example rows."""
    values = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(values) | ((values <= 0) if positive else False)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        kind = "NaN/inf or non-positive" if positive else "NaN/inf"
        raise DataError(
            f"{name}: {int(bad.sum())} {kind} value(s), e.g. rows {rows}; fix the table and rerun"
        )
    return values


@dataclass
class ArchDataset:
    """``archs`` with their accuracy (%) and latency (ms) on one platform."""

    space: SearchSpace
    archs: list[Arch]
    acc: np.ndarray
    lat: np.ndarray
    features: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if not (len(self.archs) == len(self.acc) == len(self.lat)) or not self.archs:
            raise DataError("dataset needs equally long, non-empty archs, acc and lat")
        self.acc = check_finite("accuracy", self.acc)
        self.lat = check_finite("latency", self.lat)
        if (self.acc < 0).any() or (self.lat < 0).any():
            raise DataError("accuracy and latency must not be negative")
        ids = [a.arch_id for a in self.archs]
        if len(set(ids)) != len(ids):
            raise DataError("dataset holds duplicate architectures")
        self.features = self.space.features_batch(self.archs)

    def __len__(self) -> int:
        return len(self.archs)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "arch_id": [a.arch_id for a in self.archs],
                "tokens": [list(a.tokens) for a in self.archs],
                "accuracy": self.acc,
                "latency_ms": self.lat,
            }
        )

    def save(self, path: str | Path) -> None:
        frame = self.to_frame()
        write_with(path, lambda tmp: frame.to_parquet(tmp, index=False))

    @classmethod
    def load(cls, path: str | Path, space: SearchSpace) -> ArchDataset:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"missing dataset {path}: run the stage that writes it first")
        frame = pd.read_parquet(path)
        missing = {"tokens", "accuracy", "latency_ms"} - set(frame.columns)
        if missing:
            raise DataError(f"{path}: missing column(s) {sorted(missing)}")
        archs = [space.from_tokens(t) for t in frame["tokens"]]
        return cls(space, archs, frame["accuracy"].to_numpy(), frame["latency_ms"].to_numpy())


class Lookup:
    """arch_id → value for a known set of architectures (a latency table or an accuracy table).

    ``archs`` may be architectures or their arch_id strings.

    ``missing`` is what an architecture outside the table gets: ``None`` raises, a number (e.g.
    ``inf`` for latency: never feasible, since it was never measured) is returned instead."""

    def __init__(self, archs: Sequence[Arch], values: np.ndarray, what: str, missing: float | None = None,
                 fallback: Callable[[list[Arch]], np.ndarray] | None = None) -> None:
        self.what = what
        self.missing = missing
        self.fallback = fallback  # answers architectures outside the table (a latency model)
        self._index = {(a if isinstance(a, str) else a.arch_id): i for i, a in enumerate(archs)}
        self.values = np.asarray(values, dtype=np.float64)

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        if self.fallback is not None:
            idx = np.array([self._index.get(a.arch_id, -1) for a in archs], dtype=np.int64)
            out = np.where(idx >= 0, self.values[idx], np.nan)
            outside = np.flatnonzero(idx < 0)
            if len(outside):
                out[outside] = self.fallback([archs[i] for i in outside])
            return out
        if self.missing is not None:
            padded = np.append(self.values, self.missing)
            return padded[[self._index.get(a.arch_id, -1) for a in archs]]
        try:
            idx = [self._index[a.arch_id] for a in archs]
        except KeyError as exc:
            raise KeyError(f"no {self.what} known for architecture {exc.args[0]}") from None
        return self.values[idx]

    @property
    def ids(self) -> list[str]:
        """The table's arch_ids, in the order of ``values``."""
        return list(self._index)

    @property
    def min(self) -> float:
        return float(self.values.min())


class QueryCounter:
    """Answers accuracy queries and counts the distinct architectures asked about.

    ``seen`` starts with the dataset's architectures (their accuracy was already paid for)."""

    def __init__(self, lookup: Lookup, already_paid: Sequence[Arch] = ()) -> None:
        self.lookup = lookup
        self.paid: set[str] = {a.arch_id for a in already_paid}
        self.initial = len(self.paid)

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        self.paid.update(a.arch_id for a in archs)
        return self.lookup(archs)

    @property
    def queries(self) -> int:
        """Total distinct architectures whose accuracy has been read (dataset included)."""
        return len(self.paid)
