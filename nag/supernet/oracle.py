"""Accuracy queries on the mbv3 space answered for real: each architecture is activated in the trained
supernet, its BatchNorm recalibrated, and its accuracy measured on the validation split — the same
measurement (images, calibration batch, settings) as the ``accuracy`` stage's measured rows.

A measurement takes 2.7 s (2 threads) to 4.6 s (1 thread) on a 2-core CPU, so answers are kept in a work
file keyed by ``arch_id`` and by what they depend on (the supernet's bytes and the settings): a rerun, or a
second method asking about the same architecture, costs nothing. The file is written atomically every few
measurements, so an interrupted run resumes with the next unmeasured architecture.

Example::

    >>> oracle = SupernetOracle.load(space, "models/supernet.pt", "data/prepared", AccuracyConfig(),
    ...                              work="data/paper.work/cpu-torch-s0.json")        # doctest: +SKIP
    >>> oracle(space.sample(3, seed=0))                                                # doctest: +SKIP
    array([86.91, 87.42, 86.13])
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nag.atomic import write_json
from nag.config import AccuracyConfig
from nag.spaces.base import Arch
from nag.spaces.mbv3 import MBV3Space
from nag.supernet.data import Images, load_images
from nag.supernet.evaluate import measure, measurement_key


@dataclass
class SupernetOracle:
    """``oracle(archs) -> accuracy (%)`` on the validation split, measured through the supernet."""

    net: object  # nag.supernet.supernet.Supernet (eval mode)
    calib: Images
    val: Images
    batch_size: int
    key: str
    work: Path | None = None
    checkpoint_every: int = 10
    cache: dict[str, float] = field(default_factory=dict)
    took: dict[str, float] = field(default_factory=dict)  # seconds each answer's measurement took
    measured: int = 0  # measurements this process made (not answered from the cache)
    seconds: float = 0.0  # spent measuring in this process

    @classmethod
    def load(cls, space: MBV3Space, supernet_path: str | Path, prepared: str | Path, cfg: AccuracyConfig,
             work: str | Path | None = None) -> SupernetOracle:
        """The oracle with the accuracy stage's images and calibration batch (``cfg`` = ``accuracy:``);
        answers already in ``work`` (made with the same supernet and settings) are reused."""
        from nag.supernet.checkpoint import load_supernet

        net, norm = load_supernet(supernet_path, space)  # missing/foreign file: CheckpointError
        classes = space.macro.num_classes
        val, _ = load_images(prepared, "val", classes, norm=norm)
        train, _ = load_images(prepared, "train", classes, norm=norm)
        oracle = cls(net, train.subset(cfg.calib_images, cfg.seed), val.subset(cfg.val_images, cfg.seed),
                     cfg.batch_size, measurement_key(supernet_path, cfg), Path(work) if work else None,
                     max(1, cfg.checkpoint_every))
        oracle._read_work()
        return oracle

    def _read_work(self) -> None:
        if self.work is None or not self.work.is_file():
            return
        try:
            obj = json.loads(self.work.read_text())
            if not isinstance(obj, dict) or obj.get("key") != self.key:
                return  # another supernet or other settings: nothing in it applies
            cache = {str(k): float(v) for k, v in obj["acc"].items()}
            took = {str(k): float(v) for k, v in obj.get("seconds", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            print(f"{self.work} is unreadable; measuring its architectures again")
            return
        self.cache, self.took = cache, took

    def save(self) -> None:
        if self.work is not None:
            write_json(self.work, {"key": self.key, "acc": self.cache, "seconds": self.took})

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        todo = list({a.arch_id: a for a in archs if a.arch_id not in self.cache}.values())
        for i, arch in enumerate(todo, 1):
            t0 = time.perf_counter()
            self.cache[arch.arch_id] = float(measure(self.net, arch, self.calib, self.val, self.batch_size))
            self.took[arch.arch_id] = time.perf_counter() - t0
            self.seconds += self.took[arch.arch_id]
            self.measured += 1
            if i % self.checkpoint_every == 0 or i == len(todo):
                self.save()
        return np.array([self.cache[a.arch_id] for a in archs], dtype=np.float64)

    def stats(self) -> dict:
        """Measurements made here and known in all; seconds per measurement over every known one (those
        a resumed run took from the work file included, so the figure does not depend on resuming)."""
        return {"measured": self.measured, "cached": len(self.cache), "measure_seconds": self.seconds,
                "seconds_per_measurement": float(np.mean(list(self.took.values()))) if self.took else None,
                "val_images": len(self.val), "calib_images": len(self.calib)}

