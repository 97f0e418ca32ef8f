"""Latency and scores of canonical token rows ``(N, T)``, vectorised: what inference asks of every sample.

Each is a :class:`TokenFn`: called with architectures (the protocol the rest of the project speaks) or,
on the hot path, with token rows (``on_tokens``), with no per-architecture Python work.

* :class:`CellValues` — a value per cell of a space small enough to enumerate (NB201: 15,625), indexed by
  the tokens' mixed-radix number: a table's latency or accuracy, a predictor's score of every cell;
* :class:`TableOrModel` — the rows of a platform's latency table by their exact tokens, a model elsewhere;
* :class:`LutLatency` — a local platform's block LUT sum and its linear correction;
* :class:`DeviceLatency` — an imported device's latency predictor (one-hot, resolution, log MAdds);
* :class:`ResolutionTables` — a per-resolution layer lookup table's sum (OFA's Note10 tables: exact);
* :class:`MLPValues` — a fixed ReLU network over the space's features (OFA's accuracy predictor);
* :class:`PredictorScore`, :class:`MLPScore` — the accuracy predictor, the evaluator R(α | B).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nag.method.sampler import interpolation_weights
from nag.spaces.base import Arch, SearchSpace


def keys(tokens: np.ndarray) -> np.ndarray:
    """One opaque, sortable key per token row (its bytes)."""
    t = np.ascontiguousarray(np.asarray(tokens, dtype=np.uint8))
    return t.view(np.dtype((np.void, t.shape[1]))).ravel()


class TokenFn(ABC):
    """A value per architecture, computed from canonical token rows."""

    space: SearchSpace

    @abstractmethod
    def on_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """The values of canonical token rows ``(N, T)``."""

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        if not archs:
            return np.zeros(0)
        return self.on_tokens(np.array([a.tokens for a in archs], dtype=np.int64))


class CellValues(TokenFn):
    """A value for every cell of an enumerable space; cells never given get ``missing``."""

    def __init__(self, space: SearchSpace, tokens: np.ndarray, values: np.ndarray, missing: float = np.inf):
        self.space = space
        sizes = np.asarray(space.vocab_sizes, dtype=np.int64)
        self.radix = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])
        self.values = np.full(int(np.prod(sizes)), missing, dtype=np.float64)
        self.values[self.index(tokens)] = values

    def index(self, tokens: np.ndarray) -> np.ndarray:
        return np.asarray(tokens, dtype=np.int64) @ self.radix

    def on_tokens(self, tokens: np.ndarray) -> np.ndarray:
        return self.values[self.index(tokens)]


class TableOrModel(TokenFn):
    """The latency table's value for its own architectures (matched by exact tokens), ``model``'s times
    ``factor`` (1, or the bound's factor for the model's estimates) for any other."""

    def __init__(self, space: SearchSpace, tokens: np.ndarray, values: np.ndarray, model: TokenFn,
                 factor: float = 1.0) -> None:
        self.space, self.model, self.factor = space, model, float(factor)
        k = keys(tokens)
        order = np.argsort(k, kind="stable")
        self.sorted_keys, self.values = k[order], np.asarray(values, dtype=np.float64)[order]

    def on_tokens(self, tokens: np.ndarray) -> np.ndarray:
        k = keys(tokens)
        pos = np.minimum(np.searchsorted(self.sorted_keys, k), len(self.sorted_keys) - 1)
        hit = self.sorted_keys[pos] == k
        out = np.empty(len(k))
        out[hit] = self.values[pos[hit]]
        if (~hit).any():
            out[~hit] = self.model.on_tokens(tokens[~hit]) * self.factor
        return out


def block_sum(space, table: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ over active blocks of ``table[stage, min(slot, 1), kernel, expand]`` (slots past the first of a
    stage share their shapes) and the active block count, per row."""
    from nag.spaces.mbv3 import DEPTHS, MAX_DEPTH

    table = np.asarray(table, dtype=np.float64)
    per_slot = table[:, np.minimum(np.arange(MAX_DEPTH), 1)]  # (S, 4, kernel, expand)
    t = np.asarray(tokens, dtype=np.int64).reshape(len(tokens), space.num_stages, 1 + 2 * MAX_DEPTH)
    return space.slot_sum(tokens, per_slot), np.asarray(DEPTHS, dtype=np.float64)[t[:, :, 0]].sum(axis=1)


@dataclass
class Linear:
    """``X @ coef + intercept``: a fitted scikit-learn linear model's prediction, kept as arrays."""

    coef: np.ndarray
    intercept: float

    @classmethod
    def of(cls, model) -> Linear:
        return cls(np.asarray(model.coef_, dtype=np.float64).ravel(), float(np.ravel(model.intercept_)[0]))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef + self.intercept


class LutLatency(TokenFn):
    """Block LUT sum (``base`` + the active blocks' entries), corrected by ``correction`` on (sum, block
    count[, one-hot features]); a non-positive correction falls back to the raw sum."""

    def __init__(self, space, base: float, table: np.ndarray, correction: Linear | None, features: bool):
        self.space, self.base, self.table = space, float(base), np.asarray(table, dtype=np.float64)
        self.correction, self.features = correction, features

    def on_tokens(self, tokens: np.ndarray) -> np.ndarray:
        sums, counts = block_sum(self.space, self.table, tokens)
        sums = sums + self.base
        if self.correction is None:
            return sums
        X = np.column_stack([sums, counts])
        if self.features:
            X = np.hstack([X, self.space.features_from_tokens(tokens)])
        out = self.correction.predict(X)
        return np.where(out > 0, out, sums)


