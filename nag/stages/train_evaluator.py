"""The ``train_evaluator@<p>`` stage: the Pareto-dominance evaluator R(β|B) over the K budgets, and the
accuracy predictor that ranks candidates, fitted on the platform's architecture dataset."""

from __future__ import annotations

from pathlib import Path

from nag.config import Params
from nag.method.acc_predictor import fit_accuracy_predictor
from nag.method.archdata import ArchDataset
from nag.method.budget import make_budgets
from nag.method.checkpoint import save_evaluator
from nag.method.evaluator import train_evaluator
from nag.platforms import Platform, check_validated


def run(params: Params, platform: Platform, dataset: str | Path, out: str | Path,
        progress: bool = True) -> dict:
    """Fit the evaluator (and the accuracy predictor used to rank candidates) on the dataset; refused while
    the platform's latency has not passed validation."""
    if platform.files is not None:
        check_validated(platform.name, platform.files.validation)
    data = ArchDataset.load(dataset, platform.space)
    b = params.budgets
    budgets = make_budgets(data.lat, b.k, b.lo_pct, b.hi_pct)
    model, metrics = train_evaluator(data, budgets, params.evaluator, progress)
    predictor, pred_report = fit_accuracy_predictor(data.features, data.acc,
                                                    kinds=platform.ranking_predictor(params.infer),
                                                    seed=params.evaluator.seed)
    save_evaluator(out, model, params.evaluator, platform.space, predictor,
                   extra={"platform": platform.name, "known": _known_payload(data),
                          "predictor_rmse": pred_report["heldout"]["rmse"]})
    metrics.pop("config")
    return {**metrics, "budgets_ms": budgets.tolist(), "predictor": pred_report}


def _known_payload(data: ArchDataset) -> dict:
    return {"tokens": [list(a.tokens) for a in data.archs], "accuracy": data.acc.tolist(),
            "latency": data.lat.tolist()}
