"""Static MobileNetV3 networks of the mbv3 space: the shape of every block, MAdds, and plain modules.

The same layout serves three users: the supernet (whose stem, first block and head are these very
modules), subnet extraction (a standalone copy of one path) and latency measurement (issue: a network
or a single block per configuration, built without trained weights).

Layout (OFA MobileNetV3): stem conv 3×3 → fixed first block (depthwise 3×3, expand 1) → the searched
stages (block 0 of a stage carries its stride) → final 1×1 expand → global pool → 1×1 feature mix →
dropout → classifier.

Example::

    >>> from nag.spaces import MBV3Macro, MBV3Space
    >>> macro = MBV3Macro(width_mult=0.25, input_size=28, in_channels=1, num_classes=10, stem_stride=1)
    >>> space = MBV3Space(macro)
    >>> net = build_static(space, space.sample(1, seed=0)[0])
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nag.spaces.base import Arch
from nag.spaces.mbv3 import MAX_DEPTH, MBV3Macro, MBV3Space, make_divisible


def conv_out(size: int, stride: int) -> int:
    """Spatial size after a 'same'-padded convolution of this stride."""
    return (size - 1) // stride + 1


def hidden_channels(cin: int, expand: int) -> int:
    return make_divisible(round(cin * expand), 8)


def se_channels(hidden: int) -> int:
    return make_divisible(hidden // 4, 8)


@dataclass(frozen=True)
class BlockSpec:
    """Everything that fixes one inverted-residual block's cost (the latency LUT key)."""

    stage: int
    slot: int
    cin: int
    cout: int
    kernel: int
    expand: int
    stride: int
    in_size: int
    act: str
    se: bool

    @property
    def hidden(self) -> int:
        return hidden_channels(self.cin, self.expand)

    @property
    def out_size(self) -> int:
        return conv_out(self.in_size, self.stride)

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.cin == self.cout

    def key(self) -> str:
        return (f"s{self.stage}:in{self.cin}x{self.in_size}:out{self.cout}:k{self.kernel}:e{self.expand}"
                f":st{self.stride}:{self.act}:{'se' if self.se else 'nose'}")


def stage_plan(macro: MBV3Macro) -> list[list[tuple[int, int, int, int]]]:
    """Per stage, per slot (all MAX_DEPTH slots): ``(cin, cout, stride, in_size)``."""
    size = conv_out(macro.input_size, macro.stem_stride)
    cin = macro.stem_channels
    plan = []
    for s, (cout, stride) in enumerate(zip(macro.stage_channels, macro.stage_strides)):
        slots = []
        for b in range(MAX_DEPTH):
            st = stride if b == 0 else 1
            slots.append((cin if b == 0 else cout, cout, st, size))
            size = conv_out(size, st)
        cin = cout
        plan.append(slots)
    return plan


def block_specs(space: MBV3Space, arch: Arch) -> list[BlockSpec]:
    """The active blocks of ``arch`` with their shapes, in network order."""
    macro, plan = space.macro, stage_plan(space.macro)
    specs = []
    for s, b, k, e in space.blocks(arch):
        cin, cout, stride, size = plan[s][b]
        specs.append(BlockSpec(s, b, cin, cout, k, e, stride, size, macro.stage_acts[s], macro.stage_se[s]))
    return specs


def final_size(macro: MBV3Macro) -> int:
    size = conv_out(macro.input_size, macro.stem_stride)
    for st in macro.stage_strides:
        size = conv_out(size, st)
    return size


def block_madds(spec: BlockSpec) -> int:
    """Multiply-adds of one block (convolutions and SE; BN/activations folded or free)."""
    h, o2 = spec.hidden, spec.out_size**2
    madds = spec.cin * h * spec.in_size**2  # expand 1×1
    madds += h * spec.kernel**2 * o2  # depthwise
    if spec.se:
        madds += 2 * h * se_channels(h)
    return madds + h * spec.cout * o2  # project 1×1


def fixed_madds(macro: MBV3Macro) -> int:
    """MAdds of the parts every subnet shares: stem, first block, head."""
    s1 = conv_out(macro.input_size, macro.stem_stride)
    c = macro.stem_channels
    madds = macro.in_channels * c * 9 * s1**2 + c * 9 * s1**2 + c * c * s1**2
    f = final_size(macro)
    madds += macro.stage_channels[-1] * macro.final_expand_channels * f**2
    madds += macro.final_expand_channels * macro.last_channels + macro.last_channels * macro.num_classes
    return madds


