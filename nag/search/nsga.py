"""NSGA-II (pymoo), run once over (predicted accuracy, latency) for all budgets; each budget then takes
its best feasible members of the final population (through :meth:`SearchProblem.finish`)."""

from __future__ import annotations

import time

import numpy as np

from nag.search.problem import SearchProblem
from nag.spaces.base import Arch


def nsga2(
    problem: SearchProblem, samples: int, seed: int = 0, population: int = 100
) -> tuple[list[Arch], dict]:
    """Minimise (−predicted accuracy, latency) over the space's integer decisions with ``samples``
    evaluations; returns the final population (unique archs) and stats."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.optimize import minimize

    space = problem.space
    upper = np.asarray(space.vocab_sizes) - 1

    class Objectives(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=len(upper), n_obj=2, xl=np.zeros(len(upper)), xu=upper, vtype=int)

        def _evaluate(self, x, out, *args, **kwargs):
            toks = np.clip(np.rint(x), 0, upper).astype(np.int64)
            lat = problem.latency_tokens(toks)  # no network / never measured: the worst latency there is
            out["F"] = np.column_stack([-problem.predict_tokens(toks), np.where(np.isfinite(lat), lat, 1e9)])

    algo = NSGA2(pop_size=population, sampling=IntegerRandomSampling(),
                 crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                 mutation=PM(eta=20, vtype=float, repair=RoundingRepair()), eliminate_duplicates=True)
    t0 = time.perf_counter()
    res = minimize(Objectives(), algo, ("n_evals", samples), seed=seed, verbose=False)
    toks = np.clip(np.rint(res.pop.get("X")), 0, upper).astype(np.int64)
    archs = list({a.arch_id: a for a in (space.from_tokens(t) for t in toks)}.values())
    return archs, {"samples": int(res.algorithm.evaluator.n_eval), "generations": int(res.algorithm.n_gen),
                   "seconds": time.perf_counter() - t0}
