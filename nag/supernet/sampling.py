"""Which subnets one training step runs, and their summed loss.

Two rules (``supernet.sampling``):

- ``random``: ``subnets_per_step`` random subnets of the phase's choices (once-for-all's progressive
  shrinking as published); with ``distill`` the phase's largest runs too, as the teacher (one more forward).
- ``sandwich`` (BigNAS / AttentiveNAS): the phase's largest, its smallest and ``subnets_per_step - 2``
  random ones, so the two ends of the space are trained on every step; with ``distill`` the largest is the
  teacher (no extra forward: it is already in the step).

A phase with a single choice (the ``full`` phase) runs the one network it has.

Example::

    >>> plan = step_plan("sandwich", 3, distill=True, single=False)
    >>> plan.teacher_is_largest, plan.with_smallest, plan.random
    (True, True, 1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nag.config import ConfigError
from nag.spaces.base import Arch

SAMPLING = ("random", "sandwich")


@dataclass(frozen=True)
class StepPlan:
    teacher_is_largest: bool  # the largest runs first, on labels; the others also learn its soft outputs
    with_largest: bool  # the largest is one of the trained subnets (sandwich, or a single-choice phase)
    with_smallest: bool
    random: int  # random subnets of the phase's choices


def step_plan(sampling: str, subnets_per_step: int, distill: bool, single: bool) -> StepPlan:
    if sampling not in SAMPLING:
        raise ConfigError(f"supernet.sampling must be one of {', '.join(SAMPLING)}, got {sampling!r}")
    if single:
        return StepPlan(False, True, False, 0)
    if sampling == "sandwich":
        if subnets_per_step < 2:
            raise ConfigError(f"supernet.sampling sandwich trains the largest and the smallest subnet on "
                              f"every step: subnets_per_step must be >= 2, got {subnets_per_step}")
        return StepPlan(distill, True, True, subnets_per_step - 2)
    return StepPlan(distill, distill, False, subnets_per_step)


def step_archs(
    plan: StepPlan, rng: np.random.Generator, net, kernels, depths, expands
) -> tuple[Arch | None, list[Arch]]:
    """(teacher or None, the step's other subnets), drawn from ``rng`` only: every rank draws the same."""
    largest = net.uniform(kernels[-1], expands[-1], depths[-1])
    others = [net.uniform(kernels[0], expands[0], depths[0])] if plan.with_smallest else []
    others += [net.sample(rng, kernels, depths, expands) for _ in range(plan.random)]
    if plan.teacher_is_largest:
        return largest, others
    return None, ([largest] if plan.with_largest else []) + others


class SubnetLoss(nn.Module):
    """One forward = the mean loss of every subnet of the step, so DDP sees a single graph."""

    def __init__(self, net: nn.Module, label_smoothing: float, temperature: float) -> None:
        super().__init__()
        self.net, self.smoothing, self.t = net, label_smoothing, temperature

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, archs: list[Arch], teacher: Arch | None
    ) -> torch.Tensor:
        total, soft = x.new_zeros(()), None
        if teacher is not None:  # in-place distillation: the largest learns from labels, the rest from it too
            self.net.set_active(teacher)
            logits = self.net(x)
            total = total + F.cross_entropy(logits, y, label_smoothing=self.smoothing)
            soft = F.softmax(logits.detach() / self.t, dim=1)
        for arch in archs:
            self.net.set_active(arch)
            logits = self.net(x)
            loss = F.cross_entropy(logits, y, label_smoothing=self.smoothing)
            if soft is not None:
                kd = F.kl_div(F.log_softmax(logits / self.t, dim=1), soft, reduction="batchmean") * self.t**2
                loss = 0.5 * (loss + kd)
            total = total + loss
        return total / (len(archs) + (teacher is not None))
