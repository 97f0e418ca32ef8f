"""The paper's experiments: NAG against every baseline (Tables 2–5, Figures 3 and 5), ≥ 3 seeds, equal
query budgets, on NAS-Bench-201 device columns (stage ``paper``) or on an mbv3 pipeline platform with
supernet-measured accuracy and finetuned picks (``--mbv3``, stage ``paper_mbv3@<platform>``, see
benchmarks/paper_mbv3.py). Settings: ``paper:``.

    python benchmarks/paper.py                         # params.yaml's devices and seeds
    python benchmarks/paper.py --devices pixel3 --seeds 0 --out /tmp/paper   # a quick look
    python benchmarks/paper.py --mbv3 cpu-torch --out reports/paper-mbv3/cpu-torch

Writes ``<out>/paper.json`` (every pick, timings, targets), ``<out>/tables/`` (``table2.md`` …
``table5.md``, ``README.md`` = all of them) and ``<out>/figures/`` (``fig3_<device>.png``,
``fig5_<device>.png``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import typer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.paper_methods import nb201_platform  # noqa: E402  (after the path is set)


def make_platform(params, space: str, name: str, seed: int = 0):
    """(platform, judge of what the generators sample, supernet oracle or None): an NB201 device column,
    whose table answers both, or an mbv3 pipeline platform (benchmarks/paper_mbv3.py)."""
    if space == "nb201":
        plat = nb201_platform(params.paper.table, name, params.paper.metric)
        return plat, plat.accuracy, None
    from benchmarks.paper_mbv3 import mbv3_platform

    return mbv3_platform(params, name, seed)


def test_budgets(platform, cfg) -> np.ndarray:
    lat = platform.latency.values
    lat = lat[np.isfinite(lat)]
    return np.linspace(*np.percentile(lat, [cfg.budget_lo_pct, cfg.budget_hi_pct]), cfg.n_budgets)


def _pick_row(p) -> dict:
    return {
        "budget": p.budget,
        "accuracy": p.accuracy,
        "latency": p.latency,
        "queried": p.n_queried,
        "feasible_candidates": p.n_feasible,
        "arch": p.arch.arch_id,
        "tokens": [int(t) for t in p.arch.tokens],
    }


def job(params_path: str, space: str, device: str, seed: int, hist: bool) -> dict:
    """Every method on one device (NB201 column) or mbv3 platform and seed (run in a worker process)."""
    import torch

    from nag.config import load_params
    from nag.search.policy import sample_policy
    from nag.search.runner import run_all

    torch.set_num_threads(1)
    params = load_params(params_path)
    cfg = params.paper
    plat, judge, oracle = make_platform(params, space, device, seed)
    if space == "mbv3":
        from benchmarks.paper_mbv3 import mbv3_params

        params = mbv3_params(params)
    budgets = test_budgets(plat, cfg)
    t0 = time.perf_counter()
    res = run_all(plat, params, budgets, seed)
    out = {"device": device, "space": space, "seed": seed, "budgets": budgets.tolist(),
           "seconds": time.perf_counter() - t0,
           "methods": {}}
    for name, r in res.items():
        out["methods"][name] = {
            "picks": [_pick_row(p) for p in r["picks"]],
            "queries": r["queries"],
            "samples": r["samples"],
            "seconds_per_budget": r["seconds_per_budget"],
            **{
                k: r[k]
                for k in (
                    "train_seconds",
                    "run_seconds",
                    "query_seconds_per_budget",
                    "search_seconds_per_budget",
                )
                if k in r
            },
        }
    if oracle is not None:
        out["oracle"] = oracle.stats()
    # what each reward teaches its generator: 1,000 samples per budget, judged by the table (mbv3: by the
    # pipeline's predictor; analysis only, no method sees these accuracies). Figure 3 shows two budgets.
    out["generated"], out["hist"] = {}, {} if hist else None
    for name in ("nag", "pareto_no_accuracy", "mo_reward", "absolute_reward"):
        rows = []
        for b in budgets:
            if name in ("nag", "pareto_no_accuracy"):
                with torch.no_grad():
                    toks = (
                        res[name]["generator"]
                        .sample(torch.full((cfg.hist_samples,), float(b)))
                        .tokens.numpy()
                    )
                archs = [plat.space.from_tokens(t) for t in toks]
            else:
                archs = sample_policy(res[name]["policies"][float(b)], plat.space, cfg.hist_samples)
            lat, acc = np.asarray(plat.latency(archs)), np.asarray(judge(archs))
            ok = lat <= b
            rows.append({"budget": float(b), "feasible": float(ok.mean()), "mean_latency": float(lat.mean()),
                         "mean_accuracy_feasible": float(acc[ok].mean()) if ok.any() else None,
                         "mean_accuracy": float(acc.mean())})
            if hist and name in ("nag", "mo_reward", "absolute_reward") and b in (budgets[1], budgets[-2]):
                out["hist"].setdefault(name, {})[f"{b:.6g}"] = lat.tolist()
        out["generated"][name] = rows
    if not hist:
        out.pop("hist")
    return out


def k_job(params_path: str, device: str, seed: int, k: int) -> dict:
    """Table 5: NAG trained with K budgets, judged at the device's median-latency budget."""
    import torch

    from nag.config import load_params
    from nag.search.runner import make_problem, nag_picks, train_nag

    torch.set_num_threads(1)
    params = load_params(params_path)
    cfg = params.paper
    plat = nb201_platform(cfg.table, device, cfg.metric)
    budget = float(np.median(test_budgets(plat, cfg)))
    problem = make_problem(plat, params, seed)
    _, gen, train_s = train_nag(problem, replace(params, budgets=replace(params.budgets, k=k)), seed, k=k)
    pick = nag_picks(problem, gen, [budget], params, seed)[0][0]
    return {"device": device, "seed": seed, "k": k, "train_seconds": train_s, **_pick_row(pick)}


