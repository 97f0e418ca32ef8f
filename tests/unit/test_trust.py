"""Trust (issue 38): no code runs from a file the project loads; bounded work per request and per file;
failure paths that leave nothing behind; wrong values refused the same way everywhere (one line naming the
value or file, exit code 2, no traceback, params.yaml and data/devices unchanged)."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import BENCH
from test_bad_device_input import _add, _real_rows, _snapshot, device_workspace  # noqa: F401  (fixture)
from test_bad_input import _refused, _write_params
from typer.testing import CliRunner

from nag.artifacts import dump_object, load_object
from nag.cli import app


class Payload:
    """A pickle that, when loaded, creates a folder: the sign that a file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


class Planted:
    """A class no artifact may hold: its state would be rebuilt by code the project never listed."""

    def __init__(self) -> None:
        self.x = 1


def _torch_payload(path: Path, kind: str, marker: Path) -> None:
    buf = io.BytesIO()
    torch.save({"kind": kind, "format": 1, "meta": {}, "state": {}, "x": Payload(marker)}, buf)
    path.write_bytes(buf.getvalue())


def _loaders():
    from nag.latency.model import LatencyModel
    from nag.method.checkpoint import load_evaluator, load_generator
    from nag.method.checkpoint import load_object as load_checkpoint
    from nag.serving.engine import Engine
    from nag.spaces import NB201Space

    nb = NB201Space()
    return {
        "latency model": lambda p: LatencyModel.load(p),
        "engine": lambda p: Engine.load(p),
        "evaluator": lambda p: load_evaluator(p, nb),
        "generator": lambda p: load_generator(p, nb),
        "supernet": lambda p: load_checkpoint(p, "supernet"),
        "artifact": lambda p: load_object(p, "artifact", "rebuild"),
    }


@pytest.mark.parametrize("how", ["pickle", "torch-pickle", "untrusted-type"])
@pytest.mark.parametrize("loader", ["latency model", "engine", "evaluator", "generator", "supernet",
                                    "artifact"])
def test_no_file_runs_code(tmp_path, loader, how):
    """A payload planted in any loader's file is refused with one message; the payload never runs."""
    from nag.errors import NagError

    marker = tmp_path / "ran"
    path = tmp_path / "planted.bin"
    if how == "pickle":
        path.write_bytes(pickle.dumps({"format": 2, "model": Payload(marker)}))
    elif how == "torch-pickle":
        _torch_payload(path, loader, marker)
    else:
        dump_object({"format": 2, "kind": "engine", "model": Planted(), "engine": Planted()}, path)
    with pytest.raises(NagError) as err:
        _loaders()[loader](path)
    assert not marker.exists(), "the planted payload ran"
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg
    assert ("pickle" in msg or "never loads" in msg or "does not load" in msg or "not a readable" in msg
            or "not a" in msg)


def test_reference_cache_never_runs_code(tmp_path, monkeypatch):
    """The mbv3 reference-predictor cache is a file too: a planted pickle there is ignored and refitted."""
    from nag.platforms import mbv3_device as md

    table = tmp_path / "t.csv"
    pd.read_csv(BENCH / "ofa_gpu_latency.csv", nrows=60).to_csv(table, index=False)
    path = md._cache_path(str(table), 0, str(tmp_path))
    marker = tmp_path / "ran"
    path.write_bytes(pickle.dumps((["a"], [Payload(marker)])))
    md.reference_predictors.cache_clear()
    names, cols = md.reference_predictors(str(table), 0, str(tmp_path))
    assert not marker.exists() and len(names) == len(cols) > 0
    md.reference_predictors.cache_clear()
    again = md.reference_predictors(str(table), 0, str(tmp_path))  # the refit was stored, as skops
    assert again[0] == names and pickle.__name__ not in path.read_bytes()[:2].decode(errors="ignore")


def test_sklearn_models_round_trip_and_functions_are_not_trusted(tmp_path):
    from sklearn.ensemble import HistGradientBoostingRegressor

    X = np.random.default_rng(0).normal(size=(50, 3))
    m = HistGradientBoostingRegressor(max_iter=5).fit(X, X[:, 0])
    dump_object({"m": m}, tmp_path / "m.skops")
    assert np.allclose(load_object(tmp_path / "m.skops", "model", "x")["m"].predict(X), m.predict(X))
    from nag.artifacts import untrusted

    assert untrusted(["sklearn.utils.check_random_state", "os.system", "nag.serving.engine.Engine"]) == [
        "os.system", "sklearn.utils.check_random_state"]


def _measurements(path: Path, n: int = 30) -> Path:
    """A real device's measurement file: ``n`` rows of the OFA GPU table, one latency column."""
    rows = _real_rows(n)
    rows[["ks", "e", "d"]].assign(resolution=rows["r"], latency_ms=rows["lat_titan_xp_64"]).to_csv(path,
                                                                                                 index=False)
    return path


