"""What judging feasibility by the latency *bound* (not the estimate) costs, and what it buys.

NAS-Bench-201 (every device column of the table): the table's latency is the truth; the latency model's
estimate is the truth times a lognormal error of the size our models show (MAPE 2 / 5 / 8 %: the corrected
LUT's cross-validated error, and the imported predictors' held-out range), fixed per cell and seed. The
error model is calibrated (split conformal) on 200 other cells "measured directly". Per budget (10,
between the device's 5th and 95th true-latency percentiles) two selectors pick:

* ``exhaustive`` — the most accurate network whose estimate (or bound) fits: the feasibility rule alone;
* ``bound_checked`` — the bound's pick "measured" (its true latency read) and replaced while it misses, as
  the delivery check of local platforms does (at most ``TRIES`` measurements per budget);
* ``nag`` (``--nag-devices``) — NAG trained and queried on the estimate (or bound) latency: the whole method.

Both are judged on the true latency (satisfaction) and the true oracle (regret, pp).

mbv3 local platforms (``--mbv3``, after the product pipeline): over the 16k architecture dataset, the most
accurate architecture whose estimate / bound fits each of the K trained budgets is measured here beside the
drift probes (drift-corrected) — satisfaction on measured latency, and the accuracy the bound gives up.
Imported devices: the bound's out-of-fold coverage on held-out measurements (from validate@'s report).

    python benchmarks/bound_feasibility.py --nag-devices pixel3 gold_6240 titanxp_1 \
        --mbv3 cpu-torch cpu-onnxruntime
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MAPES = (2.0, 5.0, 8.0)
CONFIDENCES = (0.8, 0.9, 0.95, 0.99)
CALIBRATION = 200
TRIES = 4  # latency.delivery_tries


def simulated(true_lat: np.ndarray, real: np.ndarray, mape: float, seed: int):
    """(estimate, calibration residuals): a fixed lognormal error per cell, 200 other cells measured."""
    from nag.latency.bound import log_residuals

    rng = np.random.default_rng(seed)
    sigma = mape / 100 / np.sqrt(2 / np.pi)  # E|eps| = sigma * sqrt(2/pi)
    est = true_lat * np.exp(rng.normal(0.0, sigma, len(true_lat)))
    calib = rng.choice(real, CALIBRATION, replace=False)
    return est, log_residuals(true_lat[calib], est[calib])


def _judge(acc, lat, picks, budgets, oracle_acc) -> dict:
    a, t = acc[picks], lat[picks]
    return {"satisfaction": float(np.mean(t <= budgets)), "mean_regret_pp": float(np.mean(oracle_acc - a)),
            "mean_accuracy": float(np.mean(a))}


def nb201_device(device: str, seed: int, nag: bool, params) -> dict:
    """Every (MAPE, confidence) for the exhaustive selector; NAG at the default confidence if ``nag``."""
    import torch

    torch.set_num_threads(1)
    from nag.bench.nb201 import EVAL_PCT
    from nag.config import PlatformConfig
    from nag.latency.bound import conformal_quantile
    from nag.method.archdata import Lookup
    from nag.method.budget import make_budgets
    from nag.method.pareto import best_under_budget
    from nag.platforms import resolve

    plat = resolve(PlatformConfig(f"nb201-{device}", file=str(ROOT / "data/benchmarks/nb201.csv"),
                                  device=device, metric=params.paper.metric))
    true_lat, acc = plat.latency.values, plat.accuracy.values
    real = np.flatnonzero(np.isfinite(true_lat))
    budgets = make_budgets(true_lat[real], 10, *EVAL_PCT)
    oracle = best_under_budget(acc, true_lat, budgets)
    out = {"device": device, "seed": seed, "budgets_ms": budgets.tolist(), "runs": []}
    for mape in MAPES:
        est, res = simulated(true_lat, real, mape, seed)
        for conf in CONFIDENCES:
            q = max(conformal_quantile(res, conf), 0.0)
            row = {"mape": mape, "confidence": conf, "margin_pct": 100 * (np.exp(q) - 1)}
            for mode, feas_lat in (("estimate", est), ("bound", est * np.exp(q))):
                if mode == "estimate" and conf != CONFIDENCES[0]:
                    row["estimate"] = out["runs"][-1]["estimate"]  # the estimate does not depend on it
                    continue
                picks = best_under_budget(acc, feas_lat, budgets)
                row[mode] = _judge(acc, true_lat, picks, budgets, acc[oracle])
                if mode == "bound":  # + the delivery check: the pick measured, a fallback while it misses
                    picks, n = zip(*(checked(acc, feas_lat, true_lat, b, TRIES) for b in budgets))
                    row["bound_checked"] = {**_judge(acc, true_lat, np.array(picks), budgets, acc[oracle]),
                                            "measurements_mean": float(np.mean(n))}
            if nag and conf == params.latency.confidence:
                for mode, feas_lat in (("estimate", est), ("bound", est * np.exp(q))):
                    sim = replace(plat, latency=Lookup(plat.table.archs, feas_lat, f"{mode} on {device}",
                                                       missing=np.inf))
                    row[f"nag_{mode}"] = _nag(sim, plat, params, budgets, acc[oracle], seed)
            out["runs"].append(row)
    return out


def checked(acc, feas_lat, true_lat, budget: float, tries: int) -> tuple[int, int]:
    """nag.delivery.check.fit_budgets on a table: pick the best whose feasibility latency
    fits the asked budget, "measure" it (its true latency), and while it misses ask for a budget shrunk by
    the overshoot and below its own feasibility latency. (pick, measurements taken)."""
    asked, pick = budget, int(np.argmin(feas_lat))
    for n in range(1, tries + 1):
        fits = np.flatnonzero(feas_lat <= asked)
        if len(fits) == 0:  # nothing smaller to try: the last pick stands
            return pick, n - 1
        pick = int(fits[np.argmax(acc[fits])])
        if true_lat[pick] <= budget:
            return int(pick), n
        asked = min(asked * budget / true_lat[pick], feas_lat[pick]) * (1 - 5e-3)
    return pick, tries


def _nag(sim, truth, params, budgets, oracle_acc, seed) -> dict:
    """NAG trained and asked on ``sim``'s latency, judged on ``truth``'s."""
    from nag.config import DatasetConfig
    from nag.method.acc_predictor import fit_accuracy_predictor
    from nag.method.archdata import QueryCounter
    from nag.method.budget import make_budgets
    from nag.method.evaluator import train_evaluator
    from nag.method.generator import train_generator
    from nag.method.infer import generate_many, make_score

    data, _ = sim.make_dataset(DatasetConfig(params.dataset.train_size, seed))
    trained = make_budgets(data.lat, params.budgets.k, params.budgets.lo_pct, params.budgets.hi_pct)
    evaluator, _ = train_evaluator(data, trained, params.evaluator, False)
    generator, _ = train_generator(data.space, evaluator, params.generator, False)
    predictor, rep = fit_accuracy_predictor(data.features, data.acc, (params.infer.predictor,), seed)
    score = make_score(params.infer.rank_by, evaluator, predictor, data.space)
    counter = QueryCounter(sim.accuracy, data.archs)
    fits = budgets >= sim.latency.min
    choices = generate_many(generator, data.space, budgets[fits], sim.latency, params.infer, score, counter,
                            cheapest=sim.latency.min, known=(data.archs, data.acc, data.lat),
                            known_margin=rep["heldout"]["rmse"])
    archs = [c.arch for c in choices]
    a, t = truth.accuracy(archs), truth.latency(archs)
    return {"satisfaction": float(np.mean(t <= budgets[fits])), "budgets_answered": int(fits.sum()),
            "mean_regret_pp": float(np.mean(oracle_acc[fits] - a)), "mean_accuracy": float(np.mean(a)),
            "queries": counter.queries}


def summarise_nb201(reports: list[dict]) -> dict:
    """Mean over devices and seeds, per (MAPE, confidence) and selector."""
    out = {}
    for mape in MAPES:
        for conf in CONFIDENCES:
            rows = [r for rep in reports for r in rep["runs"]
                    if r["mape"] == mape and r["confidence"] == conf]
            cell = {"margin_pct": float(np.mean([r["margin_pct"] for r in rows]))}
            for sel in ("estimate", "bound", "bound_checked", "nag_estimate", "nag_bound"):
                got = [r[sel] for r in rows if sel in r]
                if got:
                    cell[sel] = {k: float(np.mean([g[k] for g in got])) for k in
                                 ("satisfaction", "mean_regret_pp", "mean_accuracy")}
                    cell[sel]["runs"] = len(got)
                    if "measurements_mean" in got[0]:
                        cell[sel]["measurements_mean"] = float(np.mean([g["measurements_mean"] for g in got]))
                    missed = sum((1 - g["satisfaction"]) * g.get("budgets_answered", 10) for g in got)
                    cell[sel]["budgets_violated"] = int(round(missed))
            for a, b in (("estimate", "bound"), ("nag_estimate", "nag_bound")):
                if a in cell and b in cell:
                    cell[f"{b}_accuracy_cost_pp"] = cell[a]["mean_accuracy"] - cell[b]["mean_accuracy"]
            out[f"mape{mape:g}_conf{conf:g}"] = cell
    return out


def mbv3_local(name: str, params) -> dict:
    """Exhaustive estimate vs bound picks over the platform's dataset, measured here beside the probes."""
    import pandas as pd

    from nag.delivery.check import time_beside_probes
    from nag.platforms import Feasibility, resolve
    from nag.supernet.archs import load_archs
    from nag.supernet.static import build_static

    plat = resolve(params.platform(name), params.supernet, feasibility=Feasibility.of(params))
    frontier = json.loads((ROOT / f"reports/frontier/{name}.json").read_text())
    budgets = np.array([r["budget_ms"] for r in frontier["frontier"] if not r["interpolated"]])
    ids = plat.estimate.ids
    acc = pd.read_parquet(ROOT / "data/accuracy.parquet").set_index("arch_id")["accuracy"].loc[ids].to_numpy()
    df, archs = load_archs(ROOT / "data/archs.parquet", plat.space)
    order = {a: i for i, a in enumerate(df["arch_id"])}
    archs = [archs[order[i]] for i in ids]
    picks = {}
    for mode, lat in (("estimate", plat.estimate.values), ("bound", plat.bound.values)):
        picks[mode] = [int(np.flatnonzero(lat <= b)[np.argmax(acc[lat <= b])]) for b in budgets]
    unique = sorted(set(picks["estimate"]) | set(picks["bound"]))
    nets = [build_static(plat.space, archs[i]).eval() for i in unique]
    _, corrected, drift, _ = time_beside_probes(params, plat, nets, f"estimate vs bound picks on {name}")
    measured = dict(zip(unique, corrected))
    out = {"platform": name, "budgets_ms": budgets.tolist(), "drift_ratio": drift.ratio,
           "confidence": params.latency.confidence}
    for mode, pk in picks.items():
        m = np.array([measured[i] for i in pk])
        out[mode] = {"satisfaction_measured": float(np.mean(m <= budgets)),
                     "mean_accuracy": float(np.mean(acc[pk])), "measured_over_budget": (m / budgets).tolist(),
                     "estimate_ms": plat.estimate.values[pk].tolist(),
                     "bound_ms": plat.bound.values[pk].tolist(),
                     "measured_ms": m.tolist()}
    out["bound_accuracy_cost_pp"] = out["estimate"]["mean_accuracy"] - out["bound"]["mean_accuracy"]
    return out


