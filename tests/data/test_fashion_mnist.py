from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from conftest import write_idx

from nag.config import DataConfig
from nag.data.fashion_mnist import DatasetError, load_split, prepare, read_idx


def test_read_idx_plain_and_gz(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for gz in (True, False):
        p = write_idx(tmp_path / f"x{gz}", arr, gz=gz)
        np.testing.assert_array_equal(read_idx(p), arr)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw[:-5], "truncated"),
        (lambda raw: raw + b"\x00", "padded"),
        (lambda raw: b"\x01\x02" + raw[2:], "magic"),
        (lambda raw: raw[:6], "header"),
    ],
)
def test_read_idx_corrupt(tmp_path, damage, message):
    p = write_idx(tmp_path / "x", np.zeros((4, 5, 5)), gz=False)
    p.write_bytes(damage(p.read_bytes()))
    with pytest.raises(DatasetError, match=message):
        read_idx(p)


def test_read_idx_bad_gzip_and_missing(tmp_path):
    p = tmp_path / "x.gz"
    p.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")[:-4])
    with pytest.raises(DatasetError, match="x.gz"):
        read_idx(p)
    with pytest.raises(DatasetError, match="apt-get install -y dataset-fashion-mnist"):
        read_idx(tmp_path / "nope.gz")


def test_prepare_split(tiny_idx_dir, tmp_path):
    cfg = DataConfig(source=str(tiny_idx_dir), val_size=12, seed=3)
    out = tmp_path / "prepared"
    metrics = prepare(cfg, out)
    assert metrics == {"n_train": 48, "n_val": 12, "n_test": 20, "n_classes": 3}
    xtr, ytr = load_split(out, "train")
    xva, yva = load_split(out, "val")
    assert xtr.shape == (48, 28, 28) and xva.shape == (12, 28, 28) and ytr.dtype == np.int64
    meta = json.loads((out / "meta.json").read_text())
    assert meta["sizes"] == {"train": 48, "val": 12, "test": 20}
    # seeded: same split again; no temp folders left beside the output
    prepare(cfg, tmp_path / "again")
    np.testing.assert_array_equal(load_split(tmp_path / "again", "val")[0], xva)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "fm", "prepared"]


def test_prepare_missing_file_leaves_nothing(tiny_idx_dir, tmp_path):
    (tiny_idx_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    out = tmp_path / "prepared"
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte"):
        prepare(DataConfig(source=str(tiny_idx_dir), val_size=10), out)
    assert not out.exists()


def test_prepare_mislabelled(tiny_idx_dir, tmp_path):
    write_idx(tiny_idx_dir / "train-labels-idx1-ubyte", np.arange(59))  # 59 labels for 60 images
    with pytest.raises(DatasetError, match="do not match"):
        prepare(DataConfig(source=str(tiny_idx_dir), val_size=10), tmp_path / "p")
    write_idx(tiny_idx_dir / "train-labels-idx1-ubyte", np.zeros(60))  # one class only
    with pytest.raises(DatasetError, match="class"):
        prepare(DataConfig(source=str(tiny_idx_dir), val_size=10), tmp_path / "p")


def test_prepare_image_folder(tmp_path):
    from PIL import Image

    root = tmp_path / "imgs"
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)).save(root / cls / f"{i}.png")
    (root / "dog" / "notes.txt").write_text("ignored")
    cfg = DataConfig(source=str(root), format="imagefolder", val_size=4, test_fraction=0.2, image_size=16)
    metrics = prepare(cfg, tmp_path / "p")
    assert metrics == {"n_train": 12, "n_val": 4, "n_test": 4, "n_classes": 2}
    assert load_split(tmp_path / "p", "test")[0].shape == (4, 16, 16)
    with pytest.raises(DatasetError, match="class sub-folders"):
        prepare(DataConfig(source=str(tmp_path / "empty"), format="imagefolder"), tmp_path / "q")
