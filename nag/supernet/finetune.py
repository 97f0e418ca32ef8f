"""A generated architecture as a network of its own: extracted from the supernet (BatchNorm recalibrated
for its path), then finetuned on the train split without the other subnets pulling at its weights.

Example::

    >>> net = subnet_from_supernet(supernet, arch, calib)              # doctest: +SKIP
    >>> stats = finetune(net, train, FinetuneConfig(epochs=1))          # doctest: +SKIP
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from nag.config import ConfigError, FinetuneConfig
from nag.spaces.base import Arch
from nag.supernet.data import Images
from nag.supernet.static import StaticNet
from nag.supernet.supernet import Supernet, recalibrate_bn
from nag.supernet.threads import torch_threads


def subnet_from_supernet(supernet: Supernet, arch: Arch, calib: Images) -> StaticNet:
    """``arch``'s weights as a standalone network (eval mode), BatchNorm statistics re-estimated on
    ``calib`` for this path first (the supernet's own running statistics belong to no single subnet)."""
    supernet.set_active(arch)
    device = next(supernet.parameters()).device
    recalibrate_bn(supernet, calib.x.to(device), batch_size=500)
    return supernet.extract(arch).eval()


def _optimizer(net: nn.Module, cfg: FinetuneConfig) -> torch.optim.Optimizer:
    decay = [p for p in net.parameters() if p.ndim > 1]
    no_decay = [p for p in net.parameters() if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)


def finetune(net: nn.Module, train: Images, cfg: FinetuneConfig, seed: int = 0, progress: bool = True,
             desc: str = "finetune") -> dict:
    """Train ``net`` in place: AdamW, cosine lr from ``cfg.lr`` to 0, label smoothing, random horizontal
    flips, ``cfg.images_per_epoch`` seeded random train images per epoch. Leaves it in eval mode and
    returns the training record (steps, first/last loss, images/s)."""
    n = len(train)
    m = min(cfg.images_per_epoch or n, n)
    steps_per_epoch = m // cfg.batch_size
    if steps_per_epoch == 0:
        raise ConfigError(f"finetune.batch_size {cfg.batch_size} exceeds the {m} images of an epoch")
    total = steps_per_epoch * cfg.epochs
    opt = _optimizer(net, cfg)
    losses: list[float] = []
    t0 = time.perf_counter()
    net.train()
    torch.manual_seed(cfg.seed * 1_000_003 + seed)  # dropout: the same run gives the same weights
    threads = cfg.threads or torch.get_num_threads()
    with torch_threads(threads):
        bar = tqdm(total=total, desc=desc, disable=not progress, leave=False)
        for ep in range(cfg.epochs):
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + seed * 1009 + ep)
            perm = torch.randperm(n, generator=gen)[:m]
            for step in range(steps_per_epoch):
                idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size]
                x, y = train.x[idx], train.y[idx]
                flip = torch.rand(len(idx), generator=gen) < 0.5
                x = torch.where(flip[:, None, None, None], x.flip(3), x)
                t = (ep * steps_per_epoch + step) / total
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * t))
                loss = F.cross_entropy(net(x), y, label_smoothing=cfg.label_smoothing)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"{desc}: the loss became {float(loss)} at step {len(losses)}; "
                                             f"lower finetune.lr ({cfg.lr:g})")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
                bar.update()
        bar.close()
    net.eval()
    wall = time.perf_counter() - t0
    head = losses[: max(1, len(losses) // 10)]
    tail = losses[-max(1, len(losses) // 10):]
    return {"steps": total, "images": total * cfg.batch_size, "loss_first": sum(head) / len(head),
            "loss_last": sum(tail) / len(tail), "wall_s": wall, "images_per_s": total * cfg.batch_size / wall}
