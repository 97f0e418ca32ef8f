"""The supernet oracle (accuracy queries on the mbv3 space): the accuracy stage's own measurement, answered
once per architecture, resumed from its work file, and never reused across supernets or settings."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch
from tiny_supernet import TINY_ACC, TINY_ARCHS, make_prepared, tiny_cfg

from nag.stages.accuracy import run as run_accuracy
from nag.stages.sample_archs import run as run_sample_archs
from nag.supernet.archs import load_archs
from nag.supernet.checkpoint import save_supernet
from nag.supernet.data import make_space
from nag.supernet.oracle import SupernetOracle
from nag.supernet.supernet import Supernet


@pytest.fixture
def setup(tmp_path: Path):
    prepared = make_prepared(tmp_path / "prepared")
    space = make_space(tiny_cfg(), prepared)
    run_sample_archs(space, TINY_ARCHS, tmp_path / "archs.parquet")
    torch.manual_seed(0)
    save_supernet(tmp_path / "supernet.pt", Supernet(space), (0.2, 0.3))
    return space, prepared, tmp_path


def test_oracle_equals_the_accuracy_stage_and_caches(setup):
    space, prepared, tmp = setup
    run_accuracy(space, TINY_ACC, tmp / "archs.parquet", tmp / "supernet.pt", prepared, tmp / "acc.parquet",
                 tmp / "acc.work.json")
    table = pd.read_parquet(tmp / "acc.parquet").query("source == 'measured'")
    _, archs = load_archs(tmp / "archs.parquet", space)
    by_id = {a.arch_id: a for a in archs}
    measured = [by_id[i] for i in table["arch_id"]]
    work = tmp / "oracle.json"
    oracle = SupernetOracle.load(space, tmp / "supernet.pt", prepared, TINY_ACC, work)
    got = oracle(measured[:6] + measured[:2])  # repeats inside one call are measured once
    assert got.tolist() == table["accuracy"].tolist()[:6] + table["accuracy"].tolist()[:2]
    assert oracle.measured == 6 and oracle.stats()["cached"] == 6
    oracle(measured[:3])
    assert oracle.measured == 6  # already known: no new measurement
    # a new process resumes from the work file
    again = SupernetOracle.load(space, tmp / "supernet.pt", prepared, TINY_ACC, work)
    assert again(measured[:6]).tolist() == got[:6].tolist() and again.measured == 0
    # what the measurements cost is remembered too: a resumed run reports the same figure
    assert again.stats()["seconds_per_measurement"] == pytest.approx(
        oracle.stats()["seconds_per_measurement"]
    )
    assert again.stats()["seconds_per_measurement"] > 0
    # other settings or another supernet: nothing in the work file applies
    other = SupernetOracle.load(
        space, tmp / "supernet.pt", prepared, replace(TINY_ACC, calib_images=16), work
    )
    assert other.cache == {}
    save_supernet(tmp / "supernet2.pt", Supernet(space), (0.2, 0.3))
    assert SupernetOracle.load(space, tmp / "supernet2.pt", prepared, TINY_ACC, work).cache == {}


def test_damaged_work_file_is_measured_again(setup):
    space, prepared, tmp = setup
    _, archs = load_archs(tmp / "archs.parquet", space)
    work = tmp / "oracle.json"
    first = SupernetOracle.load(space, tmp / "supernet.pt", prepared, TINY_ACC, work)
    ref = first(archs[:3])
    assert json.loads(work.read_text())["acc"].keys() == {a.arch_id for a in archs[:3]}
    work.write_text('{"key": ')  # interrupted mid-write by something else
    oracle = SupernetOracle.load(space, tmp / "supernet.pt", prepared, TINY_ACC, work)
    assert oracle.cache == {}
    assert oracle(archs[:3]).tolist() == ref.tolist() and oracle.measured == 3
    assert json.loads(work.read_text())["key"] == oracle.key  # rewritten whole
