"""What a 10-row device's latency model allows at best: every network of the table picked exhaustively under
the bound (no generator), regret vs the true oracle and satisfaction on the true latency — the ceiling of
any generator asked on that bound — for three bounds of the same transfer model:

* ``estimate``: no margin;
* ``loo``: today's, the split-conformal quantile (``latency.confidence``) of the model's own leave-one-out
  residuals (10 of them);
* ``meta@L``: the margin calibrated on the *reference devices' picks*. Each reference device in turn is
  treated as new (planned, fitted from 10 rows on the other references, never the target's hardware); the
  margin is ``k · s`` with ``s`` a device's own leave-one-out log RMSE, and ``k`` the smallest multiplier
  whose exhaustive picks on those devices are satisfied at a share ≥ L. The target then gets
  ``exp(k · s_target)``.

The N rows are the product's plan (:func:`nag.fewshot.plan.frontier_plan`); ``--front-share 0`` is the
space-wide spread alone (the plan before 2026-12-03, late). Leave-one-hardware-out over every device column
of the NB201 table, seeds 0-2; prints a table and writes ``reports/benchmarks/fewshot_bound_ceiling.json``.

    python benchmarks/fewshot_bound_ceiling.py [--metric acc_cifar10] [--seeds 3] [--measured 10]
        [--front-share 0.7] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TABLE = str(ROOT / "data/benchmarks/nb201.csv")
K_GRID = np.round(np.arange(0.0, 6.01, 0.25), 2)
LEVELS = (0.95, 0.99, 1.0)


def _confidence() -> float:
    from nag.config import load_params

    return load_params(ROOT / "params.yaml").latency.confidence


CONFIDENCE = _confidence()  # the bound the product uses (latency.confidence)


def picks_under(acc: np.ndarray, bound: np.ndarray, y: np.ndarray, budgets: np.ndarray, oracle: np.ndarray):
    """(mean regret pp, satisfied share) of the most accurate network under ``bound`` at each budget."""
    from nag.method.pareto import best_under_budget

    i = best_under_budget(acc, bound, budgets)
    ok = i >= 0
    return float(np.mean(oracle[ok] - acc[i[ok]])), float(np.mean(y[i[ok]] <= budgets[ok]))


def fitted(R: np.ndarray, A: np.ndarray, y: np.ndarray, acc: np.ndarray, n: int, seed: int, share: float):
    """(estimate of every cell, the LOO log RMSE s, the LOO bound, measured rows) from ``n`` planned rows."""
    from nag.bench.fewshot import fit_device
    from nag.fewshot.plan import frontier_plan

    rows = frontier_plan(R, n, seed, acc=acc, front_share=share)
    est, bound, model = fit_device(R, A, y, rows, CONFIDENCE, seed)
    return est, float(np.sqrt(np.mean(model.residuals ** 2))), bound, rows


def with_margin(est: np.ndarray, s: float, k: float, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    b = est * np.exp(k * s)
    b[rows] = y[rows]
    return b


def column(device: str, metric: str):
    """(log reference latency R, reference names, encoding A, true latency y, accuracy) of the table's
    networks for ``device``: the references are the other columns minus its hardware."""
    from nag.bench.fewshot import reference_matrix
    from nag.config import PlatformConfig
    from nag.platforms import resolve

    truth = resolve(PlatformConfig(f"nb201-{device}", file=TABLE, device=device, metric=metric))
    lat = truth.latency.values
    net = np.flatnonzero(np.isfinite(lat) & (lat > 0))
    archs = [truth.table.archs[i] for i in net]
    R, refs = reference_matrix(TABLE, device, [a.arch_id for a in archs])
    return R, refs, truth.space.features_batch(archs), lat[net], truth.accuracy.values[net]


def one(device: str, metric: str, seed: int, n: int, share: float) -> dict:
    from nag.bench.fewshot import latency_figures
    from nag.bench.nb201 import EVAL_PCT
    from nag.fewshot.transfer import references_for
    from nag.method.budget import make_budgets
    from nag.method.pareto import best_under_budget

    R, refs, A, y, acc = column(device, metric)

    def case(R, y):
        budgets = make_budgets(y, 10, *EVAL_PCT)
        return budgets, acc[best_under_budget(acc, y, budgets)]

    budgets, oracle = case(R, y)
    est, s, loo, rows = fitted(R, A, y, acc, n, seed, share)
    out = {"device": device, "seed": seed, "s": s,
           "estimate": picks_under(acc, with_margin(est, s, 0, y, rows), y, budgets, oracle),
           "loo": picks_under(acc, loo, y, budgets, oracle),
           "loo_margin_pct": float(100 * np.mean(loo / est - 1)), "latency": latency_figures(y, est, loo)}
    # the target's own curve over the multipliers (what each margin would give: hindsight, not a method)
    out["curve"] = [picks_under(acc, with_margin(est, s, k, y, rows), y, budgets, oracle) for k in K_GRID]
    # the reference devices as new devices: satisfaction of their picks at each multiplier
    sat = np.zeros((len(refs), len(K_GRID)))
    for j, ref in enumerate(refs):
        keep = [c for c, name in enumerate(refs) if name in references_for(ref, refs)]
        yj = np.exp(R[:, j])
        bj, oj = case(R[:, keep], yj)
        ej, sj, _, rj = fitted(R[:, keep], A, yj, acc, n, seed, share)
        sat[j] = [picks_under(acc, with_margin(ej, sj, k, yj, rj), yj, bj, oj)[1] for k in K_GRID]
    for level in LEVELS:
        ok = np.flatnonzero(sat.mean(0) >= level)
        k = float(K_GRID[ok[0]]) if len(ok) else float(K_GRID[-1])
        b = with_margin(est, s, k, y, rows)
        out[f"meta@{level}"] = picks_under(acc, b, y, budgets, oracle)
        out[f"meta@{level}_k"] = k
        out[f"meta@{level}_margin_pct"] = float(100 * (np.exp(k * s) - 1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--metric", default="acc_cifar10")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--measured", type=int, default=10)
    ap.add_argument("--front-share", type=float, default=None, help="the plan's share on the reference "
                    "fronts (default: the product's, nag.fewshot.plan.FRONT_SHARE; 0: the spread alone)")
    ap.add_argument("--out", default=str(ROOT / "reports/benchmarks/fewshot_bound_ceiling.json"))
    args = ap.parse_args()
    from nag.atomic import write_json
    from nag.fewshot.plan import FRONT_SHARE
    from nag.platforms.kinds import _table

    share = FRONT_SHARE if args.front_share is None else args.front_share

    devices = list(_table(TABLE).devices)
    runs = [one(d, args.metric, s, args.measured, share)
            for d, s in tqdm([(d, s) for d in devices for s in range(args.seeds)], desc="devices x seeds")]
    methods = ["estimate", "loo", *[f"meta@{level}" for level in LEVELS]]
    summary = {}
    for m in methods:
        reg, sat = np.array([r[m] for r in runs]).T
        summary[m] = {"mean_regret_pp": float(reg.mean()), "satisfaction": float(sat.mean()),
                      "all_satisfied_share": float(np.mean(sat == 1.0))}
        extra = {"loo": "loo_margin_pct"}.get(m, f"{m}_margin_pct" if m.startswith("meta") else None)
        if extra:
            summary[m]["margin_pct_mean"] = float(np.mean([r[extra] for r in runs]))
    summary["latency"] = {k: float(np.mean([r["latency"][k] for r in runs]))
                          for k in ("spearman", "within_10pct", "bound_coverage")}
    curve = np.array([r["curve"] for r in runs]).mean(0)  # (k, [regret, satisfaction])
    summary["curve"] = [{"k": float(k), "mean_regret_pp": float(c[0]), "satisfaction": float(c[1])}
                        for k, c in zip(K_GRID, curve)]
    print(f"{args.metric}, N = {args.measured}, front share {share:g}, {len(devices)} devices x "
          f"{args.seeds} seeds, exhaustive picks:")
    for m in methods:
        v = summary[m]
        print(f"  {m:10s} regret {v['mean_regret_pp']:.3f} pp  satisfied {100 * v['satisfaction']:.1f} %  "
              f"margin {v.get('margin_pct_mean', 0):.1f} %")
    lat = summary["latency"]
    print(f"  latency model: Spearman {lat['spearman']:.4f}, within ±10 % {100 * lat['within_10pct']:.1f} %, "
          f"bound coverage {100 * lat['bound_coverage']:.1f} %")
    points = [f"k={c['k']:g}: {c['mean_regret_pp']:.3f} pp / {100 * c['satisfaction']:.1f} %"
              for c in summary["curve"][::2]]
    print("  margin k x s (hindsight curve):", ", ".join(points))
    write_json(args.out, {"metric": args.metric, "measured": args.measured, "seeds": args.seeds,
                          "front_share": share,
                          "k_grid": K_GRID.tolist(), "summary": summary, "runs": runs})


if __name__ == "__main__":
    main()
