"""Measuring subnets through the supernet: BN recalibration, then accuracy on held-out images.

Example::

    >>> acc = measure(supernet, arch, calib, val)          # doctest: +SKIP   (% correct)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr
from torch import nn

from nag.config import AccuracyConfig
from nag.spaces.base import Arch
from nag.supernet.data import Images
from nag.supernet.supernet import Supernet, recalibrate_bn


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: Images, batch_size: int = 1000) -> float:
    """Top-1 accuracy (%) in eval mode."""
    model.eval()
    correct = 0
    device = next(model.parameters()).device
    for i in range(0, len(data), batch_size):
        logits = model(data.x[i : i + batch_size].to(device))
        correct += int((logits.argmax(1).cpu() == data.y[i : i + batch_size]).sum())
    return 100.0 * correct / len(data)


@torch.no_grad()
def fold_bn(net: nn.Module) -> nn.Module:
    """Fold every ``Sequential(Conv2d, BatchNorm2d, ...)`` of an eval-mode network into one biased
    convolution (same outputs, less work); returns ``net`` changed in place."""
    for m in net.modules():
        if isinstance(m, nn.Sequential) and len(m) >= 2 and isinstance(m[0], nn.Conv2d) \
                and isinstance(m[1], nn.BatchNorm2d):
            conv, bn = m[0], m[1]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            fused = nn.Conv2d(
                conv.in_channels,
                conv.out_channels,
                conv.kernel_size,
                conv.stride,
                conv.padding,
                groups=conv.groups,
                bias=True,
            ).to(conv.weight.device)
            fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            fused.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
            m[0], m[1] = fused, nn.Identity()
    return net


def measure(net: Supernet, arch: Arch, calib: Images, data: Images, batch_size: int = 1000) -> float:
    """Activate ``arch``, recalibrate BatchNorm on ``calib`` images, return its accuracy on ``data``
    (computed by the extracted subnet with BatchNorm folded: the same function, faster)."""
    net.set_active(arch)
    device = next(net.parameters()).device
    recalibrate_bn(net, calib.x.to(device), batch_size=min(batch_size, 500))
    static = fold_bn(net.extract(arch).eval())
    if device.type == "cpu":
        static = static.to(memory_format=torch.channels_last)
    return accuracy(static, data, batch_size)


def rank_corr(fn, a, b) -> float | None:
    """``fn`` (kendalltau/spearmanr) of a and b; None where undefined (under 3 points, a constant side)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(fn(a, b).statistic)


def noise_report(first: np.ndarray, second: np.ndarray) -> dict:
    """How far two measurements of the same subnets agree (the ceiling any predictor can reach)."""
    diff = np.asarray(first) - np.asarray(second)
    return {
        "n": int(len(diff)),
        "mean_abs_diff": float(np.abs(diff).mean()),
        "std_diff": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0,
        "kendall_tau": rank_corr(kendalltau, first, second),
        "spearman": rank_corr(spearmanr, first, second),
    }


def _file_hash(path: str | Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def measurement_key(supernet_path: str | Path, cfg: AccuracyConfig) -> str:
    """What a supernet measurement depends on: the supernet's bytes, the images and the calibration
    batch (work files made under another key are not reused)."""
    return json.dumps({"supernet": _file_hash(supernet_path), "val_images": cfg.val_images,
                       "calib_images": cfg.calib_images, "seed": cfg.seed}, sort_keys=True)
