"""Inference (paper §3.5): sample candidates from π(·|B), keep the feasible ones, return the best.

Accuracy of a candidate is a *query* (the supernet in the mbv3 pipeline, the benchmark table in
NB201 mode) and is counted. Two modes:

- querying: of the distinct feasible candidates, the ``candidates`` (C) ranked highest by the
  score function are queried and the most accurate is returned. With ``pool == candidates`` and
  ``widen == 0`` this is the paper's procedure exactly (every feasible sample is queried);
- zero-query (``accuracy_fn=None``): the candidate ranked highest by the score is returned.

``widen`` > 0 draws half of each pool at B·(1 + widen): proposals just past the budget are
filtered by the exact latency model, so this only adds near-boundary candidates, where the most
accurate feasible architecture usually lies and where the learned reward is least sure.

All budgets are sampled in one batch, so many budgets cost little more than one.

Example::

    >>> choices = generate_many(gen, space, [1.8, 2.5], latency_fn, InferConfig(), score_fn)  # doctest: +SKIP
    >>> choices[0].latency <= 1.8                                                              # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nag.budget import BudgetError
from nag.config import InferConfig
from nag.generator import Generator
from nag.spaces.base import Arch, SearchSpace

LatencyFn = Callable[[Sequence[Arch]], np.ndarray]
ScoreFn = Callable[[Sequence[Arch], np.ndarray], np.ndarray]  # (archs, budget per arch) -> scores
AccuracyFn = Callable[[Sequence[Arch]], np.ndarray]


class InfeasibleError(RuntimeError):
    """No feasible candidate was sampled within the allowed rounds."""


@dataclass
class Choice:
    """What inference returns for one budget."""

    budget: float
    arch: Arch
    latency: float
    score: float  # the ranking score (evaluator reward or predicted accuracy)
    accuracy: float | None  # queried accuracy (None in zero-query mode)
    n_distinct: int  # distinct architectures sampled
    n_feasible: int  # of which within the budget
    n_queried: int  # accuracy queries spent on this budget
    rounds: int


def check_budget(budget: float, cheapest: float, platform: str = "this platform") -> float:
    """Refuse budgets that are not positive numbers or lie below the cheapest architecture."""
    try:
        budget = float(budget)
    except (TypeError, ValueError):
        raise BudgetError(f"budget {budget!r} is not a number (milliseconds)") from None
    if not np.isfinite(budget) or budget <= 0:
        raise BudgetError(f"budget must be a positive number of milliseconds, got {budget}")
    if budget < cheapest:
        raise BudgetError(
            f"budget {budget:g} ms is below the cheapest architecture on {platform} "
            f"({cheapest:.4g} ms); ask for at least {cheapest:.4g} ms"
        )
    return budget


class _Pool:
    """Distinct samples and feasible candidates gathered for one budget."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.seen: set[tuple[int, ...]] = set()
        self.feasible: list[tuple[Arch, float]] = []
        self.rounds = 0


@torch.no_grad()
def _sample_round(gen: Generator, space: SearchSpace, pools: list[_Pool], cfg: InferConfig,
                  latency_fn: LatencyFn, cache: dict[tuple[int, ...], Arch]) -> None:
    n_at_b = cfg.pool if cfg.widen <= 0 else cfg.pool - cfg.pool // 2
    cond = []
    for p in pools:
        cond += [p.budget] * n_at_b + [p.budget * (1 + cfg.widen)] * (cfg.pool - n_at_b)
    tokens = gen.sample(torch.tensor(cond)).tokens.numpy().reshape(len(pools), cfg.pool, -1)
    fresh: list[tuple[_Pool, Arch]] = []
    for p, rows in zip(pools, tokens):
        p.rounds += 1
        for row in np.unique(rows, axis=0):
            key = tuple(row.tolist())
            arch = cache.get(key)
            if arch is None:
                arch = cache[key] = space.from_tokens(key)
            if arch.tokens not in p.seen:  # canonical tokens: equal networks counted once
                p.seen.add(arch.tokens)
                fresh.append((p, arch))
    if fresh:
        lat = latency_fn([a for _, a in fresh])
        for (p, arch), c in zip(fresh, lat):
            if c <= p.budget:
                p.feasible.append((arch, float(c)))


