"""The ``prepare`` stage: Fashion-MNIST (Debian's idx files) or an image folder, split seeded into
train/val/test under ``data/prepared``."""

from __future__ import annotations

from pathlib import Path

from nag.config import DataConfig
from nag.data.fashion_mnist import prepare


def run(cfg: DataConfig, out: str | Path) -> dict:
    """Write the split; returns its metrics (sizes, classes, source)."""
    return prepare(cfg, out)
