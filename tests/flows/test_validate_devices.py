"""Great Expectations validation of latency tables and the add-device flow: good data passes, bad data
fails with readable reasons, and a refused device changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.devices import DeviceError, add_device
from flows.validate import describe_failures, validate_platform
from nag.config import LatencyConfig, load_params
from nag.latency.predictor import MeasurementError

ROOT = Path(__file__).resolve().parents[2]
CFG = LatencyConfig(min_measured=50)


def _latency(n: int = 30) -> pd.DataFrame:
    return pd.DataFrame({"arch_id": [f"a{i}" for i in range(n)], "latency_ms": np.linspace(1, 3, n),
                         "source": ["measured"] * 5 + ["lut"] * (n - 5), "spread": np.full(n, 0.05)})


LOCAL_METRICS = {"lut_vs_direct": {"correction": {"cross_validated": {"mape": 3.0}}}}


def test_good_latency_table_passes():
    df = _latency()
    report = validate_platform("cpu", "local", CFG, df, df["arch_id"].tolist(), LOCAL_METRICS)
    assert report["success"] and report["n_failed"] == 0 and report["n_expectations"] >= 12


def test_bad_latency_table_fails_with_reasons():
    df = _latency()
    ids = df["arch_id"].tolist()
    df.loc[3, "latency_ms"] = np.nan
    df.loc[4, "spread"] = 0.9  # a measured row that was too noisy
    df.loc[7, "arch_id"] = "a8"  # duplicate (and a7 missing)
    df.loc[9, "source"] = "guessed"
    report = validate_platform(
        "cpu", "local", CFG, df, ids, {"lut_vs_direct": {"correction": {"cross_validated": {"mape": 30.0}}}}
    )
    failed = {(f["expectation"], f["kwargs"].get("column")) for f in report["failed"]}
    assert ("expect_column_values_to_not_be_null", "latency_ms") in failed
    assert ("expect_column_values_to_be_between", "spread") in failed
    assert ("expect_column_values_to_be_unique", "arch_id") in failed
    assert ("expect_column_distinct_values_to_equal_set", "arch_id") in failed
    assert ("expect_column_values_to_be_in_set", "source") in failed
    assert ("expect_column_values_to_be_between", "mape") in failed
    text = describe_failures(report)
    assert "nothing downstream will train on it" in text and "guessed" in text


def _params(tmp_path: Path) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(
        "latency:\n  min_measured: 50\nplatforms:\n  cpu-torch:\n    kind: local\n    runtime: cpu-torch\n"
        "    file: data/devices/machine.json\n\n# trailing comment kept\n"
    )
    return p


def test_add_device_from_a_multi_device_table(tmp_path):
    params = _params(tmp_path)
    report = add_device(
        "gpu-titanxp-b64",
        ROOT / "data/benchmarks/ofa_gpu_latency.csv",
        column="lat_titan_xp_64",
        resolution=224,
        params_path=params,
        devices_dir=tmp_path / "devices",
    )
    assert report["success"]
    plat = load_params(params).platform("gpu-titanxp-b64")
    assert plat.kind == "imported" and plat.resolution == 224 and plat.file.endswith("gpu-titanxp-b64.csv")
    assert "# trailing comment kept" in params.read_text()
    assert len(pd.read_csv(tmp_path / "devices" / "gpu-titanxp-b64.csv")) == 5000


def test_refused_devices_change_nothing(tmp_path):
    params = _params(tmp_path)
    before = params.read_text()
    devices = tmp_path / "devices"
    src = pd.read_csv(ROOT / "data/benchmarks/ofa_gpu_latency.csv", nrows=60)
    few = tmp_path / "few.csv"
    src[["ks", "e", "d"]].assign(latency_ms=src["lat_2080ti_1"]).head(20).to_csv(few, index=False)
    with pytest.raises(DeviceError, match=r"20 measured architecture\(s\); measure at least 30 more"):
        add_device("few", few, params_path=params, devices_dir=devices)  # latency.min_measured: 50 here
    bad = tmp_path / "bad.csv"
    src[["ks", "e", "d"]].assign(latency_ms=[-1.0] + list(src["lat_2080ti_1"][1:])).to_csv(bad, index=False)
    with pytest.raises(MeasurementError, match="negative"):
        add_device("bad", bad, params_path=params, devices_dir=devices)
    with pytest.raises(DeviceError, match="already exists"):
        add_device("cpu-torch", few, params_path=params, devices_dir=devices)
    with pytest.raises(DeviceError, match="no column"):
        add_device("x", ROOT / "data/benchmarks/ofa_gpu_latency.csv", column="lat_h100", params_path=params,
                   devices_dir=devices)
    assert params.read_text() == before
    assert not devices.exists() or not any(devices.iterdir())


def test_validate_cli_exits_1_with_the_failures(tmp_path):
    """The stage command end to end on an imported device whose table lost a row."""
    from nag.config import PlatformConfig  # noqa: F401  (import check only)

    params = _params(tmp_path)
    small = tmp_path / "table.csv"
    pd.read_csv(ROOT / "data/benchmarks/ofa_gpu_latency.csv", nrows=300).to_csv(small, index=False)
    add_device("gpu", small, column="lat_titan_xp_64", resolution=224, params_path=params,
               devices_dir=tmp_path / "devices")
    text = params.read_text()  # the added file is written relative to the project (the params file's folder)
    assert "file: devices/gpu.csv" in text
    text = text.replace("file: devices/", f"file: {tmp_path}/devices/")  # this test runs from the repo root
    text = text.replace("latency:\n", "supernet:\n  width_mult: 0.25\nlatency:\n")
    params.write_text(text)
    from nag.config import ArchsConfig
    from nag.stages.latency import run as run_latency
    from nag.stages.sample_archs import run as run_sample_archs
    from nag.supernet.data import make_space

    prepared = tmp_path / "prepared"
    prepared.mkdir()
    (prepared / "meta.json").write_text('{"classes": ["0","1"], "image_shape": [28, 28]}')
    cfg = load_params(params)
    space = make_space(cfg.supernet, prepared)
    run_sample_archs(space, ArchsConfig(count=50), tmp_path / "archs.parquet")
    metrics = run_latency(cfg.platform("gpu"), cfg.latency, space, tmp_path / "archs.parquet",
                          tmp_path / "lat.parquet", tmp_path / "gpu.skops")
    (tmp_path / "m.json").write_text(pd.Series(metrics).to_json())
    base = [
        sys.executable,
        "-m",
        "flows.validate",
        "-p",
        "gpu",
        "--params",
        str(params),
        "--prepared",
        str(prepared),
        "--archs",
        str(tmp_path / "archs.parquet"),
        "--metrics",
        str(tmp_path / "m.json"),
    ]
    def validate(latency: str, out: str):
        return subprocess.run([*base, "--latency", str(tmp_path / latency), "--out", str(tmp_path / out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)

    ok = validate("lat.parquet", "ok.json")
    assert ok.returncode == 0, ok.stderr[-2000:]
    pd.read_parquet(tmp_path / "lat.parquet").iloc[1:].to_parquet(tmp_path / "cut.parquet")
    bad = validate("cut.parquet", "bad.json")
    assert bad.returncode == 1 and "expect_table_row_count_to_equal" in bad.stderr
    assert (tmp_path / "bad.json").is_file()


def test_a_platform_may_allow_more_spread():
    df = _latency()
    df.loc[0, "spread"] = 0.5
    ids = df["arch_id"].tolist()
    assert not validate_platform("ort", "local", CFG, df, ids, LOCAL_METRICS)["success"]
    assert validate_platform("ort", "local", CFG, df, ids, LOCAL_METRICS, max_spread=0.6)["success"]


def test_a_few_noisy_rows_pass_many_fail():
    df = _latency(200)
    df["source"] = "measured"
    ids = df["arch_id"].tolist()
    df.loc[:19, "spread"] = 0.4  # 10 % of the measured rows: latency.spread_mostly = 0.9 allows it
    assert validate_platform("cpu", "local", CFG, df, ids, LOCAL_METRICS)["success"]
    df.loc[:29, "spread"] = 0.4  # 15 %: refused
    report = validate_platform("cpu", "local", CFG, df, ids, LOCAL_METRICS)
    assert not report["success"] and report["failed"][0]["kwargs"]["column"] == "spread"