def block_params(spec: BlockSpec) -> int:
    """Parameters of one block (BatchNorm affine included)."""
    h = spec.hidden
    n = spec.cin * h + 2 * h + h * spec.kernel**2 + 2 * h + h * spec.cout + 2 * spec.cout
    if spec.se:
        mid = se_channels(h)
        n += 2 * h * mid + mid + h
    return n


def fixed_params(macro: MBV3Macro) -> int:
    c, f, last = macro.stem_channels, macro.final_expand_channels, macro.last_channels
    n = macro.in_channels * c * 9 + 2 * c  # stem
    n += c * 9 + 2 * c + c * c + 2 * c  # first block
    n += macro.stage_channels[-1] * f + 2 * f + f * last + last * macro.num_classes + macro.num_classes
    return n


def arch_params(space: MBV3Space, arch: Arch) -> int:
    """Analytic parameter count of a subnet."""
    return fixed_params(space.macro) + sum(block_params(b) for b in block_specs(space, arch))


def arch_madds(space: MBV3Space, arch: Arch) -> int:
    """Analytic multiply-adds of a subnet (checked against hooks on the built network in the tests)."""
    return fixed_madds(space.macro) + sum(block_madds(b) for b in block_specs(space, arch))


# ----- modules -----------------------------------------------------------------------------------
def make_act(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "h_swish":
        return nn.Hardswish(inplace=True)
    raise ValueError(f"unknown activation {name!r}")


def conv_bn(
    cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: str | None = None
) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(make_act(act))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, mid: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, mid, 1)
        self.expand = nn.Conv2d(mid, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.reduce(x.mean((2, 3), keepdim=True)))
        return x * nn.functional.hardsigmoid(self.expand(y))


class MBConv(nn.Module):
    """Inverted residual: 1×1 expand (absent when ``hidden == cin`` and ``expand_layer`` is off) →
    depthwise k×k → SE → 1×1 project, residual when shapes allow."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, hidden: int, act: str, se: bool,
                 expand_layer: bool = True) -> None:
        super().__init__()
        self.expand = conv_bn(cin, hidden, 1, act=act) if expand_layer else None
        self.depthwise = conv_bn(hidden, hidden, kernel, stride, groups=hidden, act=act)
        self.se = SqueezeExcite(hidden, se_channels(hidden)) if se else None
        self.project = conv_bn(hidden, cout, 1)
        self.residual = stride == 1 and cin == cout

    @classmethod
    def from_spec(cls, spec: BlockSpec) -> MBConv:
        return cls(spec.cin, spec.cout, spec.kernel, spec.stride, spec.hidden, spec.act, spec.se)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.depthwise(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


class Head(nn.Module):
    """Final 1×1 expand, global pool, 1×1 feature mix, dropout and classifier."""

    def __init__(self, macro: MBV3Macro) -> None:
        super().__init__()
        self.final_expand = conv_bn(macro.stage_channels[-1], macro.final_expand_channels, 1, act="h_swish")
        self.feature_mix = nn.Sequential(
            nn.Conv2d(macro.final_expand_channels, macro.last_channels, 1, bias=False),
            nn.Hardswish(inplace=True),
        )
        self.dropout = nn.Dropout(macro.dropout)
        self.classifier = nn.Linear(macro.last_channels, macro.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final_expand(x).mean((2, 3), keepdim=True)
        x = self.feature_mix(x).flatten(1)
        return self.classifier(self.dropout(x))


def make_stem(macro: MBV3Macro) -> nn.Sequential:
    return conv_bn(macro.in_channels, macro.stem_channels, 3, macro.stem_stride, act="h_swish")


def make_first_block(macro: MBV3Macro) -> MBConv:
    c = macro.stem_channels
    return MBConv(c, c, 3, 1, c, "relu", False, expand_layer=False)


class StaticNet(nn.Module):
    """One subnet as ordinary modules (what extraction returns and latency measures)."""

    def __init__(self, macro: MBV3Macro, specs: list[BlockSpec]) -> None:
        super().__init__()
        self.stem = make_stem(macro)
        self.first = make_first_block(macro)
        self.blocks = nn.Sequential(*[MBConv.from_spec(s) for s in specs])
        self.head = Head(macro)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.first(self.stem(x))))


def build_static(space: MBV3Space, arch: Arch) -> StaticNet:
    """A freshly initialised static network for ``arch`` (weights: PyTorch defaults)."""
    space.check(arch)
    return StaticNet(space.macro, block_specs(space, arch))
