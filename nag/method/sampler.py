"""The generator π(α | B) sampled in numpy: the trained LSTMCell's weights, nothing of torch.

Two things make it fast without changing the distribution: the input projection of every token
embedding is precomputed (a table lookup per step instead of a matmul), and samples that share a
prefix share its LSTM state — the cell runs once per distinct prefix, not once per sample (the first
steps of 4,096 samples at one budget are one state, then a few). Tokens are drawn by the Gumbel-max
trick, exactly as ``torch.multinomial`` of the softmax would in distribution.

Example::

    >>> s = Sampler.from_generator(gen)                                   # doctest: +SKIP
    >>> s.sample(np.full(8, 2.5), np.random.default_rng(0)).shape         # doctest: +SKIP
    (8, 6)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def interpolation_weights(grid: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Weights ``(len(query), K)`` mixing adjacent trained budgets: ξ on B_k and 1 − ξ on B_{k+1},
    ξ = (B_{k+1} − B)/(B_{k+1} − B_k); clamped to the first/last budget outside the grid."""
    grid = np.asarray(grid, dtype=np.float64)
    q = np.clip(np.asarray(query, dtype=np.float64).reshape(-1), grid[0], grid[-1])
    hi = np.clip(np.searchsorted(grid, q, side="left"), 1, len(grid) - 1)
    lo = hi - 1
    xi = (grid[hi] - q) / (grid[hi] - grid[lo])
    w = np.zeros((len(q), len(grid)))
    rows = np.arange(len(q))
    w[rows, lo] += xi
    w[rows, hi] += 1 - xi
    return w


CELL_ROWS = 2048  # rows of one LSTM block: its gate arrays (2,048 x 4H float32) fit in L2

_BLAS = []


def _one_blas_thread():
    """A context holding BLAS to one thread: the sampler's matmuls are small, and on a loaded 2-core host
    a second BLAS thread waits more than it helps (one budget: 12.7 vs 28 ms measured)."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def gate_major(w: np.ndarray) -> np.ndarray:
    """``(rows, 4H)`` gate columns as a contiguous ``(4, rows, H)``: gate k is ``w[:, kH:(k+1)H]``."""
    return np.ascontiguousarray(w.reshape(len(w), 4, -1).transpose(1, 0, 2))


def _distinct(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, return_inverse=True)`` for codes in ``[0, size)``, by counting, not sorting."""
    present = np.bincount(codes, minlength=size) > 0
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[codes]


