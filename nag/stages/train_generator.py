"""The ``train_generator@<p>`` stage: the budget-conditioned generator, REINFORCE against the trained
evaluator over all K budgets at once."""

from __future__ import annotations

from pathlib import Path

from nag.config import Params
from nag.method.checkpoint import load_evaluator, save_generator
from nag.method.generator import train_generator
from nag.platforms import Platform


def run(params: Params, platform: Platform, evaluator_path: str | Path, out: str | Path,
        progress: bool = True) -> dict:
    """REINFORCE the generator against the trained evaluator over all K budgets."""
    evaluator, _, meta = load_evaluator(evaluator_path, platform.space, params.budgets.k, platform.name)
    cfg = params.generator.for_space(platform.space.name)
    gen, metrics = train_generator(platform.space, evaluator, cfg, progress)
    save_generator(out, gen, cfg, platform.space, extra={"platform": platform.name})
    metrics.pop("config")
    return {**metrics, "budgets_ms": meta["budgets"]}
