"""Budget-conditioned architecture generator f(B; θ) (paper §3.2, §3.4).

An LSTM reads the budget embedding g(B) as its first input and emits the space's decisions one by
one: at step t a softmax head for decision t, the chosen token's embedding fed back as the next
input. Trained with REINFORCE over all K budgets at once, reward R(α | B_k; w) from the evaluator,
a per-budget moving-average baseline and an entropy bonus.

Example::

    >>> gen = Generator(vocab_sizes=(5, 5, 5), budgets=[1.0, 2.0], hidden=8)
    >>> out = gen.sample(torch.tensor([1.5, 1.5]))
    >>> out.tokens.shape, out.log_prob.shape
    (torch.Size([2, 3]), torch.Size([2]))
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from nag.config import GeneratorConfig
from nag.method.budget import BudgetEmbedding
from nag.method.evaluator import Evaluator
from nag.spaces.base import SearchSpace


class Sample(NamedTuple):
    tokens: torch.Tensor  # (N, T) int64
    log_prob: torch.Tensor  # (N,)
    entropy: torch.Tensor  # (N,) summed over decisions


class Generator(nn.Module):
    """π(α | B): an LSTMCell over decisions, conditioned on g(B) at the first step."""

    def __init__(self, vocab_sizes, budgets, hidden: int = 64, embed_dim: int = 64) -> None:
        super().__init__()
        self.vocab_sizes = tuple(int(v) for v in vocab_sizes)
        self.budget = BudgetEmbedding(budgets, dim=embed_dim)
        self.cell = nn.LSTMCell(embed_dim, hidden)
        self.token_embed = nn.ModuleList(nn.Embedding(v, embed_dim) for v in self.vocab_sizes)
        self.heads = nn.ModuleList(nn.Linear(hidden, v) for v in self.vocab_sizes)

    def _run(self, budget_emb: torch.Tensor) -> Sample:
        n = budget_emb.shape[0]
        h = budget_emb.new_zeros(n, self.cell.hidden_size)
        c = torch.zeros_like(h)
        x = budget_emb  # step 0 input: g(B), (N, E)
        tokens, logp, ent = [], budget_emb.new_zeros(n), budget_emb.new_zeros(n)
        for t, head in enumerate(self.heads):
            h, c = self.cell(x, (h, c))
            logits = head(h)  # (N, V_t)
            log_probs = torch.log_softmax(logits, dim=1)
            tok = torch.multinomial(log_probs.exp(), 1).squeeze(1)
            logp = logp + log_probs.gather(1, tok[:, None]).squeeze(1)
            ent = ent - (log_probs.exp() * log_probs).sum(dim=1)
            tokens.append(tok)
            x = self.token_embed[t](tok)
        return Sample(torch.stack(tokens, dim=1), logp, ent)

    def sample(self, budget: torch.Tensor) -> Sample:
        """Sample one architecture per entry of ``budget`` (ms, shape (N,))."""
        return self._run(self.budget(budget))

    def sample_at_index(self, k: torch.Tensor) -> Sample:
        """Sample at trained budget indices ``k`` (N,)."""
        return self._run(self.budget.by_index(k))


def _reward_scale(evaluator: Evaluator, space: SearchSpace, k: int, seed: int) -> np.ndarray:
    """Per-budget std of R over random architectures: rewards are divided by it so λ and the
    learning rate mean the same thing whatever the evaluator's output scale."""
    archs = space.sample(512, seed=seed)
    feats = torch.as_tensor(space.features_batch(archs))
    scales = []
    with torch.no_grad():
        for b in range(k):
            r = evaluator.score_at_index(feats, torch.full((len(archs),), b))
            scales.append(float(r.std()) + 1e-6)
    return np.asarray(scales)


def train_generator(space: SearchSpace, evaluator: Evaluator, cfg: GeneratorConfig,
                    progress: bool = True) -> tuple[Generator, dict]:
    """REINFORCE over all K budgets at once: each iteration samples N architectures per budget."""
    if cfg.baseline not in ("moving_average", "none"):
        raise ValueError(f"unknown generator.baseline {cfg.baseline!r}; use 'moving_average' or 'none'")
    torch.manual_seed(cfg.seed)
    budgets = evaluator.budget.budgets.numpy()
    k = len(budgets)
    gen = Generator(space.vocab_sizes, budgets, cfg.hidden, cfg.embed_dim)
    opt = torch.optim.Adam(gen.parameters(), lr=cfg.lr)
    scale = torch.as_tensor(_reward_scale(evaluator, space, k, cfg.seed), dtype=torch.float32)
    baseline = torch.zeros(k)
    have_baseline = torch.zeros(k, dtype=torch.bool)
    budget_idx = torch.arange(k).repeat_interleave(cfg.samples_per_budget)  # (K·N,)
    history = []
    start = time.perf_counter()
    evaluator.eval()
    bar = tqdm(range(cfg.iterations), desc="generator", disable=not progress, mininterval=1.0)
    for _ in bar:
        out = gen.sample_at_index(budget_idx)
        with torch.no_grad():
            feats = torch.as_tensor(space.features_from_tokens(out.tokens.numpy()))
            reward = evaluator.score_at_index(feats, budget_idx) / scale[budget_idx]
            mean_r = torch.zeros(k).index_add_(0, budget_idx, reward) / cfg.samples_per_budget
            if cfg.baseline == "moving_average":
                m = cfg.baseline_momentum
                baseline = torch.where(have_baseline, m * baseline + (1 - m) * mean_r, mean_r)
                have_baseline[:] = True
                adv = reward - baseline[budget_idx]
            else:
                adv = reward
        loss = -(adv * out.log_prob).mean() - cfg.entropy * out.entropy.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append((reward.mean().item(), out.entropy.mean().item()))
        if len(history) % 100 == 0:
            r, e = np.mean(history[-100:], axis=0)
            bar.set_postfix(reward=f"{r:.3f}", entropy=f"{e:.2f}")
    gen.eval()
    last = np.asarray(history[-100:]) if history else np.full((1, 2), np.nan)
    metrics = {
        "train_seconds": time.perf_counter() - start,
        "final_reward": float(last[:, 0].mean()),
        "final_entropy": float(last[:, 1].mean()),
        "config": asdict(cfg),
    }
    return gen, metrics
