"""An imported NAS-Bench-201 device: its own few measurements, the table's devices as references
(:func:`fit_table_device`, in its table@ stage), and the platform built from what that stage wrote
(:func:`table_device_platform`, for :func:`nag.platforms.resolve`).

The measurement file is a CSV with ``arch_str`` (the NB201 cell string, as ``nag measure-plan`` writes it)
and ``latency_ms`` (optionally ``repeats``, ``std_ms``). Every cell of the table gets a latency: the
device's measurement where it has one (``measured``), else the transfer model's prediction from the
table's device columns (``predicted``, :class:`nag.fewshot.transfer.TransferModel`); the model's
out-of-fold residuals are the error model's ``predicted`` source (the bound), the measured cells exact.

Example::

    >>> m = read_nb201_measurements("data/devices/phone.csv")                     # doctest: +SKIP
    >>> frame, metrics, model = fit_table_device("phone", m, load_nb201(TABLE))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nag.data.benchmarks import BenchmarkTable, TableError, read_csv_table
from nag.fewshot.transfer import TransferModel
from nag.latency.bound import ErrorModel
from nag.latency.predictor import MeasurementError, latency_errors
from nag.spaces.base import ArchError
from nag.spaces.nb201 import NB201Space

OPTIONAL = ("repeats", "std_ms")


def _bad(path, what: str, rows) -> MeasurementError:
    rows = [int(r) + 2 for r in list(rows)[:5]]  # CSV line numbers (header is line 1)
    return MeasurementError(f"{path}: {what} (CSV lines {rows}); fix the file and add it again")


def read_nb201_measurements(path: str | Path, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Parse and check an NB201 device's measurement file (or ``frame`` read from it). Returns
    ``arch_id, arch_str, resolution (0), latency_ms`` (+ optional columns), one row per cell."""
    try:
        df = read_csv_table(path) if frame is None else frame
    except TableError as exc:
        raise MeasurementError(f"{exc}: no measurements to use") from None
    allowed = {"arch_str", "latency_ms", *OPTIONAL}
    unknown = sorted(set(df.columns) - allowed)
    if unknown:
        raise MeasurementError(f"{path}: unknown column(s) {unknown}; allowed: {sorted(allowed)}")
    missing = [c for c in ("arch_str", "latency_ms") if c not in df.columns]
    if missing:
        raise MeasurementError(f"{path}: missing column(s) {missing}")
    lat = pd.to_numeric(df["latency_ms"], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(lat) | (lat <= 0))
    if len(bad):
        raise _bad(path, f"{len(bad)} latency value(s) missing, NaN, non-numeric, zero or negative", bad)
    space, archs = NB201Space(), []
    for i, s in enumerate(df["arch_str"].astype(str)):
        try:
            a = space.parse(s)
        except ArchError as exc:
            raise _bad(path, f"not a NAS-Bench-201 cell: {exc}", [i]) from None
        if not space.sees_input(a):
            raise _bad(path, f"{s} has no path from input to output (no network to measure)", [i])
        archs.append(a)
    out = pd.DataFrame({"arch_id": [a.arch_id for a in archs], "arch_str": df["arch_str"].astype(str),
                        "resolution": 0, "latency_ms": lat.astype(float)})
    for c in OPTIONAL:
        if c in df.columns:
            v = pd.to_numeric(df[c], errors="coerce")
            bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
            if len(bad):
                raise _bad(path, f"{c} must be a non-negative number", bad)
            out[c] = v
    dup = out["arch_id"].duplicated(keep=False)
    if dup.any():
        spread = out[dup].groupby("arch_id")["latency_ms"].agg(lambda s: s.max() / s.min() - 1)
        if (spread > 1e-6).any():  # name the conflicting rows, not the harmless exact duplicates
            bad_ids = set(spread.index[spread > 1e-6])
            rows = np.flatnonzero(out["arch_id"].isin(bad_ids))
            raise _bad(path, "the same cell has conflicting latencies", rows)
        out = out[~out["arch_id"].duplicated()].reset_index(drop=True)
    return out


