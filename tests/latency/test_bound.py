"""Error models: the conformal quantile, bounds never under their estimate, coverage computed correctly and
holding out of fold on synthetic residuals, and the validate@ coverage suite passing / failing."""

from __future__ import annotations

import numpy as np
import pytest

from nag.latency.bound import (
    BoundError,
    ErrorModel,
    conformal_quantile,
    coverage,
    log_residuals,
    out_of_fold_bounds,
)


def test_conformal_quantile_is_the_ceil_n_plus_1_rank():
    r = np.arange(1, 11) / 100.0  # 0.01 .. 0.10
    assert conformal_quantile(r, 0.9) == pytest.approx(0.10)  # ceil(11 * 0.9) = 10th
    assert conformal_quantile(r, 0.5) == pytest.approx(0.06)  # ceil(5.5) = 6th
    assert conformal_quantile(r[:3], 0.99) == pytest.approx(0.03)  # rank past n: the largest
    assert conformal_quantile([], 0.9) == 0.0
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(BoundError, match="strictly between 0 and 1"):
            conformal_quantile(r, bad)


def test_bound_is_never_under_the_estimate():
    em = ErrorModel({"lut": np.log([0.8, 0.9, 0.95]), "predicted": np.log([1.1, 1.2, 0.9, 1.0])})
    est = np.array([1.0, 2.0, 3.0])
    assert em.factor("lut", 0.9) == 1.0  # every residual negative: the bound is the estimate, not below
    assert em.factor("measured", 0.9) == 1.0  # a source without residuals: exact
    assert (em.bounds(est, ["lut", "predicted", "measured"], 0.9) >= est).all()
    assert em.bounds(est, "predicted", 0.9) == pytest.approx(est * 1.2)
    assert em.factor("predicted", 0.5) < em.factor("predicted", 0.99)


def test_coverage_counts_measurements_at_or_under_their_bound():
    assert coverage([1.0, 2.0, 3.0, 4.0], [1.0, 1.9, 3.5, 4.0]) == 0.75  # "at" counts as covered
    assert np.isnan(coverage([], []))
    assert log_residuals([2.0, -1.0, 3.0], [1.0, 1.0, np.nan]) == pytest.approx([np.log(2.0)])


def test_out_of_fold_bounds_cover_new_rows_at_the_confidence():
    rng = np.random.default_rng(0)
    est = rng.uniform(1, 5, 4000)
    measured = est * np.exp(rng.normal(0.01, 0.04, len(est)))  # a 4 % lognormal error, slightly biased
    for conf in (0.8, 0.9, 0.95):
        b = out_of_fold_bounds(measured, est, conf)
        assert (b >= est).all()
        assert abs(coverage(measured, b) - conf) < 0.02
    # calibrated on its own rows a bound is never worse: out of fold is the honest figure
    q = conformal_quantile(log_residuals(measured, est), 0.9)
    assert coverage(measured, est * np.exp(q)) >= 0.9
    with pytest.raises(BoundError, match="at least 2"):
        out_of_fold_bounds([1.0], [1.0], 0.9)


def test_validation_checks_the_bounds_coverage():
    import great_expectations.expectations as gxe

    from flows.validate import coverage_frame, coverage_summary, run_suite

    rng = np.random.default_rng(1)
    est = rng.uniform(1, 3, 300)
    good = {"calibration": {"lut": {"measured": list(est * np.exp(rng.normal(0, 0.03, 300))),
                                    "estimate": list(est)}}}
    frame = coverage_frame(good, 0.9)
    assert set(frame.columns) == {"source", "measured", "estimate", "bound"} and len(frame) == 300
    summary = coverage_summary(frame, 0.9)["sources"]
    assert abs(summary["all"]["coverage"] - 0.9) < 0.05 and summary["lut"]["mean_margin_pct"] > 0

    def verdict(f):
        exp = gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="bound", column_B="measured",
                                                           or_equal=True, mostly=0.85)
        return run_suite("cov", f, [exp])[0]["success"]

    assert verdict(frame)
    shifted = frame.assign(measured=frame["measured"] * 1.05)  # the machine slower than calibrated
    assert not verdict(shifted)
    assert coverage_frame({"calibration": {}}, 0.9) is None


def test_the_coverage_floor_is_fair_to_a_ten_row_device():
    """A right bound (true coverage 0.9) on 10 rows misses 2 of them a quarter of the time: the gate allows
    misses up to where they are significant at 5 %, and is the fixed confidence - tolerance from 100 rows."""
    from scipy.stats import binom

    from flows.validate import coverage_floor

    assert coverage_floor(10, 0.9, 0.05) == pytest.approx(0.7)
    assert coverage_floor(100, 0.9, 0.05) == coverage_floor(5000, 0.9, 0.05) == pytest.approx(0.85)
    for n in (10, 20, 50, 100, 1000):
        allowed = int(round(n * (1 - coverage_floor(n, 0.9, 0.05))))
        assert binom.sf(allowed, n, 0.1) <= 0.05  # a right bound is refused at most 5 % of the time
    rng = np.random.default_rng(0)  # and a bound that covers only 60 % of 10 rows is still refused
    assert np.mean(rng.binomial(10, 0.4, 2000) > round(10 * (1 - coverage_floor(10, 0.9, 0.05)))) > 0.3
