"""Few-shot devices over every NAS-Bench-201 device column, leave-one-hardware-out: the transfer latency
model's figures for N ∈ {5, 10, 20, 50, 100} measured architectures (the measurement plan's, and as many
random ones), seeds 0–2; NAG trained on the N-row device (``--nag-n``, default N = 10) and judged on the
true latency, beside NAG on the full true column (reused from ``benchmarks/nb201_devices.py``'s runs where
they exist with the same settings, else run here); and the OFA GPU table's latency figures (each GPU left
out of the references). Writes ``reports/benchmarks/fewshot.json``, a table
(``fewshot.md``) and a plot (``fewshot.png``: Spearman and regret vs N).

    python benchmarks/fewshot_devices.py --workers 2                        # the whole sweep
    python benchmarks/fewshot_devices.py --metrics acc_cifar10 --workers 2  # one metric
    python benchmarks/fewshot_devices.py --mbv3-only                        # the OFA GPU table alone
    OMP_NUM_THREADS=1 python benchmarks/fewshot_devices.py --keep-mbv3      # the NB201 side only
    python benchmarks/fewshot_devices.py --mbv3-product --workers 1         # ... through the product path
      (1 worker: 4 min 51 s; 2 workers of gradient-boosted fits on 2 cores ran > 20 min)
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "reports/benchmarks"
RUNS = OUT / "fewshot_runs"  # fewshot_runs_spread/: the runs of the spread plan alone (before the fronts)
FULL_RUNS = OUT / "nb201_rfgbr_3seeds/runs"  # benchmarks/nb201_devices.py, same params (M = 1,000)
NS = (5, 10, 20, 50, 100)
TABLE = str(ROOT / "data/benchmarks/nb201.csv")


def _run(device: str, metric: str, n: int, seed: int, nag: bool, near: bool = False) -> dict:
    import torch

    torch.set_num_threads(1)
    from nag.atomic import write_json
    from nag.bench.fewshot import run_fewshot_benchmark
    from nag.config import load_params

    params = load_params(ROOT / "params.yaml")
    path = RUNS / f"{device}_{metric}_n{n}_s{seed}{'' if nag else '_lat'}{'_near' if near else ''}.json"
    if path.is_file():
        return json.loads(path.read_text())
    full = FULL_RUNS / f"{device}_{metric}_m1000_s{seed}.json"
    full = json.loads(full.read_text())["methods"]["nag"] if nag and full.is_file() else None
    rep = run_fewshot_benchmark(params, TABLE, device, n, seed, TABLE, metric, nag=nag, full=full,
                                progress=False, near=near)
    write_json(path, rep)
    return rep


def mbv3_sweep(ns, seeds, workers: int, product: bool = False) -> dict:
    """Latency figures on the OFA GPU table, each GPU left out of the references (all its batch sizes);
    ``product``: the references as the product path has them (predicted, judged on unseen networks)."""
    from nag.bench.fewshot import run_fewshot_mbv3
    from nag.data.benchmarks import read_csv_table

    table = str(ROOT / "data/benchmarks/ofa_gpu_latency.csv")
    devices = [c[4:] for c in read_csv_table(table).columns if c.startswith("lat_")]
    jobs = [(table, d, n, s, 0.9, product) for d in devices for n in ns for s in seeds]
    with ProcessPoolExecutor(workers) as pool:
        reps = list(pool.map(run_fewshot_mbv3, *zip(*jobs)))
    out = {}
    for d in devices:
        for n in ns:
            rows = [r for r in reps if r["device"] == d and r["measured"] == n]
            out.setdefault(d, {})[str(n)] = {
                how: {k: float(np.mean([r[f"latency_{how}"][k] for r in rows]))
                      for k in ("spearman", "mape", "within_10pct", "bound_coverage")}
                for how in ("plan", "random")}
    return out


def mbv3_product_table(mbv3: dict) -> str:
    """The product path's figures per OFA column and N (plan picks; random picks' Spearman beside)."""
    lines = ["| OFA GPU column (its GPU left out) | N | Spearman (plan) | Spearman (random) | within ±10 % | "
             "bound coverage |", "|---|---|---|---|---|---|"]
    for d, c in mbv3.items():
        for n, v in c.items():
            lines.append(f"| {d} | {n} | {v['plan']['spearman']:.3f} | {v['random']['spearman']:.3f} | "
                         f"{v['plan']['within_10pct']:.0%} | {v['plan']['bound_coverage']:.0%} |")
    return "\n".join(lines) + "\n"


def summarise(reports: list[dict]) -> dict:
    out = {}
    for n in sorted({r["measured"] for r in reports}):
        rows = [r for r in reports if r["measured"] == n]
        cell = {"runs": len(rows)}
        for how in ("plan", "random"):
            cell[how] = {k: float(np.mean([r[f"latency_{how}"][k] for r in rows]))
                         for k in ("spearman", "mape", "within_10pct", "bound_coverage")}
            cell[how]["spearman_min"] = float(min(r[f"latency_{how}"]["spearman"] for r in rows))
        for key in ("nag_fewshot", "nag_full_column"):
            for metric in sorted({r["metric"] for r in rows if key in r}):
                got = [r[key] for r in rows if key in r and r["metric"] == metric]
                cell[f"{key}_{metric}"] = {k: float(np.mean([g[k] for g in got]))
                                           for k in ("mean_regret_pp", "satisfaction_rate")}
                cell[f"{key}_{metric}"]["runs"] = len(got)
                if key == "nag_fewshot":  # closed loop: picks measured, the model refitted, asked again
                    cell[f"{key}_{metric}"]["rounds"] = [
                        {k: float(np.mean([g["rounds"][i][k] for g in got]))
                         for k in ("measured", "mean_regret_pp", "satisfaction_rate")}
                        for i in range(min(len(g["rounds"]) for g in got))]
        out[str(n)] = cell
    return out


def per_device(reports: list[dict], n: int) -> dict:
    out = {}
    for d in sorted({r["device"] for r in reports}):
        rows = [r for r in reports if r["device"] == d and r["measured"] == n]
        out[d] = {"spearman": float(np.mean([r["latency_plan"]["spearman"] for r in rows])),
                  "within_10pct": float(np.mean([r["latency_plan"]["within_10pct"] for r in rows])),
                  "bound_coverage": float(np.mean([r["latency_plan"]["bound_coverage"] for r in rows]))}
        nag = [r["nag_fewshot"] for r in rows if "nag_fewshot" in r]
        if nag:
            out[d]["nag_regret_pp"] = float(np.mean([g["mean_regret_pp"] for g in nag]))
            out[d]["nag_satisfaction"] = float(np.mean([g["satisfaction_rate"] for g in nag]))
            out[d]["full_regret_pp"] = float(np.mean([r["nag_full_column"]["mean_regret_pp"] for r in rows
                                                      if "nag_full_column" in r]))
    return out


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [int(n) for n in summary]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for how, style in (("plan", "o-"), ("random", "s--")):
        a.plot(ns, [summary[str(n)][how]["spearman"] for n in ns], style, label=f"{how} picks")
    a.axhline(0.932, color="grey", ls=":", label="HELP, N = 10 (its 6 devices)")
    a.set(xscale="log", xlabel="measured architectures N", ylabel="Spearman (all cells)",
          title="transfer latency model, leave-one-hardware-out")
    a.legend()
    for metric, color in (("acc_cifar10", "C0"), ("acc_cifar100", "C1")):
        for n in ns:
            cell = summary[str(n)]
            rounds = cell.get(f"nag_fewshot_{metric}", {}).get("rounds", [])
            if rounds:
                b.plot([r["measured"] for r in rounds], [r["mean_regret_pp"] for r in rounds], "o-",
                       color=color, label=f"{metric}: N = {n}, then the picks measured")
            full = cell.get(f"nag_full_column_{metric}")
            if full and n == min(int(k) for k in summary if f"nag_full_column_{metric}" in summary[k]):
                b.axhline(full["mean_regret_pp"], color=color, ls="--", label=f"{metric}: full true column")
    b.set(xlabel="measurements on the device", ylabel="mean regret vs true oracle (pp)",
          title="NAG judged on the true latency (closed loop)")
    b.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def table(summary: dict, devices: dict) -> str:
    nan = float("nan")
    lines = ["| N | Spearman plan | Spearman random | within ±10 % plan | coverage plan | NAG regret (c10) | "
             "NAG satisfied (c10) | full-column regret (c10) |", "|---|---|---|---|---|---|---|---|"]
    for n, c in summary.items():
        f, full = c.get("nag_fewshot_acc_cifar10", {}), c.get("nag_full_column_acc_cifar10", {})
        lines.append(f"| {n} | {c['plan']['spearman']:.3f} | {c['random']['spearman']:.3f} | "
                     f"{c['plan']['within_10pct']:.0%} | {c['plan']['bound_coverage']:.0%} | "
                     f"{f.get('mean_regret_pp', nan):.3f} | {f.get('satisfaction_rate', nan):.1%} | "
                     f"{full.get('mean_regret_pp', nan):.3f} |")
    lines += ["", "| closed loop (N + the picks measured) | metric | measured | regret (pp) | satisfied |",
              "|---|---|---|---|---|"]
    for n, c in summary.items():
        for key, v in c.items():
            for i, r in enumerate(v.get("rounds", []) if key.startswith("nag_fewshot") else []):
                lines.append(f"| N = {n}, round {i} | {key[len('nag_fewshot_'):]} | {r['measured']:.1f} | "
                             f"{r['mean_regret_pp']:.3f} | {r['satisfaction_rate']:.1%} |")
    lines += ["", "| device (N = 10) | Spearman | within ±10 % | coverage | NAG regret (both metrics) | "
              "NAG satisfied |", "|---|---|---|---|---|---|"]
    for d, v in devices.items():
        lines.append(f"| {d} | {v['spearman']:.3f} | {v['within_10pct']:.0%} | {v['bound_coverage']:.0%} | "
                     f"{v.get('nag_regret_pp', nan):.3f} | {v.get('nag_satisfaction', nan):.0%} |")
    return "\n".join(lines) + "\n"


def mbv3_table(mbv3: dict) -> str:
    ns = list(next(iter(mbv3.values())))
    head = " | ".join(f"Spearman N = {n}" for n in ns)
    lines = ["", f"| OFA GPU column (its GPU left out) | {head} |", "|---|" + "---|" * len(ns)]
    for d, c in mbv3.items():
        lines.append(f"| {d} | " + " | ".join(f"{c[n]['plan']['spearman']:.3f}" for n in ns) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ns", type=int, nargs="+", default=list(NS))
    ap.add_argument("--nag-n", type=int, nargs="*", default=[10], help="N at which NAG is trained too")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--metrics", nargs="+", default=["acc_cifar10", "acc_cifar100"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mbv3-only", action="store_true", help="only the OFA GPU table's latency figures")
    ap.add_argument("--mbv3-product", action="store_true",
                    help="the OFA table through the product path: references predicted "
                    "(fewshot_mbv3_product.md)")
    ap.add_argument("--keep-mbv3", action="store_true",
                    help="keep fewshot.json's OFA table figures (a change to the NB201 side only)")
    ap.add_argument("--near", action="store_true",
                    help="the closed loop also measures near-picks (fewshot_near.json: a comparison)")
    args = ap.parse_args()
    from tqdm import tqdm

    from nag.atomic import write_json
    from nag.data.benchmarks import load_nb201

    if args.mbv3_product:
        product = mbv3_sweep(args.ns, args.seeds, args.workers, product=True)
        old = json.loads((OUT / "fewshot.json").read_text()) if (OUT / "fewshot.json").is_file() else {}
        write_json(OUT / "fewshot.json", {**old, "mbv3_product": product})
        (OUT / "fewshot_mbv3_product.md").write_text(mbv3_product_table(product))
        print(mbv3_product_table(product))
        return
    old = json.loads((OUT / "fewshot.json").read_text()) if (OUT / "fewshot.json").is_file() else {}
    mbv3 = None if args.near else old["mbv3"] if args.keep_mbv3 and old.get("mbv3") else \
        mbv3_sweep(args.ns, args.seeds, args.workers)
    if args.mbv3_only:
        write_json(OUT / "fewshot.json", {**old, "mbv3": mbv3})
        print(json.dumps({d: {n: v["plan"]["spearman"] for n, v in c.items()} for d, c in mbv3.items()}))
        return
    devices = list(load_nb201(TABLE).devices)
    jobs = [(d, m, n, s, n in args.nag_n, args.near and n in args.nag_n) for d in devices for n in args.ns
            for s in args.seeds for m in (args.metrics if n in args.nag_n else args.metrics[:1])]
    RUNS.mkdir(parents=True, exist_ok=True)
    reports = []
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(_run, *j) for j in jobs]
        for f in tqdm(as_completed(futures), total=len(futures), desc="few-shot runs"):
            reports.append(f.result())
    # the plan reads the metric's accuracy (its fronts), so each (device, N, seed, metric) counts once
    lat = {(r["device"], r["measured"], r["seed"], r["metric"]): r for r in reports}
    summary = summarise(list(lat.values()))
    for n, cell in summarise([r for r in reports if "nag_fewshot" in r]).items():
        summary[n].update({k: v for k, v in cell.items() if k.startswith("nag_")})
    devs = per_device(reports, 10)
    if args.near:  # a comparison of the loop's variant, beside the main results
        write_json(OUT / "fewshot_near.json", {"summary": summary, "per_device_n10": devs,
                                               "seeds": args.seeds, "metrics": args.metrics})
        print(table(summary, devs))
        return
    write_json(OUT / "fewshot.json", {**old, "summary": summary, "per_device_n10": devs, "seeds": args.seeds,
                                      "devices": devices, "metrics": args.metrics, "mbv3": mbv3})
    (OUT / "fewshot.md").write_text(table(summary, devs) + mbv3_table(mbv3))
    plot(summary, OUT / "fewshot.png")
    print(table(summary, devs))


if __name__ == "__main__":
    main()
