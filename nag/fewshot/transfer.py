"""A new device's latency from a few of its own measurements, transferred from the devices we know.

For the same architectures we hold the latency of many *reference* devices (a benchmark table's other
device columns; for mbv3, the local platforms and imported devices with enough rows). Across devices the
log latencies of a space's networks are close to linear in each other, so n measurements on a new
device are enough to place it among them. The model is an ensemble (the mean, in log space) of small
regressions of the device's log latency on the references' log latencies, each sound at n = 10:

* ``single`` — the one reference with the smallest leave-one-out error, log-linear (closed-form LOO);
* ``nnls`` — a non-negative combination of all references plus an intercept;
* ``ridge`` — ridge over the standardised references (alpha by generalised cross-validation);
* ``top3`` / ``top5`` — the mean of the log-linear fits of the 3 / 5 references most correlated on the
  measured rows.

As n grows the device's own rows can teach what the references miss: ``transfer_arch`` adds a ridge fit of
the ensemble's residual on the architecture encoding (n ≥ 20), ``gbr`` a gradient-boosted model of
[references, encoding] (n ≥ 50). One validation chooses among them: out-of-fold log RMSE, leave-one-out up
to 50 rows, 10-fold beyond. The chosen candidate's out-of-fold residuals are the error model's
(:mod:`nag.latency.bound`: the upper bound at a confidence).

Example::

    >>> m = TransferModel.fit(np.log(refs[rows]), np.log(measured), arch[rows])   # doctest: +SKIP
    >>> np.exp(m.predict(np.log(refs), arch))                                    # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV

from nag.errors import NagError

ALPHAS = np.logspace(-3, 3, 25)
LOO_MAX = 50  # rows up to which model selection is leave-one-out (10-fold beyond)


class TransferError(NagError, ValueError):
    """Too few measurements or references to transfer from (the message says what to add)."""


def hardware(device: str, devices: list[str]) -> str:
    """The hardware a device column measures: ``name_<int>`` is batch size ``int`` of ``name`` when the
    table has ``name`` at another integer suffix too (``titanxp_1``, ``titanxp_32`` -> ``titanxp``)."""
    m = re.match(r"^(.*)_(\d+)$", device)
    if m and sum(bool(re.match(rf"^{re.escape(m.group(1))}_\d+$", d)) for d in devices) > 1:
        return m.group(1)
    return device


def references_for(device: str, devices: list[str]) -> list[str]:
    """Every device column except those of ``device``'s own hardware (all its batch sizes)."""
    own = hardware(device, devices)
    return [d for d in devices if hardware(d, devices) != own]


def _linear_loo(x: np.ndarray, y: np.ndarray) -> float:
    """Leave-one-out mean squared error of ``y ~ a + b x`` (hat-matrix shortcut)."""
    X = np.column_stack([np.ones_like(x), x])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    h = np.einsum("ij,ji->i", X, np.linalg.pinv(X.T @ X) @ X.T)
    e = (y - X @ beta) / np.clip(1 - h, 1e-6, None)
    return float(np.mean(e ** 2))


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    b, a = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.mean(y)))
    return float(a), float(b)


@dataclass
class Ensemble:
    """The mean of the reference regressions, fitted on log references ``R`` and log latency ``y``."""

    lines: list[tuple[int, float, float]] = field(default_factory=list)  # (reference, a, b) per line fit
    groups: list[list[int]] = field(default_factory=list)  # member -> indices into lines, averaged
    weights: np.ndarray | None = None  # nnls: per reference, then intercept
    ridge: RidgeCV | None = None
    mu: np.ndarray | None = None
    sd: np.ndarray | None = None

    @classmethod
    def fit(cls, R: np.ndarray, y: np.ndarray) -> Ensemble:
        n, r = R.shape
        e = cls(mu=R.mean(0), sd=R.std(0) + 1e-9)
        best = min(range(r), key=lambda j: _linear_loo(R[:, j], y))
        corr = np.nan_to_num([abs(np.corrcoef(R[:, j], y)[0, 1]) if np.ptp(R[:, j]) > 0 else 0
                              for j in range(r)])
        order = np.argsort(-corr, kind="stable")
        for group in ([best], order[:3].tolist(), order[:5].tolist()):
            e.groups.append(list(range(len(e.lines), len(e.lines) + len(group))))
            e.lines += [(int(j), *_line(R[:, j], y)) for j in group]
        A = np.column_stack([R, np.ones(n), -np.ones(n)])
        e.weights, _ = nnls(A, y)
        e.ridge = RidgeCV(alphas=ALPHAS).fit((R - e.mu) / e.sd, y)
        return e

    def members(self, R: np.ndarray) -> np.ndarray:
        """Each member's prediction (members × rows)."""
        out = [np.mean([self.lines[i][1] + self.lines[i][2] * R[:, self.lines[i][0]] for i in g], 0)
               for g in self.groups]
        out.append(np.column_stack([R, np.ones(len(R)), -np.ones(len(R))]) @ self.weights)
        out.append(self.ridge.predict((R - self.mu) / self.sd))
        return np.array(out)

    def predict(self, R: np.ndarray) -> np.ndarray:
        return self.members(R).mean(0)


