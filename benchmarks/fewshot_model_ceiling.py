"""The few-shot targets against latency models that learned the device's **own column**: what these
features allow with about 12,000 of the device's rows, where a new device gives 10.

For each NB201 device column (references: the other columns minus its hardware, as ``nag benchmark
fewshot``), two models — ridge and gradient boosting on [log reference latency, architecture encoding] —
predict every network 5-fold cross-fitted: each estimate comes from a model fitted on the other ~12,000
networks of the device's own column. Every network is then picked exhaustively (no generator) under
``estimate · (1 + m)`` for a uniform margin ``m``: regret vs the true oracle and satisfaction on the true
latency at the benchmark's 10 budgets (the same percentiles). Reported per model:

* ``no_margin``: m = 0;
* ``hindsight``: per device, the smallest m whose picks are all satisfied, and the regret there (it peeks
  at the truth: no uniform margin on this model does better);
* ``one_margin``: the smallest single m for which every device's picks are all satisfied (what one margin
  for all devices would need), and the mean regret there.

What is left in these residuals is what the features cannot explain even from that many rows
(measurement noise of the columns, effects no reference shows); a model fitted on 10 rows can only be
expected to do worse (10-row figures: ``fewshot_bound_ceiling.py``). Prints a table, writes
``reports/benchmarks/fewshot_model_ceiling[_<metric>].json`` and a plot beside it (regret vs
satisfaction over m).

    python benchmarks/fewshot_model_ceiling.py [--metric acc_cifar10] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # the shared column set-up
MARGINS = np.round(np.arange(0.0, 0.6001, 0.005), 3)
FOLDS = 5
TARGET = {"mean_regret_pp": 0.08, "satisfaction": 1.0}  # issue 18, CIFAR-10, N = 10


def models(X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Cross-fitted log-latency estimates of every network, per model: each fold predicted by the model
    fitted on the other four (about 12,000 networks of the device's own column)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict

    folds = KFold(FOLDS, shuffle=True, random_state=0)
    return {"ridge": cross_val_predict(RidgeCV(alphas=np.logspace(-4, 2, 13)), X, y, cv=folds),
            "gbr": cross_val_predict(HistGradientBoostingRegressor(max_iter=500, random_state=0), X, y,
                                     cv=folds)}


def one(device: str, metric: str) -> dict:
    from fewshot_bound_ceiling import column

    from nag.bench.nb201 import EVAL_PCT
    from nag.method.budget import make_budgets
    from nag.method.pareto import best_under_budget, pareto_mask

    R, refs, A, y, acc = column(device, metric)
    budgets = make_budgets(y, 10, *EVAL_PCT)
    oracle = acc[best_under_budget(acc, y, budgets)]
    front = pareto_mask(acc, y)
    out = {"device": device, "references": refs, "networks": int(len(y)), "front": int(front.sum())}
    for name, log_est in models(np.hstack([R, A]), np.log(y)).items():
        err = log_est - np.log(y)
        curve = []
        for m in MARGINS:
            i = best_under_budget(acc, np.exp(log_est) * (1 + m), budgets)
            ok = i >= 0
            curve.append((float(np.mean(oracle[ok] - acc[i[ok]])), float(np.mean(y[i[ok]] <= budgets[ok]))))
        out[name] = {"log_rmse": float(np.sqrt(np.mean(err ** 2))),
                     "front_log_rmse": float(np.sqrt(np.mean(err[front] ** 2))), "curve": curve}
    return out


def summarise(runs: list[dict], name: str) -> dict:
    curves = np.array([r[name]["curve"] for r in runs])  # devices × margins × (regret, satisfaction)
    full = curves[:, :, 1] == 1.0
    first = np.where(full.any(1), full.argmax(1), len(MARGINS) - 1)  # per device: the smallest m
    one_m = int(np.flatnonzero(full.all(0))[0]) if full.all(0).any() else len(MARGINS) - 1
    d = np.arange(len(runs))
    return {"log_rmse": float(np.mean([r[name]["log_rmse"] for r in runs])),
            "front_log_rmse": float(np.mean([r[name]["front_log_rmse"] for r in runs])),
            "no_margin": {"mean_regret_pp": float(curves[:, 0, 0].mean()),
                          "satisfaction": float(curves[:, 0, 1].mean())},
            "hindsight": {"margin_mean": float(MARGINS[first].mean()),
                          "mean_regret_pp": float(curves[d, first, 0].mean()),
                          "satisfaction": float(curves[d, first, 1].mean()),
                          "per_device": {r["device"]: {"margin": float(MARGINS[f]), "regret_pp": float(c)}
                                         for r, f, c in zip(runs, first, curves[d, first, 0])}},
            "one_margin": {"margin": float(MARGINS[one_m]),
                           "mean_regret_pp": float(curves[:, one_m, 0].mean()),
                           "satisfaction": float(curves[:, one_m, 1].mean())},
            "curve": [{"margin": float(m), "mean_regret_pp": float(c[0]), "satisfaction": float(c[1])}
                      for m, c in zip(MARGINS, curves.mean(0))]}


def plot(summary: dict, metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, s in summary.items():
        c = s["curve"]
        line, = ax.plot([100 * p["satisfaction"] for p in c], [p["mean_regret_pp"] for p in c], marker=".",
                        label=f"{name} from ~12,000 rows, one margin for all (0 → {MARGINS[-1]:g})")
        ax.scatter([100], [s["hindsight"]["mean_regret_pp"]], marker="D", color=line.get_color(), zorder=5,
                   label=f"{name}, each device's own margin in hindsight")
    if metric == "acc_cifar10":
        ax.scatter([100 * TARGET["satisfaction"]], [TARGET["mean_regret_pp"]], marker="*", s=150, c="k",
                   zorder=5, label="issue 18 target (N = 10)")
    ax.set(xlabel="picks satisfied on the true latency (%)", ylabel="mean regret (pp)",
           title=f"Exhaustive picks under estimate × (1 + margin), {metric}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--metric", default="acc_cifar10")
    ap.add_argument("--out", default=None, help="JSON (default reports/benchmarks/fewshot_model_ceiling"
                    "[_<metric>].json; the plot beside it, .png)")
    args = ap.parse_args()
    from fewshot_bound_ceiling import TABLE

    from nag.atomic import write_json
    from nag.platforms.kinds import _table

    suffix = "" if args.metric == "acc_cifar10" else f"_{args.metric.removeprefix('acc_')}"
    out = Path(args.out or ROOT / f"reports/benchmarks/fewshot_model_ceiling{suffix}.json")
    runs = [one(d, args.metric) for d in tqdm(list(_table(TABLE).devices), desc="devices")]
    summary = {name: summarise(runs, name) for name in ("ridge", "gbr")}
    print(f"{args.metric}, {len(runs)} device columns, models cross-fitted on the rest of the column, "
          "exhaustive picks under estimate x (1 + m):")
    for name, s in summary.items():
        nm, hs, om = s["no_margin"], s["hindsight"], s["one_margin"]
        print(f"  {name:5s} log RMSE {s['log_rmse']:.3f} (front {s['front_log_rmse']:.3f}) | m = 0: "
              f"{nm['mean_regret_pp']:.3f} pp / {100 * nm['satisfaction']:.1f} % | hindsight m per device "
              f"(mean {100 * hs['margin_mean']:.1f} %): {hs['mean_regret_pp']:.3f} pp / "
              f"{100 * hs['satisfaction']:.1f} % | one m "
              f"{100 * om['margin']:.1f} %: {om['mean_regret_pp']:.3f} pp / {100 * om['satisfaction']:.1f} %")
    write_json(out, {"metric": args.metric, "margins": MARGINS.tolist(), "target": TARGET,
                     "summary": summary, "runs": runs})
    plot(summary, args.metric, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
