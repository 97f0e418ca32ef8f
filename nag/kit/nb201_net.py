"""A NAS-Bench-201 cell as a real network, in the benchmark's CIFAR macro (Dong & Yang, 2020): a 3×3 stem
of C = 16 channels; three stages of N = 5 cells at C = 16, 32, 64, joined by residual reduction blocks
(a stride-2 basic block whose shortcut is 2×2 average pooling + 1×1 conv); BN + ReLU, global average
pooling and a linear classifier. Each cell is the 4-node DAG of its string: node j sums op(node i) over
its edges, ``none`` contributes nothing, convolutions are ReLU → Conv → BN. Weights are random: latency
does not depend on them.

Example::

    >>> net = build_nb201(NB201Space().parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|"
    ...                                      "nor_conv_1x1~1|none~2|"))
    >>> net(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 10])
"""

from __future__ import annotations

import torch
from torch import nn

from nag.spaces.base import Arch
from nag.spaces.nb201 import EDGES, OPS, NB201Space  # noqa: F401  (NB201Space: the docstring example)

CHANNELS = (16, 32, 64)
CELLS_PER_STAGE = 5
INPUT = (3, 32, 32)  # CIFAR: the macro's input (the kit's default; --input changes it)


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1) -> None:
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False),
                         nn.BatchNorm2d(c_out))


def _op(name: str, c: int) -> nn.Module | None:
    if name == "none":
        return None
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 operation {name!r}")


class Cell(nn.Module):
    """One NB201 cell: node j = Σ op_ij(node i) over its non-``none`` edges (a node with none is zero)."""

    def __init__(self, arch: Arch, c: int) -> None:
        super().__init__()
        self.edges = [(dst, src) for (dst, src), t in zip(EDGES, arch.tokens) if OPS[t] != "none"]
        self.ops = nn.ModuleList(_op(OPS[t], c) for t in arch.tokens if OPS[t] != "none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        for (dst, src), op in zip(self.edges, self.ops):
            if nodes[src] is None:
                continue
            y = op(nodes[src])
            nodes[dst] = y if nodes[dst] is None else nodes[dst] + y
        return nodes[3] if nodes[3] is not None else torch.zeros_like(x)


class Reduction(nn.Module):
    """The residual reduction block between stages (stride 2, channels doubled)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.a, self.b = ReLUConvBN(c_in, c_out, 3, 2), ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.b(self.a(x))


class NB201Net(nn.Module):
    def __init__(self, arch: Arch, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, CHANNELS[0], 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(CHANNELS[0])]
        for s, c in enumerate(CHANNELS):
            if s:
                layers.append(Reduction(CHANNELS[s - 1], c))
            layers += [Cell(arch, c) for _ in range(CELLS_PER_STAGE)]
        layers += [nn.BatchNorm2d(CHANNELS[-1]), nn.ReLU(inplace=False), nn.AdaptiveAvgPool2d(1),
                   nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(CHANNELS[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_nb201(arch: Arch, num_classes: int = 10, seed: int = 0) -> NB201Net:
    """The network of ``arch`` (random weights from ``seed``), in eval mode."""
    torch.manual_seed(seed)
    return NB201Net(arch, num_classes).eval()
