"""The generator's LSTM size vs pick quality and inference time, per platform (a controlled comparison).

For each ``--hidden`` size the generator is retrained here (the platform's trained evaluator, every other
``generator:`` setting as params.yaml has it, same seed, 1 thread) and put into the platform's engine
(models/engine/<p>.skops) in place of the pipeline's; then, zero-query as `nag generate` answers: pick
quality = the accuracy predictor's estimate of the picks at ``--budgets`` budgets over the trained range,
one budget per call, ``--seeds`` sampling seeds, as the deficit against the largest size (paired by budget
and seed, ± s.e. over seeds); time of one budget and of ``--many`` budgets at once (warm, median).

    python benchmarks/generator_size.py --platform cpu-torch --platform gpu-titanxp-b64 --hidden 64 32 16

Prints a table and writes ``reports/benchmarks/generator_size.json``. Needs the pipeline's outputs.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from infer_pool import median_ms  # benchmarks/ is this script's folder

ROOT = Path(__file__).resolve().parents[1]


def study(name: str, params, hiddens: list[int], seeds: list[int], n_budgets: int, many: int) -> dict:
    from nag.method.checkpoint import load_evaluator
    from nag.method.generator import train_generator
    from nag.method.sampler import Sampler
    from nag.platforms.layout import PlatformLayout
    from nag.serving.engine import Engine

    lay = PlatformLayout.of(name)
    engine = Engine.load(ROOT / lay.engine)
    evaluator, _, _ = load_evaluator(ROOT / lay.evaluator, engine.space, params.budgets.k, name)
    b = np.asarray(engine.budgets)
    budgets = [float(x) for x in np.linspace(b[0], b[-1], n_budgets)]
    mid, spread = [float((b[1] + b[-1]) / 2)], [float(x) for x in np.linspace(b[1], b[-1], many)]
    rows, quality = [], {}
    for hidden in hiddens:
        gen, m = train_generator(engine.space, evaluator, replace(params.generator, hidden=hidden), False)
        e = replace(engine, sampler=Sampler.from_generator(gen))
        per_seed = []
        for s in seeds:
            e.infer = replace(engine.infer, seed=s)
            picks = [e.choose([x], zero_query=True)[0][0] for x in budgets]
            assert all(c.latency <= c.budget for c in picks)
            per_seed.append(e.predicted_accuracy([c.arch for c in picks]))
        quality[hidden] = np.array(per_seed)
        e.infer = engine.infer
        rows.append({"hidden": hidden, "train_seconds": m["train_seconds"], "final_reward": m["final_reward"],
                     "final_entropy": m["final_entropy"],
                     "one_budget_ms": median_ms(lambda: e.choose(mid, zero_query=True), 10),
                     f"{many}_budgets_ms": median_ms(lambda: e.choose(spread, zero_query=True), 3),
                     "sample_one_budget_ms": median_ms(lambda: e.sampler.sample(
                         np.full(e.infer.pool, mid[0]), np.random.default_rng(0)), 10)})
    ref = quality[max(hiddens)]
    for r in rows:
        d = (ref - quality[r["hidden"]]).mean(1)
        r.update({"mean_predicted_accuracy": float(quality[r["hidden"]].mean()),
                  "deficit_pp": float(d.mean()),
                  "deficit_se_pp": float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0})
    return {"budgets": budgets, "seeds": seeds, "pool": engine.infer.pool, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", action="append", required=True)
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 32, 16])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--budgets", type=int, default=20)
    ap.add_argument("--many", type=int, default=100)
    ap.add_argument("--out", default=str(ROOT / "reports/benchmarks/generator_size.json"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from nag.atomic import write_json
    from nag.config import load_params

    params = load_params(ROOT / "params.yaml")
    out = {}
    for name in args.platform:
        out[name] = study(name, params, args.hidden, args.seeds, args.budgets, args.many)
        print(f"\n{name}: pick deficit vs hidden {max(args.hidden)} (predicted accuracy, pp, mean over "
              f"{args.budgets} budgets, ± s.e. over {len(args.seeds)} seeds; pool {out[name]['pool']})")
        for r in out[name]["rows"]:
            print(f"  hidden {r['hidden']:3d}: deficit {r['deficit_pp']:+.4f} ± {r['deficit_se_pp']:.4f} pp  "
                  f"one budget {r['one_budget_ms']:6.1f} ms (sampling {r['sample_one_budget_ms']:5.1f})  "
                  f"{args.many} budgets {r[f'{args.many}_budgets_ms']:6.1f} ms  "
                  f"trained in {r['train_seconds']:.0f} s")
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
