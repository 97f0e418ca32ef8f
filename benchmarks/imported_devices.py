"""Latency predictors for the real GPU measurements of OFA-MobileNetV3 (data/benchmarks/ofa_gpu_latency.csv):
each GPU column is one imported device; print and save the held-out figures of every candidate.

    python benchmarks/imported_devices.py [--seeds 0 1 2]

Writes ``reports/benchmarks/imported_devices.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def gpu_columns(table: str, scratch: Path):
    """Each ``lat_*`` column of the OFA GPU table as an imported device's measurement file (written to
    ``scratch``, read back by the product's reader): yields (device, features, latency_ms)."""
    import pandas as pd

    from nag.latency.predictor import device_features, imagenet_space, read_measurements

    src = pd.read_csv(table)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    try:
        for col in [c for c in src.columns if c.startswith("lat_")]:
            rows = src[["ks", "e", "d"]].assign(resolution=src["r"], latency_ms=src[col])
            rows.to_csv(scratch, index=False)
            m = read_measurements(scratch, imagenet_space())
            archs = [m.attrs["archs"][i] for i in m["arch_id"]]
            yield col[4:], device_features(archs, m["resolution"].to_numpy()), m["latency_ms"].to_numpy()
    finally:
        scratch.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", default=str(ROOT / "data" / "benchmarks" / "ofa_gpu_latency.csv"))
    ap.add_argument("--seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmarks" / "imported_devices.json"))
    args = ap.parse_args()

    from nag.atomic import write_json
    from nag.latency.predictor import fit_latency_predictor

    out = {"table": args.table, "rows": 0, "devices": {}}
    for name, X, y in gpu_columns(args.table, Path(args.out).with_suffix(".tmp.csv")):
        out["rows"] = len(y)
        runs = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            _, rep, _ = fit_latency_predictor(X, y, seed=seed)
            runs.append({**rep, "seed": seed, "fit_s": time.perf_counter() - t0})
        within = [r["heldout"]["within_10pct"] for r in runs]
        out["devices"][name] = {"runs": runs, "within_10pct_mean": float(np.mean(within)),
                                "mape_mean": float(np.mean([r["heldout"]["mape"] for r in runs])),
                                "spearman_mean": float(np.mean([r["heldout"]["spearman"] for r in runs]))}
        d = out["devices"][name]
        print(f"{name:14s} chosen {runs[0]['chosen']:5s} within ±10 % {d['within_10pct_mean']:.1%}  "
              f"MAPE {d['mape_mean']:.2f} %  Spearman {d['spearman_mean']:.3f}")
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
