"""Tables (markdown), figures (PNG) and the summary JSON of benchmarks/paper.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.paper_methods import NAMES, PAPER_NOTE, TABLE2, TABLE3, nb201_platform
from nag.atomic import write_json, write_with


def paper_note(space: str) -> str:
    return (
        "The paper reports ImageNet top-1 of OFA-MobileNetV3 architectures on a mobile phone, a CPU and a "
        "GPU; "
        f"{PAPER_NOTE[space]}. The settings differ, so the paper's numbers are not placed beside ours; "
        "compare "
        f"the ordering of the methods, not the values."
    )


def _stats(runs: list[dict], device: str, method: str) -> dict:
    rows = [r for r in runs if r["device"] == device]
    acc = np.array([[p["accuracy"] for p in r["methods"][method]["picks"]] for r in rows])
    lat = np.array([[p["latency"] for p in r["methods"][method]["picks"]] for r in rows])
    budgets = np.array(rows[0]["budgets"])
    return {
        "acc_mean": acc.mean(0).tolist(),
        "acc_std": acc.std(0).tolist(),
        "lat_mean": lat.mean(0).tolist(),
        "mean_accuracy": float(acc.mean()),
        "mean_accuracy_std_over_seeds": float(acc.mean(1).std()),
        "satisfaction": float((lat <= budgets[None, :]).mean()),
        "queries": float(np.mean([r["methods"][method]["queries"] for r in rows])),
        "samples": int(rows[0]["methods"][method]["samples"]),
        **{
            k: float(np.mean([r["methods"][method][k] for r in rows]))
            for k in ("seconds_per_budget", "search_seconds_per_budget", "query_seconds_per_budget")
        },
    }


def _heading(runs, d: str) -> str:
    space = [r for r in runs if r["device"] == d][0].get("space", "nb201")
    return f"{d} (NB201 cells, true CIFAR-10 accuracy)" if space == "nb201" else \
        f"{d} (mbv3 pipeline platform, validation accuracy measured through the supernet)"


def _table(runs, devices, methods, title: str, budget_note: str) -> tuple[str, dict]:
    lines, data = [f"## {title}", "", budget_note, ""], {}
    for d in devices:
        budgets = [r for r in runs if r["device"] == d][0]["budgets"]
        lines += [f"### {_heading(runs, d)}", "", "| method | " + " | ".join(f"B={b:.3g} ms" for b in budgets)
                  + " | mean acc | satisfied | queries |", "|---" * (len(budgets) + 4) + "|"]
        data[d] = {m: _stats(runs, d, m) for m in methods}
        for m in methods:
            s = data[d][m]
            cells = [f"{a:.2f} ± {sd:.2f} ({t:.3g} ms)"
                     for a, sd, t in zip(s["acc_mean"], s["acc_std"], s["lat_mean"])]
            lines.append(
                f"| {NAMES[m]} | " + " | ".join(cells) + f" | {s['mean_accuracy']:.2f} ± "
                f"{s['mean_accuracy_std_over_seeds']:.2f} | {s['satisfaction']:.0%} | {s['queries']:.0f} |"
            )
        nag = data[d]["nag"]
        beat = [NAMES[m] for m in methods if m != "nag" and data[d][m]["mean_accuracy"] > nag["mean_accuracy"]
                and data[d][m]["satisfaction"] >= nag["satisfaction"]]
        lines += ["", f"**Beats NAG on {d}:** " + (", ".join(beat) if beat else "none") + ".", ""]
    return "\n".join(lines), data


def _generated(runs: list[dict], devices: list[str]) -> str:
    """What each reward teaches its generator: 1,000 samples per budget, judged by the table (NB201) or
    by the pipeline's accuracy predictor (mbv3)."""
    judge = "true" if runs[0].get("space", "nb201") == "nb201" else "PREDICTED (the pipeline's gbr)"
    lines = [
        f"### What the generators sample (1,000 per budget; share within the budget, mean {judge} accuracy "
        "of those within, mean latency) — analysis only, no method sees these accuracies",
        "",
    ]
    for d in devices:
        rows = [r for r in runs if r["device"] == d]
        budgets = rows[0]["budgets"]
        lines += [f"#### {_heading(runs, d)}", "",
                  "| generator | " + " | ".join(f"B={b:.3g} ms" for b in budgets) + " |",
                  "|---" * (len(budgets) + 1) + "|"]
        for m in rows[0]["generated"]:
            cells = []
            for i in range(len(budgets)):
                g = [r["generated"][m][i] for r in rows]
                feas = np.mean([x["feasible"] for x in g])
                accs = [x["mean_accuracy_feasible"] for x in g if x["mean_accuracy_feasible"] is not None]
                acc = f"{np.mean(accs):.2f} %" if accs else "—"
                cells.append(f"{feas:.0%} in, {acc}, {np.mean([x['mean_latency'] for x in g]):.3g} ms")
            lines.append(f"| {NAMES[m]} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _samples_gap(runs: list[dict], device: str) -> float:
    """Mean accuracy of NAG's feasible generated samples minus that of the no-accuracy generator's (pp)."""
    def mean(m):
        v = [x["mean_accuracy_feasible"] for r in runs if r["device"] == device for x in r["generated"][m]
             if x["mean_accuracy_feasible"] is not None]
        return float(np.mean(v)) if v else float("nan")
    return mean("nag") - mean("pareto_no_accuracy")


def _note(params, space: str, seeds) -> str:
    cfg, inf, g = params.paper, params.infer, params.generator
    m = params.dataset.train_size
    spend = (
        f"NAG's generator sees {g.iterations}×{params.budgets.k}×{g.samples_per_budget} rewarded samples; "
        f"each per-budget method gets that total divided by {cfg.n_budgets} budgets per budget, NSGA-II the "
        f"whole total once."
    )
    if space == "nb201":
        return (
            f"True CIFAR-10 accuracy (%) from the table, mean ± std over seeds {seeds}, and mean latency of "
            f"the chosen cell. Equal query budgets: every method starts from the same M = {m} queried cells "
            f"and the predictor fitted on them, and ends by querying at most C = {inf.candidates} cells per "
            f"budget (queries column: mean total). " + spend
        )
    return (
        f"Validation accuracy (%) of the chosen subnet MEASURED through the supernet (BN recalibrated, "
        f"{params.accuracy.val_images or 'all'} validation images; the accuracy stage's measurement), mean "
        "± std "
        f"over seeds {seeds}, and mean latency by the platform's latency model. Equal query budgets: every "
        f"method starts from the same M = {m} archs of the 16k dataset (the pipeline's accuracy column: its "
        "supernet-measured rows and the accuracy stage's predictor; counted as paid) and the predictor "
        "fitted "
        f"on them, and ends by measuring at most C = {cfg.mbv3_candidates} subnets per budget through the "
        f"supernet (queries column: mean total, M included). " + spend
    )


def _table4(runs: list[dict], devices, candidates: int) -> tuple[list[str], dict, dict]:
    """Each method's own seconds per new budget, accuracy queries excluded (every method makes at most the
    same C of them; how long they take depends on which method asked first, since answers are shared), and
    the speed-up of NAG over the fastest per-budget search, without and with C full-price queries."""
    t4 = [
        "## Table 4 — time to an architecture for a new budget (this machine, one run, seconds)",
        "",
        "NAG: inference for one budget (generator trained once). Others: the search a new budget needs "
        "(NSGA-II: its one run over all budgets, and picking, divided by the number of budgets). Accuracy "
        "queries are not in these seconds: NB201 reads a table (free); on mbv3 each is a supernet "
        "measurement "
        f"and every method, NAG included, makes at most C = {candidates} of them per budget — the last "
        "column "
        "adds C measurements at their measured cost to every method.",
        "",
        "| device | " + " | ".join(NAMES[m] for m in NAMES) + " | fastest search / NAG | with C queries |",
        "|---" * (len(NAMES) + 3) + "|",
    ]
    times, ratios = {}, {}
    for d in devices:
        times[d] = {m: {k: v for k, v in _stats(runs, d, m).items() if k.endswith("seconds_per_budget")}
                    for m in NAMES}
        own = {m: t["search_seconds_per_budget"] for m, t in times[d].items()}
        per_query = [
            r["oracle"]["seconds_per_measurement"]
            for r in runs
            if r["device"] == d and r.get("oracle") and r["oracle"]["seconds_per_measurement"]
        ]
        q = candidates * float(np.mean(per_query)) if per_query else 0.0
        fastest = min(v for m, v in own.items() if m not in ("nag", "pareto_no_accuracy"))
        ratios[d] = fastest / own["nag"]
        t4.append(f"| {d} | " + " | ".join(f"{v:.3g}" for v in own.values()) + f" | {ratios[d]:.3g}× | "
                  + (f"{(fastest + q) / (own['nag'] + q):.3g}× (+{q:.3g} s each) |" if q else "same |"))
    return t4, times, ratios


def _table5(ks: list[dict], cfg, device: str) -> tuple[list[str], dict]:
    t5 = [
        "## Table 5 — number of trained budgets K",
        "",
        f"NAG trained with K budgets on {device}, judged at the median test budget; mean ± std over seeds.",
        "",
        "| K | accuracy | latency (ms) | budget (ms) | satisfied |",
        "|---|---|---|---|---|",
    ]
    k_rows = {}
    for k in cfg.ks:
        rows = [r for r in ks if r["k"] == k]
        a, t = np.array([r["accuracy"] for r in rows]), np.array([r["latency"] for r in rows])
        k_rows[k] = {"acc_mean": float(a.mean()), "acc_std": float(a.std()), "lat_mean": float(t.mean()),
                     "budget": rows[0]["budget"], "satisfied": float(np.mean(t <= rows[0]["budget"]))}
        t5.append(f"| {k} | {a.mean():.2f} ± {a.std():.2f} | {t.mean():.3g} | {rows[0]['budget']:.3g} | "
                  f"{k_rows[k]['satisfied']:.0%} |")
    return t5, k_rows


def _frontier_of(params, space: str, d: str) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy, latency) of what the oracle frontier of Figure 5 is drawn from."""
    if space == "nb201":
        plat = nb201_platform(params.paper.table, d, params.paper.metric)
        return plat.accuracy.values, plat.latency.values
    import pandas as pd  # mbv3: the 16k dataset archs with the pipeline's accuracy column

    df = pd.read_parquet(f"data/archdata/{d}.parquet", columns=["accuracy", "latency_ms"])
    return df["accuracy"].to_numpy(), df["latency_ms"].to_numpy()


def write_reports(out: Path, params, runs: list[dict], ks: list[dict], seconds: float,
                  finetuned: dict | None = None) -> dict:
    from benchmarks.paper_figures import fig3, fig5

    cfg = params.paper
    devices = list(dict.fromkeys(r["device"] for r in runs))
    seeds = sorted({r["seed"] for r in runs})
    space = runs[0].get("space", "nb201")
    note = _note(params, space, seeds)
    t2, d2 = _table(runs, devices, TABLE2, "Table 2 — reward functions", note)
    t3, d3 = _table(
        runs, devices, TABLE3, "Table 3 — one generator for all budgets vs searching each budget", note
    )
    t2 += "\n\n" + _generated(runs, devices)
    c = cfg.mbv3_candidates if space == "mbv3" else params.infer.candidates
    t4, times, ratios = _table4(runs, devices, c)
    t5, k_rows = _table5(ks, cfg, devices[0]) if ks else ([], {})
    ft = None
    if finetuned:
        from benchmarks.paper_mbv3 import finetune_table

        text, ft = finetune_table(runs, finetuned, list(dict.fromkeys(TABLE2 + TABLE3)), NAMES,
                                  [s for s in seeds if s in cfg.finetune_seeds])
        t3 += "\n\n" + text
    targets = {}
    for d in devices:
        nag = d3[d]["nag"]
        others = {m: s for m, s in {**d2[d], **d3[d]}.items() if m != "nag"}
        targets[d] = {
            "nag_best_mean_accuracy": bool(all(
                nag["mean_accuracy"] >= s["mean_accuracy"] for s in others.values()
            )),
            "nag_satisfaction_100": bool(nag["satisfaction"] == 1.0),  # numpy bools are not JSON
            "no_accuracy_collapses": bool(
                d2[d]["pareto_no_accuracy"]["mean_accuracy"] < nag["mean_accuracy"] - 1.0
                and np.mean(d2[d]["pareto_no_accuracy"]["lat_mean"]) < np.mean(nag["lat_mean"])),
            "no_accuracy_samples_collapse": bool(_samples_gap(runs, d) > 3.0),
            "no_accuracy_samples_gap_pp": _samples_gap(runs, d),
            "new_budget_1000x_faster": bool(ratios[d] >= 1000),
            "speedup": ratios[d],
            "nag_minus_best_baseline_pp": nag["mean_accuracy"]
            - max(s["mean_accuracy"] for s in others.values()),
        }
        if ft:
            targets[d].update(nag_best_finetuned=bool(ft["nag_minus_best_pp"] >= 0),
                              nag_minus_best_finetuned_pp=ft["nag_minus_best_pp"])
    tables, figures = out / "tables", out / "figures"
    tables.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    pieces = {"table2.md": t2, "table3.md": t3, "table4.md": "\n".join(t4)}
    if t5:
        pieces["table5.md"] = "\n".join(t5)
    for name, text in pieces.items():
        write_with(tables / name, lambda tmp, text=text: tmp.write_text(text + "\n"))
    where = "NAS-Bench-201 device columns" if space == "nb201" else f"the mbv3 pipeline platform {devices[0]}"
    summary = [f"# NAG against the baselines on {where}", "", paper_note(space), "",
               "Targets: " + json.dumps(targets), "", *pieces.values(), "", "Figures: " + ", ".join(
                   [f"../figures/fig3_{devices[0]}.png"] + [f"../figures/fig5_{d}.png" for d in devices])]
    write_with(tables / "README.md", lambda tmp: tmp.write_text("\n\n".join(summary) + "\n"))
    hist = next(r["hist"] for r in runs if "hist" in r)
    fig3(figures / f"fig3_{devices[0]}.png", hist, devices[0])
    for d in devices:
        acc, lat = _frontier_of(params, space, d)
        fig5(figures / f"fig5_{d}.png", acc, lat, {**d2[d], **d3[d]},
              [r for r in runs if r["device"] == d][0]["budgets"], d)
    report = {"devices": devices, "seeds": seeds, "seconds": seconds, "targets": targets,
              "table2": d2, "table3": d3, "table4_seconds_per_budget": times, "table5": k_rows,
              "finetuned": ft, "finetuned_archs": finetuned,
              "runs": [{k: v for k, v in r.items() if k != "hist"} for r in runs], "k_runs": ks}
    write_json(out / "paper.json", report)
    return report
