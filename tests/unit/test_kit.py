"""The measurement kit (issue 35): NB201 cells as real networks, the kit folder, measure.py run for real on
this CPU (onnxruntime), its bad inputs and resume, benchmark_model logs, and the filled plan.csv added as a
device with its arch_ids checked."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from test_bad_device_input import _add, _snapshot, device_workspace  # noqa: F401  (fixture)
from test_bad_input import _refused
from typer.testing import CliRunner

from nag.cli import app
from nag.kit.build import KitError, row_network, write_kit
from nag.kit.nb201_net import build_nb201
from nag.spaces.nb201 import NB201Space

NB = NB201Space()
CELLS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
         "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
         "|none~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|none~2|",
         "|nor_conv_1x1~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"]


def _rows(n: int = 3) -> list[dict]:
    return [{"arch_str": s, "latency_ms": ""} for s in CELLS[:n]]


def _read(plan: Path) -> list[dict]:
    with plan.open(newline="") as f:
        return list(csv.DictReader(f))


def _measure(kit: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(kit / "measure.py"), *args], capture_output=True, text=True,
                          timeout=300, **kw)


def test_nb201_networks_follow_their_cell():
    """Heavier cells have more parameters and cost more; a cell whose output sees only 'none' edges is
    zeros before the classifier; the macro's shape: 3 stages of 5 cells, 16/32/64 channels."""
    nets = [build_nb201(NB.parse(s)) for s in CELLS]
    params = [sum(p.numel() for p in n.parameters()) for n in nets]
    assert params[0] > params[3] > params[1]
    x = torch.randn(2, 3, 32, 32)
    assert nets[0](x).shape == (2, 10)
    convs = [m for m in nets[0].modules() if isinstance(m, torch.nn.Conv2d)]
    assert {c.out_channels for c in convs} == {16, 32, 64}
    # the cell of CELLS[2] reaches its output through skip edges only: no parameters inside its cells
    cell_params = sum(p.numel() for c in nets[2].features if c.__class__.__name__ == "Cell"
                      for p in c.parameters())
    assert cell_params == 0


def test_kit_folder_and_its_checks(tmp_path):
    out = tmp_path / "kit"
    made = write_kit(out, _rows())
    ids = [NB.parse(s).arch_id for s in CELLS[:3]]
    assert made["models"] == 3 and sorted(p.stem for p in (out / "models").iterdir()) == sorted(ids)
    assert [r["arch_id"] for r in _read(out / "plan.csv")] == ids
    assert {r["latency_ms"] for r in _read(out / "plan.csv")} == {""}
    assert (out / "measure.py").is_file() and "measure.py" in (out / "README.md").read_text()
    with pytest.raises(KitError, match="--force"):
        write_kit(out, _rows())
    with pytest.raises(KitError, match="repeats network"):
        write_kit(tmp_path / "dup", [_rows()[0], _rows()[0]])
    assert not (tmp_path / "dup").exists()  # nothing half-written
    import onnxruntime as ort

    arch, net, shape = row_network(_rows()[0])
    sess = ort.InferenceSession(str(out / "models" / f"{arch.arch_id}.onnx"))
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    assert np.allclose(sess.run(None, {sess.get_inputs()[0].name: x})[0], want, atol=1e-4)


def test_mbv3_rows_become_imagenet_subnets(tmp_path):
    row = {"ks": " ".join(["3"] * 20), "e": " ".join(["4"] * 20), "d": "2 2 2 2 2", "resolution": 160,
           "latency_ms": ""}
    arch, net, shape = row_network(row)
    assert shape == (1, 3, 160, 160) and net(torch.zeros(shape)).shape == (1, 1000)


def test_measure_fills_the_plan_and_the_device_is_added(device_workspace):  # noqa: F811
    params, devices = device_workspace
    kit = params.parent / "kit"
    write_kit(kit, [{"arch_str": s, "latency_ms": ""} for s in _ten_cells()])
    res = _measure(kit, "--rounds", "2", "--repeats", "3", "--warmup", "1", "--threads", "1")
    assert res.returncode == 0, res.stderr
    rows = _read(kit / "plan.csv")
    lat = np.array([float(r["latency_ms"]) for r in rows])
    assert (lat > 0).all() and all(r["repeats"] == "6" for r in rows)
    assert not (kit / ".measure-progress.json").exists()
    out = _add(params, "phone", str(kit / "plan.csv"))
    assert out.exit_code == 0, out.output
    stored = (devices / "phone.csv").read_text().splitlines()[0]
    assert stored.startswith("arch_str,latency_ms") and "arch_id" not in stored


def _ten_cells() -> list[str]:
    rng = np.random.default_rng(0)
    cells = []
    while len(cells) < 10:
        a = NB.from_tokens(rng.integers(0, 5, 6))
        if NB.sees_input(a) and NB.to_string(a) not in cells:
            cells.append(NB.to_string(a))
    return cells


