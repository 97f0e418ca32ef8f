"""Error models of latency estimates: an upper bound at a confidence, calibrated on residuals the
estimate did not train on.

Every latency model (the corrected block LUT, an imported device's predictor, a measured table) keeps
the log residuals ``log(measured / estimate)`` of rows it did not fit (cross-validated, held out, or a
repeat measurement of the same network), one set per *source* of an estimate (``lut``, ``predicted``,
``measured``). The bound of an estimate is ``estimate · exp(q)``, ``q`` the split-conformal quantile of
those residuals at the confidence: for a new row exchangeable with them, ``P(measured ≤ bound) ≥
confidence`` (Vovk et al.; Angelopoulos & Bates, "A gentle introduction to conformal prediction").
``q`` is never below 0: a bound is never under its estimate.

Example::

    >>> em = ErrorModel({"lut": np.log([1.02, 0.97, 1.05, 1.01, 0.99])})
    >>> float(em.factor("lut", 0.5)) > 1.0
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nag.errors import NagError


class BoundError(NagError, ValueError):
    """A confidence outside (0, 1) or an error model with nothing to calibrate on."""


def conformal_quantile(residuals: np.ndarray, confidence: float) -> float:
    """The ``ceil((n + 1) · confidence)``-th smallest residual (the largest when that rank exceeds n):
    the split-conformal upper quantile, 0 when there are no residuals."""
    if not 0.0 < confidence < 1.0:
        raise BoundError(f"latency.confidence = {confidence}: must be strictly between 0 and 1")
    r = np.sort(np.asarray(residuals, dtype=np.float64))
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return 0.0
    rank = int(np.ceil((len(r) + 1) * confidence))
    return float(r[min(rank, len(r)) - 1])


@dataclass
class ErrorModel:
    """Log residuals per estimate source; a source without residuals is taken as exact (factor 1)."""

    residuals: dict[str, np.ndarray] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # where each source's residuals come from

    def factor(self, source: str, confidence: float) -> float:
        """``bound / estimate`` for an estimate from ``source`` (≥ 1)."""
        return float(np.exp(max(conformal_quantile(self.residuals.get(source, ()), confidence), 0.0)))

    def bounds(self, estimate: np.ndarray, sources, confidence: float) -> np.ndarray:
        """The upper bound of each estimate (``sources``: one source name per row, or one for all)."""
        estimate = np.asarray(estimate, dtype=np.float64)
        if isinstance(sources, str):
            return estimate * self.factor(sources, confidence)
        sources = np.asarray(sources, dtype=object)
        out = estimate.copy()
        for s in set(sources.tolist()):
            mask = sources == s
            out[mask] = estimate[mask] * self.factor(s, confidence)
        return out

    def summary(self, confidence: float) -> dict:
        """Per source: rows calibrated on, the bound's margin (%) at ``confidence``, where they come from."""
        return {s: {"n": int(len(r)), "margin_pct": 100 * (self.factor(s, confidence) - 1),
                    "from": self.notes.get(s, "")} for s, r in self.residuals.items()}


def log_residuals(measured: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """``log(measured / estimate)`` of the rows where both are positive and finite."""
    m, e = np.asarray(measured, dtype=np.float64), np.asarray(estimate, dtype=np.float64)
    ok = np.isfinite(m) & np.isfinite(e) & (m > 0) & (e > 0)
    return np.log(m[ok] / e[ok])


def out_of_fold_bounds(measured: np.ndarray, estimate: np.ndarray, confidence: float, folds: int = 5,
                       seed: int = 0) -> np.ndarray:
    """Each row's bound calibrated on the *other* folds' residuals (cross-conformal): comparing them
    with ``measured`` tests the coverage a new row would get, without scoring the calibration set."""
    m, e = np.asarray(measured, dtype=np.float64), np.asarray(estimate, dtype=np.float64)
    if len(m) < 2:
        raise BoundError(f"coverage needs at least 2 held-out rows, got {len(m)}")
    res = log_residuals(m, e)
    if len(res) != len(m):
        raise BoundError("held-out rows with non-positive or non-finite latency cannot be scored")
    fold = np.random.default_rng(seed).permutation(len(m)) % min(folds, len(m))
    out = np.empty(len(m))
    for f in np.unique(fold):
        q = conformal_quantile(res[fold != f], confidence)
        out[fold == f] = e[fold == f] * np.exp(max(q, 0.0))
    return out


def coverage(measured: np.ndarray, bound: np.ndarray) -> float:
    """Share of measurements at or under their bound."""
    m, b = np.asarray(measured, dtype=np.float64), np.asarray(bound, dtype=np.float64)
    return float(np.mean(m <= b)) if len(m) else float("nan")