def imported_coverage(params) -> dict:
    out = {}
    for p in params.platforms:
        if p.kind == "imported":
            out[p.name] = json.loads((ROOT / f"reports/validation/{p.name}.json").read_text()).get("bound")
    return out


def plot(summary: dict, path: Path) -> None:
    """Satisfaction on the true latency and regret vs the confidence, per simulated error size."""
    from nag.method.plots import _plt, _save

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, mape in enumerate(MAPES):
        cells = [summary[f"mape{mape:g}_conf{c:g}"] for c in CONFIDENCES]
        for sel, ls in (("bound", "-"), ("bound_checked", ":")):
            for ax, key in zip(axes, ("satisfaction", "mean_regret_pp")):
                ax.plot(CONFIDENCES, [c[sel][key] for c in cells], ls, marker="o", c=f"C{i}",
                        label=f"{sel}, MAPE {mape:g} %")
        for ax, key in zip(axes, ("satisfaction", "mean_regret_pp")):
            ax.axhline(cells[0]["estimate"][key], c=f"C{i}", lw=0.8, ls="--", alpha=0.6)
    axes[0].set_ylabel("satisfaction on the true latency")
    axes[1].set_ylabel("mean regret vs the true oracle (pp)")
    for ax in axes:
        ax.set_xlabel("latency.confidence (dashed: feasibility by the estimate)")
    axes[0].legend(fontsize=7)
    fig.suptitle("NB201, 19 device columns: feasibility by the bound (simulated latency-model error)")
    _save(fig, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--nag-devices", nargs="*", default=None,
                    help="devices NAG is trained on, both modes (default: paper.devices)")
    ap.add_argument("--mbv3", nargs="*", default=None,
                    help="local mbv3 platforms to measure picks on (default: every local platform)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-nb201", action="store_true", help="keep --out's NB201 part, redo the mbv3 one")
    ap.add_argument("--out", default=str(ROOT / "reports/benchmarks/bound_feasibility.json"))
    args = ap.parse_args()
    from nag.atomic import write_json
    from nag.config import load_params
    from nag.data.benchmarks import load_nb201

    params = load_params(args.params)
    if args.nag_devices is None:
        args.nag_devices = list(params.paper.devices)
    if args.mbv3 is None:
        args.mbv3 = [p.name for p in params.platforms if p.kind == "local"]
    devices = load_nb201(ROOT / "data/benchmarks/nb201.csv").devices
    if args.no_nb201:
        result = json.loads(Path(args.out).read_text())
    else:
        jobs = [(d, s, d in args.nag_devices and s == args.seeds[0]) for d in devices for s in args.seeds]
        with ProcessPoolExecutor(args.workers) as pool:
            reports = list(pool.map(nb201_device, *zip(*jobs), [params] * len(jobs)))
        result = {"nb201": {"devices": devices, "seeds": args.seeds, "calibration_cells": CALIBRATION,
                            "summary": summarise_nb201(reports), "per_device": reports}}
        write_json(args.out, result)  # the long part is kept before anything is measured
    result.update({"mbv3": [mbv3_local(n, params) for n in args.mbv3], "imported": imported_coverage(params)})
    write_json(args.out, result)
    plot(result["nb201"]["summary"], Path(args.out).with_suffix(".png"))
    for key, cell in result["nb201"]["summary"].items():
        sels = ("estimate", "bound", "bound_checked", "nag_estimate", "nag_bound")
        parts = [f"{sel} sat {cell[sel]['satisfaction']:.3f} regret {cell[sel]['mean_regret_pp']:.3f}"
                 for sel in sels if sel in cell]
        print(f"{key:18s} margin {cell['margin_pct']:5.1f} %  " + " | ".join(parts))
    for m in result["mbv3"]:
        print(f"{m['platform']}: satisfaction measured estimate {m['estimate']['satisfaction_measured']:.2f} "
              f"bound {m['bound']['satisfaction_measured']:.2f}; "
              f"accuracy cost {m['bound_accuracy_cost_pp']:.3f} pp; "
              f"drift {m['drift_ratio']:.3f}")
    print(json.dumps(result["imported"], indent=1))


if __name__ == "__main__":
    main()
