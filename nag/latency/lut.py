"""Per-block latency lookup tables for local runtimes, checked against whole-network measurement.

Every distinct block configuration of the space (stage, stride, in/out shape, kernel, expand, SE,
activation) is measured once, plus the fixed stem (+ first block) and head; an architecture's LUT
latency is the sum of its entries. :func:`check_lut` measures a seeded sample of whole networks
directly and reports Spearman, MAPE and the share within ±10 %, raw and after a linear correction
(linear on LUT sum and block count, or ridge adding the architecture features — whichever
cross-validates better), the correction's figures cross-validated.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from torch import nn

from nag.latency.meter import MeterSettings, measure_many, remeasure_noisy
from nag.latency.predictor import latency_errors
from nag.spaces.base import Arch
from nag.spaces.mbv3 import EXPANDS, KERNELS, MBV3Space
from nag.supernet.static import (
    BlockSpec,
    Head,
    MBConv,
    block_specs,
    build_static,
    final_size,
    make_first_block,
    make_stem,
    stage_plan,
)


def distinct_blocks(space: MBV3Space) -> dict[str, BlockSpec]:
    """One spec per LUT key (slots 1..3 of a stage share their shapes)."""
    macro, out = space.macro, {}
    for s, slots in enumerate(stage_plan(macro)):
        for b, (cin, cout, stride, size) in enumerate(slots[:2]):
            for k in KERNELS:
                for e in EXPANDS:
                    spec = BlockSpec(
                        s, b, cin, cout, k, e, stride, size, macro.stage_acts[s], macro.stage_se[s]
                    )
                    out[spec.key()] = spec
    return out


def build_lut(space: MBV3Space, runtime: str, settings: MeterSettings, progress: bool = True,
              max_spread: float = 0.25, normaliser=None) -> dict:
    """Measure every block configuration and the fixed parts once (beside the probes of ``normaliser``,
    a :class:`nag.latency.normalise.Normaliser`, when given)."""
    macro = space.macro
    t0 = time.perf_counter()
    size = macro.input_size
    stem_size = (size - 1) // macro.stem_stride + 1
    fixed = {
        "stem": (
            nn.Sequential(make_stem(macro), make_first_block(macro)),
            (1, macro.in_channels, size, size),
        ),
        "head": (Head(macro), (1, macro.stage_channels[-1], final_size(macro), final_size(macro))),
    }
    blocks = distinct_blocks(space)
    items = {**fixed, **{key: (MBConv.from_spec(spec), (1, spec.cin, spec.in_size, spec.in_size))
                         for key, spec in blocks.items()}}
    measure = _measurer(runtime, settings, normaliser)
    records = measure(list(items.values()), progress, f"LUT {runtime}")
    records = remeasure_noisy(list(items.values()), records, runtime, settings, max_spread,
                              measure=lambda subset: measure(subset, False, ""))
    entries = dict(zip(items, records))
    return {"runtime": runtime, "space": space.name, "settings": asdict(settings), "stem_size": stem_size,
            "n_entries": len(entries), "entries": entries, "build_s": time.perf_counter() - t0}


def _measurer(runtime: str, settings: MeterSettings, normaliser):
    """(items, progress, desc) -> records: plain, or beside the normaliser's probes."""
    if normaliser is None:
        return lambda items, progress=False, desc="": measure_many(items, runtime, settings, progress,
                                                                   desc=desc)
    return lambda items, progress=False, desc="": normaliser.measure(items, progress, desc)


