"""Shared fixtures: paths to the committed benchmark tables and a tiny idx dataset writer."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "data" / "benchmarks"


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    """Write ``array`` (uint8) as an idx file, the format Fashion-MNIST ships in."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


@pytest.fixture
def tiny_idx_dir(tmp_path: Path) -> Path:
    """A Fashion-MNIST-shaped folder: 60 train / 20 test images of 28×28, 3 classes."""
    rng = np.random.default_rng(0)
    d = tmp_path / "fm"
    d.mkdir()
    for split, n in (("train", 60), ("t10k", 20)):
        write_idx(d / f"{split}-images-idx3-ubyte", rng.integers(0, 255, (n, 28, 28)))
        write_idx(d / f"{split}-labels-idx1-ubyte", np.arange(n) % 3)
    return d


@pytest.fixture(scope="session")
def nb201_table():
    from nag.data.benchmarks import load_nb201

    return load_nb201(BENCH / "nb201.csv")
