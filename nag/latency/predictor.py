"""Devices we cannot run here: read their own measurement file, fit a latency predictor, predict
every architecture.

A measurement file is a CSV with the architecture as OFA lists — columns ``ks``, ``e``, ``d``
(space-separated integers) or one ``architecture`` column holding ``{"ks": [...], "e": [...], "d": [...]}``
— a ``latency_ms`` column, and optionally ``resolution``, ``repeats`` and ``std_ms``.

Example::

    >>> df = read_measurements("data/devices/gpu-titanxp-b64.csv", MBV3Space())   # doctest: +SKIP
    >>> X = device_features(df, MBV3Space())                                    # doctest: +SKIP
    >>> model, report, heldout = fit_latency_predictor(X, df["latency_ms"])     # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split

from nag.data.benchmarks import TableError, read_csv_table
from nag.errors import NagError
from nag.spaces.base import Arch, ArchError
from nag.spaces.mbv3 import MBV3Macro, MBV3Space
from nag.supernet.static import arch_madds

REQUIRED = ("latency_ms",)
OPTIONAL = ("resolution", "repeats", "std_ms")
ARCH_COLUMNS = ("ks", "e", "d")


class MeasurementError(NagError, ValueError):
    """A device measurement file that cannot be trusted (the message names the rows and the fix)."""


def _bad(path, what: str, rows) -> MeasurementError:
    rows = [int(r) + 2 for r in list(rows)[:5]]  # CSV line numbers (header is line 1)
    return MeasurementError(f"{path}: {what} (CSV lines {rows}); fix the file and add it again")


def _parse_arch(space: MBV3Space, row: pd.Series) -> Arch:
    if "architecture" in row.index:
        cfg = json.loads(row["architecture"])
        ks, e, d = cfg["ks"], cfg["e"], cfg["d"]
    else:
        ks, e, d = ([int(v) for v in str(row[c]).split()] for c in ARCH_COLUMNS)
    return space.from_ofa(ks, e, d)


def read_measurements(path: str | Path, space: MBV3Space, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Parse and check a measurement file (or ``frame``, already read from ``path``: errors still name
    ``path``). Returns ``arch_id, resolution, latency_ms`` (+ optional columns), one row per
    (architecture, resolution)."""
    try:
        df = read_csv_table(path) if frame is None else frame
    except TableError as exc:
        raise MeasurementError(f"{exc}: no measurements to use") from None
    arch_cols = ("architecture",) if "architecture" in df.columns else ARCH_COLUMNS
    allowed = set(arch_cols) | set(REQUIRED) | set(OPTIONAL)
    unknown = sorted(set(df.columns) - allowed)
    if unknown:
        raise MeasurementError(f"{path}: unknown column(s) {unknown}; allowed: {sorted(allowed)} "
                               f"(architecture as ks/e/d or one JSON 'architecture' column)")
    missing = sorted(set(arch_cols) - set(df.columns)) + [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise MeasurementError(f"{path}: missing column(s) {missing}")
    lat = pd.to_numeric(df["latency_ms"], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(lat) | (lat <= 0))
    if len(bad):
        raise _bad(path, f"{len(bad)} latency value(s) missing, NaN, non-numeric, zero or negative", bad)
    archs = []
    for i, row in df.iterrows():
        try:
            archs.append(_parse_arch(space, row))
        except (ArchError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise _bad(path, f"architecture outside the {space.name} space: {exc}", [i]) from None
    out = pd.DataFrame({"arch_id": [a.arch_id for a in archs], "latency_ms": lat.astype(float)})
    if "resolution" in df.columns:
        res = pd.to_numeric(df["resolution"], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(res) | (res <= 0))
        if len(bad):
            raise _bad(path, "resolution must be a positive number", bad)
        out["resolution"] = res.astype(int)
    else:
        out["resolution"] = 0
    for c in ("repeats", "std_ms"):
        if c in df.columns:
            v = pd.to_numeric(df[c], errors="coerce")
            bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
            if len(bad):
                raise _bad(path, f"{c} must be a non-negative number", bad)
            out[c] = v
    key = out[["arch_id", "resolution"]]
    dup = key.duplicated(keep=False)
    if dup.any():
        spread = (
            out[dup].groupby(["arch_id", "resolution"])["latency_ms"].agg(lambda s: s.max() / s.min() - 1)
        )
        if (spread > 1e-6).any():  # name the conflicting rows, not the harmless exact duplicates
            bad_keys = set(spread.index[spread > 1e-6])
            rows = [i for i, k in enumerate(zip(out["arch_id"], out["resolution"])) if k in bad_keys]
            raise _bad(path, "the same architecture (and resolution) has conflicting latencies", rows)
        out = out[~key.duplicated()].reset_index(drop=True)
    out.attrs["archs"] = {a.arch_id: a for a in archs}
    return out


def imagenet_space() -> MBV3Space:
    """The network family devices' measurements describe: OFA MobileNetV3 at ImageNet scale."""
    return MBV3Space(MBV3Macro())


def device_features(archs: list[Arch], resolutions: np.ndarray) -> np.ndarray:
    """One-hot choices, resolution, log MAdds at that resolution, and active block count."""
    base = imagenet_space()
    onehot = base.features_from_tokens(np.array([a.tokens for a in archs], dtype=np.int64))
    spaces: dict[int, MBV3Space] = {}
    madds = np.empty(len(archs))
    for i, (a, r) in enumerate(zip(archs, resolutions)):
        r = int(r)
        if r not in spaces:
            spaces[r] = MBV3Space(MBV3Macro(input_size=r))
        madds[i] = arch_madds(spaces[r], a)
    return np.column_stack([onehot, np.asarray(resolutions, dtype=np.float64) / 224.0, np.log(madds),
                            onehot.sum(1) / 2.0])


def _candidates(seed: int) -> dict:
    """Candidate models, cheapest to predict first: every serving request predicts each sampled
    candidate's latency with the chosen one (``benchmarks/device_model_size.py``: ridge 0.1, gbr-75 9,
    gbr-150 17, rf 28, gbr-300 35, gbr-600 72 µs per row on 40,960 rows). Fewer boosting iterations carry
    a larger learning rate."""
    def gbr(iters: int, lr: float) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(max_iter=iters, learning_rate=lr, random_state=seed)

    return {
        "ridge": RidgeCV(alphas=np.logspace(-3, 3, 13)),
        "gbr-75": gbr(75, 0.4),
        "gbr-150": gbr(150, 0.2),
        "rf": RandomForestRegressor(n_estimators=300, max_features=0.5, n_jobs=-1, random_state=seed),
        "gbr-300": gbr(300, 0.1),
        "gbr-600": gbr(600, 0.05),
    }


def choose_cheapest(reports: dict) -> str:
    """The first (cheapest) candidate whose held-out share within ±10 % is within one standard error
    (binomial, on the held-out rows) of the best share: a larger model must be better by more than the
    held-out noise to be worth its serving time (the one-standard-error rule)."""
    best = max(r["within_10pct"] for r in reports.values())
    n = max(next(iter(reports.values()))["n"], 1)
    se = float(np.sqrt(best * (1 - best) / n))
    return next(k for k, r in reports.items() if r["within_10pct"] >= best - se - 1e-12)


def latency_errors(y: np.ndarray, pred: np.ndarray) -> dict:
    rel = np.abs(pred - y) / y
    return {"mape": float(100 * rel.mean()), "spearman": float(spearmanr(y, pred).statistic),
            "within_10pct": float((rel <= 0.10).mean()), "n": int(len(y))}


def fit_latency_predictor(X: np.ndarray, y: np.ndarray, seed: int = 0, holdout: float = 0.2):
    """Fit each candidate on log latency, keep the cheapest whose held-out share within ±10 % is within one
    standard error of the best (:func:`choose_cheapest`), refit it on all rows."""
    y = np.asarray(y, dtype=np.float64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=holdout, random_state=seed)
    reports, preds = {}, {}
    for name, model in _candidates(seed).items():
        model.fit(Xtr, np.log(ytr))
        preds[name] = np.exp(model.predict(Xte))
        reports[name] = latency_errors(yte, preds[name])
    chosen = choose_cheapest(reports)
    final = clone(_candidates(seed)[chosen]).fit(X, np.log(y))
    report = {"chosen": chosen, "heldout": reports[chosen], "candidates": reports, "n_rows": int(len(y)),
              "rule": "cheapest within one s.e. of the best held-out share within ±10 %"}
    return final, report, (yte, preds[chosen])


def predict_latency(model, archs: list[Arch], resolution: int) -> np.ndarray:
    return np.exp(model.predict(device_features(archs, np.full(len(archs), resolution))))
