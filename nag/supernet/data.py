"""What the supernet stages share: the macro built from params + the prepared data, and image tensors.

Example::

    >>> from nag.config import SupernetConfig
    >>> macro = make_macro(SupernetConfig(), {"classes": list("0123456789"), "image_shape": [28, 28]})
    >>> macro.num_classes, macro.in_channels, macro.stage_channels
    (10, 1, (8, 16, 24, 32, 40))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nag.config import SupernetConfig
from nag.data.fashion_mnist import DatasetError, load_split
from nag.spaces.mbv3 import MBV3Macro, MBV3Space


def read_meta(prepared_dir: str | Path) -> dict:
    path = Path(prepared_dir) / "meta.json"
    if not path.is_file():
        raise DatasetError(f"missing {path}: run the prepare stage first (dvc repro prepare)")
    return json.loads(path.read_text())


def make_macro(cfg: SupernetConfig, meta: dict) -> MBV3Macro:
    """The MobileNetV3 macro for this dataset: width, stem stride, strides and input size from params;
    classes and channels from the prepared data (whose image size must match ``input_size``)."""
    shape = list(meta["image_shape"])
    if shape[0] != cfg.input_size or shape[1] != cfg.input_size:
        raise DatasetError(f"prepared images are {shape[0]}x{shape[1]} but supernet.input_size is "
                           f"{cfg.input_size}: set one to match the other")
    return MBV3Macro(width_mult=cfg.width_mult, input_size=cfg.input_size,
                     in_channels=1 if len(shape) == 2 else int(shape[2]), num_classes=len(meta["classes"]),
                     stem_stride=cfg.stem_stride, stage_strides=tuple(cfg.stage_strides), dropout=cfg.dropout)


def make_space(cfg: SupernetConfig, prepared_dir: str | Path) -> MBV3Space:
    return MBV3Space(make_macro(cfg, read_meta(prepared_dir)))


@dataclass
class Images:
    """One split as a normalised float tensor ``(N, C, H, W)`` and int64 labels."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, n: int, seed: int) -> Images:
        """A seeded random subset of ``n`` images (all of them when ``n`` is 0 or too large)."""
        if n <= 0 or n >= len(self):
            return self
        idx = torch.from_numpy(np.random.default_rng(seed).choice(len(self), n, replace=False))
        return Images(self.x[idx], self.y[idx])


def load_images(prepared_dir: str | Path, split: str, num_classes: int,
                norm: tuple[float, float] | None = None) -> tuple[Images, tuple[float, float]]:
    """Load a split, check it (non-empty, labels in range), normalise with ``norm`` or its own
    mean/std. Returns the images and the normalisation used."""
    x, y = load_split(prepared_dir, split)
    if len(y) == 0:
        raise DatasetError(f"the {split} split in {prepared_dir} is empty")
    if y.min() < 0 or y.max() >= num_classes:
        raise DatasetError(
            f"the {split} split has labels {int(y.min())}..{int(y.max())} but the data declares "
            f"{num_classes} classes: the labels are wrong or meta.json is; rerun prepare"
        )
    t = torch.from_numpy(x).float().div_(255.0)
    t = t.unsqueeze(1) if t.ndim == 3 else t.permute(0, 3, 1, 2)
    if norm is None:
        norm = (float(t.mean()), float(t.std()))
    t = t.sub_(norm[0]).div_(norm[1])
    return Images(t.contiguous(memory_format=torch.channels_last), torch.from_numpy(y)), norm
