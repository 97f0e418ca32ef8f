"""MLflow tracking + registry on a tiny NB201 platform: versions, the promotion gate, aliases, locking."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from conftest import BENCH
from filelock import FileLock
from mlflow import MlflowClient
from typer.testing import CliRunner

from flows import registry as reg
from flows.register import register_all
from flows.validate import main as validate_main
from nag.cli import app
from nag.config import load_params

pytestmark = pytest.mark.slow

P = "tiny-pixel3"
GEN, EV = f"nag-generator-{P}", f"nag-evaluator-{P}"
TINY = """
dataset: {train_size: SIZE, seed: 0}
budgets: {k: 4, lo_pct: 5, hi_pct: 95}
evaluator: {hidden: 32, steps: 150, pairs_per_step: 256}
generator: {iterations: ITER, seed: SEED}
infer: {pool: POOL, candidates: POOL, widen: WIDEN, predictor: ridge}
registry: {grid_points: 6, tolerance_pp: 0.1, lock_timeout_s: 0.5}
platforms:
  tiny-pixel3: {kind: benchmark, file: TABLE, device: pixel3, metric: acc_cifar10}
"""


def build(root, iterations=120, pool=128, widen=0.2, seed=0, size=300) -> None:
    """Run the platform's stages (real code, tiny sizes) into ``root`` at the dvc.yaml paths."""
    text = (
        TINY.replace("TABLE", str(BENCH / "nb201.csv"))
        .replace("ITER", str(iterations))
        .replace("SIZE", str(size))
    )
    (root / "params.yaml").write_text(text.replace("POOL", str(pool)).replace("WIDEN", str(widen))
                                      .replace("SEED", str(seed)))
    (root / "dvc.lock").write_text(f"schema: '2.0'\nstages: {{}}\n# {iterations} {pool} {seed}\n")
    runner, p = CliRunner(), ["--params", str(root / "params.yaml")]
    f = {k: str(root / v) for k, v in {
        "lat": f"data/latency/{P}.parquet", "model": f"models/latency/{P}.skops",
        "mlat": f"reports/metrics/latency/{P}.json", "valid": f"reports/validation/{P}.json",
        "ds": f"data/archdata/{P}.parquet", "mds": f"reports/metrics/arch_dataset/{P}.json",
        "ev": f"models/evaluator/{P}.pt", "mev": f"reports/metrics/train_evaluator/{P}.json",
        "gen": f"models/generator/{P}.pt", "mgen": f"reports/metrics/train_generator/{P}.json",
        "fr": f"reports/frontier/{P}.json", "plots": f"reports/plots/{P}",
        "engine": f"models/engine/{P}.skops"}.items()}
    if not (root / f["ev"]).exists() or size != 300:  # the table@ stage, validate@, train_evaluator@
        res = runner.invoke(
            app,
            [
                "table",
                "-p",
                P,
                "--latency",
                f["lat"],
                "--latency-model",
                f["model"],
                "--dataset",
                f["ds"],
                "--metrics",
                f["mlat"],
                "--plot",
                str(root / "lat.png"),
            ]
            + p,
        )
        assert res.exit_code == 0, res.output
        validate = typer.Typer()
        validate.command()(validate_main)
        res = runner.invoke(
            validate, ["-p", P, "--latency", f["lat"], "--metrics", f["mlat"], "--out", f["valid"]] + p
        )
        assert res.exit_code == 0, res.output
        res = runner.invoke(
            app,
            [
                "train-evaluator",
                "-p",
                P,
                "--dataset",
                f["ds"],
                "--out",
                f["ev"],
                "--metrics",
                f["mev"],
                "--validation",
                f["valid"],
            ]
            + p,
        )
        assert res.exit_code == 0, res.output
    for args in (
        ["train-generator", "-p", P, "--evaluator", f["ev"], "--out", f["gen"], "--metrics", f["mgen"]],
        [
            "frontier",
            "-p",
            P,
            "--dataset",
            f["ds"],
            "--evaluator",
            f["ev"],
            "--generator",
            f["gen"],
            "--out",
            f["fr"],
            "--plots",
            f["plots"],
            "--engine",
            f["engine"],
        ],
    ):
        res = runner.invoke(app, args + p)
        assert res.exit_code == 0, (args[0], res.output)


def versions(client, name):
    return sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    d = tmp_path_factory.mktemp("registry")
    build(d)
    return d


@pytest.fixture(scope="module")
def first(root):
    return register_all(root, load_params(root / "params.yaml"))


def client_for(root):
    uri = f"sqlite:///{root / 'mlruns/mlflow.db'}"
    return MlflowClient(uri, uri)


def test_first_version_promoted_and_tagged(root, first):
    s = first["platforms"][0]
    assert s["created"] and s["promoted"] and s["satisfaction"] == 1.0 and s["accuracy"] == "true"
    c = client_for(root)
    champ = c.get_model_version_by_alias(GEN, "champion")
    assert str(champ.version) == s["version"] == str(c.get_model_version_by_alias(GEN, "challenger").version)
    assert champ.tags["gate.decision"] == "promoted" and float(champ.tags["gate.satisfaction"]) == 1.0
    assert len(champ.tags["dvc_lock_md5"]) == 32 and champ.tags["git_commit"]
    assert str(c.get_model_version_by_alias(EV, "champion").version) == champ.tags["evaluator_version"]
    grid = json.loads(c.get_registered_model(GEN).tags[reg.GRID_TAG])
    assert len(grid) == 6 and grid == sorted(grid)
    run = c.get_run(champ.run_id)  # the platform's nested run: its stage metrics and artifacts
    assert run.data.tags["mlflow.parentRunId"] == first["run_id"] and run.data.tags["platform"] == P
    assert (
        run.data.metrics["frontier.satisfaction_rate"] == 1.0
        and "train_evaluator.train_seconds" in run.data.metrics
    )
    arts = {a.path for a in c.list_artifacts(champ.run_id, "plots")}
    assert {"plots/frontier.png", "plots/latency_hist.png"} <= arts


