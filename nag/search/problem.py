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

from nag.archdata import ArchDataset, QueryCounter
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


@dataclass
class SearchProblem:
    space: SearchSpace
    latency: Callable[[Sequence[Arch]], np.ndarray]
    oracle: Callable[[Sequence[Arch]], np.ndarray]  # true accuracy: every distinct arch read is a query
    data: ArchDataset
    predictor: object  # scikit-learn regressor on space features
    candidates: int = 64  # C: accuracy queries per budget when finishing
    seed: int = 0
    predictor_calls: int = field(default=0, init=False)

    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        self.predictor_calls += len(archs)
        if not archs:
            return np.zeros(0)
        return np.asarray(self.predictor.predict(self.space.features_batch(archs)), dtype=np.float64)

    def predict_tokens(self, tokens: np.ndarray) -> np.ndarray:
        self.predictor_calls += len(tokens)
        return np.asarray(self.predictor.predict(self.space.features_from_tokens(tokens)), dtype=np.float64)

    def latency_tokens(self, tokens: np.ndarray) -> np.ndarray:
        return np.asarray(self.latency([self.space.from_tokens(t) for t in tokens]), dtype=np.float64)

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
            return Pick(budget, uniq[j], float(counter([uniq[j]])[0]), float(lat[j]), counter.queries - before, 0)
        a, t, arch = max(pool, key=lambda x: (x[0], -x[1]))
        return Pick(budget, arch, a, t, counter.queries - before, len(feas))

