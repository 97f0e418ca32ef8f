"""Budget grid and the learnable budget embedding g(B) with the paper's linear interpolation.

Example::

    >>> import torch
    >>> emb = BudgetEmbedding([1.0, 2.0, 3.0], dim=4)
    >>> mid = emb(torch.tensor([1.5]))
    >>> torch.allclose(mid, 0.5 * emb.table[0] + 0.5 * emb.table[1])
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from nag.errors import BudgetError  # noqa: F401  (re-exported)
from nag.method.sampler import interpolation_weights as _weights


def make_budgets(latencies: np.ndarray, k: int, lo_pct: float, hi_pct: float) -> np.ndarray:
    """K budgets evenly spaced between two percentiles of the dataset's (finite) latencies."""
    lat = np.asarray(latencies, dtype=np.float64)
    lat = lat[np.isfinite(lat)]  # a table's cells that are no network (infinite latency) are never budgets
    if k < 2:
        raise ValueError(f"need at least 2 budgets, got K={k}")
    if not 0 <= lo_pct < hi_pct <= 100:
        raise ValueError(f"budget percentiles must satisfy 0 <= lo < hi <= 100, got {lo_pct}, {hi_pct}")
    lo, hi = np.percentile(lat, [lo_pct, hi_pct])
    if not hi > lo:
        raise ValueError(f"latency range is empty ({lo} .. {hi}); cannot space {k} budgets")
    return np.linspace(lo, hi, k)


def interpolation_weights(budgets: Sequence[float], query: torch.Tensor) -> torch.Tensor:
    """Weights ``(len(query), K)`` mixing adjacent trained budgets (the numpy serving path's
    :func:`nag.method.sampler.interpolation_weights`, as a tensor): ξ on B_k and 1 − ξ on B_{k+1},
    ξ = (B_{k+1} − B)/(B_{k+1} − B_k); clamped to the first/last budget outside the grid."""
    q = query.detach().to("cpu", torch.float64).numpy()
    return torch.as_tensor(_weights(np.asarray(budgets, dtype=np.float64), q), dtype=torch.float32)


class BudgetEmbedding(nn.Module):
    """K learnable vectors, one per trained budget; any budget in between is interpolated.

    With ``one_hot=True`` the vectors are fixed one-hots (the authors' released code; ablation).
    """

    def __init__(self, budgets: Sequence[float], dim: int = 64, one_hot: bool = False) -> None:
        super().__init__()
        b = np.asarray(budgets, dtype=np.float64)
        if b.ndim != 1 or len(b) < 2 or not np.all(np.diff(b) > 0):
            raise ValueError("budgets must be a strictly increasing list of at least 2 values")
        self.register_buffer("budgets", torch.as_tensor(b, dtype=torch.float64))
        self.one_hot = one_hot
        if one_hot:
            self.register_buffer("table", torch.eye(len(b)))
        else:
            self.table = nn.Parameter(torch.randn(len(b), dim) * 0.1)

    @property
    def dim(self) -> int:
        return self.table.shape[1]

    @property
    def k(self) -> int:
        return len(self.budgets)

    def forward(self, budget: torch.Tensor) -> torch.Tensor:
        """``budget``: (N,) milliseconds → (N, dim) embeddings."""
        w = interpolation_weights(self.budgets.tolist(), budget).to(self.table.device)
        return w @ self.table

    def by_index(self, idx: torch.Tensor) -> torch.Tensor:
        """Embeddings of trained budgets by index: (N,) → (N, dim)."""
        return self.table[idx]
