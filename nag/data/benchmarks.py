"""Typed loaders for the real benchmark tables in ``data/benchmarks/`` (see its README).

Example::

    >>> t = load_nb201("data/benchmarks/nb201.csv")     # doctest: +SKIP
    >>> t.devices[:2], t.metrics                         # doctest: +SKIP
    (['1080ti_1', '1080ti_32'], ['acc_cifar10', 'acc_cifar100', 'acc_imagenet16'])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nag.errors import NagError
from nag.spaces.base import Arch, ArchError
from nag.spaces.mbv3 import MBV3Space
from nag.spaces.nb201 import NB201Space


class TableError(NagError, ValueError):
    """A benchmark or measurement table that is malformed."""


@dataclass(frozen=True)
class BenchmarkTable:
    """A benchmark table: one row per architecture, accuracy columns and one latency column per device."""

    frame: pd.DataFrame
    archs: tuple[Arch, ...]
    metrics: tuple[str, ...]  # accuracy columns (``acc_*``)
    devices: tuple[str, ...]  # device names (latency column = ``lat_<device>``)

    def latency(self, device: str) -> np.ndarray:
        if device not in self.devices:
            raise KeyError(
                f"unknown device {device!r}; this table has: {', '.join(self.devices)}"
            )
        return self.frame[f"lat_{device}"].to_numpy(dtype=np.float64)

    def accuracy(self, metric: str) -> np.ndarray:
        if metric not in self.metrics:
            raise KeyError(f"unknown metric {metric!r}; this table has: {', '.join(self.metrics)}")
        return self.frame[metric].to_numpy(dtype=np.float64)


def read_csv_table(path: str | Path) -> pd.DataFrame:
    """A non-empty CSV as a DataFrame, or a :class:`TableError` saying why not."""
    path = Path(path)
    if not path.is_file():
        raise TableError(f"missing table {path}")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TableError(f"cannot parse {path} as CSV: {exc}") from exc
    if df.empty:
        raise TableError(f"{path} holds no rows")
    return df


def _check_numeric(df: pd.DataFrame, cols: list[str], path: str | Path, positive: bool) -> None:
    for c in cols:
        values = pd.to_numeric(df[c], errors="coerce")
        bad = values.isna() | ~np.isfinite(values) | ((values <= 0) if positive else (values < 0))
        if bad.any():
            rows = df.index[bad][:5].tolist()
            raise TableError(
                f"{path}: column {c!r} has {int(bad.sum())} missing, non-numeric, non-finite or "
                f"{'non-positive' if positive else 'negative'} values (e.g. rows {rows})"
            )
        df[c] = values.astype(np.float64)


def load_nb201(path: str | Path) -> BenchmarkTable:
    """Load an NB201-schema table: ``arch_idx, arch_str, acc_*…, lat_<device>…``.

    Latency columns may hold zeros (cells with no input-output path); NaN, negative or non-numeric
    values, unparsable arch strings and duplicate cells are refused.
    """
    df = read_csv_table(path)
    missing = {"arch_idx", "arch_str"} - set(df.columns)
    if missing:
        raise TableError(f"{path}: missing column(s) {sorted(missing)}")
    metrics = [c for c in df.columns if c.startswith("acc_")]
    lat_cols = [c for c in df.columns if c.startswith("lat_")]
    if not metrics or not lat_cols:
        raise TableError(f"{path}: needs at least one acc_* and one lat_<device> column")
    unknown = set(df.columns) - {"arch_idx", "arch_str", *metrics, *lat_cols}
    if unknown:
        raise TableError(f"{path}: unknown column(s) {sorted(unknown)}")
    _check_numeric(df, metrics + lat_cols, path, positive=False)
    space = NB201Space()
    try:
        archs = tuple(space.parse(s) for s in df["arch_str"].astype(str))
    except ArchError as exc:
        raise TableError(f"{path}: {exc}") from exc
    if df["arch_str"].duplicated().any() or df["arch_idx"].duplicated().any():
        raise TableError(f"{path}: duplicate architectures (arch_str or arch_idx repeated)")
    df = df.reset_index(drop=True)
    df.insert(0, "arch_id", [a.arch_id for a in archs])
    return BenchmarkTable(df, archs, tuple(metrics), tuple(c[4:] for c in lat_cols))


def load_ofa_latency(path: str | Path, space: MBV3Space | None = None) -> BenchmarkTable:
    """Load an OFA-MobileNetV3 latency table: ``ks, e, d`` (space-separated lists), ``r`` and
    ``lat_<device>`` columns; each row is mapped onto the mbv3 space (``arch_id`` column added)."""
    df = read_csv_table(path)
    missing = {"ks", "e", "d"} - set(df.columns)
    lat_cols = [c for c in df.columns if c.startswith("lat_")]
    if missing or not lat_cols:
        raise TableError(
            f"{path}: needs columns ks, e, d and at least one lat_<device>; missing {sorted(missing)}"
        )
    _check_numeric(df, lat_cols, path, positive=True)
    if "r" in df.columns:
        _check_numeric(df, ["r"], path, positive=True)
    space = space or MBV3Space()
    archs = []
    for i, row in df.iterrows():
        try:
            ks, e, d = ([int(v) for v in str(row[c]).split()] for c in ("ks", "e", "d"))
            archs.append(space.from_ofa(ks, e, d))
        except (ValueError, ArchError) as exc:
            raise TableError(f"{path}, row {i}: {exc}") from exc
    df = df.reset_index(drop=True)
    df.insert(0, "arch_id", [a.arch_id for a in archs])
    return BenchmarkTable(df, tuple(archs), (), tuple(c[4:] for c in lat_cols))
