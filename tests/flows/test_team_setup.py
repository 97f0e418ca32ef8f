"""The team set-up with real parts: a real ``mlflow server`` on 127.0.0.1 (its own backend store and artifact
root) that ``python -m flows.register`` registers into over HTTP and ``models:/…@champion`` loads through;
a DVC remote (a local directory standing in for S3): ``dvc push`` from one clone, ``dvc pull`` in a fresh
clone, after which ``nag generate`` answers without retraining and ``dvc status`` is clean."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from tiny_project import make_project

pytestmark = pytest.mark.slow
P = "tiny-pixel3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc, what: str, seconds: int = 120) -> None:
    """Wait until ``url`` answers 200; fail naming ``what`` (and stop ``proc``) if it does not."""
    for _ in range(seconds):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    proc.kill()
    pytest.fail(f"{what} did not answer {url} within {seconds} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{d / 'server.db'}", "--artifacts-destination",
         (d / "artifacts").as_uri(), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", proc, "mlflow server")
    yield url, d
    proc.terminate()
    proc.wait(timeout=30)


def run(cwd, *args, env=None):
    res = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=900, env=env)
    assert res.returncode == 0, f"{' '.join(args)}:\n{res.stdout[-2000:]}{res.stderr[-2000:]}"
    return res


def test_registry_over_http_and_artifacts_through_a_dvc_remote(tmp_path, server):
    url, store = server
    root = make_project(tmp_path / "alice", {P: {"kind": "benchmark", "file": "data/benchmarks/nb201.csv",
                                                 "device": "pixel3", "metric": "acc_cifar10"}})
    run(root, "dvc", "repro", f"frontier@{P}")
    remote = tmp_path / "remote"
    run(root, "dvc", "remote", "add", "-d", "shared", str(remote))
    run(root, "git", "add", "-A")
    run(root, "git", "-c", "user.name=alice", "-c", "user.email=a@example.org", "commit", "-qm", "trained")
    run(root, "dvc", "push")

    clean = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    env = {**clean, "MLFLOW_TRACKING_URI": url}  # as a teammate's shell: only the server named
    run(root, sys.executable, "-m", "flows.register", env=env)
    assert not (root / "mlruns/mlflow.db").exists()  # nothing went to the local store
    from mlflow import MlflowClient

    client = MlflowClient(url, url)
    assert client.get_model_version_by_alias(f"nag-generator-{P}", "champion").source  # promoted there
    assert any((store / "artifacts").rglob("MLmodel"))  # the server's artifact root holds the model
    budget = json.loads((root / f"reports/frontier/{P}.json").read_text())["frontier"][2]["budget_ms"]
    code = ("import mlflow, pandas as pd; mlflow.set_tracking_uri(%r); "
            "m = mlflow.pyfunc.load_model('models:/nag-generator-%s@champion'); "
            "print(m.predict(pd.DataFrame({'budget_ms': [%r]})).to_json(orient='records'))"
            ) % (url, P, budget)
    out = json.loads(run(root, sys.executable, "-c", code, env=env).stdout.strip().splitlines()[-1])
    assert out[0]["latency_bound_ms"] <= budget and out[0]["arch"]

    bob = tmp_path / "bob"
    run(tmp_path, "git", "clone", "-q", str(root), str(bob))
    assert not (bob / f"models/generator/{P}.pt").exists()
    run(bob, "dvc", "pull", "--with-deps", f"frontier@{P}")  # what alice ran (a real project: dvc pull)
    chain = [f"{s}@{P}" for s in ("table", "validate", "train_evaluator", "train_generator", "frontier")]
    status = run(bob, "dvc", "status", "--json", *chain).stdout
    assert json.loads(status or "{}") == {}, status  # nothing to retrain
    res = run(bob, "nag", "generate", "-p", P, "-b", str(budget), "--json")
    assert json.loads(res.stdout)[0]["latency_bound_ms"] <= budget
