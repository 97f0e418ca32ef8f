"""Inference speed of a trained generator bundle, in-process: one budget, and 100 budgets at once.

    python benchmarks/infer_speed.py --platform nb201-pixel3

Needs the pipeline's outputs for the platform (dvc repro). Prints figures and writes
``reports/benchmarks/infer_speed_<platform>.json``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
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
    ap.add_argument("--pool", type=int, nargs="*", default=[], help="also time these infer.pool values")
    args = ap.parse_args()

    import torch

    from nag.atomic import write_json
    from nag.config import load_params
    from nag.generated import Generated
    from nag.platforms import resolve

    params = load_params(args.params)
    plat = resolve(params.platform(args.platform))
    out = {
        "platform": args.platform,
        "torch_threads": torch.get_num_threads(),
        "rank_by": params.infer.rank_by,
        "predictor": params.infer.predictor,
        "runs": [],
    }
    for pool in [params.infer.pool, *args.pool]:
        p = replace(params, infer=replace(params.infer, pool=pool))
        g = Generated(p, plat, ROOT / f"models/evaluator/{args.platform}.pt",
                      ROOT / f"models/generator/{args.platform}.pt")
        lo, hi = g.budgets[1], g.budgets[-1]
        one, many = [float((lo + hi) / 2)], list(np.linspace(lo, hi, 100))
        run = {"pool": pool, "max_total_samples": p.infer.max_total_samples}
        for mode, zq in (("zero_query", True), ("querying", False)):
            run[f"{mode}_1_budget_ms"] = _time(lambda: g.choose(one, zero_query=zq), args.repeats)[
                "median_ms"
            ]
            run[f"{mode}_100_budgets_ms"] = _time(lambda: g.choose(many, zero_query=zq), 3)["median_ms"]
        out["runs"].append(run)
        print(run)
    write_json(ROOT / f"reports/benchmarks/infer_speed_{args.platform}.json", out)


if __name__ == "__main__":
    main()
