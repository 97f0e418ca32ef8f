"""How many samples a budget needs: pick quality and time vs the pool size, per platform engine.

For each pool size the engine (models/engine/<p>.skops, zero-query: what `nag generate` and the REST model
answer) picks for ``--budgets`` budgets spread over the trained range, for several sampling seeds; pick
quality = the accuracy predictor's estimate of each pick (the figure that ranks candidates; mbv3 subnets
have no cheaper truth at this scale), reported as the deficit against the largest pool, with its standard
error over seeds. Also one budget's time and ``--many`` budgets at once with ``max_total_samples`` set to
the pool (the cap the many-budget call shares).

    python benchmarks/infer_pool.py --platform cpu-torch --platform cpu-onnxruntime --platform gpu-titanxp-b64

Prints a table and writes ``reports/benchmarks/infer_pool.json``. Needs the pipeline's engines.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def median_ms(fn, repeats: int) -> float:
    """Median wall time (ms) of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 1000 * float(np.median(ts))


def study(engine, pools: list[int], seeds: list[int], n_budgets: int, many: int) -> dict:
    b = np.asarray(engine.budgets)
    budgets = [float(x) for x in np.linspace(b[0], b[-1], n_budgets)]
    base = engine.infer
    quality: dict[int, np.ndarray] = {}
    rows = []
    for pool in pools:
        per_seed = []
        for s in seeds:
            engine.infer = replace(base, pool=pool, max_total_samples=max(pool, base.max_total_samples),
                                   seed=s)
            picks = [engine.choose([x], zero_query=True)[0][0] for x in budgets]  # one budget per call
            assert all(c.latency <= c.budget for c in picks)
            per_seed.append(engine.predicted_accuracy([c.arch for c in picks]))
        quality[pool] = np.array(per_seed)  # seeds x budgets
        engine.infer = replace(base, pool=pool, max_total_samples=pool * 4, seed=0)
        mid = [float((b[1] + b[-1]) / 2)]
        spread = [float(x) for x in np.linspace(b[1], b[-1], many)]
        rows.append({"pool": pool,
                     "one_budget_ms": median_ms(lambda: engine.choose(mid, zero_query=True), 10),
                     f"{many}_budgets_ms": median_ms(lambda: engine.choose(spread, zero_query=True), 3),
                     "many_total_samples": pool * 4})
    engine.infer = base
    ref = quality[max(pools)]
    for r in rows:
        d = (ref - quality[r["pool"]]).mean(1)  # per seed: mean deficit over budgets (pp)
        r.update({"mean_predicted_accuracy": float(quality[r["pool"]].mean()), "deficit_pp": float(d.mean()),
                  "deficit_se_pp": float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0})
    return {"budgets": budgets, "seeds": seeds, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", action="append", required=True)
    ap.add_argument("--pools", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048, 4096])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--budgets", type=int, default=20)
    ap.add_argument("--many", type=int, default=100)
    ap.add_argument("--out", default=str(ROOT / "reports/benchmarks/infer_pool.json"))
    args = ap.parse_args()

    from nag.atomic import write_json
    from nag.platforms.layout import PlatformLayout
    from nag.serving.engine import Engine

    out = {}
    for name in args.platform:
        engine = Engine.load(ROOT / PlatformLayout.of(name).engine)
        out[name] = study(engine, args.pools, args.seeds, args.budgets, args.many)
        print(f"\n{name}: pick deficit vs pool {max(args.pools)} (predicted accuracy, pp, mean over "
              f"{args.budgets} budgets, ± s.e. over {len(args.seeds)} seeds)")
        for r in out[name]["rows"]:
            print(f"  pool {r['pool']:5d}: deficit {r['deficit_pp']:+.4f} ± {r['deficit_se_pp']:.4f} pp  "
                  f"one budget {r['one_budget_ms']:7.1f} ms  {args.many} budgets "
                  f"{r[f'{args.many}_budgets_ms']:7.1f} ms ({r['many_total_samples']} samples)")
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
