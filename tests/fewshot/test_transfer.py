"""The few-shot latency transfer model, the measurement plan and their commands, on the real NAS-Bench-201
device columns (leave-one-hardware-out)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import BENCH
from scipy.stats import spearmanr
from typer.testing import CliRunner

from nag.cli import app
from nag.data.benchmarks import load_nb201
from nag.fewshot.transfer import TransferError, TransferModel, hardware, measurement_plan, references_for
from nag.latency.bound import conformal_quantile
from nag.spaces.nb201 import NB201Space

TABLE = BENCH / "nb201.csv"


@pytest.fixture(scope="module")
def table():
    t = load_nb201(TABLE)
    space = NB201Space()
    net = np.array([space.sees_input(a) for a in t.archs])
    archs = [a for a, k in zip(t.archs, net) if k]
    return t, net, space.features_batch(archs)


def columns(t, net, device):
    refs = references_for(device, list(t.devices))
    return np.log(np.column_stack([t.latency(d)[net] for d in refs])), t.latency(device)[net], refs


def test_hardware_groups_batch_sizes_only():
    devices = ["titanxp_1", "titanxp_32", "titanxp_256", "gold_6240", "essential_ph_1", "silver_4114",
               "silver_4210r"]
    assert {hardware(d, devices) for d in devices[:3]} == {"titanxp"}
    assert [hardware(d, devices) for d in devices[3:]] == devices[3:]  # a model number is no batch size
    refs = references_for("titanxp_32", devices)
    assert not any(r.startswith("titanxp") for r in refs) and "gold_6240" in refs


@pytest.mark.parametrize("device", ["gold_6240", "titanxp_1", "samsung_a50"])
def test_ten_planned_rows_rank_the_whole_column(table, device):
    t, net, A = table
    R, y, refs = columns(t, net, device)
    assert not any(hardware(r, list(t.devices)) == hardware(device, list(t.devices)) for r in refs)
    rows = measurement_plan(R, 10, seed=0)
    model = TransferModel.fit(R[rows], np.log(y[rows]), A[rows])
    assert model.report["chosen"] == "transfer" and model.report["validation"] == "leave-one-out"
    pred = np.exp(model.predict(R, A))
    others = np.setdiff1d(np.arange(len(y)), rows)
    assert spearmanr(pred[others], y[others]).statistic > 0.93
    assert np.mean(np.abs(pred[others] / y[others] - 1) <= 0.10) > 0.5
    # the bound from its out-of-fold residuals covers most unseen cells
    assert len(model.residuals) == 10
    bound = pred * np.exp(max(conformal_quantile(model.residuals, 0.9), 0.0))
    assert np.mean(y[others] <= bound[others]) > 0.8


def test_more_rows_open_the_architecture_aware_candidates(table):
    t, net, A = table
    R, y, _ = columns(t, net, "pixel3")
    rows = np.random.default_rng(0).choice(len(y), 60, replace=False)
    model = TransferModel.fit(R[rows], np.log(y[rows]), A[rows])
    assert set(model.report["oof_log_rmse"]) == {"transfer", "transfer_arch", "gbr"}
    assert model.report["validation"] == "10-fold"
    assert model.report["chosen"] == min(model.report["oof_log_rmse"], key=model.report["oof_log_rmse"].get)
    with pytest.raises(TransferError, match="measure at least 2 more"):
        TransferModel.fit(R[:1], np.log(y[:1]))
    with pytest.raises(TransferError, match="no reference devices"):
        TransferModel.fit(np.zeros((10, 0)), np.zeros(10))


def test_the_plan_is_spread_seeded_and_skips_measured_rows(table):
    t, net, _ = table
    R, _, _ = columns(t, net, "pixel3")
    rows = measurement_plan(R, 10, seed=0)
    assert len(set(rows.tolist())) == 10
    speed = R.mean(1)  # log latency on the known devices: the plan runs from fast to slow networks
    assert speed[rows].min() < np.quantile(speed, 0.1) and speed[rows].max() > np.quantile(speed, 0.9)
    assert not np.array_equal(np.sort(rows), np.sort(measurement_plan(R, 10, seed=1)))
    more = measurement_plan(R, 10, seed=0, exclude=rows)
    assert not set(more.tolist()) & set(rows.tolist())
    with pytest.raises(TransferError, match="between 1 and"):
        measurement_plan(R, len(R) + 1)


def test_measure_plan_and_fewshot_benchmark_commands(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(f"platforms:\n  nb201-pixel3: {{kind: benchmark, file: {TABLE}, device: pixel3, "
                      f"metric: acc_cifar10}}\n")
    runner = CliRunner()
    res = runner.invoke(app, ["measure-plan", "-p", "nb201-pixel3", "--n", "10", "--out",
                              str(tmp_path / "plan.csv"), "--params", str(params)])
    assert res.exit_code == 0, res.output
    plan = pd.read_csv(tmp_path / "plan.csv")
    assert list(plan.columns) == ["arch_str", "latency_ms"] and len(plan) == 10
    assert plan["latency_ms"].isna().all() and plan["arch_str"].is_unique
    space = NB201Space()
    assert all(space.sees_input(space.parse(s)) for s in plan["arch_str"])

    out = tmp_path / "fewshot"
    res = runner.invoke(app, ["benchmark", "fewshot", "--device", "gold_6240", "--measured", "10",
                              "--latency-only", "--out-dir", str(out), "--params", str(params)])
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "gold_6240_acc_cifar10_n10_s0.json").read_text())
    assert rep["measured"] == 10 and len(rep["measured_arch_str"]) == 10
    assert "gold_6240" not in rep["references"] and "pixel3" in rep["references"]
    assert rep["latency_plan"]["spearman"] > 0.9 and "Spearman" in res.output

    res = runner.invoke(app, ["benchmark", "fewshot", "--device", "nosuch", "--latency-only",
                              "--out-dir", str(out), "--params", str(params)])
    assert res.exit_code == 2 and "nosuch" in res.output