@pytest.mark.parametrize("case", ["missing-model", "duplicate", "bad-model", "no-arch-id"])
def test_measure_refuses_a_bad_kit(tmp_path, case):
    kit = tmp_path / "kit"
    write_kit(kit, _rows())
    plan = (kit / "plan.csv").read_text()
    first = plan.splitlines()[1].split(",")[0]
    if case == "missing-model":
        (kit / "models" / f"{first}.onnx").unlink()
    elif case == "duplicate":
        (kit / "plan.csv").write_text(plan + plan.splitlines()[1] + "\n")
    elif case == "bad-model":
        (kit / "models" / f"{first}.onnx").write_bytes(b"not onnx")
    else:
        (kit / "plan.csv").write_text(plan.replace(first, "", 1))
    before = (kit / "plan.csv").read_text()
    res = _measure(kit, "--rounds", "1", "--repeats", "1")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    line = res.stderr.strip().splitlines()[-1]
    want = {"missing-model": "no model file", "duplicate": "appears twice", "bad-model": "does not load",
            "no-arch-id": "no arch_id"}[case]
    assert line.startswith("error: ") and want in line
    assert (kit / "plan.csv").read_text() == before


def test_a_killed_measurement_resumes(tmp_path):
    kit = tmp_path / "kit"
    write_kit(kit, _rows(4))
    before = (kit / "plan.csv").read_text()
    proc = subprocess.Popen([sys.executable, str(kit / "measure.py"), "--rounds", "400", "--repeats", "5",
                             "--warmup", "0", "--threads", "1"], stderr=subprocess.DEVNULL)
    progress = kit / ".measure-progress.json"
    for _ in range(600):
        if progress.is_file():
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert progress.is_file() and (kit / "plan.csv").read_text() == before  # nothing half-written
    done = len(json.loads(progress.read_text())["mins"])
    res = _measure(kit, "--rounds", str(done + 1), "--repeats", "5", "--warmup", "0", "--threads", "1")
    assert res.returncode == 0 and "resuming" not in res.stderr  # other settings: starts again
    # same settings as a killed run: resumes after its last finished round
    write_kit(kit, _rows(4), force=True)
    ids = [NB.parse(s).arch_id for s in CELLS[:4]]
    progress.write_text(json.dumps({"settings": {"ids": ids, "threads": 1, "repeats": 5, "rounds": 3},
                                    "mins": [[1.0, 2.0, 3.0, 4.0]]}))
    res = _measure(kit, "--rounds", "3", "--repeats", "5", "--warmup", "0", "--threads", "1")
    assert res.returncode == 0 and "resuming after round 1 of 3" in res.stderr, res.stderr


@pytest.mark.parametrize("case", ["foreign", "duplicate", "blank"])
def test_add_checks_kit_arch_ids(device_workspace, case):  # noqa: F811
    params, devices = device_workspace
    kit = params.parent / "kit"
    write_kit(kit, [{"arch_str": s, "latency_ms": ""} for s in _ten_cells()])
    rows = _read(kit / "plan.csv")
    for r in rows:
        r["latency_ms"] = "1.5"
    if case == "foreign":
        rows[2]["arch_id"] = "0123456789abcdef"
    elif case == "duplicate":
        rows[3]["arch_id"] = rows[1]["arch_id"]
    else:
        rows[4]["arch_id"] = ""
    with (kit / "plan.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    before = _snapshot(params, devices)
    needle = {"foreign": "CSV line 4: arch_id 0123456789abcdef is not the network",
              "duplicate": "appears more than once (CSV lines [3, 5])", "blank": "CSV line 6 has no arch_id"}
    _refused(_add(params, "phone", str(kit / "plan.csv")), needle[case])
    assert _snapshot(params, devices) == before


LOG = """STARTING!
Graph: [/data/local/tmp/{a}.tflite]
Loaded model /data/local/tmp/{a}.tflite
The input model file size (MB): 1.2
Initialized session in 12.3ms.
Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
count=41 first=15012 curr=12188 min=11790 max=15012 avg=12206.2 std=512

Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
count={n} first=12301 curr=12001 min=11702 max=13110 avg={avg} std=301

Inference timings in us: Init: 12300, First inference: 15012, Warmup (avg): 12206.2, Inference (avg): {avg}
"""


def test_import_logs_fills_the_plan(tmp_path):
    kit, logs = tmp_path / "kit", tmp_path / "logs"
    write_kit(kit, _rows())
    logs.mkdir()
    ids = [r["arch_id"] for r in _read(kit / "plan.csv")]
    for i, a in enumerate(ids[:2]):
        (logs / f"{a}.log").write_text(LOG.format(a=a, n=80, avg=11900.0 + 100 * i))
    res = CliRunner().invoke(app, ["kit", "import-logs", str(kit), str(logs)])
    _refused(res, "1 of 3 models have no log")
    (logs / f"{ids[2]}.log").write_text("STARTING!\nFailed to load model\n")
    _refused(CliRunner().invoke(app, ["kit", "import-logs", str(kit), str(logs)]), f"{ids[2]}.log",
             "no timings found")
    assert {r["latency_ms"] for r in _read(kit / "plan.csv")} == {""}  # nothing written on a failure
    (logs / f"{ids[2]}.log").write_text(LOG.format(a=ids[2], n=50, avg=9000))
    res = CliRunner().invoke(app, ["kit", "import-logs", str(kit), str(logs)])
    assert res.exit_code == 0, res.output
    rows = _read(kit / "plan.csv")
    assert [r["latency_ms"] for r in rows] == ["11.9", "12", "9"] and rows[0]["repeats"] == "80"
    assert rows[0]["std_ms"] == "0.301"
