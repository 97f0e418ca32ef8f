"""The allowed values of params.yaml settings, checked once where the file is parsed.

:func:`nag.config.load_params` (and a model bundle's params snapshot) runs :func:`check_rules`, so every
command refuses an out-of-range value the same way, before any work: one message naming the file, the
setting (``budgets.k``, ``platforms.cpu-torch.threads``), the value and what would be accepted.

Example::

    >>> check_rules(Params(budgets=BudgetConfig(k=0)))     # doctest: +SKIP
    ConfigError: budgets.k = 0: must be >= 2
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Rule = Callable[[Any], str | None]  # value -> what is wrong with it, or None


def at_least(lo: float) -> Rule:
    return lambda v: None if v >= lo else f"must be >= {lo:g}"


def above(lo: float) -> Rule:
    return lambda v: None if v > lo else f"must be > {lo:g}"


def within(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> Rule:
    def rule(v):
        ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
        return None if ok else f"must lie in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    return rule


def one_of(*choices: str) -> Rule:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def each(rule: Rule) -> Rule:
    def check(values):
        for v in values:
            problem = rule(v)
            if problem:
                return f"holds {v!r}: every item {problem}"
        return None
    return check


POSITIVE, COUNT, NONNEG = above(0), at_least(1), at_least(0)
SHARE, PCT = within(0, 1), within(0, 100)
PREDICTORS = one_of("rf", "gbr", "rf+gbr", "mlp", "ridge")

RULES: dict[str, dict[str, Rule]] = {
    "data": {
        "format": one_of("idx", "imagefolder"),
        "val_size": COUNT,
        "test_fraction": within(0, 1, True, True),
        "image_size": COUNT,
    },
    "budgets": {"k": at_least(2), "lo_pct": PCT, "hi_pct": PCT},
    "evaluator": {
        "hidden": COUNT,
        "embed_dim": COUNT,
        "budget_input": one_of("embedding", "onehot"),
        "loss": one_of("hinge", "logistic"),
        "steps": COUNT,
        "pairs_per_step": COUNT,
        "within_budget_share": SHARE,
        "lr": POSITIVE,
        "weight_decay": NONNEG,
        "val_fraction": within(0, 1, hi_open=True),
    },
    "generator": {
        "hidden": COUNT,
        "hidden_mbv3": COUNT,
        "embed_dim": COUNT,
        "iterations": COUNT,
        "samples_per_budget": COUNT,
        "lr": POSITIVE,
        "entropy": NONNEG,
        "baseline": one_of("moving_average", "none"),
        "baseline_momentum": within(0, 1, hi_open=True),
    },
    "infer": {
        "candidates": COUNT,
        "pool": COUNT,
        "max_total_samples": COUNT,
        "pool_mbv3": COUNT,
        "max_total_samples_mbv3": COUNT,
        "widen": NONNEG,
        "max_rounds": COUNT,
        "rank_by": one_of("evaluator", "predictor"),
        "predictor": PREDICTORS,
        "predictor_mbv3": lambda v: each(PREDICTORS)(v) if v else "must name at least one predictor",
        "feasibility": one_of("bound", "estimate"),
    },
    "dataset": {"train_size": at_least(10)},
    "supernet": {
        "width_mult": POSITIVE,
        "input_size": COUNT,
        "stem_stride": COUNT,
        "stage_strides": each(COUNT),
        "dropout": within(0, 1, hi_open=True),
        "batch_size": COUNT,
        "images_per_epoch": NONNEG,
        "subnets_per_step": COUNT,
        "sampling": one_of("random", "sandwich"),
        "distill_temperature": POSITIVE,
        "optimizer": one_of("adamw", "sgd"),
        "momentum": within(0, 1, hi_open=True),
        "weight_decay": NONNEG,
        "label_smoothing": within(0, 1, hi_open=True),
        "calib_images": COUNT,
        "eval_subnets": NONNEG,
        "reference_images": NONNEG,
        "device": one_of("auto", "cpu", "cuda"),
        "threads": NONNEG,
    },
    "archs": {"count": COUNT},
    "accuracy": {
        "measured": COUNT,
        "val_images": NONNEG,
        "calib_images": COUNT,
        "repeats": NONNEG,
        "predictors": each(PREDICTORS),
        "batch_size": COUNT,
        "checkpoint_every": COUNT,
    },
    "latency": {
        "warmup": NONNEG,
        "repeats": COUNT,
        "rounds": COUNT,
        "threads": COUNT,
        "validate_sample": COUNT,
        "min_measured": COUNT,
        "max_spread": POSITIVE,
        "spread_mostly": within(0, 1, lo_open=True),
        "max_mape": POSITIVE,
        "range_ms": each(POSITIVE),
        "confidence": within(0, 1, True, True),
        "coverage_tolerance": within(0, 1),
        "probes": at_least(2),
        "max_drift": POSITIVE,
        "delivery_tries": COUNT,
    },
    "finetune": {
        "budgets": NONNEG,
        "epochs": NONNEG,
        "images_per_epoch": NONNEG,
        "batch_size": COUNT,
        "lr": POSITIVE,
        "weight_decay": NONNEG,
        "label_smoothing": within(0, 1, hi_open=True),
        "calib_images": COUNT,
        "onnx_atol": POSITIVE,
        "onnx_check_images": COUNT,
        "threads": NONNEG,
    },
    "paper": {
        "n_budgets": COUNT,
        "budget_lo_pct": PCT,
        "budget_hi_pct": PCT,
        "predictor": PREDICTORS,
        "mbv3_candidates": COUNT,
        "ks": each(at_least(2)),
        "hist_samples": COUNT,
        "workers": COUNT,
    },
    "registry": {
        "grid_points": COUNT,
        "grid_lo_pct": PCT,
        "grid_hi_pct": PCT,
        "tolerance_pp": NONNEG,
        "lock_timeout_s": NONNEG,
    },
    "serve": {"max_budgets": COUNT},
    "devices": {"max_file_mb": POSITIVE, "max_rows": at_least(10)},
    "orchestration": {
        "runner": one_of("local", "dask"),
        "workers": COUNT,
        "retries": NONNEG,
        "retry_delay_s": NONNEG,
        "lock_timeout_s": NONNEG,
        "settle_s": NONNEG,
    },
}
# lo < hi pairs of one section
ORDERED = {"budgets": ("lo_pct", "hi_pct"), "paper": ("budget_lo_pct", "budget_hi_pct"),
           "registry": ("grid_lo_pct", "grid_hi_pct")}
PHASE = {"epochs": NONNEG, "lr": POSITIVE, "kernels": each(one_of(3, 5, 7)), "depths": each(one_of(2, 3, 4)),
         "expands": each(one_of(3, 4, 6))}
RESOLUTIONS = (128, 224)  # the OFA MobileNetV3 space's input sizes (px), those its reference devices measured
PLATFORM = {
    "threads": NONNEG,
    "resolution": lambda v: None if v == 0 or RESOLUTIONS[0] <= v <= RESOLUTIONS[1] else
    f"must be 0 (the file's own) or a size in [{RESOLUTIONS[0]}, {RESOLUTIONS[1]}] px",
    "max_spread": NONNEG,
    "finetune_budgets_ms": each(POSITIVE),
}


SEEDED = ("data", "evaluator", "generator", "infer", "dataset", "supernet", "archs", "accuracy", "latency",
          "finetune")  # every section with a ``seed``: numpy and torch take only seeds >= 0
for _section in SEEDED:
    RULES[_section]["seed"] = NONNEG
RULES["paper"].update(seeds=each(NONNEG), finetune_seeds=each(NONNEG))
# Settings with no range to check: paths, names, cron lines, addresses and the phases (checked by PHASE).
FREE = {"data": ("source",), "supernet": ("distill", "phases"), "paper": ("table", "metric", "devices",
        "mbv3_platforms"), "orchestration": ("scheduler_address", "inbox", "inbox_cron", "pipeline_cron")}


def _check(obj: Any, rules: dict[str, Rule], where: str, error: type[Exception]) -> None:
    for key, rule in rules.items():
        value = getattr(obj, key)
        problem = rule(value)
        if problem:
            raise error(f"{where}.{key} = {value!r}: {problem}")


def check_rules(params: Any, error: type[Exception]) -> None:
    """Raise ``error`` for the first setting of ``params`` (a :class:`nag.config.Params`) out of range."""
    for section, rules in RULES.items():
        _check(getattr(params, section), rules, section, error)
    for section, (lo, hi) in ORDERED.items():
        obj = getattr(params, section)
        if not getattr(obj, lo) < getattr(obj, hi):
            raise error(
                f"{section}.{lo} = {getattr(obj, lo)!r} must be below {section}.{hi} = {getattr(obj, hi)!r}"
            )
    rng = params.latency.range_ms
    if len(rng) != 2 or not rng[0] < rng[1]:
        raise error(
            f"latency.range_ms = {list(params.latency.range_ms)}: must be [low, high] with low < high"
        )
    for phase in params.supernet.phases:
        _check(phase, PHASE, f"supernet.phases.{phase.name}", error)
    for p in params.platforms:
        _check(p, PLATFORM, f"platforms.{p.name}", error)
