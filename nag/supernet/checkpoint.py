"""Supernet checkpoints: weights plus the macro they were trained for, and (while training) the
optimizer state and progress a resumed run continues from.

Loading a checkpoint for another macro (width, input size, strides, classes) is an error naming the
fields that differ; a truncated or foreign file is an error too, never a silent retrain.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from nag.method.checkpoint import FORMAT, CheckpointError, load_object, save_object
from nag.spaces.mbv3 import MBV3Space
from nag.supernet.supernet import Supernet


def _meta(space: MBV3Space) -> dict:
    macro = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(space.macro).items()}
    return {"space": space.name, "macro": macro}


def save_supernet(
    path: str | Path, net: Supernet, norm: tuple[float, float], extra: dict | None = None
) -> None:
    """Write weights + macro + input normalisation (+ ``extra``: progress, optimizer...) atomically."""
    obj = {"kind": "supernet", "format": FORMAT, "meta": {**_meta(net.space), "norm": list(norm)},
           "state": net.state_dict(), **(extra or {})}
    save_object(path, obj)


def check_supernet_meta(obj: dict, space: MBV3Space, path: str | Path) -> None:
    want, got = _meta(space), {"space": obj["meta"].get("space"), "macro": obj["meta"].get("macro", {})}
    if got == want:
        return
    diffs = [f"{k}: checkpoint {got['macro'].get(k)!r} vs params {v!r}"
             for k, v in want["macro"].items() if got["macro"].get(k) != v]
    if got["space"] != want["space"]:
        diffs.insert(0, f"space: checkpoint {got['space']!r} vs params {want['space']!r}")
    raise CheckpointError(f"{path} was trained for another supernet ({'; '.join(diffs)}); retrain it "
                          f"(dvc repro train_supernet) or restore the params it was trained with")


def read_supernet(path: str | Path, space: MBV3Space) -> dict:
    """The raw checkpoint dict, checked against ``space``."""
    obj = load_object(path, "supernet")
    check_supernet_meta(obj, space, path)
    return obj


def load_supernet(path: str | Path, space: MBV3Space) -> tuple[Supernet, tuple[float, float]]:
    """The trained supernet (eval mode) and the input normalisation (mean, std) it expects."""
    obj = read_supernet(path, space)
    net = Supernet(space)
    net.load_state_dict(obj["state"])
    return net.eval(), tuple(obj["meta"]["norm"])
