"""What ``finetune@<platform>`` writes: the model folder (ONNX, state dicts, index.json of cards), the
metrics JSON (per budget and summary), the frontier of finetuned models as a CSV (DVC plot) and a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nag.atomic import atomic_path, write_with
from nag.delivery.export import check_card


def _plot(path: Path, table: pd.DataFrame, platform: str, measured: bool) -> None:
    from nag.method.plots import _plt, _save

    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if len(table):
        t = table.sort_values("budget_ms")
        ax.plot(t["latency_ms"], t["test_acc_before"], "o--", c="0.55", label="extracted from the supernet")
        ax.plot(t["latency_ms"], t["test_acc_after"], "o-", c="C3", label="finetuned")
        for b in t["budget_ms"].unique():
            ax.axvline(b, c="C0", lw=0.5, ls="--", alpha=0.4)
        ax.legend(loc="lower right")
    else:
        ax.text(
            0.5,
            0.5,
            "no finetuned subnets on this platform",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    ax.set_xlabel("latency (ms, " + ("measured here, drift-corrected" if measured else "predicted") + ")")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"finetuned subnets on {platform} (budgets dashed)")
    _save(fig, path)


def _write_plots(plot_dir: Path, platform: str, cards: list[dict]) -> None:
    rows = [
        {
            "budget_ms": c["budget_ms"],
            "latency_ms": c["latency_ms"]["measured_corrected"]
            if c["latency_ms"]["measured"] is not None
            else c["latency_ms"]["predicted"],
            "test_acc_before": c["accuracy"]["test_before_finetune"],
            "test_acc_after": c["accuracy"]["test_after_finetune"],
            "predicted_val_accuracy": c["accuracy"]["predicted_val"],
            "arch_id": c["arch_id"],
        }
        for c in cards
    ]
    table = pd.DataFrame(rows, columns=["budget_ms", "latency_ms", "test_acc_before", "test_acc_after",
                                        "predicted_val_accuracy", "arch_id"])
    write_with(plot_dir / "finetuned.csv", lambda tmp: table.to_csv(tmp, index=False))
    _plot(
        plot_dir / "finetuned.png",
        table,
        platform,
        any(c["latency_ms"]["measured"] is not None for c in cards),
    )


def _write_models(out_dir: Path, files: dict[str, bytes], index: dict) -> None:
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        (tmp / "index.json").write_text(json.dumps(index, indent=2, allow_nan=False) + "\n")


def summarize(platform: str, cards: list[dict]) -> dict:
    """Per budget and summary figures (the metrics JSON)."""
    per = []
    for c in cards:
        lat, acc = c["latency_ms"], c["accuracy"]
        per.append(
            {
                "budget_ms": c["budget_ms"],
                "arch_id": c["arch_id"],
                "arch": c["arch"],
                "predicted_accuracy": acc["predicted_val"],
                "test_acc_before": acc["test_before_finetune"],
                "test_acc_after": acc["test_after_finetune"],
                "latency_predicted_ms": lat["predicted"],
                "latency_bound_ms": lat["bound"],
                "latency_measured_ms": lat["measured"],
                "latency_measured_corrected_ms": lat["measured_corrected"],
                "within_budget_raw": lat["within_budget_raw"],
                "fallbacks": max(len(lat["delivery"]) - 1, 0),
                "delivery": lat["delivery"],
                "latency_error_pct": lat["error_pct"],
                "latency_reference_ms": lat["reference_measured"],
                "machine_drift_pct": lat["machine_drift_pct"],
                "vs_reference_pct": lat["vs_reference_pct"],
                "within_budget": lat["within_budget"],
                "over_budget_ms": max(
                    0.0,
                    (lat["measured_corrected"] if lat["measured"] is not None
                     else lat["bound"] if lat["feasibility"] == "bound" else lat["predicted"])
                    - c["budget_ms"],
                ),
                "params": c["params"],
                "madds": c["madds"],
                "onnx_max_abs_diff": c["onnx"]["max_abs_diff_vs_torch"],
                "finetune_wall_s": c["finetune"].get("wall_s"),
            }
        )
    err = [abs(p["latency_error_pct"]) for p in per if p["latency_error_pct"] is not None]
    exceeded = [
        {
            "budget_ms": p["budget_ms"],
            "over_ms": p["over_budget_ms"],
            "over_pct": 100 * p["over_budget_ms"] / p["budget_ms"],
        }
        for p in per
        if not p["within_budget"]
    ]
    return {
        "platform": platform,
        "applicable": True,
        "n_budgets": len(per),
        "n_unique_archs": len({p["arch_id"] for p in per}),
        "test_acc_before_mean": float(np.mean([p["test_acc_before"] for p in per])),
        "test_acc_after_mean": float(np.mean([p["test_acc_after"] for p in per])),
        "finetune_gain_pp_mean": float(np.mean([p["test_acc_after"] - p["test_acc_before"] for p in per])),
        "latency_measured": bool(err),
        "latency_abs_error_pct_mean": float(np.mean(err)) if err else None,
        "latency_abs_error_pct_max": float(np.max(err)) if err else None,
        "machine_drift_pct_mean": float(np.mean([p["machine_drift_pct"] for p in per])) if err else None,
        "vs_reference_pct_mean": float(np.mean([p["vs_reference_pct"] for p in per])) if err else None,
        # the second measurement (after the choice), drift-corrected; raw: as timed, uncorrected
        "within_budget_rate": float(np.mean([p["within_budget"] for p in per])),
        "within_budget_rate_raw": float(np.mean([p["within_budget_raw"] for p in per])) if err else None,
        "fallbacks_taken": int(sum(p["fallbacks"] for p in per)),
        "budgets_exceeded": exceeded,
        "budgets": per,
    }


def write_report(
    platform: str, cards: list[dict], files: dict[str, bytes], out_dir: Path, plot_dir: Path,
    drift: dict | None = None, undelivered: list[dict] | None = None,
) -> dict:
    """Models, plots and the metrics (with ``drift``: the probes' record of the second measurement;
    ``undelivered``: budgets no candidate met when measured, counted as not within budget)."""
    for c in cards:
        check_card(c)
    _write_models(out_dir, files, {"platform": platform, "applicable": True, "cards": cards})
    _write_plots(plot_dir, platform, cards)
    out = {**summarize(platform, cards), "drift": drift, "undelivered": undelivered or []}
    if undelivered:  # a budget asked for and not delivered is a budget not held
        n = out["n_budgets"]
        out["within_budget_rate"] = out["within_budget_rate"] * n / (n + len(undelivered))
    return out
