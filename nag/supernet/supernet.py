"""The weight-sharing supernet over the mbv3 space: activate one subnet, run it, or extract it.

Example::

    >>> from nag.spaces import MBV3Macro, MBV3Space
    >>> space = MBV3Space(MBV3Macro(width_mult=0.25, input_size=16, in_channels=1, num_classes=10,
    ...                             stem_stride=1, stage_strides=(2, 2)))
    >>> net = Supernet(space).eval()
    >>> arch = space.sample(1, seed=0)[0]
    >>> net.set_active(arch)
    >>> x = torch.randn(2, 1, 16, 16)
    >>> bool((net(x) - net.extract(arch).eval()(x)).abs().max() < 1e-5)
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from nag.spaces.base import Arch
from nag.spaces.mbv3 import DEPTHS, EXPANDS, KERNELS, MAX_DEPTH, MBV3Space
from nag.supernet.ops import DynamicBatchNorm2d, DynamicMBConv
from nag.supernet.static import Head, StaticNet, block_specs, make_first_block, make_stem, stage_plan


class Supernet(nn.Module):
    """Stem, fixed first block and head as in a static net; each stage holds MAX_DEPTH elastic blocks."""

    def __init__(self, space: MBV3Space) -> None:
        super().__init__()
        self.space = space
        macro = space.macro
        self.stem = make_stem(macro)
        self.first = make_first_block(macro)
        self.stages = nn.ModuleList()
        for s, slots in enumerate(stage_plan(macro)):
            self.stages.append(nn.ModuleList(
                DynamicMBConv(cin, cout, stride, macro.stage_acts[s], macro.stage_se[s], KERNELS, EXPANDS)
                for cin, cout, stride, _ in slots
            ))
        self.head = Head(macro)
        self.depths = [MAX_DEPTH] * space.num_stages

    # ----- choosing the active path ----------------------------------------------------------
    def set_active(self, arch: Arch) -> None:
        """Route the forward pass through ``arch`` (an :class:`ArchError` if it is not of this space)."""
        self.space.check(arch)
        cfg = self.space.to_ofa(arch)
        self.depths = list(cfg["d"])
        for s, stage in enumerate(self.stages):
            for b, block in enumerate(stage):
                block.set_active(cfg["ks"][s * MAX_DEPTH + b], cfg["e"][s * MAX_DEPTH + b])

    def uniform(self, kernel: int, expand: int, depth: int) -> Arch:
        """The subnet with the same kernel, expand ratio and depth everywhere."""
        n = self.space.num_stages
        return self.space.from_ofa([kernel] * n * MAX_DEPTH, [expand] * n * MAX_DEPTH, [depth] * n)

    def largest(self) -> Arch:
        return self.uniform(max(KERNELS), max(EXPANDS), max(DEPTHS))

    def smallest(self) -> Arch:
        return self.uniform(min(KERNELS), min(EXPANDS), min(DEPTHS))

    def sample(self, rng: np.random.Generator, kernels: Sequence[int], depths: Sequence[int],
               expands: Sequence[int]) -> Arch:
        """A random subnet restricted to the given choices (one progressive-shrinking phase)."""
        n = self.space.num_stages
        return self.space.from_ofa(
            [int(v) for v in rng.choice(kernels, n * MAX_DEPTH)],
            [int(v) for v in rng.choice(expands, n * MAX_DEPTH)],
            [int(v) for v in rng.choice(depths, n)],
        )

    # ----- running -----------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first(self.stem(x))
        for stage, depth in zip(self.stages, self.depths):
            for block in stage[:depth]:
                x = block(x)
        return self.head(x)

    @torch.no_grad()
    def extract(self, arch: Arch) -> StaticNet:
        """A standalone network with ``arch``'s weights; its outputs equal the supernet's on that path."""
        self.set_active(arch)
        net = StaticNet(self.space.macro, block_specs(self.space, arch))
        net.stem.load_state_dict(self.stem.state_dict())
        net.first.load_state_dict(self.first.state_dict())
        net.head.load_state_dict(self.head.state_dict())
        active = [block for stage, d in zip(self.stages, self.depths) for block in stage[:d]]
        net.blocks = nn.Sequential(*[block.to_static() for block in active])
        return net.train(self.training)

    def sort_channels(self) -> None:
        """Importance re-ordering of every block's hidden channels (before expand-ratio training)."""
        for stage in self.stages:
            for block in stage:
                block.sort_channels()


@torch.no_grad()
def recalibrate_bn(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> None:
    """Reset every BatchNorm and re-estimate its statistics (exact mean over ``images``) for the
    active path, in train mode without gradients; the model's mode is restored afterwards."""
    was_training = model.training
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, DynamicBatchNorm2d))]
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batches
    model.train()
    for i in range(0, len(images), batch_size):
        model(images[i : i + batch_size])
    for bn, momentum in zip(bns, saved):
        bn.momentum = momentum
    model.train(was_training)
