"""The ``train_supernet`` stage: progressive shrinking of the elastic MobileNetV3 (resumable), then the
largest, smallest and random subnets measured on the test split."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from nag.config import FinetuneConfig, SupernetConfig
from nag.spaces.base import Arch
from nag.spaces.mbv3 import MBV3Space
from nag.supernet.checkpoint import save_supernet
from nag.supernet.data import Images, load_images, make_space
from nag.supernet.evaluate import accuracy, fold_bn, measure, noise_report, rank_corr
from nag.supernet.finetune import finetune
from nag.supernet.static import arch_madds
from nag.supernet.supernet import Supernet
from nag.supernet.train import StepHook, train_supernet


def trained_alone(space: MBV3Space, cfg: SupernetConfig, arch: Arch, train: Images, test: Images) -> dict:
    """The reference a subnet's supernet accuracy is judged by: the same network trained from scratch on
    its own (``reference_images`` seeded train images, AdamW at the first phase's lr, cosine)."""
    torch.manual_seed(cfg.seed)
    net = Supernet(space).extract(arch)
    if cfg.device != "cuda":
        net = net.to(memory_format=torch.channels_last)
    epochs = -(-cfg.reference_images // len(train))
    ft = FinetuneConfig(epochs=epochs, images_per_epoch=cfg.reference_images // epochs,
                        batch_size=cfg.batch_size, lr=cfg.phases[0].lr, weight_decay=cfg.weight_decay,
                        label_smoothing=cfg.label_smoothing, threads=cfg.threads, seed=cfg.seed)
    record = finetune(net, train, ft, desc="smallest, trained alone")
    return {"test_acc": accuracy(fold_bn(net.eval()), test), "images": record["images"],
            "wall_s": record["wall_s"]}


def run(cfg: SupernetConfig, prepared: str | Path, out: str | Path, work: str | Path,
        on_step: StepHook | None = None, log: Callable[[str], None] = print) -> dict | None:
    """Train (or resume), then measure the largest, smallest and ``eval_subnets`` random subnets on the
    test split after BN recalibration; the random ones twice (two calibration batches) to show the
    evaluation noise beside their spread. Only rank 0 returns metrics (others: None)."""
    space = make_space(cfg, prepared)
    trainer, summary = train_supernet(space, cfg, prepared, work, on_step, log)
    if not trainer.dist.main:
        return None
    t0 = time.perf_counter()
    net = trainer.net.eval()
    test, _ = load_images(prepared, "test", space.macro.num_classes, norm=trainer.norm)
    calib = [trainer.train.subset(cfg.calib_images, cfg.seed + i) for i in (0, 1)]
    largest, smallest = net.largest(), net.smallest()
    randoms = space.sample(cfg.eval_subnets, seed=cfg.seed, unique=True)
    acc = {
        "largest": measure(net, largest, calib[0], test),
        "smallest": measure(net, smallest, calib[0], test),
    }
    first = np.array([measure(net, a, calib[0], test) for a in randoms])
    second = np.array([measure(net, a, calib[1], test) for a in randoms])
    madds = np.array([arch_madds(space, a) for a in randoms])
    save_supernet(out, net, trainer.norm, {"config": asdict(cfg), "history": summary["history"]})
    alone = trained_alone(space, cfg, smallest, trainer.train, test) if cfg.reference_images else None
    noise = noise_report(first, second)
    p = acc["largest"] / 100
    return {
        "test_acc_largest": acc["largest"],
        "test_acc_smallest": acc["smallest"],
        "random_subnets": {
            "n": len(randoms),
            "test_acc": first.round(3).tolist(),
            "mean": float(first.mean()), "std": float(first.std(ddof=1)) if len(first) > 1 else 0.0,
            "min": float(first.min()), "max": float(first.max()),
            "madds": madds.tolist(),
            "spearman_acc_madds": rank_corr(spearmanr, first, madds),
        },
        "eval_noise": {**noise, "per_measurement_std": noise["std_diff"] / np.sqrt(2),
                       "test_sampling_se": 100 * float(np.sqrt(p * (1 - p) / len(test)))},
        "smallest_trained_alone": alone,
        "madds_largest": arch_madds(space, largest),
        "madds_smallest": arch_madds(space, smallest),
        "eval_wall_s": time.perf_counter() - t0,
        **{k: v for k, v in summary.items() if k != "history"},
        "phases": summary["history"],
    }
