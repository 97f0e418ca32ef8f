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
    >>> choices[0].latency <= 1.8                                                          # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from nag.config import InferConfig
from nag.errors import BudgetError, NagError
from nag.method.sampler import Sampler
from nag.method.tokens import MLPScore, PredictorScore, keys
from nag.spaces.base import Arch, SearchSpace

LatencyFn = Callable[[Sequence[Arch]], np.ndarray]  # or a nag.method.tokens.TokenFn (fast)
ScoreFn = Callable[[Sequence[Arch], np.ndarray], np.ndarray]  # (archs, budget per arch) -> scores
AccuracyFn = Callable[[Sequence[Arch]], np.ndarray]


class InfeasibleError(NagError, RuntimeError):
    """No feasible candidate was sampled within the allowed rounds."""


@dataclass
class Choice:
    """What inference returns for one budget."""

    budget: float
    arch: Arch
    latency: float
    score: float  # the ranking score (evaluator reward or predicted accuracy)
    accuracy: float | None  # queried accuracy (None in zero-query mode)
    n_distinct: int  # distinct architectures sampled (all budgets of the call together)
    n_feasible: int  # of which within the budget
    n_queried: int  # accuracy queries spent on this budget
    rounds: int


def check_budget(
    budget: float, cheapest: float, platform: str = "this platform", cheapest_arch: str = ""
) -> float:
    """Refuse budgets that are not positive numbers or lie below the cheapest architecture (described by
    ``cheapest_arch`` when given)."""
    try:
        budget = float(budget)
    except (TypeError, ValueError):
        raise BudgetError(f"budget {budget!r} is not a number (milliseconds)") from None
    if not np.isfinite(budget) or budget <= 0:
        raise BudgetError(f"budget must be a positive number of milliseconds, got {budget}")
    if budget < cheapest:
        raise BudgetError(
            f"budget {budget:g} ms is below the cheapest architecture on {platform} "
            f"({cheapest:.4g} ms{', ' + cheapest_arch if cheapest_arch else ''}); ask for at least "
            f"{cheapest:.4g} ms"
        )
    return budget


class _Candidates:
    """Distinct sampled architectures of all budgets together (canonical token rows), with their latency:
    a sample drawn for one budget is a valid candidate for every budget it fits. Architectures are made
    only for what leaves (the picks) or for functions that speak architectures only."""

    def __init__(self, space: SearchSpace, latency_fn: LatencyFn) -> None:
        self.space, self.latency_fn = space, latency_fn
        self.tokens = np.zeros((0, space.num_decisions), dtype=np.int64)
        self.keys = keys(self.tokens)
        self.lat = np.zeros(0)

    def add_tokens(self, tokens: np.ndarray) -> None:
        canon = self.space.canonical_batch(tokens)  # equal networks are one candidate
        new_keys, first = np.unique(keys(canon), return_index=True)
        fresh = ~np.isin(new_keys, self.keys) if len(self.keys) else np.ones(len(first), dtype=bool)
        if not fresh.any():
            return
        rows = canon[np.sort(first[fresh])]
        self.tokens = np.concatenate([self.tokens, rows])
        self.keys = keys(self.tokens)
        self.lat = np.concatenate([self.lat, self.values(self.latency_fn, rows)])

    def arch(self, i: int) -> Arch:
        return Arch(self.space.name, tuple(int(t) for t in self.tokens[i]))

    def values(self, fn, rows: np.ndarray, *extra) -> np.ndarray:
        """``fn`` of token rows: on the rows themselves where it can, else on their architectures."""
        if hasattr(fn, "on_tokens"):
            return np.asarray(fn.on_tokens(rows, *extra), dtype=np.float64)
        archs = [Arch(self.space.name, tuple(int(t) for t in r)) for r in rows]
        return np.asarray(fn(archs, *extra), dtype=np.float64)


def as_sampler(gen) -> Sampler:
    """The numpy sampler of a generator (a ``nag.method.generator.Generator`` is read as it is now: well under
    a millisecond; hold the :class:`Sampler` to skip even that)."""
    return gen if isinstance(gen, Sampler) else Sampler.from_generator(gen)


def _conditions(budgets: Sequence[float], per_budget: int, widen: float) -> np.ndarray:
    """The budget each sample is drawn at: ``per_budget`` per budget, half at B·(1 + widen) if widen > 0."""
    n_at_b = per_budget if widen <= 0 else per_budget - per_budget // 2
    return np.concatenate([np.r_[np.full(n_at_b, b), np.full(per_budget - n_at_b, b * (1 + widen))]
                           for b in budgets])


