"""The paper's Pareto-dominance rule (Eq. 6), frontiers, hypervolume and regret against an oracle.

Example::

    >>> import numpy as np
    >>> dominance(np.array([90.0]), np.array([5.0]), np.array([80.0]), np.array([3.0]), 6.0)
    array([1])
"""

from __future__ import annotations

import numpy as np


def dominance(acc1, lat1, acc2, lat2, budget) -> np.ndarray:
    """d(β1, β2, B) of Eq. 6, vectorised over pairs (numpy or torch-free broadcasting).

    +1 when both are within the budget and Acc(β1) ≥ Acc(β2), or when at least one exceeds it and
    c(β1) ≤ c(β2); −1 otherwise. Antisymmetric except on exact ties, where both orders give +1.
    """
    acc1, lat1, acc2, lat2, budget = (
        np.asarray(x, dtype=np.float64) for x in (acc1, lat1, acc2, lat2, budget)
    )
    both_within = (lat1 <= budget) & (lat2 <= budget)
    better = np.where(both_within, acc1 >= acc2, lat1 <= lat2)
    return np.where(better, 1, -1).astype(np.int64)


def pareto_mask(acc: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated points (maximise accuracy, minimise latency)."""
    acc, lat = np.asarray(acc, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    order = np.lexsort((-acc, lat))  # by latency, then higher accuracy first
    mask = np.zeros(len(acc), dtype=bool)
    best = -np.inf
    for i in order:
        if acc[i] > best:
            mask[i] = True
            best = acc[i]
    return mask


def best_under_budget(acc: np.ndarray, lat: np.ndarray, budgets) -> np.ndarray:
    """Index of the most accurate point with latency ≤ B for each budget (−1 where none fits)."""
    acc, lat = np.asarray(acc, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    budgets = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
    order = np.argsort(lat, kind="stable")
    sorted_lat = lat[order]
    # running argmax of accuracy along increasing latency
    run_best = np.empty(len(order), dtype=np.int64)
    best_i, best_a = -1, -np.inf
    for pos, i in enumerate(order):
        if acc[i] > best_a:
            best_i, best_a = i, acc[i]
        run_best[pos] = best_i
    n_fit = np.searchsorted(sorted_lat, budgets, side="right")
    return np.where(n_fit > 0, run_best[np.maximum(n_fit - 1, 0)], -1)


def hypervolume(acc, lat, ref_acc: float, ref_lat: float) -> float:
    """Area dominated by the points (max accuracy, min latency) inside the box bounded by
    ``(ref_lat, ref_acc)``; points beyond the box add nothing."""
    acc, lat = np.asarray(acc, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    keep = (lat <= ref_lat) & (acc > ref_acc)
    if not keep.any():
        return 0.0
    acc, lat = acc[keep], lat[keep]
    order = np.argsort(lat)
    area, best = 0.0, ref_acc
    xs = np.append(lat[order], ref_lat)
    for pos, i in enumerate(order):
        best = max(best, acc[i])
        area += (xs[pos + 1] - xs[pos]) * (best - ref_acc)
    return float(area)


def regret(chosen_acc, oracle_acc) -> np.ndarray:
    """Oracle accuracy minus chosen accuracy (≥ 0 when both respect the budget)."""
    return np.asarray(oracle_acc, dtype=np.float64) - np.asarray(chosen_acc, dtype=np.float64)