def test_rerun_is_idempotent(root, first):
    again = register_all(root, load_params(root / "params.yaml"))
    assert again["run_id"] == first["run_id"] and again["reused_run"]
    s = again["platforms"][0]
    assert not s["created"] and s["promoted"] and s["version"] == first["platforms"][0]["version"]
    c = client_for(root)
    assert versions(c, GEN) == [int(s["version"])] and versions(c, EV) == [1]


def test_fresh_process_loads_champion(root, first):
    code = (
        "import json, sys, mlflow, pandas as pd\n"
        f"mlflow.set_tracking_uri('sqlite:///{root / 'mlruns/mlflow.db'}')\n"
        f"m = mlflow.pyfunc.load_model('models:/{GEN}@champion')\n"
        "out = m.predict(pd.DataFrame({'budget_ms': [12.0, 20.0]}))\n"
        "print(out.to_json(orient='records'))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = json.loads(res.stdout.strip().splitlines()[-1])
    assert [r["budget_ms"] for r in rows] == [12.0, 20.0]
    assert all(r["satisfied"] and r["latency_ms"] <= r["budget_ms"] for r in rows)
    assert all(50 < r["predicted_accuracy"] < 100 and r["arch"]["arch_str"] for r in rows)  # typed JSON
    assert all(50 < r["accuracy"] < 100 and isinstance(r["tokens"], list) for r in rows)  # the table's


def test_worse_model_is_not_promoted(root, first):
    c = client_for(root)
    champion = str(c.get_model_version_by_alias(GEN, "champion").version)
    # trained on 20 architectures instead of 300, an untrained policy, one sample per budget
    build(root, iterations=1, pool=1, widen=0.0, seed=3, size=20)
    out = register_all(root, load_params(root / "params.yaml"))["platforms"][0]
    assert out["created"] and not out["promoted"]
    v = c.get_model_version(GEN, out["version"])
    assert v.tags["gate.decision"] == "rejected" and v.tags["gate.champion_version"] == champion
    worse = (float(v.tags["gate.satisfaction"]) < float(v.tags["gate.champion_satisfaction"])
             or float(v.tags["gate.mean_accuracy"]) < float(v.tags["gate.champion_mean_accuracy"]) - 0.1)
    assert worse, v.tags
    assert str(c.get_model_version_by_alias(GEN, "champion").version) == champion
    assert str(c.get_model_version_by_alias(GEN, "challenger").version) == out["version"]


def test_locked_store_and_failed_alias_leave_nothing(root, first, monkeypatch):
    c = client_for(root)
    before = versions(c, GEN), versions(c, EV)
    build(root, iterations=30, seed=7, size=300)  # a new fingerprint: registering it would create versions
    params = load_params(root / "params.yaml")
    with FileLock(str(root / "mlruns/registry.lock")):
        with pytest.raises(reg.RegistryError, match="locked by another writer"):
            register_all(root, params)
    assert (versions(c, GEN), versions(c, EV)) == before

    def broken(self, name, alias, version):
        raise RuntimeError("store went away")

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", broken)
    with pytest.raises(RuntimeError, match="store went away"):
        register_all(root, params)
    assert (versions(c, GEN), versions(c, EV)) == before


def test_gate_rule():
    good = reg.GateResult(1.0, 90.0, [])
    assert reg.decide(good, None, 0.1)[0]
    assert not reg.decide(reg.GateResult(0.9, 95.0, []), None, 0.1)[0]  # a first version must satisfy all
    assert not reg.decide(reg.GateResult(0.9, 95.0, []), good, 0.1)[0]  # fewer budgets met
    assert not reg.decide(reg.GateResult(1.0, 89.8, []), good, 0.1)[0]  # less accurate beyond tolerance
    assert reg.decide(reg.GateResult(1.0, 89.95, []), good, 0.1)[0]


def test_register_cli_missing_artifact(tmp_path):
    (tmp_path / "params.yaml").write_text(
        TINY.replace("TABLE", str(BENCH / "nb201.csv"))
        .replace("SIZE", "30")
        .replace("ITER", "1")
        .replace("POOL", "8")
        .replace("WIDEN", "0")
        .replace("SEED", "0")
    )
    res = subprocess.run(
        [sys.executable, "-m", "flows.register", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2 and "is built yet" in res.stderr and f"dvc repro frontier@{P}" in res.stderr
    assert not (tmp_path / "mlruns").exists()


def test_register_without_platforms_takes_what_is_built(root, tmp_path):
    """A newcomer's quick start builds one platform of several: registering names what is built (and how to
    build the rest) instead of failing on the others' outputs."""
    from flows.tracking import MissingArtifactError, built_platforms, check_inputs

    table = BENCH / "nb201.csv"
    other = f"  other-a50: {{kind: benchmark, file: {table}, device: samsung_a50, metric: acc_cifar10}}\n"
    text = (root / "params.yaml").read_text() + other
    (tmp_path / "params.yaml").write_text(text)
    params = load_params(tmp_path / "params.yaml")
    assert built_platforms(root, params) == [P]
    with pytest.raises(MissingArtifactError) as err:
        check_inputs(root, params, None)
    assert "dvc repro frontier@other-a50" in str(err.value) and f"-p {P}" in str(err.value)
