"""Figures 3 and 5 of benchmarks/paper.py's report: latency histograms of the methods' samples at a
budget, and every method's frontier against the oracle's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.paper_methods import NAMES


def fig3(path: Path, hist: dict, device: str) -> None:
    from nag.method.plots import _plt, _save

    plt = _plt()
    budgets = list(next(iter(hist.values())))
    fig, axes = plt.subplots(1, len(budgets), figsize=(6 * len(budgets), 4))
    for ax, b in zip(np.atleast_1d(axes), budgets):
        allv = np.concatenate([np.asarray(hist[m][b]) for m in hist])
        bins = np.linspace(float(allv.min()), float(np.percentile(allv, 99.5)), 40)
        for i, (m, per) in enumerate(hist.items()):
            ax.hist(per[b], bins=bins, alpha=0.45, color=f"C{i}", label=NAMES[m])
        ax.axvline(float(b), c="k", ls="--", label="budget")
        ax.set_title(f"{device}: 1,000 samples at B={float(b):.3g} ms")
        ax.set_xlabel("latency (ms)")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    _save(fig, path)


def fig5(path: Path, platform_acc, platform_lat, data: dict, budgets, device: str) -> None:
    from nag.method.pareto import best_under_budget
    from nag.method.plots import _plt, _save

    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ok = np.isfinite(platform_lat)
    grid = np.linspace(min(budgets) * 0.8, max(budgets) * 1.05, 200)
    idx = best_under_budget(platform_acc[ok], platform_lat[ok], grid)
    ax.step(platform_lat[ok][idx], platform_acc[ok][idx], where="post", c="k", lw=1,
            label="oracle frontier: whole table (NB201) / 16k dataset, its accuracy column (mbv3)")
    for i, (m, s) in enumerate(data.items()):
        ax.plot(s["lat_mean"], s["acc_mean"], "o-", c=f"C{i}", ms=4, lw=1, label=NAMES[m])
    for b in budgets:
        ax.axvline(b, c="0.7", lw=0.5, ls="--")
    ax.set_xlabel("latency (ms, mean over seeds)")
    ax.set_ylabel("accuracy (%): true (NB201) / supernet-measured (mbv3)")
    ax.set_ylim(float(np.min([min(s["acc_mean"]) for s in data.values()])) - 1, None)
    ax.set_title(f"frontiers on {device}: every method vs the oracle")
    ax.legend(fontsize=7, loc="lower right")
    _save(fig, path)
