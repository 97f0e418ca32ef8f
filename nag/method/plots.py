"""PNG plots a person would rather see than numbers: frontiers and latency histograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nag.atomic import write_with
from nag.method.archdata import ArchDataset


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> None:
    write_with(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))
    _plt().close(fig)


def plot_frontier(path: str | Path, data: ArchDataset, rows: list[dict], platform: str) -> None:
    """The dataset (grey, at the latency feasibility is judged by), and the generated architecture per
    budget (budget as a dashed line): its latency estimate, a bar to its upper bound."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    feas = rows[0].get("feasibility", "estimate") if rows else "estimate"
    ax.scatter(data.lat, data.acc, s=4, c="0.75", label=f"architecture dataset (latency {feas})")
    lat = np.array([r["latency_ms"] for r in rows])
    bound = np.array([r.get("latency_bound_ms", r["latency_ms"]) for r in rows])
    acc = [r["accuracy"] if r["accuracy"] is not None else r.get("predicted_accuracy", np.nan) for r in rows]
    queried = any(r["accuracy"] is not None for r in rows)
    conf = rows[0].get("confidence") if rows else None
    ax.errorbar(
        lat,
        acc,
        xerr=[np.zeros(len(lat)), np.maximum(bound - lat, 0)],
        fmt="o-",
        c="C3",
        capsize=2,
        label="NAG (one per budget" + ("" if queried else ", predicted accuracy")
        + (f"; estimate, bar to the {conf:.0%} bound" if conf else "") + ")",
    )
    for r in rows:
        ax.axvline(r["budget_ms"], c="C0", lw=0.5, ls="--", alpha=0.4)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy (%)")
    lo = np.nanmin(acc) if np.isfinite(acc).any() else float(data.acc.min())
    ax.set_ylim(max(float(data.acc.min()), lo - 5), float(data.acc.max()) + 0.5)
    ax.set_title(f"generated frontier on {platform}")
    ax.legend(loc="lower right")
    _save(fig, path)


def plot_latency_histograms(path: str | Path, dataset_lat: np.ndarray, samples: dict[float, np.ndarray],
                            platform: str) -> None:
    """Paper Fig. 3: latency of architectures generated at two budgets vs the dataset."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bins = np.linspace(float(np.min(dataset_lat)), float(np.max(dataset_lat)), 50)
    ax.hist(dataset_lat, bins=bins, density=True, alpha=0.35, color="0.5", label="dataset")
    for i, (b, lat) in enumerate(samples.items()):
        ax.hist(lat, bins=bins, density=True, alpha=0.5, color=f"C{i}", label=f"generated at B={b:.3g} ms")
        ax.axvline(b, color=f"C{i}", ls="--")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("density")
    ax.set_title(f"latency of generated architectures on {platform}")
    ax.legend()
    _save(fig, path)


def plot_benchmark(path: str | Path, platform, report: dict) -> None:
    """Oracle frontier of the whole table vs the architectures each method chose per budget."""
    from nag.method.pareto import pareto_mask

    plt = _plt()
    acc, lat = platform.accuracy.values, platform.latency.values
    budgets = np.asarray(report["budgets_ms"])
    keep = lat <= budgets.max() * 1.05
    front = pareto_mask(acc[keep], lat[keep])
    order = np.argsort(lat[keep][front])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.step(
        lat[keep][front][order], acc[keep][front][order], where="post", c="k", lw=1, label="oracle frontier"
    )
    for i, name in enumerate(("nag", "nag_zero_query", "best_of_dataset")):
        rows = report["methods"].get(name, {}).get("per_budget")
        if rows:
            ax.plot(
                [r["latency"] for r in rows], [r["accuracy"] for r in rows], "o", ms=5, c=f"C{i}", label=name
            )
    lo = min(r["accuracy"] for r in report["methods"]["nag"]["per_budget"])
    ax.set_ylim(lo - 3, acc.max() + 0.5)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel(f"{report['metric']} (%)")
    ax.set_title(f"NB201 on {report['device']}: chosen architectures vs oracle frontier")
    ax.legend(loc="lower right")
    _save(fig, path)


def plot_latency(path: str | Path, platform: str, df, check: tuple[np.ndarray, np.ndarray] | None = None,
                 check_label: str = "") -> None:
    """Left: latency histogram of every architecture by source. Right (when given): measured vs
    estimated on the check set, with the ±10 % band."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2 if check is not None else 1, figsize=(11 if check is not None else 6, 4))
    axes = np.atleast_1d(axes)
    for source, part in df.groupby("source"):
        axes[0].hist(part["latency_ms"], bins=60, alpha=0.6, label=f"{source} ({len(part)})")
    axes[0].set_xlabel("latency (ms)")
    axes[0].set_ylabel("architectures")
    axes[0].set_title(f"{platform}: latency of {len(df)} architectures")
    axes[0].legend()
    if check is not None:
        measured, estimated = check
        lo, hi = float(min(measured.min(), estimated.min())), float(max(measured.max(), estimated.max()))
        xs = np.linspace(lo, hi, 10)
        axes[1].fill_between(xs, 0.9 * xs, 1.1 * xs, color="C2", alpha=0.15, label="±10 %")
        axes[1].plot(xs, xs, c="C2", lw=1)
        axes[1].scatter(measured, estimated, s=6, c="C0")
        axes[1].set_xlabel("measured (ms)")
        axes[1].set_ylabel("estimated (ms)")
        axes[1].set_title(check_label)
        axes[1].legend()
    _save(fig, path)
