"""The registered generator loads and serves anywhere: a tiny NB201 project is trained (dvc repro) and
registered (python -m flows.register, local SQLite store); then a throwaway virtualenv gets only the
model's declared requirements (its requirements.txt, installed offline from the uv cache set-up filled),
loads ``models:/nag-generator-<p>@champion`` there — no torch, no checkout of this project — and serves it
with ``mlflow models serve`` on 127.0.0.1, answering real HTTP requests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_team_setup import free_port, run, wait_http
from tiny_project import make_project

pytestmark = pytest.mark.slow
P = "tiny-pixel3"
MODEL = f"models:/nag-generator-{P}@champion"


def post(url: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("serving") / "project",
                        {P: {"kind": "benchmark", "file": "data/benchmarks/nb201.csv", "device": "pixel3",
                             "metric": "acc_cifar10"}})
    run(root, "dvc", "repro", f"frontier@{P}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    run(root, sys.executable, "-m", "flows.register", env=env)
    return root, {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlruns/mlflow.db'}"}


@pytest.fixture(scope="module")
def venv(registered, tmp_path_factory):
    """A virtualenv holding exactly the model's requirements.txt."""
    root, env = registered
    code = f"import mlflow; print(mlflow.pyfunc.get_model_dependencies({MODEL!r}))"
    req = Path(run(root, sys.executable, "-c", code, env=env).stdout.strip().splitlines()[-1])
    reqs = req.read_text()
    assert "torch" not in reqs and "nag" not in reqs, reqs  # nag travels as the model's code
    d = tmp_path_factory.mktemp("venv") / "v"
    run(d.parent, sys.executable, "-m", "venv", "--without-pip", str(d))
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    links = ["--find-links", os.environ["PIP_FIND_LINKS"]] if os.environ.get("PIP_FIND_LINKS") else []
    run(d.parent, uv, "pip", "install", "-q", "--offline", "--python", str(d / "bin/python"), *links,
        "-r", str(req))
    return d


def test_model_loads_in_a_venv_with_only_its_requirements(registered, venv):
    root, env = registered
    budget = json.loads((root / f"reports/frontier/{P}.json").read_text())["frontier"][2]["budget_ms"]
    code = ("import importlib.util, json, mlflow, pandas as pd; "
            "assert importlib.util.find_spec('torch') is None, 'torch is installed'; "
            f"m = mlflow.pyfunc.load_model({MODEL!r}); "
            f"print(m.predict(pd.DataFrame({{'budget_ms': [{budget!r}]}})).to_json(orient='records'))")
    out = run(venv.parent, str(venv / "bin/python"), "-c", code, env={**env, "PYTHONPATH": ""}).stdout
    row = json.loads(out.strip().splitlines()[-1])[0]
    assert row["latency_bound_ms"] <= budget and row["arch"]["arch_str"].startswith("|")
    assert row["satisfied"] is True
    # one answer per budget: the same pick, and the same table accuracy, as the project's own CLI gives
    cli = json.loads(run(root, "nag", "generate", "-p", P, "-b", str(budget), "--json").stdout)
    assert (cli[0]["arch_id"], cli[0]["accuracy"]) == (row["arch_id"], row["accuracy"])


def test_rest_endpoint_from_the_venv(registered, venv):
    root, env = registered
    port = free_port()
    proc = subprocess.Popen([str(venv / "bin/mlflow"), "models", "serve", "-m", MODEL, "--env-manager",
                             "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"], cwd=venv.parent,
                            env={**env, "PYTHONPATH": ""}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/ping", proc, "mlflow models serve")
        frontier = json.loads((root / f"reports/frontier/{P}.json").read_text())["frontier"]
        budgets = [r["budget_ms"] for r in frontier[1:4]]
        one = {"dataframe_records": [{"budget_ms": budgets[0]}]}
        status, out = post(f"{url}/invocations", json.dumps(one).encode())
        assert status == 200, out
        row = out["predictions"][0]
        assert row["latency_bound_ms"] <= budgets[0] and row["predicted_accuracy"] > 10
        # typed JSON: tokens a list of integers, arch an object
        assert isinstance(row["arch"], dict) and row["arch"]["arch_str"].startswith("|")
        assert isinstance(row["tokens"], list) and all(isinstance(x, int) for x in row["tokens"])
        status, out = post(f"{url}/invocations",
                           json.dumps({"dataframe_records": [{"budget_ms": b} for b in budgets]}).encode())
        assert status == 200 and [r["budget_ms"] for r in out["predictions"]] == budgets
        assert all(r["latency_bound_ms"] <= r["budget_ms"] for r in out["predictions"])
        # one answer per budget: the REST endpoint and `nag generate` pick the same architectures
        flags = [a for b in budgets for a in ("-b", str(b))]
        cli = json.loads(run(root, "nag", "generate", "-p", P, *flags, "--json").stdout)
        assert [(r["arch_id"], r["accuracy"]) for r in out["predictions"]] == \
            [(r["arch_id"], r["accuracy"]) for r in cli]
        status, out = post(f"{url}/invocations", json.dumps({"dataframe_records": [{"budget_ms": 1e-4}]})
                           .encode())
        assert 400 <= status < 500 and "below the cheapest architecture" in out["message"], out
        for bad in (b"{not json", json.dumps({"dataframe_records": [{"ms": 5.0}]}).encode()):
            status, out = post(f"{url}/invocations", bad)
            assert 400 <= status < 500, (bad, status, out)
        many = {"dataframe_records": [{"budget_ms": budgets[0]}] * 1001}  # over serve.max_budgets (1000)
        status, out = post(f"{url}/invocations", json.dumps(many).encode())
        assert status == 400 and "at most 1000 (serve.max_budgets)" in out["message"], (status, out)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
