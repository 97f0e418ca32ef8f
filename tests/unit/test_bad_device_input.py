"""Bad input to ``python -m flows.devices add`` (issue 21, classes 1, 5 and 7): one line naming the user's
file and the fix, exit code 2, no traceback, and params.yaml / data/devices unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import BENCH
from test_bad_input import _refused
from typer.testing import CliRunner

from flows.devices import app as devices_app


# --- 1, 5, 7: flows.devices add --------------------------------------------------------------------------
@pytest.fixture
def device_workspace(tmp_path, monkeypatch):
    """A project folder (the CLI runs in it: add_device writes under data/devices) with its params file."""
    params = tmp_path / "params.yaml"
    params.write_text("platforms:\n  cpu-torch:\n    kind: local\n    runtime: cpu-torch\n"
                      "    file: data/devices/machine.json\n")
    devices = tmp_path / "data" / "devices"
    devices.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return params, devices


def _snapshot(params: Path, devices: Path) -> tuple[str, list[str]]:
    return params.read_text(), sorted(p.name for p in devices.iterdir())


def _add(params: Path, *args: str):
    return CliRunner().invoke(devices_app, ["add", *args, "--params", str(params)])


def _real_rows(n: int = 120) -> pd.DataFrame:
    return pd.read_csv(BENCH / "ofa_gpu_latency.csv", nrows=n)


@pytest.mark.parametrize("case", ["no-arch-columns", "not-utf8", "empty"])
def test_add_column_from_bad_tables(device_workspace, case):
    params, devices = device_workspace
    before = _snapshot(params, devices)
    bad = params.parent / f"{case}.csv"
    if case == "no-arch-columns":
        _real_rows().drop(columns=["ks", "e", "d"]).to_csv(bad, index=False)
    elif case == "not-utf8":
        bad.write_bytes(b"ks,e,d,lat_x\n\xff\xfe\x00\x81,3,2,1.0\n")
    else:
        bad.write_bytes(b"")
    res = _add(params, "gpu-x", str(bad), "--column", "lat_titan_xp_64")
    _refused(res, str(bad))
    assert _snapshot(params, devices) == before


def test_add_negative_resolution(device_workspace):
    params, devices = device_workspace
    good = params.parent / "good.csv"
    rows = _real_rows()
    rows[["ks", "e", "d"]].assign(resolution=rows["r"], latency_ms=rows["lat_titan_xp_64"]).to_csv(
        good, index=False
    )
    before = _snapshot(params, devices)
    _refused(_add(params, "gpu-x", str(good), "--resolution", "-5"), "--resolution -5")
    assert _snapshot(params, devices) == before and "resolution: -5" not in params.read_text()


def test_add_errors_name_the_users_file(device_workspace):
    params, devices = device_workspace
    bad = params.parent / "mine.csv"
    rows = _real_rows()
    out = rows[["ks", "e", "d"]].assign(latency_ms=rows["lat_titan_xp_64"])
    out.loc[3, "latency_ms"] = -1.0
    out.to_csv(bad, index=False)
    before = _snapshot(params, devices)
    line = _refused(_add(params, "gpu-x", str(bad)), str(bad))
    assert ".tmp" not in line
    line = _refused(
        _add(params, "gpu-x", str(params.parent / "lat.csv"), "--column", "lat_x"), "lat.csv"
    )
    assert ".tmp" not in line and _snapshot(params, devices) == before
