"""An imported mbv3 device from a few of its own measurements: latency transferred from the devices of
the OFA reference table (``data/benchmarks/ofa_gpu_latency.csv``: the same MobileNetV3 networks timed on
known GPUs at several batch sizes and resolutions).

Each reference column gets a predictor of its log latency from the architecture encoding at a resolution
(:func:`nag.latency.predictor.device_features`), so every architecture — the device's measured ones and
the 16k of the dataset — has a latency on every reference device. The device's own rows then fit a
:class:`nag.fewshot.transfer.TransferModel` on those reference latencies (plus the encoding from 20 rows),
chosen by leave-one-out; its out-of-fold residuals are the bound's. :class:`TransferPredictor` wraps both
with the ``predict(features) -> log latency`` of the own-data predictor, so the latency model, the serving
engine and ``nag export`` use it unchanged. A device with :data:`OWN_ROWS` rows or more is fitted on its
own rows as before (:func:`nag.latency.predictor.fit_latency_predictor`).

Example::

    >>> pred, report, heldout = fit_transfer_predictor(X, latency_ms, REFERENCE_TABLE)   # doctest: +SKIP
    >>> np.exp(pred.predict(device_features(archs, np.full(len(archs), 224))))          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from nag.artifacts import ArtifactError, dump_object, load_object
from nag.fewshot.transfer import TransferModel
from nag.latency.predictor import device_features, imagenet_space, latency_errors

REFERENCE_TABLE = Path("data/benchmarks/ofa_gpu_latency.csv")
OWN_ROWS = 100  # from this many measured rows an mbv3 device is fitted on its own rows


@dataclass
class TransferPredictor:
    """Log latency of device-feature rows: reference predictions, then the device's transfer model."""

    references: list[str]
    columns: list  # per reference: regressor of its log latency on device features
    model: TransferModel

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return self.model.predict(reference_log_latency(self.columns, X), X)


def reference_log_latency(columns, X: np.ndarray) -> np.ndarray:
    """Log latency (rows × references) of device-feature rows ``X`` by each reference predictor."""
    return np.column_stack([c.predict(X) for c in columns])


CACHE = Path("models/cache")  # fitted reference predictors, keyed by the table's content (not tracked)
_FORMAT = 2  # 2: skops (1 was a pickle, never read); bump when the recipe changes: old files are ignored


@lru_cache(maxsize=4)
def reference_predictors(table: str, seed: int = 0, cache: str | None = str(CACHE)) -> tuple[tuple[str, ...],
                                                                                            tuple]:
    """(device names, one fitted regressor per ``lat_*`` column of the OFA table at ``table``). Fitting
    them takes minutes on a busy 2-core host, so the fit is kept in ``cache`` (a file named by the
    table's bytes, the seed and the scikit-learn version; written atomically, refitted when unreadable);
    ``cache=None`` always fits."""
    path = _cache_path(table, seed, cache) if cache else None
    if path is not None and path.is_file():
        try:  # skops, trusted types only (nag.artifacts): a cache file never runs code
            obj = load_object(path, "reference-predictor cache", f"rm {path}")
            return tuple(obj["names"]), tuple(obj["columns"])
        except (ArtifactError, KeyError, TypeError):  # damaged or foreign: fit again and replace it
            pass
    names, cols = _fit_references(table, seed)
    if path is not None:
        dump_object({"names": list(names), "columns": list(cols)}, path)
    return names, cols


def _cache_path(table: str, seed: int, cache: str) -> Path:
    import sklearn

    digest = hashlib.sha256(Path(table).read_bytes()).hexdigest()[:16]
    return Path(cache) / f"reference-{digest}-s{seed}-sk{sklearn.__version__}-f{_FORMAT}.skops"


def _fit_references(table: str, seed: int) -> tuple[tuple[str, ...], tuple]:
    from nag.data.benchmarks import load_ofa_latency

    t = load_ofa_latency(table, imagenet_space())
    res = t.frame["r"].to_numpy() if "r" in t.frame else np.full(len(t.archs), 224)
    X = device_features(list(t.archs), res)
    return tuple(t.devices), fit_reference_columns(X, [np.log(t.latency(d)) for d in t.devices], seed)


def fit_reference_columns(X: np.ndarray, log_latency: list, seed: int = 0) -> tuple:
    """One regressor of each reference's log latency on device-feature rows ``X``."""
    return tuple(HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=seed).fit(X, y)
                 for y in log_latency)


def reference_resolution(table: str | Path = REFERENCE_TABLE) -> int:
    """The largest resolution the reference table measured (what a plan asks a new device to time)."""
    from nag.data.benchmarks import read_csv_table

    df = read_csv_table(table)
    return int(df["r"].max()) if "r" in df.columns else 224


def fit_transfer_predictor(X: np.ndarray, latency_ms: np.ndarray, table: str | Path = REFERENCE_TABLE,
                           seed: int = 0, min_rows: int = 10) -> tuple[TransferPredictor, dict, tuple]:
    """(predictor, report, (measured, out-of-fold estimate)) from the device's rows: features ``X``
    (:func:`device_features` at each row's resolution) and measured ``latency_ms``."""
    names, cols = reference_predictors(str(table), seed)
    y = np.asarray(latency_ms, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    model = TransferModel.fit(reference_log_latency(cols, X), np.log(y), X, seed, min_rows)
    pred = TransferPredictor(list(names), list(cols), model)
    oof = y / np.exp(pred.model.residuals)
    report = {"chosen": f"transfer:{pred.model.report['chosen']}", "heldout": latency_errors(y, oof),
              "transfer": pred.model.report, "references": list(names), "reference_table": str(table),
              "n_rows": int(len(y))}
    return pred, report, (y, oof)
