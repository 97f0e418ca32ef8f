"""Run NAG and every baseline on one platform and seed under the same query budgets.

Accuracy queries: every method starts from the same M-arch dataset (paid for: M queries) and the
predictor fitted on it, and ends through :meth:`SearchProblem.finish` (at most C more per budget).
Evaluator/predictor calls: NAG's generator is trained on ``iterations × K × N`` rewarded samples; a
per-budget method gets that total divided by the number of test budgets, per budget; NSGA-II, run once,
gets the whole total.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from nag.config import DatasetConfig, Params
from nag.method.acc_predictor import fit_accuracy_predictor
from nag.method.archdata import ArchDataset
from nag.method.budget import make_budgets
from nag.method.evaluator import train_evaluator
from nag.method.generator import train_generator
from nag.method.infer import generate_many, predictor_score
from nag.search import policy
from nag.search.evolution import evolution, random_search
from nag.search.nsga import nsga2
from nag.search.problem import Pick, SearchProblem

PER_BUDGET = ("mo_reward", "absolute_reward", "independent", "random", "evolution")
METHODS = ("nag", "pareto_no_accuracy", *PER_BUDGET, "nsga2")


def make_problem(platform, params: Params, seed: int) -> SearchProblem:
    data, _ = platform.make_dataset(DatasetConfig(params.dataset.train_size, seed))
    if len(data) > params.dataset.train_size:  # mbv3: the 16k archs -> a seeded M-sample (M queries)
        idx = np.sort(np.random.default_rng(seed).choice(len(data), params.dataset.train_size, replace=False))
        data = ArchDataset(data.space, [data.archs[i] for i in idx], data.acc[idx], data.lat[idx])
    predictor, _ = fit_accuracy_predictor(data.features, data.acc, (params.paper.predictor,), seed)
    return SearchProblem(platform.space, platform.latency, platform.accuracy, data, predictor,
                         params.infer.candidates, seed, cheapest=float(platform.cheapest))


def train_nag(problem: SearchProblem, params: Params, seed: int, k: int | None = None,
              no_accuracy: bool = False, progress: bool = False):
    """NAG's evaluator + generator over K budgets of the dataset's latency. ``no_accuracy``: the
    dominance rule with accuracy taken out (every arch equally accurate: paper Remark 1)."""
    data = problem.data
    if no_accuracy:
        data = ArchDataset(data.space, data.archs, np.full(len(data), float(np.median(data.acc))), data.lat)
    b = params.budgets
    budgets = make_budgets(data.lat, k or b.k, b.lo_pct, b.hi_pct)
    t0 = time.perf_counter()
    evaluator, _ = train_evaluator(data, budgets, replace(params.evaluator, seed=seed), progress)
    cfg = replace(params.generator.for_space(problem.space.name), seed=seed)
    gen, _ = train_generator(problem.space, evaluator, cfg, progress)
    return evaluator, gen, time.perf_counter() - t0


class _Clock:
    """Wall seconds of a block, and how many of them the accuracy oracle spent measuring (a supernet
    oracle has ``seconds``; a table lookup costs nothing): the search's own time is the difference."""

    def __init__(self, problem: SearchProblem) -> None:
        self.problem = problem

    def __enter__(self) -> _Clock:
        self.t0, self.q0 = time.perf_counter(), self._queried()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.t0
        self.query = self._queried() - self.q0

    def _queried(self) -> float:
        return float(getattr(self.problem.oracle, "seconds", 0.0))


def nag_picks(problem: SearchProblem, gen, budgets, params: Params, seed: int) -> tuple[list[Pick], _Clock]:
    """NAG's inference at ``budgets`` (queries counted); returns picks and the clock of the whole call."""
    counter = problem.counter()
    d = problem.data
    with _Clock(problem) as clock:
        choices = generate_many(
            gen,
            problem.space,
            budgets,
            problem.latency,
            replace(params.infer, seed=seed),
            predictor_score(problem.predictor, problem.space),
            counter,
            cheapest=float(np.min(d.lat)) if problem.cheapest is None else problem.cheapest,
        )
    acc = problem.oracle([c.arch for c in choices])
    return [Pick(c.budget, c.arch, float(a), float(c.latency), c.n_queried, c.n_feasible)
            for c, a in zip(choices, acc)], clock


def _timing(clocks: list[_Clock], n_budgets: int) -> dict:
    wall, query = sum(c.wall for c in clocks), sum(c.query for c in clocks)
    return {"seconds_per_budget": wall / n_budgets, "query_seconds_per_budget": query / n_budgets,
            "search_seconds_per_budget": (wall - query) / n_budgets}


def _per_budget(problem: SearchProblem, name: str, budget: float, samples: int, params: Params, seed: int,
                evaluator) -> tuple[list, dict]:
    if name == "random":
        return random_search(problem, budget, samples, seed)
    if name == "evolution":
        return evolution(problem, budget, samples, seed)
    reward = {"mo_reward": lambda: policy.mo_reward(problem, budget),
              "absolute_reward": lambda: policy.absolute_reward(problem, budget),
              "independent": lambda: policy.evaluator_reward(problem, evaluator, budget)}[name]()
    gen, stats = policy.train_for_budget(problem.space, reward, budget, samples, params.generator, seed=seed)
    return policy.sample_policy(gen, problem.space, params.infer.pool), {**stats, "policy": gen}


def run_all(platform, params: Params, budgets, seed: int, methods=METHODS, progress: bool = False) -> dict:
    """{method: {"picks": [Pick per budget], "seconds_per_budget", "queries", "samples"}} for one seed."""
    problem = make_problem(platform, params, seed)
    budgets = [float(b) for b in budgets]
    g = params.generator
    nag_samples = g.iterations * params.budgets.k * g.samples_per_budget
    per = nag_samples // len(budgets)
    out: dict[str, dict] = {}
    evaluator, gen, train_s = train_nag(problem, params, seed, progress=progress)
    counter_base = problem.counter().queries
    if "nag" in methods:
        picks, clock = nag_picks(problem, gen, budgets, params, seed)
        out["nag"] = {"picks": picks, **_timing([clock], len(budgets)), "train_seconds": train_s,
                      "samples": nag_samples, "generator": gen}
    if "pareto_no_accuracy" in methods:
        _, gen0, t0 = train_nag(problem, params, seed, no_accuracy=True, progress=progress)
        picks, clock = nag_picks(problem, gen0, budgets, params, seed)
        out["pareto_no_accuracy"] = {"picks": picks, **_timing([clock], len(budgets)), "train_seconds": t0,
                                     "samples": nag_samples, "generator": gen0}
    for name in [m for m in PER_BUDGET if m in methods]:
        picks, clocks, extra = [], [], {}
        for b in budgets:
            counter = problem.counter()
            with _Clock(problem) as clock:
                archs, stats = _per_budget(problem, name, b, per, params, seed, evaluator)
                picks.append(problem.finish(archs, b, counter))
            clocks.append(clock)
            if "policy" in stats:
                extra[b] = stats.pop("policy")
        out[name] = {"picks": picks, **_timing(clocks, len(budgets)), "samples": per * len(budgets),
                     "policies": extra}
    if "nsga2" in methods:
        with _Clock(problem) as clock:
            archs, stats = nsga2(problem, nag_samples, seed)
            picks = [problem.finish(archs, b, problem.counter()) for b in budgets]
        out["nsga2"] = {"picks": picks, **_timing([clock], len(budgets)), "run_seconds": clock.wall,
                        "samples": stats["samples"]}
    for rec in out.values():
        rec["queries"] = counter_base + sum(p.n_queried for p in rec["picks"])
    return out
