"""Accuracy predictor over architecture features (scikit-learn), chosen by held-out rank correlation.

Used where accuracy must be estimated without a query: the zero-query inference mode, the
random-forest reference of the NB201 benchmark, and (later) filling the mbv3 accuracy table.

Example::

    >>> X = np.random.default_rng(0).random((200, 8)); y = X @ np.arange(8)
    >>> model, report = fit_accuracy_predictor(X, y, kinds=("ridge",), seed=0)
    >>> report["chosen"], report["candidates"]["ridge"]["kendall_tau"] > 0.9
    ('ridge', True)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, spearmanr
from sklearn.base import RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor, VotingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def make_regressor(kind: str, seed: int) -> RegressorMixin:
    """A fresh regressor of a named kind."""
    if kind == "rf":
        return RandomForestRegressor(n_estimators=300, min_samples_leaf=1, max_features=0.5,
                                     n_jobs=-1, random_state=seed)
    if kind == "gbr":
        return HistGradientBoostingRegressor(max_iter=400, learning_rate=0.05, random_state=seed)
    if kind == "mlp":
        return make_pipeline(
            StandardScaler(),
            MLPRegressor(
                hidden_layer_sizes=(256, 256),
                alpha=1e-3,
                max_iter=600,
                early_stopping=True,
                random_state=seed,
            ),
        )
    if kind == "rf+gbr":  # mean of both: their errors are only partly shared
        return VotingRegressor([("rf", make_regressor("rf", seed)), ("gbr", make_regressor("gbr", seed))])
    if kind == "ridge":
        return RidgeCV(alphas=np.logspace(-3, 3, 13))
    raise ValueError(f"unknown predictor kind {kind!r}; use rf, gbr, rf+gbr, mlp or ridge")


def rank_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Kendall τ, Spearman ρ and RMSE of a prediction."""
    def corr(fn) -> float | None:  # undefined (None) when either side is constant
        return None if np.ptp(y_true) == 0 or np.ptp(y_pred) == 0 else float(fn(y_true, y_pred).statistic)

    return {"kendall_tau": corr(kendalltau), "spearman": corr(spearmanr),
            "rmse": float(root_mean_squared_error(y_true, y_pred))}


def fit_accuracy_predictor(X: np.ndarray, y: np.ndarray, kinds=("rf", "gbr", "mlp"), seed: int = 0,
                           holdout: float = 0.2) -> tuple[RegressorMixin, dict]:
    """Fit each kind on a split, keep the best by held-out Kendall τ, refit it on all rows."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(X) < 10:
        raise ValueError(f"an accuracy predictor needs at least 10 rows, got {len(X)}")
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=holdout, random_state=seed)
    candidates = {}
    for kind in kinds:
        model = make_regressor(kind, seed).fit(Xtr, ytr)
        candidates[kind] = rank_report(yte, model.predict(Xte))
    chosen = max(candidates, key=lambda k: -np.inf if candidates[k]["kendall_tau"] is None
                 else candidates[k]["kendall_tau"])
    final = clone(make_regressor(chosen, seed)).fit(X, y)
    return final, {"chosen": chosen, "heldout": candidates[chosen], "candidates": candidates,
                   "n_rows": int(len(X)), "holdout": holdout}
