"""Per-budget policy-gradient search: the NAG generator (same LSTM, REINFORCE, moving-average baseline,
entropy bonus) trained for ONE budget with a given reward. Baselines 1, 2 and 4 are this with the
MnasNet reward, the TuNAS absolute reward, and NAG's own evaluator reward.

Example::

    >>> reward = mo_reward(problem, budget=5.0)                                  # doctest: +SKIP
    >>> gen, stats = train_for_budget(problem.space, reward, 5.0, samples=24_000) # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from nag.config import GeneratorConfig
from nag.method.generator import Generator
from nag.search.problem import SearchProblem
from nag.spaces.base import Arch, SearchSpace

Reward = Callable[[np.ndarray], np.ndarray]  # tokens (N, T) -> reward (N,)

MNAS_W = -0.07  # MnasNet: acc × (lat/B)^w
TUNAS_BETA = -0.07  # TuNAS: acc + β |lat/B − 1|


NO_NETWORK = 10.0  # a cell with no latency (no input-output path, or never measured) is rewarded as 10 B


def _latency(problem: SearchProblem, tokens: np.ndarray, budget: float) -> np.ndarray:
    lat = problem.latency_tokens(tokens)
    return np.where(np.isfinite(lat), lat, NO_NETWORK * budget)


def mo_reward(problem: SearchProblem, budget: float, w: float = MNAS_W) -> Reward:
    """Multi-objective reward (MnasNet): predicted accuracy × (latency / B)^w."""
    def reward(tokens: np.ndarray) -> np.ndarray:
        return problem.predict_tokens(tokens) * (_latency(problem, tokens, budget) / budget) ** w
    return reward


def absolute_reward(problem: SearchProblem, budget: float, beta: float = TUNAS_BETA) -> Reward:
    """Absolute reward (TuNAS): predicted accuracy + β |latency / B − 1|."""
    def reward(tokens: np.ndarray) -> np.ndarray:
        return problem.predict_tokens(tokens) + beta * 100.0 * np.abs(
            _latency(problem, tokens, budget) / budget - 1
        )

    return reward


def evaluator_reward(problem: SearchProblem, evaluator, budget: float) -> Reward:
    """NAG's evaluator R(α | B) at this one budget (repeated independent search)."""
    def reward(tokens: np.ndarray) -> np.ndarray:
        problem.predictor_calls += len(tokens)
        feats = torch.as_tensor(problem.space.features_from_tokens(tokens))
        with torch.no_grad():
            return evaluator(feats, torch.full((len(tokens),), float(budget))).numpy().astype(np.float64)
    return reward


def train_for_budget(space: SearchSpace, reward: Reward, budget: float, samples: int, cfg: GeneratorConfig,
                     batch: int = 80, seed: int = 0) -> tuple[Generator, dict]:
    """REINFORCE one budget's policy on ``samples`` rewarded architectures (``batch`` per step): the
    same generator and update as NAG, rewards standardised per step."""
    torch.manual_seed(seed)
    gen = Generator(space.vocab_sizes, [budget, 2 * budget], cfg.hidden, cfg.embed_dim)
    opt = torch.optim.Adam(gen.parameters(), lr=cfg.lr)
    idx = torch.zeros(batch, dtype=torch.long)
    baseline, scale = None, None
    t0 = time.perf_counter()
    steps = max(1, samples // batch)
    for _ in range(steps):
        out = gen.sample_at_index(idx)
        r = torch.as_tensor(reward(out.tokens.numpy()), dtype=torch.float32)
        if scale is None:
            scale = float(r.std()) + 1e-6  # first batch fixes the reward scale (λ means the same everywhere)
        r = r / scale
        m = float(r.mean())
        baseline = (
            m if baseline is None else cfg.baseline_momentum * baseline + (1 - cfg.baseline_momentum) * m
        )
        loss = -((r - baseline) * out.log_prob).mean() - cfg.entropy * out.entropy.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    gen.eval()
    return gen, {"steps": steps, "samples": steps * batch, "seconds": time.perf_counter() - t0}


def sample_policy(gen: Generator, space: SearchSpace, n: int) -> list[Arch]:
    """``n`` architectures from a per-budget policy (trained budget index 0)."""
    with torch.no_grad():
        toks = gen.sample_at_index(torch.zeros(n, dtype=torch.long)).tokens.numpy()
    return [space.from_tokens(t) for t in toks]
