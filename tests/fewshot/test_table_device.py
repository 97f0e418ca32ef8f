"""Imported NAS-Bench-201 devices: the measurement file, the latency every cell gets from 10 rows, the
config that declares them, appending rows; the OFA-table form of the few-shot benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import BENCH

from flows.devices import DeviceError, add_device, append_measurements
from nag.bench.fewshot import run_fewshot_mbv3
from nag.config import ConfigError, load_params
from nag.data.benchmarks import load_nb201
from nag.fewshot.transfer import measurement_plan
from nag.latency.predictor import MeasurementError
from nag.platforms.table_device import fit_table_device, read_nb201_measurements
from nag.spaces.nb201 import NB201Space

TABLE = BENCH / "nb201.csv"


@pytest.fixture(scope="module")
def table():
    return load_nb201(TABLE)


def plan_rows(table, n, column="samsung_s7", seed=0):
    space = NB201Space()
    cells = [i for i, a in enumerate(table.archs) if space.sees_input(a)]
    R = np.log(np.column_stack([table.latency(d)[cells] for d in table.devices if d != column]))
    rows = [cells[i] for i in measurement_plan(R, n, seed)]
    return pd.DataFrame({"arch_str": [space.to_string(table.archs[i]) for i in rows],
                         "latency_ms": table.latency(column)[rows]})


def test_ten_rows_give_every_cell_a_latency_and_a_bound(table, tmp_path):
    f = tmp_path / "phone.csv"
    plan_rows(table, 10).to_csv(f, index=False)
    m = read_nb201_measurements(f)
    frame, metrics, error = fit_table_device("phone", m, table)
    assert len(frame) == len(table.archs) and (frame["latency_ms"] > 0).all()
    measured = frame.set_index("arch_id").loc[m["arch_id"]]
    assert (measured["source"] == "measured").all()
    assert np.allclose(measured["latency_ms"], m["latency_ms"])  # a measured cell keeps its measurement
    assert metrics["n_measured"] == 10 and len(metrics["calibration"]["predicted"]["measured"]) == 10
    assert error.factor("predicted", 0.9) > 1.0 and error.factor("measured", 0.9) == 1.0
    with pytest.raises(MeasurementError, match="measure at least 5 more"):
        fit_table_device("phone", m.head(5), table)


def test_bad_measurement_files_name_the_line(tmp_path, table):
    good = plan_rows(table, 10)
    cases = {
        "cell": (good.assign(arch_str=["|conv~0|"] + list(good["arch_str"][1:])), "not a NAS-Bench-201 cell"),
        "dead": (good.assign(arch_str=["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"] +
                             list(good["arch_str"][1:])), "no path from input to output"),
        "nan": (good.assign(latency_ms=[np.nan] + list(good["latency_ms"][1:])), "missing, NaN"),
        "dup": (pd.concat([good, good.head(1).assign(latency_ms=99.0)]), "conflicting latencies"),
        "cols": (good.assign(extra=1), "unknown column"),
    }
    for name, (df, message) in cases.items():
        f = tmp_path / f"{name}.csv"
        df.to_csv(f, index=False)
        with pytest.raises(MeasurementError, match=message):
            read_nb201_measurements(f)


def test_add_then_append_an_nb201_device(tmp_path, table):
    params = tmp_path / "params.yaml"
    params.write_text(f"table_platforms: &tables\n  nb201-pixel3:\n    file: {TABLE}\n    device: pixel3\n"
                      "supernet_platforms: &supernet {}\nplatforms:\n  <<: [*tables, *supernet]\n")
    rows = plan_rows(table, 20)
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    rows.head(10).to_csv(first, index=False)
    add_device("phone", first, params_path=params, devices_dir=tmp_path / "data/devices")
    cfg = load_params(params).platform("phone")
    assert (cfg.kind, cfg.group, cfg.table) == ("imported", "table_platforms", "data/benchmarks/nb201.csv")
    before = params.read_text()
    rows.iloc[5:].to_csv(later, index=False)  # 5 rows it has, 10 new
    out = append_measurements("phone", later, params)
    assert (out["added"], out["duplicates"], out["rows"]) == (10, 5, 20)
    assert len(read_nb201_measurements(tmp_path / "data/devices/phone.csv")) == 20
    assert params.read_text() == before
    rows.head(1).assign(latency_ms=123.0).to_csv(later, index=False)
    with pytest.raises(MeasurementError, match="conflicting"):
        append_measurements("phone", later, params)
    assert len(read_nb201_measurements(tmp_path / "data/devices/phone.csv")) == 20  # nothing changed
    with pytest.raises(DeviceError, match="not an imported device"):
        append_measurements("nb201-pixel3", later, params)


def test_an_imported_nb201_device_sits_under_table_platforms(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("table_platforms: &tables {}\nsupernet_platforms: &supernet\n  phone:\n"
                      "    kind: imported\n    file: x.csv\n    table: data/benchmarks/nb201.csv\n"
                      "platforms:\n  <<: [*tables, *supernet]\n")
    with pytest.raises(ConfigError, match="sits under table_platforms"):
        load_params(params)


def test_ofa_table_form_leaves_the_gpu_out():
    rep = run_fewshot_mbv3(str(BENCH / "ofa_gpu_latency.csv"), "titan_xp_64", 10)
    assert not any(r.startswith("titan_xp") for r in rep["references"])
    assert rep["latency_plan"]["spearman"] > 0.9 and rep["latency_plan"]["model"]["n_rows"] == 10
