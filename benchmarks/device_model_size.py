"""How big an imported device's latency model needs to be: 5-fold cross-validation of every candidate
of ``nag.latency.predictor`` (ridge, random forest, gradient boosting at 75-600 iterations with the
learning rate scaled up) on every GPU column of data/benchmarks/ofa_gpu_latency.csv, the time to predict
one serving request's worth of candidates (40,960 rows), and what the product's rule
(:func:`~nag.latency.predictor.choose_cheapest`) picks on each fold's split and what that costs.

    python benchmarks/device_model_size.py [--folds 5]

Prints per device and candidate the held-out share within ±10 %, its standard error over folds, MAPE and
predict µs per row, then the rule's picks; writes ``reports/benchmarks/device_model_size.json``.
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
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--rows", type=int, default=40_960, help="rows per timed predict call")
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmarks" / "device_model_size.json"))
    args = ap.parse_args()

    from imported_devices import gpu_columns  # benchmarks/ is this script's folder
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    from nag.atomic import write_json
    from nag.latency.predictor import _candidates, choose_cheapest, latency_errors

    out = {"table": args.table, "folds": args.folds, "rows_timed": args.rows, "devices": {}}
    for device, X, y in gpu_columns(args.table, Path(args.out).with_suffix(".tmp.csv")):
        big = np.tile(X, (int(np.ceil(args.rows / len(X))), 1))[: args.rows]
        folds, us = [], {}
        for tr, te in KFold(args.folds, shuffle=True, random_state=0).split(X):
            reports = {}
            for name, model in _candidates(0).items():
                model = clone(model).fit(X[tr], np.log(y[tr]))
                reports[name] = latency_errors(y[te], np.exp(model.predict(X[te])))
                if name not in us:  # one timed predict per candidate, on the first fold's model
                    t0 = time.perf_counter()
                    model.predict(big)
                    us[name] = 1e6 * (time.perf_counter() - t0) / len(big)
            best = max(reports, key=lambda k: reports[k]["within_10pct"])
            pick = choose_cheapest(reports)
            folds.append({"reports": reports, "pick": pick, "best": best,
                          "loss": reports[best]["within_10pct"] - reports[pick]["within_10pct"]})
        dev = out["devices"][device] = {"candidates": {}, "folds": folds}
        for name in us:
            within = [f["reports"][name]["within_10pct"] for f in folds]
            dev["candidates"][name] = row = {
                "within_10pct": float(np.mean(within)),
                "se": float(np.std(within, ddof=1) / np.sqrt(len(within))),
                "mape": float(np.mean([f["reports"][name]["mape"] for f in folds])),
                "predict_us_per_row": us[name]}
            print(f"{device:12s} {name:8s} within ±10 % {row['within_10pct']:.1%} ± {row['se']:.1%}  "
                  f"MAPE {row['mape']:.2f} %  predict {us[name]:6.2f} µs/row")
        picks = [f["pick"] for f in folds]
        dev["rule"] = {"picks": picks, "mean_loss": float(np.mean([f["loss"] for f in folds])),
                       "predict_us_per_row": float(np.mean([us[p] for p in picks]))}
        print(f"{device:12s} rule picks {picks}: share lost vs each fold's best "
              f"{dev['rule']['mean_loss']:.2%}, predict {dev['rule']['predict_us_per_row']:.1f} µs/row")
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