@dataclass
class Sampler:
    """An LSTMCell over decisions conditioned on g(B) at the first step (``method.generator.Generator``)."""

    budgets: np.ndarray  # (K,) trained budgets, ms
    table: np.ndarray  # (K, E) budget embeddings
    w_ih: np.ndarray  # (E, 4H) input weights (transposed), gates i, f, o, g; i, f, o halved
    w_hh: np.ndarray  # (4, H, H) recurrent weights, gate-major (gate k: h @ w_hh[k]), the same order, halving
    bias: np.ndarray  # (4H,) b_ih + b_hh, the same
    token_proj: list  # per decision t: (4, V_t, H) its token embeddings through w_ih, bias added, gate-major
    head_w: list  # per decision t: (H, V_t)
    head_b: list  # per decision t: (V_t,)

    @classmethod
    def from_generator(cls, gen) -> Sampler:
        """The arrays of a trained ``method.generator.Generator`` (float32), its gates reordered to i, f, o, g
        and the i, f, o columns halved: σ(z) = (1 + tanh(z/2))/2, so one tanh pass serves all four gates."""
        def a(t):
            return t.detach().cpu().numpy().astype(np.float32)

        n = gen.cell.weight_hh.shape[1]
        order = np.r_[0:2 * n, 3 * n:4 * n, 2 * n:3 * n]  # torch's i, f, g, o -> i, f, o, g
        half = np.r_[np.full(3 * n, 0.5), np.ones(n)].astype(np.float32)

        def gates(w):
            return np.ascontiguousarray(w[..., order] * half)

        w_ih, bias = gates(a(gen.cell.weight_ih).T), gates(a(gen.cell.bias_ih) + a(gen.cell.bias_hh))
        return cls(
            gen.budget.budgets.detach().cpu().numpy().astype(np.float64), a(gen.budget.table), w_ih,
            gate_major(gates(a(gen.cell.weight_hh).T)), bias,
            [gate_major(a(e.weight) @ w_ih + bias) for e in gen.token_embed],
            [np.ascontiguousarray(a(h.weight).T) for h in gen.heads], [a(h.bias) for h in gen.heads],
        )

    @property
    def hidden(self) -> int:
        return self.w_hh.shape[1]

    def embed(self, budgets: np.ndarray) -> np.ndarray:
        """g(B) for each budget (ms): the paper's linear interpolation of the trained embeddings."""
        return (interpolation_weights(self.budgets, budgets) @ self.table).astype(np.float32)

    def _cell(self, x, h: np.ndarray, c: np.ndarray):
        """One LSTMCell step on the reordered, halved gates (see :meth:`from_generator`): (h, c). ``x`` is
        the input projection ``(4, rows, H)``, or ``(table, rows)`` to gather it block by block. Many rows
        go through in blocks of ``CELL_ROWS`` so the gate arrays stay in cache between passes."""
        if len(h) <= CELL_ROWS:
            return self._block(x, h, c)
        h_out, c_out = np.empty_like(h), np.empty_like(c)
        lazy = isinstance(x, tuple)
        for a in range(0, len(h), CELL_ROWS):
            b = min(a + CELL_ROWS, len(h))
            xb = (x[0], x[1][a:b]) if lazy else x[:, a:b]
            h_out[a:b], c_out[a:b] = self._block(xb, h[a:b], c[a:b])
        return h_out, c_out

    def _block(self, x, h: np.ndarray, c: np.ndarray):
        """The gates are gate-major ``(4, rows, H)``: each gate's elementwise passes run on contiguous
        memory, not on a strided quarter of ``(rows, 4H)`` (a block of 2,048 rows: 400 -> ~220 us)."""
        z = np.matmul(h, self.w_hh)  # (4, rows, H): one small GEMM per gate
        z += np.take(x[0], x[1], axis=1) if isinstance(x, tuple) else x
        np.tanh(z, out=z)
        s = z[:3]  # i, f, o: σ of the unhalved pre-activation
        s *= 0.5
        s += 0.5
        i, f, o, g = z
        g *= i
        c = c * f
        c += g
        h = np.tanh(c)
        h *= o
        return h, c

    def sample(self, budgets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One token row ``(len(budgets), T)`` (int64) per entry of ``budgets`` (ms)."""
        with _one_blas_thread():
            return self._sample(budgets, rng)

    def _sample(self, budgets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        budgets = np.asarray(budgets, dtype=np.float64)
        distinct, group = np.unique(budgets, return_inverse=True)
        token_proj = self.token_proj
        x = gate_major(self.embed(distinct) @ self.w_ih + self.bias)  # step 0 input: g(B), one per budget
        h = np.zeros((len(distinct), self.hidden), dtype=np.float32)
        c = np.zeros_like(h)
        n, steps = len(budgets), len(self.head_w)
        small = max(len(b) for b in self.head_b) <= 127  # a column written per step: int8 is 3x cheaper
        tokens = np.empty((n, steps), dtype=np.int8 if small else np.int64)
        for t in range(steps):
            h, c = self._cell(x, h, c)  # one state per distinct prefix (``group``)
            logits = h @ self.head_w[t] + self.head_b[t]
            with np.errstate(divide="ignore"):
                noise = -np.log(rng.standard_exponential((n, logits.shape[1]), dtype=np.float32))
            if group is None:  # every sample has its own state, in sample order
                noise += logits
                tok = np.argmax(noise, axis=1)
            else:
                tok = np.argmax(logits[group] + noise, axis=1)
            tokens[:, t] = tok
            if t + 1 == steps:
                break
            if group is None:
                x = (token_proj[t], tok)  # gathered block by block in the next step
                continue
            v = logits.shape[1]
            prefixes, group = _distinct(group * v + tok, len(h) * v)
            parent = prefixes // v
            if len(prefixes) == n:  # all distinct from here on: states in sample order, no grouping
                parent, prefixes, group = parent[group], prefixes[group], None
            h, c, x = h[parent], c[parent], (token_proj[t], prefixes % v)
        return tokens.astype(np.int64, copy=False)
