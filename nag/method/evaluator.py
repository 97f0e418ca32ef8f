"""Architecture evaluator R(β | B; w) (paper §3.3): 3 fully-connected layers over
[architecture features ⊕ budget embedding], trained with a pairwise ranking loss against the
Pareto-dominance rule d(β1, β2, B).

Example::

    >>> ev = Evaluator(feature_dim=30, budgets=[1.0, 2.0], hidden=16)
    >>> ev(torch.zeros(4, 30), torch.tensor([1.0, 1.5, 2.0, 9.0])).shape
    torch.Size([4])
"""

from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from nag.config import EvaluatorConfig
from nag.method.archdata import ArchDataset
from nag.method.budget import BudgetEmbedding
from nag.method.pareto import dominance


class Evaluator(nn.Module):
    """R(β | B): features (N, F) and budgets (N,) in ms → scores (N,)."""

    def __init__(self, feature_dim: int, budgets, hidden: int = 256, embed_dim: int = 64,
                 one_hot: bool = False) -> None:
        super().__init__()
        self.budget = BudgetEmbedding(budgets, dim=embed_dim, one_hot=one_hot)
        self.net = nn.Sequential(
            nn.Linear(feature_dim + self.budget.dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, features: torch.Tensor, budget: torch.Tensor) -> torch.Tensor:
        return self.score_with(features, self.budget(budget))

    def score_with(self, features: torch.Tensor, budget_emb: torch.Tensor) -> torch.Tensor:
        """Scores given precomputed budget embeddings (N, D)."""
        return self.net(torch.cat([features, budget_emb], dim=1)).squeeze(1)

    def score_at_index(self, features: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Scores at trained budget indices ``k`` (N,)."""
        return self.score_with(features, self.budget.by_index(k))


def pair_loss(z: torch.Tensor, kind: str) -> torch.Tensor:
    """φ(z): hinge max(0, 1 − z) or logistic log(1 + e^{−z}); z = d · (R(βi) − R(βj))."""
    if kind == "hinge":
        return torch.clamp(1 - z, min=0).mean()
    if kind == "logistic":
        return nn.functional.softplus(-z).mean()
    raise ValueError(f"unknown evaluator loss {kind!r}; use 'hinge' or 'logistic'")


def _sample_pairs(rng: np.random.Generator, idx: np.ndarray, n: int, k: int,
                  feasible: list[np.ndarray] | None = None, share: float = 0.0):
    """``n`` pairs (i, j, budget index) over ``idx`` and all K budgets; with ``feasible`` (per
    budget, the indices within it), a ``share`` of the pairs draws both members from within the
    budget, so accuracy comparisons are not drowned by latency ones."""
    kk = rng.integers(k, size=n)
    i = rng.choice(idx, n)
    j = rng.choice(idx, n)
    if feasible is not None and share > 0:
        inner = np.flatnonzero(rng.random(n) < share)
        for b in np.unique(kk[inner]):
            rows = inner[kk[inner] == b]
            if len(feasible[b]) >= 2:
                i[rows] = rng.choice(feasible[b], len(rows))
                j[rows] = rng.choice(feasible[b], len(rows))
    keep = i != j
    return i[keep], j[keep], kk[keep]


def pairwise_agreement(model: Evaluator, data: ArchDataset, idx: np.ndarray, budgets: np.ndarray,
                       n_pairs: int, seed: int) -> float:
    """Share of random pairs (over all budgets) where sign(R(βi) − R(βj)) agrees with d."""
    rng = np.random.default_rng(seed)
    i, j, k = _sample_pairs(rng, idx, n_pairs, len(budgets))
    d = dominance(data.acc[i], data.lat[i], data.acc[j], data.lat[j], budgets[k])
    feats = torch.as_tensor(data.features)
    with torch.no_grad():
        kt = torch.as_tensor(k)
        diff = model.score_at_index(feats[i], kt) - model.score_at_index(feats[j], kt)
    # exact ties in d count as agreement when the scores tie too; they are rare with real data
    return float(np.mean(np.sign(diff.numpy()) == d))


def train_evaluator(data: ArchDataset, budgets: np.ndarray, cfg: EvaluatorConfig,
                    progress: bool = True) -> tuple[Evaluator, dict]:
    """Fit R on the dataset over all K budgets at once; returns the model and its metrics."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    budgets = np.asarray(budgets, dtype=np.float64)
    model = Evaluator(data.features.shape[1], budgets, cfg.hidden, cfg.embed_dim,
                      one_hot=cfg.budget_input == "onehot")
    if cfg.budget_input not in ("embedding", "onehot"):
        raise ValueError(f"unknown evaluator.budget_input {cfg.budget_input!r}")
    perm = rng.permutation(len(data))
    n_val = int(round(cfg.val_fraction * len(data))) if len(data) >= 20 else 0
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    feats = torch.as_tensor(data.features)
    within = [train_idx[data.lat[train_idx] <= b] for b in budgets]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.steps, 1))
    start = time.perf_counter()
    bar = tqdm(range(cfg.steps), desc="evaluator", disable=not progress, mininterval=1.0)
    losses = []
    for _ in bar:
        i, j, k = _sample_pairs(rng, train_idx, cfg.pairs_per_step, len(budgets), within,
                                cfg.within_budget_share)
        d = torch.as_tensor(dominance(data.acc[i], data.lat[i], data.acc[j], data.lat[j], budgets[k]),
                            dtype=torch.float32)
        kt = torch.as_tensor(k)
        z = d * (model.score_at_index(feats[i], kt) - model.score_at_index(feats[j], kt))
        loss = pair_loss(z, cfg.loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if len(losses) % 200 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-200:]):.4f}")
    model.eval()
    metrics = {
        "train_seconds": time.perf_counter() - start,
        "final_loss": float(np.mean(losses[-100:])) if losses else float("nan"),
        "train_pair_agreement": pairwise_agreement(model, data, train_idx, budgets, 20_000, cfg.seed + 1),
        "n_train": int(len(train_idx)),
        "n_val": int(len(val_idx)),
        "config": asdict(cfg),
    }
    if n_val >= 2:
        metrics["val_pair_agreement"] = pairwise_agreement(
            model, data, val_idx, budgets, 20_000, cfg.seed + 2
        )
    return model, metrics