@dataclass
class Candidate:
    """One model kind: the ensemble, optionally plus what the device's rows teach beyond it."""

    kind: str  # transfer | transfer_arch | gbr
    ensemble: Ensemble | None = None
    residual: RidgeCV | None = None
    gbr: HistGradientBoostingRegressor | None = None

    @classmethod
    def fit(cls, kind: str, R: np.ndarray, y: np.ndarray, A: np.ndarray | None, seed: int = 0) -> Candidate:
        if kind == "gbr":
            model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=seed)
            return cls(kind, gbr=model.fit(np.hstack([R, A]), y))
        c = cls(kind, ensemble=Ensemble.fit(R, y))
        if kind == "transfer_arch":
            c.residual = RidgeCV(alphas=ALPHAS * 10).fit(A, y - c.ensemble.predict(R))
        return c

    def predict(self, R: np.ndarray, A: np.ndarray | None) -> np.ndarray:
        if self.kind == "gbr":
            return self.gbr.predict(np.hstack([R, A]))
        out = self.ensemble.predict(R)
        return out + self.residual.predict(A) if self.residual is not None else out


def kinds_for(n: int, has_arch: bool) -> list[str]:
    """The candidates worth validating at ``n`` rows."""
    return ["transfer"] + (["transfer_arch"] if has_arch and n >= 20 else []) + \
        (["gbr"] if has_arch and n >= 50 else [])


def out_of_fold(kind: str, R: np.ndarray, y: np.ndarray, A: np.ndarray | None, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions of ``kind`` (leave-one-out up to :data:`LOO_MAX` rows, 10-fold beyond)."""
    n = len(y)
    fold = np.arange(n) if n <= LOO_MAX else np.random.default_rng(seed).permutation(n) % 10
    out = np.empty(n)
    for f in np.unique(fold):
        test = fold == f
        c = Candidate.fit(kind, R[~test], y[~test], None if A is None else A[~test], seed)
        out[test] = c.predict(R[test], None if A is None else A[test])
    return out


@dataclass
class TransferModel:
    """The chosen candidate refitted on all rows, with the validation that chose it."""

    model: Candidate
    residuals: np.ndarray  # out-of-fold log(measured / predicted) of the chosen kind
    report: dict

    @classmethod
    def fit(cls, R: np.ndarray, y: np.ndarray, A: np.ndarray | None = None, seed: int = 0,
            min_rows: int = 3) -> TransferModel:
        """``R``: log latency of the measured rows on the references (rows × references); ``y``: their
        log latency on the device; ``A``: their architecture encoding (None: references only)."""
        R, y = np.asarray(R, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if R.ndim != 2 or R.shape[1] == 0:
            raise TransferError("no reference devices to transfer latency from: add a device whose latency "
                                "covers these architectures")
        if len(y) < min_rows:
            raise TransferError(f"{len(y)} measured architecture(s): measure at least {min_rows - len(y)} "
                                f"more (the measurement plan says which)")
        scores, oof = {}, {}
        for kind in kinds_for(len(y), A is not None):
            oof[kind] = out_of_fold(kind, R, y, A, seed)
            scores[kind] = float(np.sqrt(np.mean((y - oof[kind]) ** 2)))
        chosen = min(scores, key=scores.get)
        report = {"chosen": chosen, "oof_log_rmse": scores, "n_rows": int(len(y)),
                  "n_references": int(R.shape[1]),
                  "validation": "leave-one-out" if len(y) <= LOO_MAX else "10-fold"}
        return cls(Candidate.fit(chosen, R, y, A, seed), y - oof[chosen], report)

    def predict(self, R: np.ndarray, A: np.ndarray | None = None) -> np.ndarray:
        """Log latency on the device of architectures with log reference latency ``R``."""
        return self.model.predict(np.asarray(R, dtype=np.float64), A)


def measurement_plan(R: np.ndarray, n: int, seed: int = 0, exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices of ``n`` rows to measure first: ranked by the first principal component of the standardised
    log reference latencies (fast to slow on the devices we know), cut into ``n`` equal-count strata, one
    seeded pick from each — spread over the whole range, not clumped where most networks lie.
    ``exclude``: rows already measured (never proposed again)."""
    R = np.asarray(R, dtype=np.float64)
    pool = np.setdiff1d(np.arange(len(R)), [] if exclude is None else exclude)
    if not 0 < n <= len(pool):
        raise TransferError(f"a plan of {n} architectures: choose between 1 and {len(pool)}")
    Z = (R[pool] - R[pool].mean(0)) / (R[pool].std(0) + 1e-9)
    u, s, _ = np.linalg.svd(Z - Z.mean(0), full_matrices=False)
    pc1 = u[:, 0] * s[0]
    order = pool[np.argsort(pc1, kind="stable")]
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(stratum) for stratum in np.array_split(order, n)], dtype=np.int64)