class DeviceLatency(TokenFn):
    """An imported device's predictor of log latency on one-hot choices, resolution / 224, log MAdds at
    the device's resolution (``fixed`` + per-block ``madds``) and half the one-hot count."""

    def __init__(self, space, predictor: Any, resolution: int, fixed: float, madds: np.ndarray):
        self.space, self.predictor, self.resolution = space, predictor, int(resolution)
        self.fixed, self.madds = float(fixed), np.asarray(madds, dtype=np.float64)

    def on_tokens(self, tokens: np.ndarray) -> np.ndarray:
        madds = self.fixed + block_sum(self.space, self.madds, tokens)[0]
        coef = getattr(self.predictor, "coef_", None)
        if coef is not None and np.ndim(coef) == 1:  # linear: summed from tokens, no one-hot matrix
            f = self.space.feature_dim  # one-hot, resolution / 224, log MAdds, one-hot count / 2
            w = np.asarray(coef, dtype=np.float64)
            log_lat = self.space.linear_from_tokens(tokens, w[:f] + w[f + 2] / 2.0) + w[f + 1] * np.log(madds)
            log_lat += w[f] * self.resolution / 224.0 + float(self.predictor.intercept_)
            return np.exp(log_lat)
        onehot = self.space.features_from_tokens(tokens).astype(np.float64)
        X = np.column_stack([onehot, np.full(len(onehot), self.resolution / 224.0), np.log(madds),
                             onehot.sum(1) / 2.0])
        return np.exp(self.predictor.predict(X))


class ResolutionTables(TokenFn):
    """``base[r]`` + the active blocks' ``tables[r, stage, slot, kernel, expand]``, the first token choosing
    the resolution r and the rest an mbv3 body (``space.body``): a device's per-layer lookup tables."""

    def __init__(self, space, base: np.ndarray, tables: np.ndarray) -> None:
        self.space, self.base = space, np.asarray(base, dtype=np.float64)
        self.tables = np.asarray(tables, dtype=np.float64)

    def on_tokens(self, tokens: np.ndarray) -> np.ndarray:
        t = np.asarray(tokens, dtype=np.int64)
        out = np.empty(len(t))
        for i in range(len(self.base)):
            rows = np.flatnonzero(t[:, 0] == i)
            if len(rows):
                out[rows] = self.base[i] + self.space.body.slot_sum(t[rows, 1:], self.tables[i])
        return out


class MLPValues(TokenFn):
    """``scale`` × a fixed ReLU network over the space's features (weights as ``x @ w.T + b``)."""

    def __init__(self, space, weights: list, biases: list, scale: float = 1.0) -> None:
        self.space, self.scale = space, float(scale)
        self.weights = [np.asarray(w, dtype=np.float32) for w in weights]
        self.biases = [np.asarray(b, dtype=np.float32) for b in biases]

    def on_tokens(self, tokens: np.ndarray) -> np.ndarray:
        x = self.space.features_from_tokens(tokens)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = x @ w.T + b
            if i + 1 < len(self.weights):
                np.maximum(x, 0, out=x)
        return self.scale * x[:, 0].astype(np.float64)


class PredictorScore(TokenFn):
    """An accuracy predictor's estimate (%), the same for every budget."""

    budget_free = True  # one score per architecture, whatever the budget
    is_accuracy = True  # comparable with measured accuracies

    def __init__(self, space: SearchSpace, predictor: Any) -> None:
        self.space, self.predictor = space, predictor

    def on_tokens(self, tokens: np.ndarray, budgets: np.ndarray | None = None) -> np.ndarray:
        coef = getattr(self.predictor, "coef_", None)  # a linear model, on a space that sums it from tokens
        if coef is not None and np.ndim(coef) == 1 and hasattr(self.space, "linear_from_tokens"):
            return self.space.linear_from_tokens(tokens, coef) + float(self.predictor.intercept_)
        return np.asarray(self.predictor.predict(self.space.features_from_tokens(tokens)), dtype=np.float64)

    def __call__(self, archs: Sequence[Arch], budgets: np.ndarray | None = None) -> np.ndarray:
        return super().__call__(archs)


class CellScore(CellValues):
    """:class:`PredictorScore` precomputed for every cell of an enumerable space."""

    budget_free = True
    is_accuracy = True

    def on_tokens(self, tokens: np.ndarray, budgets: np.ndarray | None = None) -> np.ndarray:
        return super().on_tokens(tokens)

    def __call__(self, archs: Sequence[Arch], budgets: np.ndarray | None = None) -> np.ndarray:
        return super().__call__(archs)


class MLPScore(TokenFn):
    """The evaluator R(α | B): ReLU layers over [features ⊕ g(B)], g interpolated as in training."""

    def __init__(self, space: SearchSpace, budgets: np.ndarray, table: np.ndarray, layers: list) -> None:
        self.space, self.budgets, self.table, self.layers = space, np.asarray(budgets), table, layers

    def on_tokens(self, tokens: np.ndarray, budgets: np.ndarray) -> np.ndarray:
        emb = interpolation_weights(self.budgets, budgets) @ self.table
        x = np.hstack([self.space.features_from_tokens(tokens), emb.astype(np.float32)])
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i + 1 < len(self.layers):
                np.maximum(x, 0, out=x)
        return x[:, 0].astype(np.float64)

    def __call__(self, archs: Sequence[Arch], budgets: np.ndarray) -> np.ndarray:
        return self.on_tokens(np.array([a.tokens for a in archs], dtype=np.int64), budgets)
