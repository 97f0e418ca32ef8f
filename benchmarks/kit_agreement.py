"""Does the measurement kit time what the tables and the project's own meter time? (issue 35)

1. **NB201 against data nobody here made**: 200 cells spread evenly over the table's CPU latency range
   (quantiles of ``lat_gold_6240``), built by :mod:`nag.kit.nb201_net` as a kit and timed by the kit's own
   ``measure.py`` on this CPU (onnxruntime, one thread). Spearman with every CPU column of the table
   (gold_6240, silver_4114, silver_4210r; the others for context) — for two input settings, CIFAR
   (3×32×32, 10 classes) and ImageNet16-120 (3×16×16, 120 classes), to see which the table measured.
2. **mbv3 against the project's meter**: 50 subnets of the pipeline's space (params.yaml's supernet on
   Fashion-MNIST's 1×28×28) timed by ``measure.py`` and by the ``cpu-onnxruntime`` meter
   (:func:`nag.latency.meter.measure_many`, the latency stage's own): Spearman and the median relative
   difference.
Also the kit's build time for 10 cells and ``measure.py``'s time on 10 cells at its default settings.

    python benchmarks/kit_agreement.py [--cells 200] [--subnets 50]  # reports/benchmarks/kit_agreement.json
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
CPU_COLUMNS = ("gold_6240", "silver_4114", "silver_4210r")


def _measure(kit: Path, *args: str) -> tuple[dict[str, float], float]:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(kit / "measure.py"), "--threads", "1", *args], check=True,
                   stderr=subprocess.DEVNULL)
    with (kit / "plan.csv").open(newline="") as f:
        return {r["arch_id"]: float(r["latency_ms"]) for r in csv.DictReader(f)}, time.perf_counter() - t0


def _nb201_kit(kit: Path, cells: list[str], classes: int, size: int) -> None:
    """A kit of ``cells`` at another input setting than the default (same layout as write_kit's)."""
    import shutil

    import torch

    from nag.kit.build import MEASURE
    from nag.kit.nb201_net import build_nb201
    from nag.latency.meter import onnx_bytes
    from nag.spaces.nb201 import NB201Space

    (kit / "models").mkdir(parents=True)
    rows = []
    for s in cells:
        arch = NB201Space().parse(s)
        data = onnx_bytes(build_nb201(arch, classes), torch.zeros(1, 3, size, size))
        (kit / "models" / f"{arch.arch_id}.onnx").write_bytes(data)
        rows.append({"arch_id": arch.arch_id, "arch_str": s, "latency_ms": ""})
    with (kit / "plan.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    shutil.copyfile(MEASURE, kit / "measure.py")


def nb201(n: int, tmp: Path) -> dict:
    import pandas as pd

    from nag.kit.build import write_kit
    from nag.spaces.nb201 import NB201Space

    space = NB201Space()
    t = pd.read_csv(ROOT / "data/benchmarks/nb201.csv")
    t = t[[space.sees_input(space.parse(s)) for s in t["arch_str"]]].sort_values("lat_gold_6240")
    pick = t.iloc[np.unique(np.linspace(0, len(t) - 1, n).round().astype(int))]
    cells = pick["arch_str"].tolist()
    ids = [space.parse(s).arch_id for s in cells]
    out = {"n": len(cells), "settings": {}}
    t0 = time.perf_counter()
    ten = cells[::max(1, len(cells) // 10)][:10]
    write_kit(tmp / "kit10", [{"arch_str": s, "latency_ms": ""} for s in ten])
    out["kit_build_s_10"] = time.perf_counter() - t0
    _, out["measure_s_10_default"] = _measure(tmp / "kit10")
    lat_cols = [c for c in t.columns if c.startswith("lat_")]
    out["table_cpu_columns_spearman"] = {  # how well the table's own CPUs agree: what 'agree' can mean
        f"{a}~{b}": float(spearmanr(pick[f"lat_{a}"], pick[f"lat_{b}"]).statistic)
        for i, a in enumerate(CPU_COLUMNS) for b in CPU_COLUMNS[i + 1:]}
    for name, classes, size in (("cifar_3x32x32_10", 10, 32), ("imagenet16_3x16x16_120", 120, 16)):
        kit = tmp / name
        _nb201_kit(kit, cells, classes, size)
        got, secs = _measure(kit, "--rounds", "5", "--repeats", "10")
        ours = np.array([got[a] for a in ids])
        rho = {c[4:]: float(spearmanr(ours, pick[c]).statistic) for c in lat_cols}
        out["settings"][name] = {"measure_s": secs, "spearman": rho,
                                 "cpu_columns": {c: rho[c] for c in CPU_COLUMNS},
                                 "best_cpu": max(rho[c] for c in CPU_COLUMNS),
                                 "median_ms": float(np.median(ours))}
        print(f"{name}: Spearman with {', '.join(f'{c} {rho[c]:.3f}' for c in CPU_COLUMNS)} "
              f"({secs:.0f} s for {len(cells)} cells)")
    return out


def mbv3(n: int, tmp: Path, passes: int = 3) -> dict:
    import torch

    from nag.config import load_params
    from nag.kit.build import MEASURE
    from nag.latency.meter import MeterSettings, measure_many, onnx_bytes
    from nag.spaces.mbv3 import MBV3Space
    from nag.supernet.data import make_macro
    from nag.supernet.static import build_static

    params = load_params(ROOT / "params.yaml")
    space = MBV3Space(make_macro(params.supernet, {"image_shape": [28, 28], "classes": list(range(10))}))
    archs = space.sample(n, seed=0, unique=True)
    shape = (1, space.macro.in_channels, space.macro.input_size, space.macro.input_size)
    kit = tmp / "mbv3"
    (kit / "models").mkdir(parents=True)
    nets = []
    for a in archs:
        torch.manual_seed(0)
        net = build_static(space, a).eval()
        nets.append(net)
        (kit / "models" / f"{a.arch_id}.onnx").write_bytes(onnx_bytes(net, torch.zeros(shape)))
    with (kit / "plan.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["arch_id", "latency_ms"])
        w.writeheader()
        w.writerows({"arch_id": a.arch_id, "latency_ms": ""} for a in archs)
    import shutil

    shutil.copyfile(MEASURE, kit / "measure.py")
    lc = params.latency
    kits, meters, secs = [], [], 0.0
    for _ in range(passes):  # alternated, so a slow spell of the host touches both alike
        got, s = _measure(kit, "--rounds", str(lc.rounds), "--repeats", str(lc.repeats), "--warmup",
                          str(lc.warmup), "--fresh")
        kits.append([got[a.arch_id] for a in archs])
        secs += s
        recs = measure_many([(m, shape) for m in nets], "cpu-onnxruntime",
                            MeterSettings(lc.warmup, lc.repeats, lc.rounds, 1), progress=True, desc="meter")
        meters.append([r["latency_ms"] for r in recs])
    kit_ms, meter_ms = np.median(kits, axis=0), np.median(meters, axis=0)
    rel = np.abs(kit_ms / meter_ms - 1)
    def repeat_rho(runs: list) -> float:  # how well a timer agrees with itself, pass to pass: the ceiling
        return float(np.median([spearmanr(runs[i], runs[j]).statistic
                                for i in range(len(runs)) for j in range(i + 1, len(runs))]))

    out = {"n": n, "passes": passes, "spearman": float(spearmanr(kit_ms, meter_ms).statistic),
           "spearman_kit_pass_to_pass": repeat_rho(kits), "spearman_meter_pass_to_pass": repeat_rho(meters),
           "latency_range_ms": [float(meter_ms.min()), float(meter_ms.max())],
           "median_rel_diff": float(np.median(rel)),
           "median_ratio_kit_over_meter": float(np.median(kit_ms / meter_ms)),
           "kit_median_ms": float(np.median(kit_ms)), "meter_median_ms": float(np.median(meter_ms)),
           "measure_s_per_pass": secs / passes}
    print(f"mbv3: Spearman {out['spearman']:.3f} (pass to pass: kit {out['spearman_kit_pass_to_pass']:.3f}, "
          f"meter {out['spearman_meter_pass_to_pass']:.3f}), median |kit/meter - 1| "
          f"{100 * out['median_rel_diff']:.1f} %")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--subnets", type=int, default=50)
    ap.add_argument("--out", default=str(ROOT / "reports/benchmarks/kit_agreement.json"))
    args = ap.parse_args()
    from nag.atomic import write_json

    rep = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as d:
        rep["nb201"] = nb201(args.cells, Path(d))
        rep["mbv3"] = mbv3(args.subnets, Path(d))
    rep["load_after"] = os.getloadavg()
    write_json(args.out, rep)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