def lut_sums(space: MBV3Space, lut: dict, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per architecture: the LUT sum (ms), its active block count, and the propagated IQR (ms)."""
    e = lut["entries"]
    base = e["stem"]["latency_ms"] + e["head"]["latency_ms"]
    base_var = e["stem"]["iqr_ms"] ** 2 + e["head"]["iqr_ms"] ** 2
    cache: dict[tuple, tuple[float, float]] = {}
    sums, counts, iqr = np.empty(len(archs)), np.empty(len(archs)), np.empty(len(archs))
    for i, arch in enumerate(archs):
        total, var, n = base, base_var, 0
        for spec in block_specs(space, arch):
            ck = (spec.stage, min(spec.slot, 1), spec.kernel, spec.expand)
            if ck not in cache:
                rec = e[spec.key()]
                cache[ck] = (rec["latency_ms"], rec["iqr_ms"] ** 2)
            total, var, n = total + cache[ck][0], var + cache[ck][1], n + 1
        sums[i], counts[i], iqr[i] = total, n, np.sqrt(var)
    return sums, counts, iqr


@dataclass
class LutCorrection:
    """Maps LUT sums to whole-network latency: ``linear`` on (LUT sum, block count), or ``ridge`` on
    those plus the architecture's one-hot features (for runtimes that fuse across blocks)."""

    kind: str
    model: Any

    def design(
        self, space: MBV3Space, archs: Sequence[Arch], sums: np.ndarray, counts: np.ndarray
    ) -> np.ndarray:
        X = np.column_stack([sums, counts])
        return X if self.kind == "linear" else np.hstack([X, space.features_batch(list(archs))])

    def predict(
        self, space: MBV3Space, archs: Sequence[Arch], sums: np.ndarray, counts: np.ndarray
    ) -> np.ndarray:
        return self.model.predict(self.design(space, archs, sums, counts))


def fit_correction(space: MBV3Space, archs: Sequence[Arch], sums: np.ndarray, counts: np.ndarray,
                   direct: np.ndarray, seed: int = 0) -> tuple[LutCorrection, dict, np.ndarray]:
    """Fit both corrections, keep the one with the lower 5-fold cross-validated MAPE, refit it on all.
    Also returns the chosen correction's cross-validated predictions (what its error model calibrates on)."""
    folds = KFold(5, shuffle=True, random_state=seed)
    reports, made = {}, {}
    for kind, est in (("linear", LinearRegression()), ("ridge", RidgeCV(alphas=np.logspace(-4, 2, 13)))):
        corr = LutCorrection(kind, est)
        X = corr.design(space, archs, sums, counts)
        cv = cross_val_predict(clone(est), X, direct, cv=folds)
        reports[kind] = latency_errors(direct, cv)
        made[kind] = (corr, X, cv)
    chosen = min(reports, key=lambda k: reports[k]["mape"])
    corr, X, cv = made[chosen]
    corr.model.fit(X, direct)
    return corr, {"chosen": chosen, "cross_validated": reports[chosen], "candidates": reports}, cv


def check_lut(space: MBV3Space, lut: dict, sample: Sequence[Arch], settings: MeterSettings,
              progress: bool = True, repeat: int = 20, max_spread: float = 0.25, normaliser=None) -> dict:
    """Measure ``sample`` whole networks directly; compare with the LUT (raw and corrected). With a
    ``normaliser`` (the one the LUT was built with) every measurement, LUT entries included, is restated
    on the measurement's median machine state before the correction is fitted."""
    runtime = lut["runtime"]
    size = space.macro.input_size
    shape = (1, space.macro.in_channels, size, size)
    measure = _measurer(runtime, settings, normaliser)
    t0 = time.perf_counter()
    items = [(build_static(space, a), shape) for a in sample]
    records = measure(items, progress, f"direct {runtime}")
    records = remeasure_noisy(items, records, runtime, settings, max_spread,
                              measure=lambda subset: measure(subset, False, ""))
    wall = time.perf_counter() - t0
    # repeatability: the first networks measured again, later, in fresh sessions
    again_recs = measure([(build_static(space, a), shape) for a in sample[:repeat]])
    if normaliser is not None:
        keys = list(lut["entries"])
        entries = [lut["entries"][k] for k in keys]
        lut["normalise_scale"] = normaliser.rescale([entries, records, again_recs])
        lut["entries"] = dict(zip(keys, entries))
    direct = np.array([r["latency_ms"] for r in records])
    again = np.array([r["latency_ms"] for r in again_recs])
    sums, counts, _ = lut_sums(space, lut, sample)
    model, corr, cv = fit_correction(space, sample, sums, counts, direct)
    rel = np.abs(again - direct[:repeat]) / direct[:repeat]
    return {
        "direct": records,
        "direct_ms": direct,
        "cv_ms": cv,  # the correction's cross-validated estimate of each directly measured network
        "again_ms": again,  # the first ``repeat`` networks measured again, later
        "model": model,
        "report": {
            "raw": latency_errors(direct, sums),
            "median_ratio_direct_over_lut": float(np.median(direct / sums)),
            "correction": corr,
            "direct_cv_median": float(np.median([r["cv"] for r in records])),
            "repeat": {
                "n": int(len(again)),
                "median_rel_diff": float(np.median(rel)) if len(rel) else None,
                "max_rel_diff": float(rel.max()) if len(rel) else None,
            },
            "direct_wall_s": wall,
        },
    }
