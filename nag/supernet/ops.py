"""Elastic operations of the once-for-all supernet (Cai et al., 2020), written for this project.

* :class:`DynamicPointConv` — a 1×1 convolution whose input channels follow the input and whose
  output channels follow ``active_out`` (channel slicing of one shared weight).
* :class:`DynamicDepthwise` — one 7×7 depthwise weight; the 5×5 kernel is its centre passed through a
  learned 25×25 transformation, the 3×3 kernel the centre of that passed through a 9×9 one.
* :class:`DynamicBatchNorm2d` — statistics and affine parameters sliced to the active width.
* :class:`DynamicSE` — squeeze-excite whose reduction width follows the active hidden width.
* :class:`DynamicMBConv` — the elastic inverted-residual block, with :meth:`~DynamicMBConv.sort_channels`
  (hidden channels re-ordered by importance so the first ``h`` are the ones a small expand keeps).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nag.supernet.static import MBConv, hidden_channels, make_act, se_channels


class DynamicPointConv(nn.Conv2d):
    def __init__(self, max_in: int, max_out: int) -> None:
        super().__init__(max_in, max_out, 1, bias=False)
        self.active_out = max_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight[: self.active_out, : x.shape[1]])


class DynamicDepthwise(nn.Module):
    def __init__(self, max_channels: int, kernels: tuple[int, ...], stride: int) -> None:
        super().__init__()
        self.kernels = tuple(sorted(kernels, reverse=True))
        self.stride = stride
        k = self.kernels[0]
        self.weight = nn.Parameter(torch.empty(max_channels, 1, k, k))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        # one transformation per smaller kernel, shared by all channels (OFA's default mode)
        self.transforms = nn.ParameterDict({str(s): nn.Parameter(torch.eye(s * s)) for s in self.kernels[1:]})
        self.active_kernel = k

    def filter(self, channels: int, kernel: int) -> torch.Tensor:
        """The ``(channels, 1, kernel, kernel)`` filter the active subnet uses."""
        if kernel not in self.kernels:
            raise ValueError(f"kernel {kernel} is not one of {self.kernels}")
        w = self.weight[:channels]
        cur = self.kernels[0]
        for nxt in self.kernels[1:]:
            if kernel > nxt:
                break
            start = (cur - nxt) // 2
            centre = w[:, :, start : start + nxt, start : start + nxt].reshape(-1, nxt * nxt)
            w = (centre @ self.transforms[str(nxt)]).reshape(channels, 1, nxt, nxt)
            cur = nxt
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, k = x.shape[1], self.active_kernel
        return F.conv2d(x, self.filter(c, k), None, self.stride, k // 2, 1, c)


class DynamicBatchNorm2d(nn.BatchNorm2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        if c == self.num_features:
            return super().forward(x)
        factor = 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        use_batch = self.training or not self.track_running_stats
        # slices are views: the running statistics update in place, in the shared buffers
        return F.batch_norm(x, self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c],
                            use_batch, factor, self.eps)


class DynamicSE(nn.Module):
    def __init__(self, max_channels: int) -> None:
        super().__init__()
        mid = se_channels(max_channels)
        self.reduce = nn.Conv2d(max_channels, mid, 1)
        self.expand = nn.Conv2d(mid, max_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        mid = se_channels(c)
        y = F.conv2d(x.mean((2, 3), keepdim=True), self.reduce.weight[:mid, :c], self.reduce.bias[:mid])
        y = F.conv2d(torch.relu(y), self.expand.weight[:c, :mid], self.expand.bias[:c])
        return x * F.hardsigmoid(y)


def _permute_(t: torch.Tensor, order: torch.Tensor, dim: int) -> None:
    t.data.copy_(t.data.index_select(dim, order))


class DynamicMBConv(nn.Module):
    """Elastic inverted residual (same sub-module names as :class:`~nag.supernet.static.MBConv`)."""

    def __init__(self, cin: int, cout: int, stride: int, act: str, se: bool,
                 kernels: tuple[int, ...], expands: tuple[int, ...]) -> None:
        super().__init__()
        self.cin, self.cout, self.stride = cin, cout, stride
        self.act_name, self.use_se = act, se
        self.max_hidden = hidden_channels(cin, max(expands))
        self.expand = nn.Sequential(
            DynamicPointConv(cin, self.max_hidden), DynamicBatchNorm2d(self.max_hidden), make_act(act)
        )
        self.depthwise = nn.Sequential(DynamicDepthwise(self.max_hidden, kernels, stride),
                                       DynamicBatchNorm2d(self.max_hidden), make_act(act))
        self.se = DynamicSE(self.max_hidden) if se else None
        self.project = nn.Sequential(DynamicPointConv(self.max_hidden, cout), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout
        self.kernel, self.expand_ratio = max(kernels), max(expands)

    def set_active(self, kernel: int, expand: int) -> None:
        self.kernel, self.expand_ratio = kernel, expand
        self.depthwise[0].active_kernel = kernel
        self.expand[0].active_out = hidden_channels(self.cin, expand)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(self.expand(x))
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y

    @torch.no_grad()
    def sort_channels(self) -> None:
        """Re-order hidden channels (and SE reduction channels) by importance, largest first: the L1
        norm of the weights that read them. Function-preserving for the largest subnet."""
        order = self.project[0].weight.abs().sum(dim=(0, 2, 3)).argsort(descending=True)
        _permute_(self.project[0].weight, order, 1)
        for bn in (self.expand[1], self.depthwise[1]):
            for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
                _permute_(t, order, 0)
        _permute_(self.expand[0].weight, order, 0)
        _permute_(self.depthwise[0].weight, order, 0)
        if self.se is not None:
            _permute_(self.se.reduce.weight, order, 1)
            _permute_(self.se.expand.weight, order, 0)
            _permute_(self.se.expand.bias, order, 0)
            mid_order = self.se.expand.weight.abs().sum(dim=(0, 2, 3)).argsort(descending=True)
            _permute_(self.se.expand.weight, mid_order, 1)
            _permute_(self.se.reduce.weight, mid_order, 0)
            _permute_(self.se.reduce.bias, mid_order, 0)

    @torch.no_grad()
    def to_static(self) -> MBConv:
        """A standalone :class:`MBConv` holding the active path's weights."""
        h, k = self.expand[0].active_out, self.kernel
        out = MBConv(self.cin, self.cout, k, self.stride, h, self.act_name, self.use_se)
        out.expand[0].weight.copy_(self.expand[0].weight[:h])
        out.depthwise[0].weight.copy_(self.depthwise[0].filter(h, k))
        for src, dst in ((self.expand[1], out.expand[1]), (self.depthwise[1], out.depthwise[1])):
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(dst, name).copy_(getattr(src, name)[:h])
            dst.num_batches_tracked.copy_(src.num_batches_tracked)
        if self.se is not None:
            mid = se_channels(h)
            out.se.reduce.weight.copy_(self.se.reduce.weight[:mid, :h])
            out.se.reduce.bias.copy_(self.se.reduce.bias[:mid])
            out.se.expand.weight.copy_(self.se.expand.weight[:h, :mid])
            out.se.expand.bias.copy_(self.se.expand.bias[:h])
        out.project[0].weight.copy_(self.project[0].weight[:, :h])
        out.project[1].load_state_dict(self.project[1].state_dict())
        return out