def generate_many(gen, space: SearchSpace, budgets: Sequence[float], latency_fn: LatencyFn,
                  cfg: InferConfig, score_fn: ScoreFn, accuracy_fn: AccuracyFn | None = None,
                  cheapest: float = 0.0, platform: str = "this platform", cheapest_arch: str = "",
                  known: tuple[Sequence[Arch], np.ndarray, np.ndarray] | None = None,
                  known_margin: float = 0.0) -> list[Choice]:
    """Best architecture for each budget (all budgets are checked before any work is done). ``gen`` is a
    :class:`~nag.method.sampler.Sampler` or a trained ``nag.method.generator.Generator``; latency and score
    functions that have ``on_tokens`` (:mod:`nag.method.tokens`) are called on token rows, others on
    architectures.

    Each budget draws ``pool`` samples, or fewer when many budgets are asked at once (at most
    ``max_total_samples`` in all, never under ``candidates``); candidates are shared by all budgets.

    ``known`` = (archs, accuracy, latency) already measured (the architecture dataset): its
    feasible members compete with the sampled candidates at no query cost. In zero-query mode a
    known architecture's measured accuracy stands in for the score, so they compete only when the
    score is an accuracy estimate (``rank_by=predictor``); a sampled candidate then wins only if its
    predicted accuracy beats the best known one by ``known_margin`` (the predictor's error: the
    argmax of a prediction over many candidates is biased upwards — the winner's curse)."""
    if accuracy_fn is None and not getattr(score_fn, "is_accuracy", False):
        known = None  # evaluator rewards are not on the accuracy scale
    margin = known_margin if accuracy_fn is None else 0.0
    budgets = [check_budget(b, cheapest, platform, cheapest_arch) for b in budgets]
    per_budget = max(cfg.candidates, min(cfg.pool, cfg.max_total_samples // max(len(budgets), 1)))
    sampler, rng = as_sampler(gen), np.random.default_rng(cfg.seed)
    cand = _Candidates(space, latency_fn)
    todo, rounds = list(budgets), 0
    while todo and rounds < cfg.max_rounds:
        rounds += 1
        cand.add_tokens(sampler.sample(_conditions(todo, per_budget, cfg.widen), rng))
        cheapest_found = cand.lat.min() if len(cand.lat) else np.inf
        todo = [b for b in budgets if b < cheapest_found]
    todo = [b for b in todo if _best_known(known, b) is None]
    if todo:
        raise InfeasibleError(
            f"no sampled architecture met {todo[0]:g} ms in {cfg.max_rounds} rounds of "
            f"{per_budget} samples on {platform}; raise the budget or retrain the generator"
        )
    budget_free = getattr(score_fn, "budget_free", False)
    if budget_free:  # score each distinct architecture that fits some budget once, rank once, for all
        useful = np.flatnonzero(cand.lat <= max(budgets))  # the rest can never be picked
        shared = np.full(len(cand.tokens), -np.inf)
        if len(useful):
            shared[useful] = cand.values(score_fn, cand.tokens[useful], np.zeros(len(useful)))
        by_score = useful[np.argsort(-shared[useful], kind="stable")]
        lat_by_score = cand.lat[by_score]
    take = 1 if accuracy_fn is None else cfg.candidates
    choices = []
    for b in budgets:
        if budget_free:  # the feasible ones in score order: the same order a sort of them alone gives
            fits = np.flatnonzero(lat_by_score <= b)
            n_feasible, top = len(fits), by_score[fits[:take]]
            top_scores = shared[top]
        else:
            feas = np.flatnonzero(cand.lat <= b)
            scores = cand.values(score_fn, cand.tokens[feas], np.full(len(feas), b)) if len(feas) else feas
            order = np.argsort(-scores, kind="stable")[:take]
            n_feasible, top, top_scores = len(feas), feas[order], scores[order]
        if n_feasible == 0:  # only an already-measured architecture fits this budget
            i = _best_known(known, b)
            acc = float(known[1][i])
            choices.append(
                Choice(b, known[0][i], float(known[2][i]), acc, acc, len(cand.tokens), 0, 0, rounds)
            )
            continue
        if accuracy_fn is None:
            j, acc, n_q = 0, None, 0
            value = float(top_scores[0]) - margin
        else:
            accs = np.asarray(accuracy_fn([cand.arch(i) for i in top]), dtype=np.float64)
            j, acc, n_q = int(np.argmax(accs)), float(accs.max()), len(top)
            value = acc
        choice = Choice(b, cand.arch(top[j]), float(cand.lat[top[j]]), float(top_scores[j]), acc,
                        len(cand.tokens), n_feasible, n_q, rounds)
        i = _best_known(known, b)
        if i is not None and known[1][i] > value:  # an already-measured architecture is better
            acc = float(known[1][i])
            choice = replace(choice, arch=known[0][i], latency=float(known[2][i]), score=acc, accuracy=acc)
        choices.append(choice)
    return choices


def _best_known(known: tuple[Sequence[Arch], np.ndarray, np.ndarray] | None, budget: float) -> int | None:
    """Index of the most accurate already-measured architecture within ``budget`` (None if none)."""
    if known is None:
        return None
    fits = np.flatnonzero(np.asarray(known[2]) <= budget)
    return int(fits[np.argmax(np.asarray(known[1])[fits])]) if len(fits) else None


def evaluator_score(evaluator, space: SearchSpace) -> MLPScore:
    """Score candidates by the evaluator's R(α | B) (a trained evaluator, as arrays)."""
    def a(t):
        return t.detach().cpu().numpy().astype(np.float32)

    layers = [(np.ascontiguousarray(a(m.weight).T), a(m.bias)) for m in evaluator.net if hasattr(m, "weight")]
    return MLPScore(space, evaluator.budget.budgets.detach().cpu().numpy(), a(evaluator.budget.table), layers)


def predictor_score(predictor, space: SearchSpace) -> PredictorScore:
    """Score candidates by an accuracy predictor's estimate (budget-independent)."""
    return PredictorScore(space, predictor)


def make_score(rank_by: str, evaluator, predictor, space: SearchSpace) -> ScoreFn:
    """The candidate ranking named by ``infer.rank_by``."""
    if rank_by == "evaluator":
        return evaluator_score(evaluator, space)
    if rank_by == "predictor":
        if predictor is None:
            raise ValueError("infer.rank_by=predictor needs an accuracy predictor; none was trained")
        return predictor_score(predictor, space)
    raise ValueError(f"unknown infer.rank_by {rank_by!r}; use evaluator or predictor")
