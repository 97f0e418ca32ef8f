"""The ``finetune@<p>`` stage (supernet-backed platforms): for each budget (``finetune.budgets`` of the K
trained ones from frontier@, evenly spaced, plus ``finetune_budgets_ms``) the chosen architecture is checked
to fit when measured (local platforms: :mod:`nag.delivery.check`, falling back to another pick if not),
extracted from the supernet, evaluated, finetuned, evaluated again, exported to ONNX (checked against torch)
and, on a local platform, timed again beside the drift probes: that second measurement decides
``within_budget``.
Budgets sharing an architecture share its model; finished models wait in a work folder (resume)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch

from nag.config import Params
from nag.delivery.check import DeliveryError, fit_budgets, measure_delivered
from nag.delivery.export import provenance
from nag.delivery.report import write_report
from nag.delivery.subnets import SubnetSource, card_for, export_all, subnets_for
from nag.latency.drift import drift_record
from nag.platforms import Platform
from nag.serving.generated import Generated


def trained_rows(frontier: dict, n: int) -> list[dict]:
    """The frontier's rows at ``n`` of its K trained budgets, evenly spaced from the smallest to the
    largest (``n`` = 0 or ≥ K: all of them)."""
    rows = [r for r in frontier["frontier"] if not r.get("interpolated")]
    if 0 < n < len(rows):
        rows = [rows[i] for i in sorted(set(np.linspace(0, len(rows) - 1, n).round().astype(int).tolist()))]
    return rows


def run(params: Params, platform: Platform, frontier: str | Path, supernet_path: str | Path,
        prepared: str | Path, out_dir: str | Path, work_dir: str | Path, plot_dir: str | Path,
        evaluator: str | Path | None = None, generator: str | Path | None = None,
        progress: bool = True) -> dict:
    """The finetune@ stage: models + index.json in ``out_dir``, plots in ``plot_dir``; returns the metrics."""
    out_dir, plot_dir = Path(out_dir), Path(plot_dir)
    cfg = params.finetune
    rows = trained_rows(json.loads(Path(frontier).read_text()), cfg.budgets)
    for r in rows:
        r["arch_obj"] = platform.space.from_tokens(r["tokens"])
    g = Generated(params, platform, evaluator, generator)
    if platform.config.finetune_budgets_ms:
        choices, _ = g.choose(list(platform.config.finetune_budgets_ms), zero_query=True)
        rows += [{**g.describe(c), "arch_obj": c.arch, "extra": True} for c in choices]
    # measurement 1: each pick fits as measured, or falls back; a budget too tight for this machine's timing
    # noise is recorded as not delivered (and not held), unless no budget at all can be delivered
    rows = fit_budgets(params, platform, g, rows, strict=False)
    undelivered = [r["undeliverable"] for r in rows if "undeliverable" in r]
    rows = [r for r in rows if "undeliverable" not in r]
    if not rows:
        raise DeliveryError(f"{undelivered[0]['reason']}; no budget of finetune@{platform.name} can be "
                            f"delivered here: raise them, or re-measure the table "
                            f"(dvc repro -s -f latency@{platform.name})")
    unique = list({r["arch_obj"].arch_id: r["arch_obj"] for r in rows}.values())
    src = SubnetSource.load(platform, supernet_path, prepared, cfg)
    made = dict(zip([a.arch_id for a in unique],
                    subnets_for(src, platform, unique, cfg, True, Path(work_dir), progress)))
    nets = [made[a.arch_id][0] for a in unique]
    exported = dict(zip([a.arch_id for a in unique], export_all(nets, src, cfg)))
    # measurement 2, after the choice: the delivered models themselves, beside the probes
    onnx = [exported[a.arch_id][0] for a in unique]
    timings, drift = measure_delivered(params, platform, unique, nets, onnx)
    measured = dict(zip([a.arch_id for a in unique], timings))
    prov = provenance(supernet_path, generator)
    cards = [
        card_for(
            platform,
            r,
            made[r["arch_obj"].arch_id][1],
            measured[r["arch_obj"].arch_id],
            drift,
            src,
            cfg,
            exported[r["arch_obj"].arch_id][1],
            prov,
            f"{r['arch_obj'].arch_id}.onnx",
        )
        for r in rows
    ]
    files = {}
    for a in unique:
        files[f"{a.arch_id}.onnx"] = exported[a.arch_id][0]
        buf = io.BytesIO()
        torch.save(made[a.arch_id][0].state_dict(), buf)
        files[f"{a.arch_id}.pt"] = buf.getvalue()
    drift_rec = drift_record(platform.name, drift, platform.files.model, "finetune@") if drift else None
    return write_report(platform.name, cards, files, out_dir, plot_dir, drift_rec, undelivered)
