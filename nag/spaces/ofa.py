"""Once-for-all's ImageNet MobileNetV3 space (``ofa_mbv3_d234_e346_k357_w1.2``), input resolution included.

The paper's own setting: OFA's w1.2 network (stem 24, stages 32/48/96/136/192 channels, final 1152 → 1536),
its 20 block slots (kernel 3/5/7, expand 3/4/6; a stage of depth 2–4 uses its first slots) and the input
resolution as a decision. Decision order (46): ``resolution``, then the 45 decisions of :mod:`nag.spaces.mbv3`
(per stage a depth, then per slot kernel and expand). :meth:`OFASpace.features` is exactly the 128-feature
encoding of OFA's released ImageNet accuracy predictor (60 kernel one-hots, 60 expand one-hots, all zero
past a stage's depth, then a one-hot over 112–224 px in steps of 16).

Example::

    >>> space = OFASpace()
    >>> arch = space.from_ofa(ks=[7] * 20, e=[6] * 20, d=[4] * 5, r=224)
    >>> space.features(arch).shape, float(space.features(arch).sum())   # 20 slots × 2 one-hots + 1 resolution
    ((128,), 41.0)
    >>> space.describe(arch)["image_size"]
    224
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nag.spaces.base import Arch, ArchError, Decision, SearchSpace
from nag.spaces.mbv3 import MAX_DEPTH, MBV3Macro, MBV3Space

RESOLUTIONS = (160, 176, 192, 208, 224)  # the Note10 lookup tables' resolutions
PREDICTOR_RESOLUTIONS = tuple(range(112, 225, 16))  # the predictor's resolution one-hot (8)
W12 = MBV3Macro(width_mult=1.2)  # OFA w1.2: ImageNet, 1000 classes, the MobileNetV3-Large stage plan


class OFASpace(SearchSpace):
    """OFA MobileNetV3 w1.2 subnets at one of ``resolutions`` (default :data:`RESOLUTIONS`; features exist
    for the predictor's 112–224 px grid only)."""

    def __init__(self, resolutions: Sequence[int] = RESOLUTIONS) -> None:
        if not resolutions or any(not 32 <= int(r) <= 512 for r in resolutions):
            raise ArchError(f"resolutions {list(resolutions)}: input sizes in pixels, 32 to 512")
        self.resolutions = tuple(int(r) for r in resolutions)
        self.body = MBV3Space(W12)
        self.macro = W12
        self.num_stages = self.body.num_stages
        self.name = "ofa-w1.2" if self.resolutions == RESOLUTIONS else \
            "ofa-w1.2-r" + "-".join(map(str, self.resolutions))
        self.decisions = (Decision("resolution", self.resolutions), *self.body.decisions)

    def canonical_tokens(self, tokens: Sequence[int]) -> tuple[int, ...]:
        return (int(tokens[0]), *self.body.canonical_tokens(tokens[1:]))

    def canonical_batch(self, tokens: np.ndarray) -> np.ndarray:
        t = np.asarray(tokens, dtype=np.int64)
        return np.column_stack([t[:, :1], self.body.canonical_batch(t[:, 1:])])

    def size(self) -> int:
        return len(self.resolutions) * self.body.size()

    @property
    def feature_dim(self) -> int:
        return 2 * self.num_stages * MAX_DEPTH * 3 + len(PREDICTOR_RESOLUTIONS)

    def features(self, arch: Arch) -> np.ndarray:
        return self.features_from_tokens(np.array([arch.tokens], dtype=np.int64))[0]

    def features_from_tokens(self, tokens: np.ndarray) -> np.ndarray:
        t = np.asarray(tokens, dtype=np.int64)
        body = self.body.features_from_tokens(t[:, 1:]).reshape(len(t), -1, 6)  # per slot: 3 kernel, 3 expand
        res = np.asarray(self.resolutions)[t[:, 0]]
        if not np.isin(res, PREDICTOR_RESOLUTIONS).all():  # OFA's published 220/260 px nets: no feature
            bad = sorted(set(res.tolist()) - set(PREDICTOR_RESOLUTIONS))
            raise ArchError(f"image sizes {bad} have no feature in OFA's predictor encoding "
                            f"({PREDICTOR_RESOLUTIONS})")
        onehot = np.eye(len(PREDICTOR_RESOLUTIONS), dtype=np.float32)[(res - PREDICTOR_RESOLUTIONS[0]) // 16]
        ks, es = body[:, :, :3].reshape(len(t), -1), body[:, :, 3:].reshape(len(t), -1)
        return np.concatenate([ks, es, onehot], axis=1).astype(np.float32)

    def resolution(self, arch: Arch) -> int:
        return self.resolutions[arch.tokens[0]]

    def body_arch(self, arch: Arch) -> Arch:
        """The network without its resolution (an :class:`~nag.spaces.mbv3.MBV3Space` arch of w1.2)."""
        self.check(arch)
        return Arch(self.body.name, arch.tokens[1:])

    # OFA interchange -------------------------------------------------------------------------
    def to_ofa(self, arch: Arch) -> dict:
        """OFA's ``set_active_subnet`` arguments (``ks``, ``e`` per slot, ``d`` per stage), and ``r``."""
        return {**self.body.to_ofa(self.body_arch(arch)), "r": self.resolution(arch)}

    def from_ofa(self, ks: Sequence[int], e: Sequence[int], d: Sequence[int], r: int) -> Arch:
        """Inverse of :meth:`to_ofa`; values in slots past a stage's depth are ignored."""
        if int(r) not in self.resolutions:
            raise ArchError(f"image size {r} is outside the space's resolutions {self.resolutions}")
        body = self.body.from_ofa(ks, e, d)
        return self.from_tokens((self.resolutions.index(int(r)), *body.tokens))

    def blocks(self, arch: Arch) -> list[tuple[int, int, int, int]]:
        """Active blocks as ``(stage, slot, kernel, expand)`` in network order."""
        return self.body.blocks(self.body_arch(arch))

    def describe(self, arch: Arch) -> dict:
        return {**self.body.describe(self.body_arch(arch)), "image_size": self.resolution(arch)}
