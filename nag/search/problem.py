"""What every search method gets and how every method ends (the same for all, so they compare fairly).

A :class:`SearchProblem` holds the space, the platform's latency, the counted accuracy oracle, the M-arch
dataset (already paid for) and the accuracy predictor fitted on it. Methods differ in how they propose
candidates; :meth:`SearchProblem.finish` turns any method's candidates into one architecture per budget
the same way NAG's inference does in the paper's procedure: keep the feasible ones, query the
``candidates`` best by predicted accuracy (C queries) and return the most accurate. The dataset's own
architectures do not compete (that would give every method the same floor and hide the differences).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nag.method.archdata import ArchDataset, QueryCounter
from nag.spaces.base import Arch, SearchSpace


@dataclass
class Pick:
    """One method's answer for one budget."""

    budget: float
    arch: Arch
    accuracy: float  # true (queried) accuracy
    latency: float
    n_queried: int
    n_feasible: int


def _remembered(cache: dict, keys: list, items: Sequence, fn: Callable) -> np.ndarray:
    """``fn(items)`` with the items whose key was seen before answered from ``cache``; each new key is
    computed once, all of them in one call of ``fn``. Policies and evolution propose the same archs over
    and over, and a latency model outside its table costs ~1 ms of Python per arch: only speed changes."""
    miss = {k: i for i, k in enumerate(keys) if k not in cache}
    if miss:
        cache.update(zip(miss, np.asarray(fn([items[i] for i in miss.values()]), dtype=np.float64)))
    return np.array([cache[k] for k in keys], dtype=np.float64)


@dataclass
class SearchProblem:
    space: SearchSpace
    latency_fn: Callable[[Sequence[Arch]], np.ndarray]  # the platform's latency (see :meth:`latency`)
    oracle: Callable[[Sequence[Arch]], np.ndarray]  # true accuracy: every distinct arch read is a query
    data: ArchDataset
    predictor: object  # scikit-learn regressor on space features
    candidates: int = 64  # C: accuracy queries per budget when finishing
    seed: int = 0
    cheapest: float | None = None  # the platform's cheapest network (None: the dataset's cheapest)
    predictor_calls: int = field(default=0, init=False)  # every scored arch counts, remembered or not
    _predicted: dict[tuple, float] = field(default_factory=dict, init=False, repr=False)
    _latency_of: dict[tuple, float] = field(default_factory=dict, init=False, repr=False)  # by tokens

    def latency(self, archs: Sequence[Arch]) -> np.ndarray:
        return _remembered(self._latency_of, [a.tokens for a in archs], archs, self.latency_fn)

    def latency_tokens(self, tokens: np.ndarray) -> np.ndarray:
        rows = np.asarray(tokens, dtype=np.int64).tolist()  # a row and its canonical arch share one answer
        return _remembered(self._latency_of, list(map(tuple, rows)), rows,
                           lambda new: self.latency_fn([self.space.from_tokens(r) for r in new]))

    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        return self.predict_tokens(np.array([a.tokens for a in archs], dtype=np.int64))

    def predict_tokens(self, tokens: np.ndarray) -> np.ndarray:
        self.predictor_calls += len(tokens)
        rows = np.asarray(tokens, dtype=np.int64).tolist()
        return _remembered(self._predicted, list(map(tuple, rows)), rows,
                           lambda new: self.predictor.predict(self.space.features_from_tokens(np.array(new))))

    def counter(self) -> QueryCounter:
        """A fresh query counter (the dataset's archs count as paid)."""
        return QueryCounter(self.oracle, self.data.archs)

    def finish(self, archs: Sequence[Arch], budget: float, counter: QueryCounter) -> Pick:
        """The method's answer for ``budget`` from its proposed ``archs`` (see the module docstring)."""
        uniq = list({a.arch_id: a for a in archs}.values())
        lat = np.asarray(self.latency(uniq), dtype=np.float64) if uniq else np.zeros(0)
        feas = [a for a, t in zip(uniq, lat) if t <= budget]
        top = []
        if feas:
            order = np.argsort(-self.predict(feas), kind="stable")[: self.candidates]
            top = [feas[i] for i in order]
        before = counter.queries
        acc = counter(top) if top else np.zeros(0)
        pool = [(float(a), float(t), arch) for a, t, arch in
                zip(acc, self.latency(top) if top else [], top)]
        if not pool:  # nothing feasible proposed: the method failed this budget; report its cheapest proposal
            if not uniq:
                raise ValueError(f"the method proposed no architecture for {budget:g} ms")
            j = int(np.argmin(lat))
            return Pick(
                budget, uniq[j], float(counter([uniq[j]])[0]), float(lat[j]), counter.queries - before, 0
            )
        a, t, arch = max(pool, key=lambda x: (x[0], -x[1]))
        return Pick(budget, arch, a, t, counter.queries - before, len(feas))