def _collect(futs: list, t0: float, what: list[str]) -> list:
    """Results of ``futs`` in order, a progress line on stderr as each arrives."""
    results = []
    for i, (f, name) in enumerate(zip(futs, what)):
        results.append(f.result())
        typer.echo(f"[{i + 1}/{len(futs)}] {name} done after {time.perf_counter() - t0:.0f} s", err=True)
    return results


def _finetune(pool, params: str, name: str, runs: list[dict], seeds, chunk: int = 4) -> list:
    """Queue the finetuning of the distinct picks of ``seeds`` in chunks (futures): a worker that would
    wait for the last search picks them up meanwhile."""
    from benchmarks.paper_mbv3 import finetune_job, picks_to_finetune

    tokens = list(picks_to_finetune(runs, seeds).values())
    return [
        pool.submit(finetune_job, params, name, tokens[i : i + chunk]) for i in range(0, len(tokens), chunk)
    ]


def main(params: Path = typer.Option(Path("params.yaml")), out: Path = typer.Option(Path("reports/paper")),
         devices: list[str] = typer.Option(None, help="override paper.devices"),
         seeds: list[int] = typer.Option(None, help="override paper.seeds"),
         workers: int = typer.Option(0, help="override paper.workers"),
         mbv3: str = typer.Option("", help="instead of the NB201 device columns, this mbv3 pipeline platform "
                                           "(benchmarks/paper_mbv3.py)")) -> None:
    from benchmarks.paper_report import write_reports
    from nag.config import load_params

    cfg = load_params(params).paper
    seeds = seeds or list(cfg.seeds)
    n = workers or cfg.workers
    if mbv3:
        from benchmarks.paper_mbv3 import check_inputs
        from nag.cli.common import user_errors

        with user_errors():  # what the user has to fix: one line, exit code 2
            check_inputs(load_params(params), mbv3)
        jobs, kjobs = [(str(params), "mbv3", mbv3, s, s == seeds[0]) for s in seeds], []
    else:
        devices = devices or list(cfg.devices)
        jobs = [
            (str(params), "nb201", d, s, d == devices[0] and s == seeds[0]) for d in devices for s in seeds
        ]
        kjobs = [(str(params), devices[0], s, k) for s in seeds for k in cfg.ks]
    t0 = time.perf_counter()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    finetuned = None
    with ProcessPoolExecutor(max_workers=n) as pool:
        futs = [pool.submit(job, *j) for j in jobs] + [pool.submit(k_job, *j) for j in kjobs]
        names = [f"search {j[2]} seed {j[3]}" for j in jobs] + [f"K={j[3]} seed {j[2]}" for j in kjobs]
        ft = []
        if mbv3:  # as soon as the seeds to finetune are searched (the others may still run)
            ft_seeds = [s for s in seeds if s in cfg.finetune_seeds]
            done = [f.result() for f, j in zip(futs, jobs) if j[3] in ft_seeds]
            ft = _finetune(pool, str(params), mbv3, done, ft_seeds)
        results = _collect(futs + ft, t0, names + [f"finetune chunk {i + 1}" for i in range(len(ft))])
        runs, ks = results[: len(jobs)], results[len(jobs): len(futs)]
        if mbv3:
            finetuned = {k: v for part in results[len(futs):] for k, v in part.items()}
    report = write_reports(out, load_params(params), runs, ks, time.perf_counter() - t0, finetuned)
    typer.echo(json.dumps(report["targets"], indent=2))


if __name__ == "__main__":
    typer.run(main)
