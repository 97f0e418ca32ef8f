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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", default=str(ROOT / "data" / "benchmarks" / "ofa_gpu_latency.csv"))
    ap.add_argument("--seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmarks" / "imported_devices.json"))
    args = ap.parse_args()

    import pandas as pd

    from nag.atomic import write_json
    from nag.latency.predictor import (
        device_features,
        fit_latency_predictor,
        imagenet_space,
        read_measurements,
    )

    src = pd.read_csv(args.table)
    cols = [c for c in src.columns if c.startswith("lat_")]
    out = {"table": args.table, "rows": len(src), "devices": {}}
    tmp = Path(args.out).with_suffix(".tmp.csv")
    for col in cols:
        src[["ks", "e", "d"]].assign(resolution=src["r"], latency_ms=src[col]).to_csv(tmp, index=False)
        m = read_measurements(tmp, imagenet_space())
        archs = [m.attrs["archs"][i] for i in m["arch_id"]]
        X = device_features(archs, m["resolution"].to_numpy())
        runs = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            _, rep, _ = fit_latency_predictor(X, m["latency_ms"].to_numpy(), seed=seed)
            runs.append({**rep, "seed": seed, "fit_s": time.perf_counter() - t0})
        within = [r["heldout"]["within_10pct"] for r in runs]
        out["devices"][col[4:]] = {"runs": runs, "within_10pct_mean": float(np.mean(within)),
                                   "mape_mean": float(np.mean([r["heldout"]["mape"] for r in runs])),
                                   "spearman_mean": float(np.mean([r["heldout"]["spearman"] for r in runs]))}
        d = out["devices"][col[4:]]
        print(f"{col[4:]:14s} chosen {runs[0]['chosen']:5s} within ±10 % {d['within_10pct_mean']:.1%}  "
              f"MAPE {d['mape_mean']:.2f} %  Spearman {d['spearman_mean']:.3f}")
    tmp.unlink(missing_ok=True)
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