def generate_many(gen: Generator, space: SearchSpace, budgets: Sequence[float], latency_fn: LatencyFn,
                  cfg: InferConfig, score_fn: ScoreFn, accuracy_fn: AccuracyFn | None = None,
                  cheapest: float = 0.0, platform: str = "this platform",
                  known: tuple[Sequence[Arch], np.ndarray, np.ndarray] | None = None,
                  known_margin: float = 0.0) -> list[Choice]:
    """Best architecture for each budget (all budgets are checked before any work is done).

    ``known`` = (archs, accuracy, latency) already measured (the architecture dataset): its
    feasible members compete with the sampled candidates at no query cost. In zero-query mode a
    known architecture's measured accuracy stands in for the score, which therefore must be an
    accuracy estimate (``rank_by=predictor``); a sampled candidate then wins only if its predicted
    accuracy beats the best known one by ``known_margin`` (the predictor's error: the argmax of a
    prediction over many candidates is biased upwards — the winner's curse)."""
    pools = [_Pool(check_budget(b, cheapest, platform)) for b in budgets]
    torch.manual_seed(cfg.seed)
    cache: dict[tuple[int, ...], Arch] = {}
    todo = pools
    for _ in range(cfg.max_rounds):
        _sample_round(gen, space, todo, cfg, latency_fn, cache)
        todo = [p for p in pools if not p.feasible]
        if not todo:
            break
    if todo and known is not None:  # nothing sampled fits: an already-measured architecture may
        for p in todo:
            fits = np.flatnonzero(np.asarray(known[2]) <= p.budget)
            if len(fits):
                i = int(fits[np.argmax(np.asarray(known[1])[fits])])
                p.feasible.append((known[0][i], float(known[2][i])))
        todo = [p for p in todo if not p.feasible]
    if todo:
        raise InfeasibleError(
            f"no sampled architecture met {todo[0].budget:g} ms in {cfg.max_rounds} rounds of "
            f"{cfg.pool} samples on {platform}; raise the budget or retrain the generator"
        )
    all_archs = [a for p in pools for a, _ in p.feasible]
    all_budgets = np.concatenate([np.full(len(p.feasible), p.budget) for p in pools])
    if getattr(score_fn, "budget_free", False):  # score each distinct architecture once
        uniq = {a.arch_id: a for a in all_archs}
        by_id = dict(zip(uniq, np.asarray(score_fn(list(uniq.values()), all_budgets[: len(uniq)]))))
        all_scores = np.array([by_id[a.arch_id] for a in all_archs], dtype=np.float64)
    else:
        all_scores = np.asarray(score_fn(all_archs, all_budgets), dtype=np.float64)
    choices, start = [], 0
    for p in pools:
        n = len(p.feasible)
        scores = all_scores[start : start + n]
        start += n
        order = np.argsort(-scores, kind="stable")
        if accuracy_fn is None:
            best, acc, n_q = int(order[0]), None, 0
            value = float(scores[best]) - known_margin
        else:
            top = order[: cfg.candidates]
            accs = np.asarray(accuracy_fn([p.feasible[i][0] for i in top]), dtype=np.float64)
            best, acc, n_q = int(top[int(np.argmax(accs))]), float(accs.max()), len(top)
            value = acc
        arch, lat = p.feasible[best]
        choice = Choice(p.budget, arch, lat, float(scores[best]), acc, len(p.seen), n, n_q, p.rounds)
        if known is not None:
            choice = _prefer_known(choice, known, value)
        choices.append(choice)
    return choices


def _prefer_known(choice: Choice, known: tuple[Sequence[Arch], np.ndarray, np.ndarray], value: float) -> Choice:
    """Swap in the best already-measured feasible architecture when it beats ``value``."""
    archs, acc, lat = known
    fits = np.flatnonzero(np.asarray(lat) <= choice.budget)
    if len(fits) == 0:
        return choice
    i = int(fits[np.argmax(np.asarray(acc)[fits])])
    if acc[i] <= value:
        return choice
    return Choice(choice.budget, archs[i], float(lat[i]), float(acc[i]), float(acc[i]), choice.n_distinct,
                  choice.n_feasible, choice.n_queried, choice.rounds)


def evaluator_score(evaluator, space: SearchSpace) -> ScoreFn:
    """Score candidates by the evaluator's R(α | B)."""

    @torch.no_grad()
    def score(archs: Sequence[Arch], budgets: np.ndarray) -> np.ndarray:
        feats = torch.as_tensor(space.features_batch(archs))
        return evaluator(feats, torch.as_tensor(budgets, dtype=torch.float32)).numpy()

    return score


def predictor_score(predictor, space: SearchSpace) -> ScoreFn:
    """Score candidates by an accuracy predictor's estimate (budget-independent)."""

    def score(archs: Sequence[Arch], budgets: np.ndarray) -> np.ndarray:
        return predictor.predict(space.features_batch(archs))

    score.budget_free = True
    return score


def make_score(rank_by: str, evaluator, predictor, space: SearchSpace) -> ScoreFn:
    """The candidate ranking named by ``infer.rank_by``."""
    if rank_by == "evaluator":
        return evaluator_score(evaluator, space)
    if rank_by == "predictor":
        if predictor is None:
            raise ValueError("infer.rank_by=predictor needs an accuracy predictor; none was trained")
        return predictor_score(predictor, space)
    raise ValueError(f"unknown infer.rank_by {rank_by!r}; use evaluator or predictor")
