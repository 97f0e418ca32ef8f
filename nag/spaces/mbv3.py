"""OFA-style elastic MobileNetV3 space: 5 stages, per stage a depth then 4 blocks × (kernel, expand).

Decision order (45): for each stage s: ``s{s}.depth``, then for each block slot b:
``s{s}.b{b}.kernel``, ``s{s}.b{b}.expand``. Slots beyond a stage's depth are inactive; canonical form
sets their tokens to 0 so equal networks share one ``arch_id``.

Example::

    >>> space = MBV3Space()
    >>> arch = space.from_ofa(ks=[7] * 20, e=[6] * 20, d=[4] * 5)
    >>> space.features(arch).sum()   # 20 active slots × (kernel + expand one-hot)
    40.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nag.spaces.base import Arch, ArchError, Decision, SearchSpace

NUM_STAGES = 5
MAX_DEPTH = 4
DEPTHS = (2, 3, 4)
KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor`` without dropping more than 10 % (MobileNet rule)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@dataclass(frozen=True)
class MBV3Macro:
    """Fixed (non-searched) structure: MobileNetV3-Large stage settings scaled by ``width_mult``."""

    width_mult: float = 1.0
    input_size: int = 224
    in_channels: int = 3
    num_classes: int = 1000
    stem_stride: int = 2
    stage_strides: tuple[int, ...] = (2, 2, 2, 1, 2)
    base_widths: tuple[int, ...] = (24, 40, 80, 112, 160)
    stage_acts: tuple[str, ...] = ("relu", "relu", "h_swish", "h_swish", "h_swish")
    stage_se: tuple[bool, ...] = (False, True, False, True, True)
    stem_width: int = 16
    final_expand_width: int = 960
    last_width: int = 1280
    dropout: float = 0.1

    def __post_init__(self) -> None:
        n = len(self.stage_strides)
        if not 1 <= n <= NUM_STAGES:
            raise ValueError(f"MBV3Macro.stage_strides needs 1..{NUM_STAGES} entries, got {n}")
        for name in ("base_widths", "stage_acts", "stage_se"):
            value = tuple(getattr(self, name))
            if len(value) == NUM_STAGES and n < NUM_STAGES:  # a shallower net keeps the first n stages
                object.__setattr__(self, name, value[:n])
            elif len(value) != n:
                raise ValueError(f"MBV3Macro.{name} needs {n} entries (one per stage), got {len(value)}")

    @property
    def num_stages(self) -> int:
        return len(self.stage_strides)

    def ch(self, base: int) -> int:
        return make_divisible(base * self.width_mult)

    @property
    def stem_channels(self) -> int:
        return self.ch(self.stem_width)

    @property
    def stage_channels(self) -> tuple[int, ...]:
        return tuple(self.ch(w) for w in self.base_widths)

    @property
    def final_expand_channels(self) -> int:
        return self.ch(self.final_expand_width)

    @property
    def last_channels(self) -> int:
        # the classifier's hidden width is not shrunk below its base (as in OFA)
        return make_divisible(self.last_width * max(1.0, self.width_mult))


class MBV3Space(SearchSpace):
    """The elastic MobileNetV3 space (3^5 depths × (3·3)^active blocks).

    A macro with fewer stages (tests) gives a smaller space named ``mbv3-<n>s``."""

    def __init__(self, macro: MBV3Macro | None = None) -> None:
        self.macro = macro or MBV3Macro()
        self.num_stages = self.macro.num_stages
        self.name = "mbv3" if self.num_stages == NUM_STAGES else f"mbv3-{self.num_stages}s"
        decisions: list[Decision] = []
        for s in range(self.num_stages):
            decisions.append(Decision(f"s{s}.depth", DEPTHS))
            for b in range(MAX_DEPTH):
                decisions.append(Decision(f"s{s}.b{b}.kernel", KERNELS))
                decisions.append(Decision(f"s{s}.b{b}.expand", EXPANDS))
        self.decisions = tuple(decisions)

    # token layout helpers --------------------------------------------------------------------
    @staticmethod
    def _stage_offset(s: int) -> int:
        return s * (1 + 2 * MAX_DEPTH)

    def canonical_tokens(self, tokens: Sequence[int]) -> tuple[int, ...]:
        out = list(tokens)
        for s in range(self.num_stages):
            o = self._stage_offset(s)
            depth = DEPTHS[out[o]]
            for b in range(depth, MAX_DEPTH):
                out[o + 1 + 2 * b] = 0
                out[o + 2 + 2 * b] = 0
        return tuple(out)

    def canonical_batch(self, tokens: np.ndarray) -> np.ndarray:
        t = np.array(tokens, dtype=np.int64).reshape(len(tokens), self.num_stages, 1 + 2 * MAX_DEPTH)
        active = np.arange(MAX_DEPTH)[None, None, :] < np.asarray(DEPTHS)[t[:, :, 0]][:, :, None]
        t[:, :, 1::2] *= active
        t[:, :, 2::2] *= active
        return t.reshape(len(tokens), -1)

    def size(self) -> int:
        per_stage = sum(9**d for d in DEPTHS)
        return per_stage**self.num_stages

    @property
    def feature_dim(self) -> int:
        return self.num_stages * MAX_DEPTH * (len(KERNELS) + len(EXPANDS))

    def features(self, arch: Arch) -> np.ndarray:
        out = np.zeros(self.feature_dim, dtype=np.float32)
        for s in range(self.num_stages):
            o = self._stage_offset(s)
            depth = DEPTHS[arch.tokens[o]]
            for b in range(depth):
                slot = (s * MAX_DEPTH + b) * 6
                out[slot + arch.tokens[o + 1 + 2 * b]] = 1.0
                out[slot + 3 + arch.tokens[o + 2 + 2 * b]] = 1.0
        return out

    def features_from_tokens(self, tokens: np.ndarray) -> np.ndarray:
        t = np.asarray(tokens, dtype=np.int64).reshape(len(tokens), self.num_stages, 1 + 2 * MAX_DEPTH)
        depth = np.asarray(DEPTHS)[t[:, :, 0]]  # (N, 5)
        active = np.arange(MAX_DEPTH)[None, None, :] < depth[:, :, None]  # (N, 5, 4)
        k = t[:, :, 1::2]  # (N, 5, 4) kernel tokens
        e = t[:, :, 2::2]  # (N, 5, 4) expand tokens
        onehot = np.concatenate([np.eye(len(KERNELS))[k], np.eye(len(EXPANDS))[e]], axis=3)  # (N,5,4,6)
        return (onehot * active[..., None]).reshape(len(tokens), -1).astype(np.float32)

    def slot_sum(self, tokens: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Σ over the active blocks of ``values[stage, slot, kernel, expand]`` per token row: one lookup per
        slot in a table that holds 0 where the stage's depth leaves the slot out (40k rows: ~4x faster than
        masking (N, S, 4) gathers)."""
        t = np.asarray(tokens, dtype=np.int64).reshape(len(tokens), self.num_stages, 1 + 2 * MAX_DEPTH)
        nk, ne = len(KERNELS), len(EXPANDS)
        v = np.broadcast_to(np.asarray(values, dtype=np.float64), (self.num_stages, MAX_DEPTH, nk, ne))
        active = np.arange(MAX_DEPTH)[:, None] < np.asarray(DEPTHS)[None, :]  # (slot, depth token)
        table = v[:, :, None] * active[None, :, :, None, None]  # (S, 4, depth, k, e)
        codes = (t[:, :, :1] * nk + t[:, :, 1::2]) * ne + t[:, :, 2::2]  # (N, S, 4)
        codes += (np.arange(self.num_stages * MAX_DEPTH) * len(DEPTHS) * nk * ne).reshape(1, -1, MAX_DEPTH)
        return table.reshape(-1)[codes.reshape(len(t), -1)].sum(axis=1)

    def linear_from_tokens(self, tokens: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """``features_from_tokens(tokens) @ coef`` without the one-hot matrix: a linear model's score is the
        sum of the active slots' kernel and expand coefficients."""
        w = np.asarray(coef, dtype=np.float64).reshape(self.num_stages, MAX_DEPTH, -1)  # kernels, expands
        nk = len(KERNELS)
        return self.slot_sum(tokens, w[:, :, :nk, None] + w[:, :, None, nk:])

    # OFA interchange -------------------------------------------------------------------------
    def to_ofa(self, arch: Arch) -> dict[str, list[int]]:
        """OFA's arch dict: ``ks`` and ``e`` for the 20 slots (inactive slots hold the canonical
        filler), ``d`` per stage."""
        self.check(arch)
        ks, e, d = [], [], []
        for s in range(self.num_stages):
            o = self._stage_offset(s)
            d.append(DEPTHS[arch.tokens[o]])
            for b in range(MAX_DEPTH):
                ks.append(KERNELS[arch.tokens[o + 1 + 2 * b]])
                e.append(EXPANDS[arch.tokens[o + 2 + 2 * b]])
        return {"ks": ks, "e": e, "d": d}

    def from_ofa(self, ks: Sequence[int], e: Sequence[int], d: Sequence[int]) -> Arch:
        """Inverse of :meth:`to_ofa`; values in inactive slots are ignored."""
        n = self.num_stages
        if len(ks) != n * MAX_DEPTH or len(e) != n * MAX_DEPTH or len(d) != n:
            raise ArchError(
                f"{self.name} needs {n * MAX_DEPTH} kernel sizes, {n * MAX_DEPTH} expand ratios and {n} "
                "depths; "
                f"got {len(ks)}, {len(e)}, {len(d)}"
            )
        tokens: list[int] = []
        try:
            for s in range(self.num_stages):
                tokens.append(DEPTHS.index(int(d[s])))
                for b in range(MAX_DEPTH):
                    i = s * MAX_DEPTH + b
                    active = b < int(d[s])
                    tokens.append(KERNELS.index(int(ks[i])) if active else 0)
                    tokens.append(EXPANDS.index(int(e[i])) if active else 0)
        except ValueError as exc:
            raise ArchError(
                f"value outside the mbv3 space (depth {DEPTHS}, kernel {KERNELS}, expand {EXPANDS}): "
                f"ks={list(ks)} e={list(e)} d={list(d)}"
            ) from exc
        return self.from_tokens(tokens)

    def blocks(self, arch: Arch) -> list[tuple[int, int, int, int]]:
        """Active blocks as ``(stage, slot, kernel, expand)`` in network order."""
        cfg = self.to_ofa(arch)
        return [
            (s, b, cfg["ks"][s * MAX_DEPTH + b], cfg["e"][s * MAX_DEPTH + b])
            for s in range(self.num_stages)
            for b in range(cfg["d"][s])
        ]

    def describe(self, arch: Arch) -> dict:
        cfg = self.to_ofa(arch)
        active = [b < cfg["d"][s] for s in range(self.num_stages) for b in range(MAX_DEPTH)]
        return {
            "d": cfg["d"],
            "ks": [k if a else None for k, a in zip(cfg["ks"], active)],
            "e": [x if a else None for x, a in zip(cfg["e"], active)],
        }