# --- bounded work per request and per file --------------------------------------------------------------
def test_generate_refuses_more_budgets_than_the_limit(tmp_path):
    params = _write_params(tmp_path / "params.yaml", **{"serve.max_budgets": 3})
    budgets = [arg for b in range(4, 8) for arg in ("-b", str(b))]
    res = CliRunner().invoke(app, ["generate", "-p", "a-pixel3", *budgets, "--params", str(params)])
    _refused(res, "4 budgets", "serve.max_budgets")


@pytest.mark.parametrize("case", ["rows", "size", "symlink"])
def test_device_file_bounded_before_parsing(device_workspace, case):  # noqa: F811
    params, devices = device_workspace
    params.write_text(params.read_text() + "devices:\n  max_file_mb: 0.05\n  max_rows: 50\n")
    rows = _real_rows(200 if case == "rows" else 40)
    good = params.parent / "m.csv"
    rows[["ks", "e", "d"]].assign(resolution=rows["r"], latency_ms=rows["lat_titan_xp_64"]).to_csv(good,
                                                                                                 index=False)
    src = good
    if case == "size":
        good.write_text(good.read_text() + "#" * 60000 + "\n")
    elif case == "symlink":
        src = params.parent / "link.csv"
        src.symlink_to(good)
    before = _snapshot(params, devices)
    needle = {"rows": "devices.max_rows", "size": "devices.max_file_mb", "symlink": "symbolic link"}[case]
    out = _refused(_add(params, "gpu-x", str(src)), str(src), needle)
    assert "ks,e,d" not in out and _snapshot(params, devices) == before


def test_exact_duplicates_collapsed_before_storing(device_workspace):  # noqa: F811
    params, devices = device_workspace
    rows = _real_rows(30)
    frame = rows[["ks", "e", "d"]].assign(resolution=rows["r"], latency_ms=rows["lat_titan_xp_64"])
    src = params.parent / "dup.csv"
    pd.concat([frame] * 3).to_csv(src, index=False)
    res = _add(params, "gpu-x", str(src))
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(devices / "gpu-x.csv")) == 30


# --- every failure path atomic ---------------------------------------------------------------------------
def test_add_rolls_back_when_params_cannot_be_replaced(device_workspace, monkeypatch):  # noqa: F811
    params, devices = device_workspace
    src = _measurements(params.parent / "m.csv")
    before = _snapshot(params, devices)
    real = os.replace

    def failing(a, b):  # the disk refuses params.yaml's rename (read-only, full): injected, once
        if Path(b).name == "params.yaml":
            raise OSError(28, "No space left on device", str(b))
        return real(a, b)

    monkeypatch.setattr(os, "replace", failing)
    _refused(_add(params, "gpu-x", str(src)), "params.yaml", "No space left", "nothing was changed")
    monkeypatch.setattr(os, "replace", real)
    assert _snapshot(params, devices) == before
    assert not [p for p in params.parent.iterdir() if p.name.endswith(".tmp")]
    res = _add(params, "gpu-x", str(src))  # the retry is not refused as "already exists"
    assert res.exit_code == 0, res.output


def test_engine_staleness_is_judged_by_content(tmp_path):
    from nag.serving.engine import source_hashes

    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    h = source_hashes({"evaluator": a, "generator": b})
    os.utime(a, (0, 0))  # an older time, the same content: not stale
    assert source_hashes({"evaluator": a, "generator": b}) == h
    a.write_bytes(b"changed")
    assert source_hashes({"evaluator": a, "generator": b})["evaluator"] != h["evaluator"]


def test_a_folder_that_refuses_writes_is_one_line(tmp_path):
    """A real refusal (sysfs takes no new files, even from root): one line naming the file, exit 2."""
    if not Path("/sys").is_dir():
        pytest.skip("no /sys here")
    params = _write_params(tmp_path / "params.yaml")
    res = CliRunner().invoke(app, ["measure-plan", "-p", "a-pixel3", "--n", "3", "--out", "/sys/plan.csv",
                                   "--params", str(params)])
    _refused(res, "cannot write /sys/plan.csv")


def test_nag_ends_when_its_parent_is_killed(tmp_path):
    """`dvc` killed alone: its `nag` child stops too (and cleans up), never writing after it."""
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "child.pid"
    done = tmp_path / "cleaned"
    child = (f"import os, time, pathlib; from nag.cli import _end_with_parent; _end_with_parent(0.1)\n"
             f"pathlib.Path({str(marker)!r}).write_text(str(os.getpid()))\n"
             f"try:\n    time.sleep(60)\nfinally:\n    pathlib.Path({str(done)!r}).write_text('x')\n")
    spawn = f"import subprocess as s, sys, time; s.Popen([sys.executable, '-c', {child!r}]); time.sleep(9)"
    parent = subprocess.Popen([sys.executable, "-c", spawn])
    for _ in range(200):
        if marker.is_file() and marker.read_text():
            break
        time.sleep(0.1)
    pid = int(marker.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the child outlived its parent by 10 s")
    assert done.is_file()  # SIGTERM became SystemExit: its finally blocks ran
