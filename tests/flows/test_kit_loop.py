"""The whole loop of a new device, with this machine standing in for it (issue 35): a kit for 10 planned
NAS-Bench-201 cells, measure.py timing them here with onnxruntime, the filled plan.csv added as a device,
its stages run by DVC, and `nag generate` answering a budget on it."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
from test_team_setup import run
from tiny_project import make_project

pytestmark = pytest.mark.slow
P = "tiny-pixel3"


def test_kit_measure_add_repro_generate(tmp_path):
    # the loop, not the 10-row model's accuracy, is under test here (benchmarks/kit_agreement.py measures
    # that): a test machine timing 10 cells amid other tests may miss validate@'s 10 % MAPE gate
    root = make_project(tmp_path / "project", {P: {"kind": "benchmark", "file": "data/benchmarks/nb201.csv",
                                                   "device": "pixel3", "metric": "acc_cifar10"}},
                        latency={"max_mape": 60.0})
    run(root, "nag", "measure-plan", "-p", P, "--n", "10", "--kit", "kit")
    assert len(list((root / "kit/models").glob("*.onnx"))) == 10
    run(root, sys.executable, "kit/measure.py", "--rounds", "5", "--repeats", "5", "--threads", "1")
    plan = pd.read_csv(root / "kit/plan.csv")
    assert len(plan) == 10 and (plan["latency_ms"] > 0).all() and (plan["repeats"] == 25).all()
    run(root, sys.executable, "-m", "flows.devices", "add", "this-cpu", "kit/plan.csv")
    run(root, "dvc", "repro", "frontier@this-cpu")
    metrics = json.loads((root / "reports/metrics/latency/this-cpu.json").read_text())
    assert metrics["n_measured"] == 10
    frontier = json.loads((root / "reports/frontier/this-cpu.json").read_text())["frontier"]
    budget = frontier[len(frontier) // 2]["budget_ms"]
    out = json.loads(run(root, "nag", "generate", "-p", "this-cpu", "-b", str(budget), "--json").stdout)
    assert out[0]["latency_bound_ms"] <= budget and out[0]["arch"]["arch_str"].startswith("|")
