"""Tiny supernet helpers (imported by the tests of this folder): a 2-stage macro at 16×16 and a
synthetic, learnable prepared dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from nag.config import AccuracyConfig, ArchsConfig, PhaseConfig, SupernetConfig

TINY_PHASES = (
    PhaseConfig("full", 1, 0.05),
    PhaseConfig("kernel", 2, 0.02, kernels=(3, 5, 7)),
    PhaseConfig("depth", 1, 0.02, kernels=(3, 5, 7), depths=(2, 3, 4)),
    PhaseConfig("expand", 1, 0.02, kernels=(3, 5, 7), depths=(2, 3, 4), expands=(3, 4, 6)),
)


def tiny_cfg(**kw) -> SupernetConfig:
    base = dict(width_mult=0.25, input_size=16, stem_stride=1, stage_strides=(2, 2), batch_size=16,
                images_per_epoch=48, subnets_per_step=2, phases=TINY_PHASES, calib_images=32, eval_subnets=3,
                threads=1, device="cpu", optimizer="sgd")
    return SupernetConfig(**{**base, **kw})


def make_prepared(folder: Path, n_train: int = 96, n_val: int = 48, n_test: int = 48, size: int = 16,
                  classes: int = 3) -> Path:
    """Images whose class is a bright quadrant (plus noise): learnable in a few steps."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        y = np.arange(n) % classes
        x = rng.integers(0, 60, (n, size, size)).astype(np.uint8)
        h = size // 2
        for i, c in enumerate(y):
            r, q = divmod(int(c), 2)
            x[i, r * h:(r + 1) * h, q * h:(q + 1) * h] += 150
        np.savez_compressed(folder / f"{split}.npz", x=x, y=y)
    meta = {"source": "synthetic", "format": "idx", "classes": [str(c) for c in range(classes)],
            "image_shape": [size, size], "sizes": {"train": n_train, "val": n_val, "test": n_test}, "seed": 0}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    return make_prepared(tmp_path / "prepared")


def write_tiny_params(path: Path, **supernet_kw) -> Path:
    """A params.yaml holding the tiny supernet/archs/accuracy settings (for CLI and torchrun tests)."""
    cfg = tiny_cfg(**supernet_kw)
    sn = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items() if k != "phases"}
    sn["phases"] = [{"name": p.name, "epochs": p.epochs, "lr": p.lr, "kernels": list(p.kernels),
                     "depths": list(p.depths), "expands": list(p.expands)} for p in cfg.phases]
    path.write_text(yaml.safe_dump({"supernet": sn, "archs": {"count": 40},
                                    "accuracy": {"measured": 12, "repeats": 4, "calib_images": 32,
                                                 "predictors": ["ridge", "rf"], "batch_size": 64}}))
    return path


TINY_ARCHS = ArchsConfig(count=40, seed=0)
TINY_ACC = AccuracyConfig(measured=12, repeats=4, calib_images=32, predictors=("ridge", "rf"), batch_size=64,
                          checkpoint_every=5)
