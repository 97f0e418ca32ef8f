"""Per-budget random search and regularised evolution (once-for-all's finder), both scored by the
accuracy predictor and rejecting infeasible architectures.

Evolution, as once-for-all's ``EvolutionFinder``: a population of ``population`` feasible archs; each
generation keeps the best ``parent_ratio`` as parents and refills the rest half with mutations (each
decision resampled with probability ``mutate_prob``) and half with uniform crossovers of two parents;
infeasible children are rejected and redrawn.
"""

from __future__ import annotations

import time

import numpy as np

from nag.search.problem import SearchProblem
from nag.spaces.base import Arch


def _feasible_random(problem: SearchProblem, rng: np.random.Generator, n: int, budget: float,
                     max_draws: int) -> tuple[list[Arch], int]:
    """Up to ``n`` uniformly random archs within ``budget`` (at most ``max_draws`` drawn)."""
    out: list[Arch] = []
    drawn = 0
    while len(out) < n and drawn < max_draws:
        batch = problem.space.sample(min(4 * n, max_draws - drawn), seed=rng)
        drawn += len(batch)
        lat = problem.latency(batch)
        out += [a for a, t in zip(batch, lat) if t <= budget]
    return out[:n], drawn


def random_search(
    problem: SearchProblem, budget: float, samples: int, seed: int = 0
) -> tuple[list[Arch], dict]:
    """``samples`` predictor-scored random archs; infeasible draws are rejected (and not scored)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    feas, drawn = _feasible_random(problem, rng, samples, budget, max_draws=20 * samples)
    problem.predict(feas)  # the scoring this method pays for (finish ranks them again)
    return feas, {"samples": len(feas), "drawn": drawn, "seconds": time.perf_counter() - t0}


def _mutate(problem: SearchProblem, rng: np.random.Generator, tokens: np.ndarray, prob: float) -> np.ndarray:
    child = tokens.copy()
    for t, v in enumerate(problem.space.vocab_sizes):
        if rng.random() < prob:
            child[t] = rng.integers(v)
    return child


def evolution(problem: SearchProblem, budget: float, samples: int, seed: int = 0, population: int = 100,
              parent_ratio: float = 0.25, mutation_ratio: float = 0.5, mutate_prob: float = 0.1,
              max_tries: int = 50) -> tuple[list[Arch], dict]:
    """Regularised evolution for one budget until ``samples`` archs were scored; returns every scored
    feasible arch (the history: finish picks from it) and stats."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    space = problem.space
    pop, _ = _feasible_random(problem, rng, population, budget, max_draws=200 * population)
    if not pop:
        return [], {"samples": 0, "generations": 0, "seconds": time.perf_counter() - t0}
    fit = problem.predict(pop)
    history = list(pop)
    scored = len(pop)
    n_parents = max(2, int(round(parent_ratio * population)))
    n_mut = int(round(mutation_ratio * population))
    generations = 0
    while scored < samples:
        order = np.argsort(-fit, kind="stable")[:n_parents]
        parents = [pop[i] for i in order]
        children: list[Arch] = []
        for want, kind in ((n_mut, "mutate"), (population - n_parents - n_mut, "crossover")):
            made = 0
            while made < max(want, 0):
                for _ in range(max_tries):
                    if kind == "mutate":
                        parent = parents[rng.integers(len(parents))]
                        toks = _mutate(problem, rng, np.asarray(parent.tokens), mutate_prob)
                    else:
                        a, b = (
                            np.asarray(parents[i].tokens) for i in rng.choice(len(parents), 2, replace=False)
                        )
                        toks = np.where(rng.random(len(a)) < 0.5, a, b)
                    child = space.from_tokens(toks)
                    if problem.latency([child])[0] <= budget:
                        children.append(child)
                        break
                made += 1
        child_fit = problem.predict(children)
        scored += len(children)
        history += children
        pop = parents + children
        fit = np.concatenate([fit[order], child_fit])
        generations += 1
    return history, {"samples": scored, "generations": generations, "seconds": time.perf_counter() - t0}
