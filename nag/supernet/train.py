"""Progressive shrinking (once-for-all): train the full network, then open up kernel, depth and expand
choices phase by phase, several subnets per step (random, or the sandwich rule: largest + smallest + random;
``nag.supernet.sampling``), optional in-place distillation from the largest.

Runs unchanged on one process or under ``torchrun`` (DistributedDataParallel; gloo on CPU, nccl on
GPU): each rank takes every ``world``-th image of the epoch's permutation, all ranks sample the same
subnets (same seeded generator) and rank 0 alone writes checkpoints. A checkpoint is written after
every epoch and every phase; a rerun resumes from the last one (same result as an uninterrupted run:
every random draw is seeded by (seed, phase, epoch)).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as torch_dist
from torch import nn
from tqdm import tqdm

from nag.config import ConfigError, PhaseConfig, SupernetConfig
from nag.method.checkpoint import CheckpointError, load_object
from nag.spaces.mbv3 import DEPTHS, EXPANDS, KERNELS, MBV3Space
from nag.supernet.checkpoint import check_supernet_meta, save_supernet
from nag.supernet.data import Images, load_images
from nag.supernet.sampling import SubnetLoss, step_archs, step_plan
from nag.supernet.supernet import Supernet

StepHook = Callable[[int, int, int], None]


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(cfg: SupernetConfig) -> tuple[Dist, torch.device]:
    """Join the process group when started by torchrun; pick the device (CUDA when present and asked)."""
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"supernet.device must be auto, cpu or cuda, got {cfg.device!r}")
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("supernet.device is cuda but no CUDA device is visible; use auto or cpu")
    cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    d = Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    if world > 1 and not torch_dist.is_initialized():
        torch_dist.init_process_group("nccl" if cuda else "gloo")
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    return d, torch.device(f"cuda:{d.local_rank}" if cuda else "cpu")


def check_schedule(cfg: SupernetConfig, world: int = 1) -> None:
    """Refuse a schedule the space cannot run, with the offending phase named."""
    if not cfg.phases:
        raise ConfigError("supernet.phases is empty: give at least one phase")
    for p in cfg.phases:
        for name, values, allowed in (("kernels", p.kernels, KERNELS), ("depths", p.depths, DEPTHS),
                                      ("expands", p.expands, EXPANDS)):
            if not values or set(values) - set(allowed):
                raise ConfigError(
                    f"supernet phase {p.name!r}: {name} {list(values)} must be a non-empty subset of "
                    f"{list(allowed)}"
                )
        if p.epochs < 1 or p.lr <= 0:
            raise ConfigError(f"supernet phase {p.name!r}: epochs must be >= 1 and lr > 0")
    if cfg.optimizer not in ("sgd", "adamw"):
        raise ConfigError(f"supernet.optimizer must be sgd or adamw, got {cfg.optimizer!r}")
    if cfg.batch_size < world or cfg.batch_size % world or cfg.subnets_per_step < 1:
        raise ConfigError(f"supernet.batch_size ({cfg.batch_size}) must be a multiple of the {world} ranks "
                          f"and subnets_per_step >= 1")
    step_plan(cfg.sampling, cfg.subnets_per_step, cfg.distill, single=False)  # refuses a bad sampling rule


EVAL_ONLY = ("calib_images", "eval_subnets", "reference_images", "device", "threads")


def fingerprint(cfg: SupernetConfig, space: MBV3Space) -> str:
    """What a resumed run must share with the checkpoint (evaluation-only settings excluded)."""
    train = {k: v for k, v in asdict(cfg).items() if k not in EVAL_ONLY}
    text = json.dumps({"cfg": train, "macro": asdict(space.macro)}, sort_keys=True, default=list)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _seed(*parts: int) -> int:
    return int(hashlib.sha1(",".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def _optimizer(net: Supernet, cfg: SupernetConfig, lr: float) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        (no_decay if p.ndim <= 1 or "transforms" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    return torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum, nesterov=True)


def _phase_choices(phase: PhaseConfig) -> tuple[tuple[int, ...], ...]:
    return tuple(sorted(phase.kernels)), tuple(sorted(phase.depths)), tuple(sorted(phase.expands))


def _resume(
    work: Path, fp: str, space: MBV3Space, log: Callable[[str], None], main: bool = True
) -> dict | None:
    last = work / "last.pt"
    if not last.exists():
        return None
    try:
        obj = load_object(last, "supernet")
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}. It is the resume point of an interrupted training: delete {work} to "
                              f"train from scratch (nothing was overwritten)") from None
    if obj.get("progress", {}).get("fingerprint") != fp:
        if main:  # one rank moves the old run aside; every rank starts from scratch
            stale = work.with_name(f"{work.name}.stale-{time.strftime('%Y%m%d-%H%M%S')}")
            log(f"{last} was written for other supernet settings; starting from scratch (kept as {stale})")
            os.replace(work, stale)
            work.mkdir()
        return None
    check_supernet_meta(obj, space, last)
    return obj


class Trainer:
    """Holds the state of one progressive-shrinking run (see :func:`train_supernet`)."""

    def __init__(self, space: MBV3Space, cfg: SupernetConfig, train: Images, norm: tuple[float, float],
                 work: Path, dist: Dist, device: torch.device, log: Callable[[str], None]) -> None:
        self.space, self.cfg, self.train, self.norm, self.work = space, cfg, train, norm, work
        self.dist, self.device, self.log = dist, device, log
        torch.manual_seed(_seed(cfg.seed, -1))  # the initial weights (a resumed run overwrites them)
        self.net = Supernet(space).to(device)
        if device.type == "cpu":  # depthwise backward is 2-3x faster in channels_last on CPU
            self.net = self.net.to(memory_format=torch.channels_last)
        self.fp = fingerprint(cfg, space)
        self.history: list[dict] = []
        self.start = (0, 0)
        self.opt_state = None
        obj = _resume(work, self.fp, space, log, dist.main)
        if obj is not None:
            self.net.load_state_dict(obj["state"])
            self.history = obj["history"]
            self.start = (obj["progress"]["phase"], obj["progress"]["epoch"])
            self.opt_state = obj["optimizer"]
            log(f"resuming from {work / 'last.pt'}: phase {self.start[0]}, epoch {self.start[1]}")
        model: nn.Module = SubnetLoss(self.net, cfg.label_smoothing, cfg.distill_temperature)
        if dist.world > 1:
            ids = [device.index] if device.type == "cuda" else None
            model = nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)
        self.model = model

    def _save(
        self, phase: int, epoch: int, opt: torch.optim.Optimizer | None, copy_as: str | None = None
    ) -> None:
        if not self.dist.main:
            return
        extra = {"progress": {"phase": phase, "epoch": epoch, "fingerprint": self.fp},
                 "optimizer": opt.state_dict() if opt else None, "history": self.history}
        save_supernet(self.work / "last.pt", self.net, self.norm, extra)
        if copy_as:
            shutil.copyfile(self.work / "last.pt", self.work / f".{copy_as}.tmp")
            os.replace(self.work / f".{copy_as}.tmp", self.work / copy_as)

    def run(self, on_step: StepHook | None = None) -> None:
        for pi, phase in enumerate(self.cfg.phases):
            if pi < self.start[0]:
                continue
            first_epoch = self.start[1] if pi == self.start[0] else 0
            if first_epoch == 0 and min(phase.expands) < max(EXPANDS):
                self.net.sort_channels()  # before any expand phase, as once-for-all does
            opt = _optimizer(self.net, self.cfg, phase.lr)
            if first_epoch > 0 and self.opt_state is not None:
                opt.load_state_dict(self.opt_state)
            for ep in range(first_epoch, phase.epochs):
                self.history.append(self._epoch(pi, phase, ep, opt, on_step))
                done = ep + 1 == phase.epochs
                self._save(pi + 1 if done else pi, 0 if done else ep + 1, None if done else opt,
                           copy_as=f"phase-{pi}-{phase.name}.pt" if done else None)

    def _epoch(self, pi: int, phase: PhaseConfig, ep: int, opt: torch.optim.Optimizer,
               on_step: StepHook | None) -> dict:
        cfg, d = self.cfg, self.dist
        n = len(self.train)
        m = min(cfg.images_per_epoch or n, n)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(_seed(cfg.seed, pi, ep)))[:m]
        local, bs = perm[d.rank :: d.world], cfg.batch_size // d.world
        steps = m // cfg.batch_size
        if steps == 0:
            raise ConfigError(f"supernet.batch_size {cfg.batch_size} exceeds the {m} images of an epoch")
        rng = np.random.default_rng([cfg.seed, pi, ep])
        torch.manual_seed(_seed(cfg.seed, pi, ep, d.rank))  # dropout and flips
        kernels, depths, expands = _phase_choices(phase)
        single = len(kernels) == len(depths) == len(expands) == 1
        plan = step_plan(cfg.sampling, cfg.subnets_per_step, cfg.distill, single)
        total_steps = steps * phase.epochs
        self.model.train()
        t0, loss_sum, seen = time.perf_counter(), 0.0, 0
        bar = tqdm(
            range(steps), desc=f"{phase.name} {ep + 1}/{phase.epochs}", disable=not d.main, leave=False
        )
        for step in bar:
            idx = local[step * bs : (step + 1) * bs]
            x, y = self.train.x[idx].to(self.device), self.train.y[idx].to(self.device)
            flip = torch.rand(len(idx), device=self.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            teacher, archs = step_archs(plan, rng, self.net, kernels, depths, expands)
            t = (ep * steps + step) / total_steps
            for group in opt.param_groups:
                group["lr"] = phase.lr * 0.5 * (1 + math.cos(math.pi * t))
            loss = self.model(x, y, archs, teacher)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach())
            seen += len(idx) * (len(archs) + (teacher is not None))
            if on_step is not None:
                on_step(pi, ep, step)
        wall = time.perf_counter() - t0
        rec = {"phase": phase.name, "epoch": ep, "steps": steps, "loss": loss_sum / steps, "wall_s": wall,
               "subnet_images_per_s": seen * d.world / wall}
        if d.main:
            self.log(f"{phase.name} epoch {ep + 1}/{phase.epochs}: loss {rec['loss']:.4f}, {wall:.0f} s, "
                     f"{rec['subnet_images_per_s']:.0f} subnet-images/s")
        return rec

    def in_sync(self) -> bool:
        """Whether every rank holds the same weights (trivially true on one process)."""
        if self.dist.world == 1:
            return True
        sums = (
            torch.stack([p.detach().double().sum() for p in self.net.parameters()])
            .sum()
            .reshape(1)
            .to(self.device)
        )
        gathered = [torch.zeros_like(sums) for _ in range(self.dist.world)]
        torch_dist.all_gather(gathered, sums)
        return bool(all(torch.allclose(g, gathered[0], rtol=1e-9, atol=1e-6) for g in gathered))


def train_supernet(
    space: MBV3Space,
    cfg: SupernetConfig,
    prepared_dir: str | Path,
    work_dir: str | Path,
    on_step: StepHook | None = None,
    log: Callable[[str], None] = print,
) -> tuple[Trainer, dict]:
    """Run (or resume) progressive shrinking. Returns the trainer (its ``net`` is trained) and a
    summary with wall time, throughput and the per-epoch history."""
    dist, device = setup(cfg)
    check_schedule(cfg, dist.world)
    train, norm = load_images(prepared_dir, "train", space.macro.num_classes)
    work = Path(work_dir)
    if dist.main:
        work.mkdir(parents=True, exist_ok=True)
    if dist.world > 1:
        torch_dist.barrier()
    t0 = time.perf_counter()
    trainer = Trainer(space, cfg, train, norm, work, dist, device, log)
    trainer.run(on_step)
    wall = time.perf_counter() - t0
    hist = trainer.history
    summary = {
        "world_size": dist.world,
        "device": str(device),
        "train_wall_s": sum(h["wall_s"] for h in hist),
        "this_run_wall_s": wall,
        "subnet_images_per_s": (sum(h["subnet_images_per_s"] * h["wall_s"] for h in hist) /
                                max(1e-9, sum(h["wall_s"] for h in hist))),
        "ranks_in_sync": trainer.in_sync(),
        "history": hist,
    }
    return trainer, summary