def fit_table_device(name: str, measured: pd.DataFrame, table: BenchmarkTable, seed: int = 0,
                     min_rows: int = 10) -> tuple[pd.DataFrame, dict, ErrorModel]:
    """(latency frame of every table cell, metrics, error model) of device ``name`` from its parsed
    measurements, every device column of ``table`` as a reference."""
    space = NB201Space()
    net = np.array([space.sees_input(a) for a in table.archs])
    lat = np.column_stack([table.latency(d) for d in table.devices])
    floor = np.where(net[:, None], lat, np.inf).min(0)  # no-network cells: placed at the fastest network
    R = np.log(np.where(net[:, None], lat, floor[None, :]))
    A = space.features_batch(list(table.archs))
    pos = {a.arch_id: i for i, a in enumerate(table.archs)}
    lost = [a for a in measured["arch_id"] if a not in pos]
    if lost:
        raise MeasurementError(f"{len(lost)} measured cell(s) of {name} are not in the table "
                               f"(e.g. {lost[0]})")
    rows = np.array([pos[a] for a in measured["arch_id"]])
    y = measured["latency_ms"].to_numpy(dtype=np.float64)
    if len(rows) < min_rows:
        raise MeasurementError(f"{name}: {len(rows)} measured architecture(s); measure at least "
                               f"{min_rows - len(rows)} more (nag measure-plan -p {name} --n "
                               f"{min_rows - len(rows)} says which)")
    model = TransferModel.fit(R[rows], np.log(y), A[rows], seed)
    est = np.exp(model.predict(R, A))
    source = np.full(len(est), "predicted", dtype=object)
    spread = np.full(len(est), np.nan)
    est[rows], source[rows] = y, "measured"
    if "std_ms" in measured.columns:
        spread[rows] = measured["std_ms"].to_numpy() / y
    frame = pd.DataFrame({"arch_id": [a.arch_id for a in table.archs], "latency_ms": est, "source": source,
                          "spread": spread})
    oof = y / np.exp(model.residuals)  # each measured row as predicted without it
    metrics = {"kind": "imported", "space": "nb201", "references": list(table.devices),
               "n_measured": int(len(rows)), "transfer": model.report,
               "predictor": {"chosen": model.report["chosen"], "heldout": latency_errors(y, oof)},
               "calibration": {"predicted": {"measured": y.tolist(), "estimate": oof.tolist()}}}
    error = ErrorModel({"predicted": model.residuals},
                       {"predicted": f"{len(y)} measured rows, each predicted without it ("
                                     f"{model.report['validation']})",
                        "measured": "the device's own measurements: taken as exact"})
    return frame, metrics, error


def table_device_platform(cfg, files, feasibility):
    """An imported NAS-Bench-201 device: the table's accuracy, the latency its table@ stage wrote (its
    measurements and the transfer model's predictions) with their bounds; no-network cells never feasible."""
    from nag.config import ConfigError
    from nag.latency.model import LatencyModel
    from nag.method.archdata import DataError, Lookup
    from nag.platforms.kinds import TablePlatform, _table, read_latency_table

    table = _table(cfg.table)
    frame = read_latency_table(files.latency, cfg.name).set_index("arch_id")
    ids = [a.arch_id for a in table.archs]
    if not frame.index.isin(ids).all() or len(frame) != len(ids):
        raise DataError(f"{files.latency} does not cover the cells of {cfg.table}; rerun table@{cfg.name}")
    frame = frame.loc[ids]
    est = frame["latency_ms"].to_numpy(dtype=np.float64)
    error = LatencyModel.load(files.model).error
    bound = error.bounds(est, frame["source"].to_numpy(), feasibility.confidence)
    space = NB201Space()
    net = np.array([space.sees_input(a) for a in table.archs])
    est, bound = np.where(net, est, np.inf), np.where(net, bound, np.inf)
    try:
        acc = table.accuracy(cfg.metric)
    except KeyError as exc:
        raise ConfigError(f"platform {cfg.name!r}: {exc.args[0]}") from None
    estimate = Lookup(table.archs, est, f"latency on {cfg.name}", missing=np.inf)
    upper = Lookup(table.archs, bound, f"latency bound on {cfg.name}", missing=np.inf)
    return TablePlatform(cfg, space, upper if feasibility.mode == "bound" else estimate,
                         Lookup(table.archs, acc, cfg.metric), files=files, estimate=estimate, bound=upper,
                         feasibility=feasibility, table=table)
