from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import BENCH

from nag.data.benchmarks import TableError, load_nb201, load_ofa_latency


def test_nb201_table(nb201_table):
    t = nb201_table
    assert len(t.frame) == 15_625 and len(t.archs) == 15_625
    assert t.metrics == ("acc_cifar10", "acc_cifar100", "acc_imagenet16")
    assert len(t.devices) == 19 and "pixel3" in t.devices
    assert t.latency("pixel3").dtype == np.float64
    assert 90 < t.accuracy("acc_cifar10").max() < 100
    with pytest.raises(KeyError, match="unknown device 'pixel9'"):
        t.latency("pixel9")


def test_ofa_table():
    t = load_ofa_latency(BENCH / "ofa_gpu_latency.csv")
    assert len(t.archs) == 5000
    assert set(t.devices) == {
        "2080ti_1",
        "2080ti_32",
        "2080ti_64",
        "titan_xp_1",
        "titan_xp_32",
        "titan_xp_64",
    }
    assert (t.latency("2080ti_1") > 0).all()


def _mini_nb201(tmp_path, nb201_table, mutate):
    df = nb201_table.frame.drop(columns="arch_id").head(20).copy()
    mutate(df)
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    return p


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda df: df.__setitem__("acc_cifar10", np.nan), "acc_cifar10"),
        (lambda df: df.loc.__setitem__((3, "lat_pixel3"), -1.0), "negative"),
        (lambda df: df.loc.__setitem__((3, "arch_str"), "|bad~0|"), "NB201 string"),
        (lambda df: df.__setitem__("extra", 1), "unknown column"),
        (lambda df: df.pop("arch_str"), "missing column"),
        (lambda df: df.loc.__setitem__((4, "arch_str"), df.loc[5, "arch_str"]), "duplicate"),
    ],
)
def test_nb201_malformed(tmp_path, nb201_table, mutate, message):
    with pytest.raises(TableError, match=message):
        load_nb201(_mini_nb201(tmp_path, nb201_table, mutate))


def test_malformed_files(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(TableError, match="cannot parse|no rows"):
        load_nb201(empty)
    with pytest.raises(TableError, match="missing table"):
        load_nb201(tmp_path / "none.csv")
    bad = tmp_path / "ofa.csv"
    pd.DataFrame({"ks": ["9 " * 20], "e": ["3 " * 20], "d": ["2 2 2 2 2"], "lat_x": [1.0]}).to_csv(
        bad, index=False
    )
    with pytest.raises(TableError, match="row 0"):
        load_ofa_latency(bad)
