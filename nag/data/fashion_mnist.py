"""Fashion-MNIST (idx / idx.gz) reader, an image-folder reader, and the seeded ``prepare`` split.

Example::

    >>> from nag.data.fashion_mnist import read_idx
    >>> images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape                                                                        # doctest: +SKIP
    (10000, 28, 28)
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from nag.atomic import atomic_path, write_json
from nag.config import DataConfig
from nag.errors import NagError

INSTALL_HINT = "apt-get install -y dataset-fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class DatasetError(NagError, RuntimeError):
    """A data file that is missing, corrupt or inconsistent."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read one idx file (optionally gzipped) into an array; any defect raises :class:`DatasetError`."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"missing data file {path} (install it with: {INSTALL_HINT})")
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read {path}: {exc} (reinstall with: {INSTALL_HINT})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DatasetError(f"{path} is not an idx file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path} is truncated inside its header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path} is truncated or padded: header promises {expected} bytes of data, "
            f"file holds {len(raw) - header} (reinstall with: {INSTALL_HINT})"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise DatasetError(
        f"missing {stem}(.gz) in {folder} (install Fashion-MNIST with: {INSTALL_HINT}, "
        f"or point data.source in params.yaml at a folder holding the four idx files)"
    )


def load_idx_folder(folder: str | Path) -> dict[str, np.ndarray]:
    """Load the four Fashion-MNIST idx files from ``folder`` and check they agree."""
    folder = Path(folder)
    arrays = {key: read_idx(_find(folder, stem)) for key, stem in FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(f"{split}: images {x.shape} and labels {y.shape} do not match")
        if len(x) == 0:
            raise DatasetError(f"{split} split in {folder} is empty")
    return arrays


def load_image_folder(folder: str | Path, size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read an ImageFolder-style tree (``folder/<class>/<image>``) as grayscale ``size×size`` uint8."""
    from PIL import Image  # only this reader needs Pillow

    folder = Path(folder)
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not classes:
        raise DatasetError(f"{folder} holds no class sub-folders (expected <folder>/<class>/<image>)")
    xs, ys = [], []
    for label, cls in enumerate(classes):
        for img_path in sorted((folder / cls).iterdir()):
            if img_path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(img_path) as im:
                    xs.append(np.asarray(im.convert("L").resize((size, size)), dtype=np.uint8))
            except OSError as exc:
                raise DatasetError(f"cannot decode image {img_path}: {exc}") from exc
            ys.append(label)
    if not xs:
        raise DatasetError(f"{folder} holds no images with suffix in {IMAGE_SUFFIXES}")
    return np.stack(xs), np.asarray(ys, dtype=np.uint8), classes


def _check_labels(name: str, y: np.ndarray) -> None:
    classes = np.unique(y)
    if len(classes) < 2:
        raise DatasetError(f"{name} holds {len(classes)} class(es); a classifier needs at least 2")


def prepare(cfg: DataConfig, out_dir: str | Path) -> dict:
    """Split the data into train/val/test (val carved from train, seeded) and write
    ``out_dir/{train,val,test}.npz`` + ``meta.json`` atomically. Returns the metrics dict."""
    rng = np.random.default_rng(cfg.seed)
    if cfg.format == "idx":
        arrays = load_idx_folder(cfg.source)
        x_train, y_train = arrays["train_images"], arrays["train_labels"]
        x_test, y_test = arrays["test_images"], arrays["test_labels"]
        classes = [str(i) for i in range(int(max(y_train.max(), y_test.max())) + 1)]
    elif cfg.format == "imagefolder":
        x_all, y_all, classes = load_image_folder(cfg.source, cfg.image_size)
        perm = rng.permutation(len(x_all))
        n_test = max(1, int(round(cfg.test_fraction * len(x_all))))
        x_test, y_test = x_all[perm[:n_test]], y_all[perm[:n_test]]
        x_train, y_train = x_all[perm[n_test:]], y_all[perm[n_test:]]
    else:
        raise DatasetError(f"unknown data.format {cfg.format!r}; use 'idx' or 'imagefolder'")
    if not 0 < cfg.val_size < len(x_train):
        raise DatasetError(f"data.val_size={cfg.val_size} must be between 1 and {len(x_train) - 1}")
    _check_labels("train split", y_train)
    perm = rng.permutation(len(x_train))
    val_idx, train_idx = perm[: cfg.val_size], perm[cfg.val_size :]
    splits = {
        "train": (x_train[train_idx], y_train[train_idx]),
        "val": (x_train[val_idx], y_train[val_idx]),
        "test": (x_test, y_test),
    }
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for name, (x, y) in splits.items():
            np.savez_compressed(tmp / f"{name}.npz", x=x, y=y)
        meta = {
            "source": str(cfg.source),
            "format": cfg.format,
            "classes": classes,
            "image_shape": list(x_train.shape[1:]),
            "sizes": {k: int(len(v[1])) for k, v in splits.items()},
            "seed": cfg.seed,
        }
        write_json(tmp / "meta.json", meta)
    return {"n_train": meta["sizes"]["train"], "n_val": meta["sizes"]["val"],
            "n_test": meta["sizes"]["test"], "n_classes": len(classes)}


def load_split(prepared_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load one prepared split as ``(images uint8 (N, H, W), labels int64 (N,))``."""
    path = Path(prepared_dir) / f"{split}.npz"
    if not path.is_file():
        raise DatasetError(f"missing {path}: run the prepare stage first (dvc repro prepare)")
    with np.load(path) as z:
        return z["x"], z["y"].astype(np.int64)
