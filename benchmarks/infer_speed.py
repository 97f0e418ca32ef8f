"""Inference speed of a trained generator bundle, in-process: one budget, and 100 budgets at once.

    python benchmarks/infer_speed.py --platform nb201-pixel3

Needs the pipeline's outputs for the platform (dvc repro). Prints figures and writes
``reports/benchmarks/infer_speed_<platform>.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _time(fn, repeats: int) -> dict:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return {"median_ms": 1000 * float(np.median(ts)), "min_ms": 1000 * float(np.min(ts)), "repeats": repeats}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", default="nb201-pixel3")
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()

    import torch

    from nag.atomic import write_json
    from nag.config import load_params
    from nag.pipeline import Generated
    from nag.platforms import resolve

    params = load_params(args.params)
    plat = resolve(params.platform(args.platform))
    g = Generated(params, plat, ROOT / f"models/evaluator/{args.platform}.pt",
                  ROOT / f"models/generator/{args.platform}.pt")
    lo, hi = g.budgets[1], g.budgets[-1]
    one = [float((lo + hi) / 2)]
    many = list(np.linspace(lo, hi, 100))
    out = {"platform": args.platform, "torch_threads": torch.get_num_threads(),
           "pool": params.infer.pool, "rank_by": params.infer.rank_by, "predictor": params.infer.predictor}
    for mode, zq in (("zero_query", True), ("querying", False)):
        out[f"{mode}_1_budget"] = _time(lambda: g.choose(one, zero_query=zq), args.repeats)
        out[f"{mode}_100_budgets"] = _time(lambda: g.choose(many, zero_query=zq), max(2, args.repeats // 5))
        out[f"{mode}_ms_per_budget_in_100"] = out[f"{mode}_100_budgets"]["median_ms"] / 100
    write_json(ROOT / f"reports/benchmarks/infer_speed_{args.platform}.json", out)
    for k, v in out.items():
        print(f"{k:32s} {v}")


if __name__ == "__main__":
    main()
