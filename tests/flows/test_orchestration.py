"""Prefect flows on a tiny real project: the pipeline fanned out on a Dask LocalCluster, a device added
from the inbox end to end, bad files rejected with nothing else changed, two runs at once (a task's retries:
test_flow_retries.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest
from tiny_project import (
    aged,
    client_for,
    device_file,
    dvc_changed,
    make_project,
    planned_mbv3_rows,
    planned_nb201_rows,
    prefect_harness,  # noqa: F401  (the shared Prefect server)
)

from flows import workspace as ws
from flows.new_device import new_device
from flows.pipeline import pipeline, task_runner
from flows.serve import deployments
from nag.config import load_params

pytestmark = pytest.mark.slow

PLATFORMS = {
    "tiny-pixel3": {"kind": "benchmark", "file": "data/benchmarks/nb201.csv", "device": "pixel3",
                    "metric": "acc_cifar10"},
    "tiny-gold": {"kind": "benchmark", "file": "data/benchmarks/nb201.csv", "device": "gold_6240",
                  "metric": "acc_cifar10"},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory, prefect_harness):  # noqa: F811 (the fixture imported above)
    root = make_project(tmp_path_factory.mktemp("flows"), PLATFORMS,
                        orchestration={"runner": "dask", "workers": 2, "retries": 0, "settle_s": 2.0,
                                       "lock_timeout_s": 1.0})
    cfg = load_params(root / "params.yaml").orchestration
    result = pipeline.with_options(task_runner=task_runner(cfg))(str(root))
    return root, result


def test_pipeline_fans_out_on_dask_and_dvc_records_it(project):
    root, result = project
    trained = {t["platform"]: t for t in result["trained"]}
    assert set(trained) == set(PLATFORMS) and not result["failed"]
    assert len({t["pid"] for t in trained.values()}) == 2, trained  # two worker processes
    assert os.getpid() not in {t["pid"] for t in trained.values()}
    assert dvc_changed(root) == set()  # dvc commit recorded what the workers produced
    c = client_for(root)
    for p in PLATFORMS:
        assert c.get_model_version_by_alias(f"nag-generator-{p}", "champion")


def test_new_device_from_inbox_ends_champion(project):
    root, _ = project
    inbox = root / "data/devices/incoming"
    inbox.mkdir(parents=True, exist_ok=True)
    aged(device_file(inbox / "gpu-tiny.csv"))
    fresh = device_file(inbox / "gpu-late.csv", rows=150)  # just written: left for the next scan
    out = {r["file"]: r for r in new_device(str(root))}
    assert out["gpu-late.csv"]["status"] == "waiting" and fresh.exists()
    added = out["gpu-tiny.csv"]
    assert added["status"] == "added" and added["registered"]["promoted"], added
    added_cfg = load_params(root / "params.yaml").platform("gpu-tiny")
    assert added_cfg.kind == "imported" and added_cfg.file == "data/devices/gpu-tiny.csv"  # portable path
    assert (root / "data/devices/gpu-tiny.csv").is_file() and not (inbox / "gpu-tiny.csv").exists()
    assert client_for(root).get_model_version_by_alias("nag-generator-gpu-tiny", "champion")
    assert dvc_changed(root) == set()
    fresh.unlink()


def test_nb201_device_from_ten_rows_then_ten_more(project):
    """Issue 18: 10 planned rows -> an imported NAS-Bench-201 device, trained, registered and promoted;
    10 more rows (`measure-plan --next`, where the picks' bounds sit near their budgets) appended to it
    retrain it; too few rows say how many more to measure."""
    root, _ = project
    inbox = root / "data/devices/incoming"
    inbox.mkdir(parents=True, exist_ok=True)
    few = planned_nb201_rows(root, ["-p", "tiny-pixel3", "--n", "4"], root / "few.csv")
    res = subprocess.run(["python", "-m", "flows.devices", "add", "phone-few", str(few)], cwd=root,
                         capture_output=True, text=True)
    assert res.returncode == 2 and "4 measured architecture(s); measure at least 6 more" in res.stderr

    planned_nb201_rows(root, ["-p", "tiny-pixel3", "--n", "10"], inbox / "phone-s7.csv")
    (added,) = new_device(str(root))
    assert added["status"] == "added" and added["registered"]["promoted"], added
    cfg = load_params(root / "params.yaml").platform("phone-s7")
    assert (cfg.kind, cfg.group, cfg.table) == ("imported", "table_platforms", "data/benchmarks/nb201.csv")
    metrics = json.loads((root / "reports/metrics/latency/phone-s7.json").read_text())
    assert metrics["n_measured"] == 10 and metrics["sources"] == {"predicted": 15625 - 10, "measured": 10}
    assert json.loads((root / "reports/validation/phone-s7.json").read_text())["success"]
    frontier = json.loads((root / "reports/frontier/phone-s7.json").read_text())
    assert frontier["feasibility"]["mode"] == "bound" and frontier["frontier"]

    more = planned_nb201_rows(root, ["-p", "phone-s7", "--next", "10"], inbox / "phone-s7.csv")
    known = set(pd.read_csv(root / "data/devices/phone-s7.csv")["arch_str"])
    assert not known & set(pd.read_csv(more)["arch_str"])  # never proposes what it has measured
    (appended,) = new_device(str(root))
    assert appended["status"] == "appended", appended
    assert len(pd.read_csv(root / "data/devices/phone-s7.csv")) == 20
    metrics = json.loads((root / "reports/metrics/latency/phone-s7.json").read_text())
    assert metrics["n_measured"] == 20 and metrics["transfer"]["n_rows"] == 20
    assert int(appended["registered"]["version"]) == 2 and appended["registered"]["reason"]
    assert dvc_changed(root) == set()


def test_new_device_subnets_registered_loadable_and_exported(project):
    """Its finetune@ ran in the flow: every budget's subnet is a version of nag-subnet-<p> that loads as a
    pyfunc and classifies raw images; `nag export` writes ONNX + card and refuses bad requests clearly."""
    import mlflow
    import numpy as np

    root, _ = project
    index = json.loads((root / "models/subnets/gpu-tiny/index.json").read_text())
    assert index["applicable"] and len(index["cards"]) == 4  # budgets.k of the tiny params
    c = client_for(root)
    versions = c.search_model_versions("name = 'nag-subnet-gpu-tiny'")
    assert sorted(float(v.tags["budget_ms"]) for v in versions) == \
        sorted(float(f"{card['budget_ms']:.6g}") for card in index["cards"])
    v = versions[0]
    assert v.tags["arch_id"] and float(v.tags["test_accuracy"]) >= 0 and v.tags["measured_latency_ms"] == ""
    assert v.tags["supernet_version"] == str(c.get_model_version_by_alias("nag-supernet", "champion").version)
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlruns/mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{root / 'mlruns/mlflow.db'}")
    model = mlflow.pyfunc.load_model(f"models:/nag-subnet-gpu-tiny/{v.version}")
    out = model.predict(np.random.default_rng(0).integers(0, 255, (5, 28, 28)).astype(np.float32))
    assert len(out) == 5 and out["probability"].between(0, 1).all() and set(out["class"]) <= {0, 1, 2}

    def nag(*args):
        return subprocess.run(["nag", *args], cwd=root, capture_output=True, text=True, timeout=600)

    budget = str(index["cards"][-1]["budget_ms"])
    res = nag("export", "-p", "gpu-tiny", "-b", budget, "--out", "exp")
    assert res.returncode == 0, res.stderr[-2000:]
    card = json.loads((root / "exp/card.json").read_text())
    assert card["budget_ms"] == float(budget) and (root / "exp/model.onnx").stat().st_size > 0
    assert card["provenance"]["supernet_sha256"] and card["finetune"]["finetuned"]
    res = nag("export", "-p", "gpu-tiny", "-b", budget, "--out", "exp")
    assert res.returncode == 2 and "--force" in res.stderr
    res = nag("export", "-p", "gpu-tiny", "-b", "0.0001", "--out", "exp2")
    assert res.returncode == 2 and "below the cheapest" in res.stderr and not (root / "exp2").exists()
    res = nag("export", "-p", "gpu-tiny", "-b", budget, "--out", "exp2", "--supernet", "models/none.pt")
    assert (
        res.returncode == 2 and "missing supernet checkpoint" in res.stderr and not (root / "exp2").exists()
    )
    res = nag("export", "-p", "gpu-tiny", "-b", budget, "--out", "exp", "--force", "--no-finetune")
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads((root / "exp/card.json").read_text())["finetune"] == {"finetuned": False}
    shutil.rmtree(root / "exp")


def test_mbv3_device_from_ten_rows_then_ten_more(project):
    """Issue 18 on the mbv3 space: 10 planned rows -> an imported device whose latency is transferred from
    the OFA table's GPUs, trained, registered, promoted; `measure-plan --next 10` (its picks and near-picks
    first) appended to it retrains it. The device's latency: a real GPU column of the OFA table, as the
    reference predictor of that column gives it for the planned networks (they are not in the table)."""
    root, _ = project
    inbox = root / "data/devices/incoming"
    inbox.mkdir(parents=True, exist_ok=True)
    planned_mbv3_rows(root, ["-p", "gpu-tiny", "--n", "10"], inbox / "edge-board.csv")
    (added,) = new_device(str(root))
    assert added["status"] == "added" and added["registered"]["promoted"], added
    metrics = json.loads((root / "reports/metrics/latency/edge-board.json").read_text())
    assert metrics["file_rows"] == 10 and metrics["predictor"]["chosen"].startswith("transfer:")
    assert json.loads((root / "reports/validation/edge-board.json").read_text())["success"]
    frontier = json.loads((root / "reports/frontier/edge-board.json").read_text())
    assert frontier["feasibility"]["mode"] == "bound" and frontier["frontier"]

    more = planned_mbv3_rows(root, ["-p", "edge-board", "--next", "10"], inbox / "edge-board.csv")
    key = ["ks", "e", "d", "resolution"]
    known = set(map(tuple, pd.read_csv(root / "data/devices/edge-board.csv")[key].to_numpy()))
    assert not known & set(map(tuple, pd.read_csv(more)[key].to_numpy()))  # nothing measured twice
    (appended,) = new_device(str(root))
    assert appended["status"] == "appended", appended
    assert len(pd.read_csv(root / "data/devices/edge-board.csv")) == 20
    metrics = json.loads((root / "reports/metrics/latency/edge-board.json").read_text())
    assert metrics["file_rows"] == 20 and metrics["predictor"]["n_rows"] == 20
    assert int(appended["registered"]["version"]) == 2
    assert dvc_changed(root) == set()


def test_paper_mbv3_half_on_the_added_device(project):
    """benchmarks/paper.py --mbv3 on the device the inbox added: every method answers every budget; the
    accuracies reported are supernet measurements (the oracle's work file holds them), queries stay within
    M + C per budget, every seed-0 pick is finetuned; bad platform names are refused clearly."""
    import sys

    import pandas as pd
    import yaml
    from conftest import ROOT

    root, _ = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["paper"].update(seeds=[0], n_budgets=3, mbv3_candidates=4, hist_samples=50, workers=1,
                           finetune_seeds=[0])
    (root / "paper-params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def paper(name):
        return subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks/paper.py"),
                "--params",
                "paper-params.yaml",
                "--mbv3",
                name,
                "--out",
                "paper-out",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=900,
        )

    try:
        res = paper("gpu-tiny")
        assert res.returncode == 0, res.stderr[-3000:]
        rep = json.loads((root / "paper-out/paper.json").read_text())
        measured = json.loads((root / "data/paper.work/gpu-tiny-s0.json").read_text())["acc"]
        (run,) = rep["runs"]
        m = min(len(pd.read_parquet(root / "data/archs.parquet")), params["dataset"]["train_size"])  # M
        assert set(run["methods"]) == {
            "nag",
            "pareto_no_accuracy",
            "mo_reward",
            "absolute_reward",
            "independent",
            "random",
            "evolution",
            "nsga2",
        }
        picks = set()
        for name, rec in run["methods"].items():
            assert [p["budget"] for p in rec["picks"]] == run["budgets"], name
            assert rec["queries"] <= m + 4 * 3, (name, rec["queries"])  # M + C per budget
            for p in rec["picks"]:
                assert p["accuracy"] == measured[p["arch"]], name  # measured through the supernet
                picks.add(p["arch"])
        assert set(rep["finetuned_archs"]) == picks
        assert all(0 <= r["test_acc_after"] <= 100 for r in rep["finetuned_archs"].values())
        assert set(rep["finetuned"]["methods"]) == set(run["methods"])
        assert run["oracle"]["measured"] >= len(picks)
        text = (root / "paper-out/tables/README.md").read_text()
        assert "measured through the supernet" in text and "Finetuned subnets" in text
        assert (root / "paper-out/figures/fig5_gpu-tiny.png").stat().st_size > 0
        for bad, why in (("tiny-pixel3", "benchmark table"), ("nope", "unknown platform")):
            res = paper(bad)
            assert res.returncode == 2 and why in res.stderr, res.stderr[-2000:]
    finally:
        for p in ("paper-out", "data/paper.work"):
            shutil.rmtree(root / p, ignore_errors=True)
        (root / "paper-params.yaml").unlink(missing_ok=True)


def test_bad_files_are_rejected_and_nothing_changes(project):
    root, _ = project
    inbox = root / "data/devices/incoming"
    inbox.mkdir(parents=True, exist_ok=True)
    before = {p: (root / p).read_text() for p in ("params.yaml", "dvc.lock")}
    bad = device_file(inbox / "gpu-nan.csv")
    text = bad.read_text().splitlines()
    text[5] = ",".join(text[5].split(",")[:-1] + ["nan"])
    bad.write_text("\n".join(text) + "\n")
    aged(bad)
    aged(device_file(inbox / "tiny-pixel3.csv"))  # a valid file named after a platform that is no device
    cut = inbox / "gpu-cut.csv"  # a writer that stopped mid-line long ago
    cut.write_text("ks,e,d,resolution,latency_ms\n\"[3, 5")
    aged(cut)
    out = {r["file"]: r for r in new_device(str(root))}
    assert {r["status"] for r in out.values()} == {"rejected"}, out
    assert "not an imported device" in out["tiny-pixel3.csv"]["reason"]
    rejected = root / "data/devices/rejected"
    for name in ("gpu-nan.csv", "tiny-pixel3.csv", "gpu-cut.csv"):
        assert (rejected / name).is_file() and not (inbox / name).exists()
        report = json.loads((rejected / f"{name}.report.json").read_text())
        assert report["success"] is False and report["error"]
    assert {p: (root / p).read_text() for p in before} == before
    assert not (root / "data/devices/gpu-nan.csv").exists()
    names = {m.name for m in client_for(root).search_registered_models()}
    assert "nag-generator-gpu-nan" not in names and "nag-generator-gpu-cut" not in names


def test_second_run_fails_clearly_while_one_holds_the_workspace(project):
    root, _ = project
    with ws.workspace_lock(root, 1.0):
        with pytest.raises(ws.WorkspaceBusy, match="another NAG flow run is using"):
            new_device(str(root))


def test_serve_builds_both_scheduled_deployments(project):
    root, _ = project
    deps = {d.name: d for d in deployments(root)}
    assert set(deps) == {"device-inbox", "nightly"}
    crons = {name: d.schedules[0].schedule.cron for name, d in deps.items()}
    assert crons == {"device-inbox": "0 * * * *", "nightly": "0 2 * * *"}


def test_device_failing_validate_is_rolled_back(project):
    root, _ = project
    inbox = root / "data/devices/incoming"
    inbox.mkdir(parents=True, exist_ok=True)
    params_text = (root / "params.yaml").read_text()
    strict = params_text.replace("max_mape: 10.0", "max_mape: 0.001")  # no predictor is that good
    assert strict != params_text
    (root / "params.yaml").write_text(strict)
    lock_text = (root / "dvc.lock").read_text()
    try:
        aged(device_file(inbox / "gpu-strict.csv", skip=300))
        out = new_device(str(root))[0]
        assert out["status"] == "rejected" and "validate@gpu-strict" in out["reason"], out
        assert (root / "params.yaml").read_text() == strict and (root / "dvc.lock").read_text() == lock_text
        report = json.loads((root / "data/devices/rejected/gpu-strict.csv.report.json").read_text())
        assert report["stage"] == "pipeline" and report["n_failed"] >= 1  # the validate@ report itself
        assert not (root / "data/devices/gpu-strict.csv").exists()
        assert not (root / "data/latency/gpu-strict.parquet").exists()
    finally:
        (root / "params.yaml").write_text(params_text)
