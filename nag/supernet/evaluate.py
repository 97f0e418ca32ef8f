"""Measuring subnets through the supernet: BN recalibration, then accuracy on held-out images.

Example::

    >>> acc = measure(supernet, arch, calib, val)          # doctest: +SKIP   (% correct)
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

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


def measure(net: Supernet, arch: Arch, calib: Images, data: Images, batch_size: int = 1000) -> float:
    """Activate ``arch``, recalibrate BatchNorm on ``calib`` images, return its accuracy on ``data``."""
    net.set_active(arch)
    device = next(net.parameters()).device
    recalibrate_bn(net, calib.x.to(device), batch_size=min(batch_size, 500))
    return accuracy(net, data, batch_size)


def noise_report(first: np.ndarray, second: np.ndarray) -> dict:
    """How far two measurements of the same subnets agree (the ceiling any predictor can reach)."""
    diff = np.asarray(first) - np.asarray(second)
    return {
        "n": int(len(diff)),
        "mean_abs_diff": float(np.abs(diff).mean()),
        "std_diff": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0,
        "kendall_tau": float(kendalltau(first, second).statistic) if len(diff) > 2 else float("nan"),
        "spearman": float(spearmanr(first, second).statistic) if len(diff) > 2 else float("nan"),
    }
