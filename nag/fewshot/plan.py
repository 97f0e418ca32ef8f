"""Which architectures a new device measures first: most of them where its picks will be.

A space's accuracy is known before any latency is: the table's accuracy column (NB201), the supernet's
(mbv3). So the networks likely on the new device's Pareto front are known too — those on the front of
some reference device (most accurate for their latency there). :func:`frontier_plan` spends
:data:`FRONT_SHARE` of the plan on them, spread along the references' first principal component (fast to
slow) and, within each stratum, the one on the most reference fronts; the rest is the spread of
:func:`nag.fewshot.transfer.measurement_plan` over the networks on no front, which keeps the latency model
sound on the rest of the space.

Why: with 10 rows the bound's margin costs what the model gets wrong *near a budget's pick*, so the rows
are worth most there. On the 19 NB201 device columns, leave-one-hardware-out, seeds 0-2, CIFAR-10, against
the spread alone (docs/RESULTS.md): NAG from 10 rows 0.84 → 0.34 pp regret, satisfied 94.9 → 96.1 %
(``benchmarks/fewshot_devices.py``); exhaustive picks under the bound 0.79 → 0.23 pp, 95.6 → 97.4 %
(``benchmarks/fewshot_bound_ceiling.py``); the latency model's Spearman over all 15,284 networks 0.965 →
0.961. In a sweep of the share (0.5, 0.6, 0.7, 0.8, 1.0; both metrics; the rest then spread over all
networks) every share at least halved the exhaustive regret, 0.7 had the lowest mean, and 1.0 lost the most
Spearman (0.954): 0.7 is the default. Spreading the rest over the networks on no front, not all, kept that
regret and raised the Spearman (CIFAR-10 0.9599 → 0.9607).
"""

from __future__ import annotations

import numpy as np

from nag.fewshot.transfer import TransferError, measurement_plan
from nag.method.pareto import pareto_mask

FRONT_SHARE = 0.7  # of a plan, the networks on the reference devices' fronts (the rest: the spread)


def front_counts(R: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """For each row, on how many reference devices (columns of log latency ``R``) it is Pareto-optimal."""
    R = np.asarray(R, dtype=np.float64)
    return np.sum([pareto_mask(acc, R[:, j]) for j in range(R.shape[1])], axis=0).astype(np.int64)


def _pc1(R: np.ndarray) -> np.ndarray:
    Z = (R - R.mean(0)) / (R.std(0) + 1e-9)
    u, s, _ = np.linalg.svd(Z - Z.mean(0), full_matrices=False)
    return u[:, 0] * s[0]


def frontier_plan(R: np.ndarray, n: int, seed: int = 0, exclude: np.ndarray | None = None,
                  acc: np.ndarray | None = None, front_share: float = FRONT_SHARE) -> np.ndarray:
    """Indices of ``n`` rows to measure: ``round(front_share · n)`` networks of the reference fronts (of
    accuracy ``acc``; none without it), then the spread over the networks on no front (over all where too
    few are left). ``exclude``: rows already measured."""
    R = np.asarray(R, dtype=np.float64)
    done = np.asarray([] if exclude is None else exclude, dtype=np.int64)
    if acc is None or not 0 < front_share:
        return measurement_plan(R, n, seed, done)
    free = len(R) - len(np.unique(done))
    if not 0 < n <= free:
        raise TransferError(f"a plan of {n} architectures: choose between 1 and {free}")
    count = front_counts(R, np.asarray(acc, dtype=np.float64))
    count[done] = 0
    pool = np.flatnonzero(count > 0)
    m = min(int(round(front_share * n)), len(pool))
    rng = np.random.default_rng(seed)
    rows = []
    if m:
        pc1 = _pc1(R)
        for stratum in np.array_split(pool[np.argsort(pc1[pool], kind="stable")], m):
            rows.append(int(stratum[np.argmax(count[stratum] + 0.5 * rng.random(len(stratum)))]))
    rest = n - len(rows)
    taken = np.concatenate([done, rows]).astype(np.int64)
    off_front = np.union1d(taken, pool)  # the spread covers what the fronts do not (when enough is left)
    spread = measurement_plan(R, rest, seed, off_front if len(R) - len(off_front) >= rest else taken) \
        if rest else []
    return np.concatenate([rows, spread]).astype(np.int64)
