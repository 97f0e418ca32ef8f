"""``nag measure-plan … --kit DIR``: the planned networks as files a device can run, and what runs them.

A kit folder holds ``models/<arch_id>.onnx`` (random weights, batch 1, the platform's fixed input shape:
NB201 cells in the benchmark's CIFAR macro at 3×32×32, OFA MobileNetV3 subnets at 3×r×r), ``plan.csv``
(the import format with an ``arch_id`` column and ``latency_ms`` empty), ``measure.py`` (numpy +
onnxruntime only) and ``README.md`` for the device's owner. The filled ``plan.csv`` goes straight to
``python -m flows.devices add NAME plan.csv`` or the inbox, which check each ``arch_id`` against its row.

Example::

    >>> write_kit(Path("kit"), rows)         # rows from the measurement plan        # doctest: +SKIP
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import torch

from nag.atomic import atomic_path
from nag.errors import NagError
from nag.spaces.base import Arch

MEASURE = Path(__file__).with_name("measure.py")


class KitError(NagError, ValueError):
    """A kit that cannot be built (its folder is taken, a plan row names no network of the space)."""


def row_network(row: dict) -> tuple[Arch, torch.nn.Module, tuple[int, ...]]:
    """(architecture, network with random weights in eval mode, input shape) of one plan row: an NB201
    ``arch_str``, or OFA ``ks``/``e``/``d`` at ``resolution`` (the ImageNet-scale MobileNetV3 family the
    reference devices measured)."""
    if "arch_str" in row:
        from nag.kit.nb201_net import INPUT, build_nb201
        from nag.spaces.nb201 import NB201Space

        arch = NB201Space().parse(str(row["arch_str"]))
        return arch, build_nb201(arch), (1, *INPUT)
    from nag.spaces.mbv3 import MBV3Macro, MBV3Space
    from nag.supernet.static import build_static

    r = int(row["resolution"])
    space = MBV3Space(MBV3Macro(input_size=r))
    ks, e, d = ([int(v) for v in str(row[k]).split()] for k in ("ks", "e", "d"))
    arch = space.from_ofa(ks, e, d)
    torch.manual_seed(0)
    return arch, build_static(space, arch).eval(), (1, 3, r, r)


def kit_readme(n: int, kind: str) -> str:
    return f"""# Measurement kit: {n} {kind} networks to time on your device

1. Copy this folder to the device (models/ holds one ONNX file per network, batch 1, fixed input shape).
2. `pip install onnxruntime numpy` (Python 3), then `python measure.py` in this folder
   (`--threads 1` for one core, `--rounds`/`--repeats` for a steadier figure; a killed run resumes).
3. Bring `plan.csv` back (now with latency_ms, repeats, std_ms filled) and add the device:
   `python -m flows.devices add NAME plan.csv` — or drop it into `data/devices/incoming/NAME.csv`.

**An Android phone without Python**: convert each model to `.tflite` with your toolchain, time it with
LiteRT's `benchmark_model` over adb, one log per model named `<arch_id>.log`
(`adb shell /data/local/tmp/benchmark_model --graph=/data/local/tmp/<arch_id>.tflite > <arch_id>.log`),
then on your computer: `nag kit import-logs KIT_DIR LOG_DIR` fills plan.csv from them.

Every row keeps its `arch_id`: the project checks it against the row's architecture when you add it.
"""


def write_kit(out: Path, rows: list[dict], force: bool = False, progress=None) -> dict:
    """Write the kit for plan ``rows`` into ``out`` (a new or empty folder; ``force``: replaced), atomically.
    Returns ``{"dir", "models", "bytes"}``."""
    from nag.latency.meter import onnx_bytes

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise KitError(f"--kit {out} exists and is not an empty folder; pass --force to replace it")
    if not rows:
        raise KitError("the plan has no rows: nothing to put in a kit")
    if not out.parent.is_dir():
        raise KitError(f"--kit {out}: folder {out.parent} does not exist; create it first")
    size, ids = 0, []
    with atomic_path(out) as tmp:
        (tmp / "models").mkdir(parents=True)
        for i, row in enumerate(rows):
            arch, net, shape = row_network(row)
            if arch.arch_id in ids:
                raise KitError(f"plan row {i + 1} repeats network {arch.arch_id}; a kit times each once")
            data = onnx_bytes(net, torch.zeros(shape))
            (tmp / "models" / f"{arch.arch_id}.onnx").write_bytes(data)
            size += len(data)
            ids.append(arch.arch_id)
            if progress:
                progress(i + 1, len(rows))
        fields = ["arch_id", *[k for k in rows[0] if k not in ("latency_ms", "repeats", "std_ms")],
                  "latency_ms", "repeats", "std_ms"]
        with (tmp / "plan.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            for a, row in zip(ids, rows):
                w.writerow({**row, "arch_id": a, "latency_ms": "", "repeats": "", "std_ms": ""})
        shutil.copyfile(MEASURE, tmp / "measure.py")
        kind = "NAS-Bench-201" if "arch_str" in rows[0] else "MobileNetV3"
        (tmp / "README.md").write_text(kit_readme(len(rows), kind))
    return {"dir": str(out), "models": len(ids), "bytes": size}
