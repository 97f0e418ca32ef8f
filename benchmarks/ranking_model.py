"""Which accuracy model should rank an mbv3 platform's candidates: picks judged by the supernet, and time.

For each platform the pipeline's engine (models/engine/<p>.skops) answers as it is, and again with its ranking
model replaced by each ``--kind`` fitted on the same architecture dataset as the train_evaluator stage fits it
(:func:`nag.method.acc_predictor.fit_accuracy_predictor`, same seed, its held-out RMSE as the known-network
margin). Zero-query picks at ``--budgets`` budgets over the trained range, ``--seeds`` sampling seeds, are
then **measured on the supernet** (the accuracy stage's own measurement: :class:`SupernetOracle`, answers
kept in ``data/paper.work/ranking-<p>.json``), so no predictor judges itself. Reported per kind: held-out
Kendall τ, the picks' mean supernet accuracy and its difference to the engine's own ranking (paired by
budget and seed, ± s.e.), and the time of one budget and of 100 budgets (warm, median).

    python benchmarks/ranking_model.py --platform cpu-torch --platform gpu-titanxp-b64 --kind gbr ridge

Prints a table and writes ``reports/benchmarks/ranking_model.json``. Needs the pipeline's outputs.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from infer_pool import median_ms  # benchmarks/ is this script's folder

ROOT = Path(__file__).resolve().parents[1]


def study(name: str, params, kinds: list[str], seeds: list[int], n_budgets: int) -> dict:
    from nag.method.acc_predictor import fit_accuracy_predictor
    from nag.method.archdata import ArchDataset
    from nag.method.infer import predictor_score
    from nag.platforms import Feasibility, resolve
    from nag.platforms.layout import PlatformLayout
    from nag.serving.engine import Engine
    from nag.supernet.oracle import SupernetOracle

    lay = PlatformLayout.of(name)
    engine = Engine.load(ROOT / lay.engine)
    plat = resolve(params.platform(name), params.supernet, feasibility=Feasibility.of(params))
    data = ArchDataset.load(ROOT / lay.dataset, engine.space)
    oracle = SupernetOracle.load(engine.space, ROOT / "models/supernet.pt", ROOT / plat.files.prepared,
                                 params.accuracy, ROOT / f"data/paper.work/ranking-{name}.json")
    b = np.asarray(engine.budgets)
    budgets = [float(x) for x in np.linspace(b[0], b[-1], n_budgets)]
    mid, many = [float((b[1] + b[-1]) / 2)], [float(x) for x in np.linspace(b[1], b[-1], 100)]
    engines = {"engine": engine}
    fits = {"engine": {"kind": type(engine.score.predictor).__name__, "heldout_rmse_margin": engine.margin}}
    for kind in kinds:
        model, rep = fit_accuracy_predictor(data.features, data.acc, (kind,), seed=params.evaluator.seed)
        score = predictor_score(model, engine.space)
        engines[kind] = replace(engine, score=score, predictor=score, margin=rep["heldout"]["rmse"])
        fits[kind] = {"kind": kind, **rep["heldout"]}
    picks, out = {}, {}
    for label, eng in engines.items():
        archs = []
        for seed in seeds:
            e = replace(eng, infer=replace(eng.infer, seed=seed))
            archs += [e.choose([bud], zero_query=True)[0][0].arch for bud in budgets]  # one per call
        picks[label] = archs
        out[label] = {**fits[label],
                      "one_budget_ms": median_ms(lambda eng=eng: eng.choose(mid, zero_query=True), 10),
                      "budgets_100_ms": median_ms(lambda eng=eng: eng.choose(many, zero_query=True), 3)}
    every = [a for archs in picks.values() for a in archs]
    print(f"{name}: measuring {len({a.arch_id for a in every})} distinct picks on the supernet")
    oracle(every)
    base = oracle(picks["engine"])
    for label, archs in picks.items():
        acc = oracle(archs)
        diff = (acc - base).reshape(len(seeds), n_budgets).mean(axis=1)  # per seed, over budgets
        out[label].update(supernet_acc_mean=float(acc.mean()), vs_engine_pp=float(diff.mean()),
                          vs_engine_se=float(diff.std(ddof=1) / np.sqrt(len(seeds))) if len(seeds) > 1
                          else None,
                          distinct_picks=len({a.arch_id for a in archs}))
    return {"budgets": budgets, "seeds": seeds, "oracle": oracle.stats(), "kinds": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--platform", action="append", required=True)
    ap.add_argument("--kind", nargs="+", default=["gbr", "ridge"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budgets", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "reports/benchmarks/ranking_model.json"))
    args = ap.parse_args()
    from nag.atomic import write_json
    from nag.config import load_params

    params = load_params(ROOT / "params.yaml")
    res = {p: study(p, params, args.kind, list(range(args.seeds)), args.budgets) for p in args.platform}
    for p, r in res.items():
        print(f"\n{p} (supernet accuracy of {len(r['budgets'])} budgets x {len(r['seeds'])} seeds)")
        print(f"{'ranking':>8} {'tau':>6} {'acc %':>7} {'vs engine pp':>14} {'1 budget':>9} "
              f"{'100 budgets':>12}")
        for label, k in r["kinds"].items():
            tau = f"{k['kendall_tau']:.3f}" if "kendall_tau" in k else "-"
            se = f" ± {k['vs_engine_se']:.3f}" if k["vs_engine_se"] is not None else ""
            print(f"{label:>8} {tau:>6} {k['supernet_acc_mean']:7.3f} {k['vs_engine_pp']:+.3f}{se:>8} "
                  f"{k['one_budget_ms']:7.1f}ms {k['budgets_100_ms']:10.0f}ms")
    write_json(args.out, res)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
