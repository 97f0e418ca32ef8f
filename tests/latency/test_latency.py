"""Latency: the meter, the block LUT against direct measurement, imported devices' files and
predictors, and the latency stage for local and imported platforms (tiny sizes)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nag.config import LatencyConfig, PlatformConfig
from nag.latency.lut import build_lut, check_lut, distinct_blocks, lut_sums
from nag.latency.meter import MeterSettings, measure
from nag.latency.model import LatencyModel, LatencyModelError
from nag.latency.predictor import MeasurementError, imagenet_space, read_measurements
from nag.spaces import MBV3Macro, MBV3Space
from nag.stages.latency import run as run_latency
from nag.stages.sample_archs import run as run_sample_archs
from nag.supernet.archs import load_archs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "supernet"))

ROOT = Path(__file__).resolve().parents[2]
FAST = MeterSettings(warmup=1, repeats=3, rounds=2, threads=1)
TINY = MBV3Space(MBV3Macro(width_mult=0.25, input_size=16, in_channels=1, num_classes=10, stem_stride=1,
                           stage_strides=(2, 2)))
FIVE = MBV3Space(MBV3Macro(width_mult=0.25, input_size=28, in_channels=1, num_classes=10, stem_stride=1))
CFG = LatencyConfig(warmup=1, repeats=3, rounds=2, validate_sample=12, min_measured=50)


@pytest.mark.parametrize("runtime", ["cpu-torch", "cpu-onnxruntime"])
def test_meter_records_estimate_spread_and_settings(runtime):
    rec = measure(
        torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.ReLU()), (1, 4, 8, 8), runtime, FAST
    )
    assert rec["latency_ms"] > 0 and rec["iqr_ms"] >= 0 and rec["cv"] >= 0 and len(rec["round_min_ms"]) == 2
    assert rec["latency_ms"] <= max(rec["round_min_ms"]) and rec["latency_ms"] <= rec["median_ms"] * 1.0001
    assert rec["runtime"] == runtime and rec["repeats"] == 3 and rec["rounds"] == 2 and rec["threads"] == 1
    with pytest.raises(ValueError, match="unknown runtime"):
        measure(torch.nn.ReLU(), (1, 2), "gpu", FAST)


def test_lut_covers_every_block_configuration_and_checks_against_direct():
    blocks = distinct_blocks(TINY)
    assert len(blocks) == 2 * 2 * 9  # stages x (first slot, other slots) x kernel x expand
    lut = build_lut(TINY, "cpu-torch", FAST, progress=False)
    assert lut["n_entries"] == len(blocks) + 2 and set(blocks) <= set(lut["entries"])
    archs = TINY.sample(12, seed=0, unique=True)
    sums, counts, iqr = lut_sums(TINY, lut, archs)
    assert (sums > 0).all() and set(counts) <= set(range(4, 9)) and (iqr >= 0).all()
    check = check_lut(TINY, lut, archs, FAST, progress=False, repeat=3)
    rep = check["report"]
    assert rep["raw"]["n"] == 12 and -1 <= rep["raw"]["spearman"] <= 1
    assert "cross_validated" in rep["correction"] and rep["repeat"]["n"] == 3


def _measurement_csv(path: Path, n: int = 300, column: str = "lat_titan_xp_64") -> Path:
    src = pd.read_csv(ROOT / "data" / "benchmarks" / "ofa_gpu_latency.csv", nrows=n)
    src[["ks", "e", "d"]].assign(resolution=src["r"], latency_ms=src[column]).to_csv(path, index=False)
    return path


BAD_FILES = {
    "nan": ("latency_ms", lambda df: df.assign(latency_ms=[np.nan] + list(df.latency_ms[1:])), "NaN"),
    "negative": ("latency_ms", lambda df: df.assign(latency_ms=[-1.0] + list(df.latency_ms[1:])), "negative"),
    "zero": ("latency_ms", lambda df: df.assign(latency_ms=[0.0] + list(df.latency_ms[1:])), "zero"),
    "conflict": (
        "dup",
        lambda df: pd.concat([df, df.iloc[[0]].assign(latency_ms=df.latency_ms[0] * 2)]),
        "conflicting",
    ),
    "unknown": ("col", lambda df: df.assign(batch=1), "unknown column"),
    "missing": ("col", lambda df: df.drop(columns=["latency_ms"]), "missing column"),
    "short": ("arch", lambda df: df.assign(d=["2 2 2"] + list(df.d[1:])), "outside the mbv3 space"),
    "kernel9": (
        "arch",
        lambda df: df.assign(ks=[" ".join(["9"] * 20)] + list(df.ks[1:])),
        "outside the mbv3 space",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_measurement_files_are_refused(tmp_path, case):
    good = pd.read_csv(_measurement_csv(tmp_path / "good.csv", n=20))
    _, edit, msg = BAD_FILES[case]
    edit(good).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(MeasurementError, match=msg):
        read_measurements(tmp_path / "bad.csv", imagenet_space())


def test_empty_and_identical_duplicate_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(MeasurementError, match="no measurements"):
        read_measurements(tmp_path / "empty.csv", imagenet_space())
    (tmp_path / "header.csv").write_text("ks,e,d,latency_ms\n")
    with pytest.raises(MeasurementError, match="holds no rows"):
        read_measurements(tmp_path / "header.csv", imagenet_space())
    df = pd.read_csv(_measurement_csv(tmp_path / "m.csv", n=10))
    pd.concat([df, df.iloc[[0]]]).to_csv(tmp_path / "dup.csv", index=False)
    assert len(read_measurements(tmp_path / "dup.csv", imagenet_space())) == 10  # same values: one row kept


@pytest.fixture
def five_archs(tmp_path) -> Path:
    run_sample_archs(FIVE, type("A", (), {"count": 60, "seed": 0})(), tmp_path / "archs.parquet")
    return tmp_path / "archs.parquet"


def test_imported_platform_predicts_every_arch(tmp_path, five_archs):
    csv = _measurement_csv(tmp_path / "gpu.csv")
    plat = PlatformConfig("gpu", kind="imported", file=str(csv), resolution=224)
    m = run_latency(plat, CFG, FIVE, five_archs, tmp_path / "lat.parquet", tmp_path / "gpu.skops")
    df = pd.read_parquet(tmp_path / "lat.parquet")
    ids, _ = load_archs(five_archs, FIVE)
    assert df["arch_id"].tolist() == ids["arch_id"].tolist() and (df["source"] == "predicted").all()
    assert (df["latency_ms"] > 0).all() and m["predictor"]["heldout"]["n"] == 60
    model = LatencyModel.load(tmp_path / "gpu.skops")
    _, archs = load_archs(five_archs, FIVE)
    assert np.allclose(model.predict(FIVE, archs), df["latency_ms"])
    # its error model: the held-out rows, a bound never under the estimate
    assert len(model.error.residuals["predicted"]) == 60 == len(m["calibration"]["predicted"]["measured"])
    assert (model.predict_bound(FIVE, archs, 0.9) >= model.predict(FIVE, archs)).all()
    from nag.platforms import Feasibility, table_platform

    p = table_platform(plat, FIVE, df, model, feasibility=Feasibility("bound", 0.9))
    assert (p.bound(archs) >= p.estimate(archs)).all() and p.latency is p.bound
    off = PlatformConfig("gpu", kind="imported", file=str(csv), resolution=512)
    with pytest.raises(ValueError, match="outside the measured"):
        run_latency(off, CFG, FIVE, five_archs, tmp_path / "x.parquet", tmp_path / "x.skops")
    assert not (tmp_path / "x.parquet").exists()


def test_local_platform_lut_rows_and_measured_rows(tmp_path):
    from tiny_supernet import TINY_ARCHS

    run_sample_archs(TINY, TINY_ARCHS, tmp_path / "archs.parquet")
    plat = PlatformConfig("cpu", kind="local", runtime="cpu-torch", file="machine.json")
    m = run_latency(
        plat, CFG, TINY, tmp_path / "archs.parquet", tmp_path / "lat.parquet", tmp_path / "cpu.skops"
    )
    df = pd.read_parquet(tmp_path / "lat.parquet")
    assert df["source"].value_counts().to_dict() == {"lut": 28, "measured": 12}
    assert (df["latency_ms"] > 0).all() and (df["spread"] >= 0).all()
    assert (
        m["lut_entries"] == 38 and m["lut_vs_direct"]["raw"]["n"] == 12 and m["machine"]["logical_cores"] >= 1
    )
    _, archs = load_archs(tmp_path / "archs.parquet", TINY)
    lut_rows = (df["source"] == "lut").to_numpy()
    pred = LatencyModel.load(tmp_path / "cpu.skops").predict(TINY, archs)
    assert np.allclose(pred[lut_rows], df["latency_ms"][lut_rows])
    (tmp_path / "bad.skops").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(LatencyModelError, match="not a readable"):
        LatencyModel.load(tmp_path / "bad.skops")


def test_noisy_measurements_are_measured_again_and_pooled():
    from nag.latency.meter import remeasure_noisy

    items = [(torch.nn.ReLU(), (1, 4)), (torch.nn.ReLU(), (1, 4))]
    records = [{"latency_ms": 1.0, "iqr_ms": 0.01, "round_min_ms": [1.0, 1.0]},
               {"latency_ms": 1.0, "iqr_ms": 0.9, "round_min_ms": [0.5, 1.5]}]
    out = remeasure_noisy(items, records, "cpu-torch", FAST, max_spread=0.25, tries=1)
    assert out[0] is records[0]  # a steady record is kept as it was
    assert len(out[1]["round_min_ms"]) == 4 and out[1]["rounds"] == 4


def test_a_benchmark_table_is_its_own_bound(tmp_path):
    """A table's values are the measurement: its bound is its latency, at any confidence."""
    from conftest import BENCH

    from nag.platforms import Feasibility, resolve

    cfg = PlatformConfig("t", kind="benchmark", file=str(BENCH / "nb201.csv"), device="pixel3")
    m = run_latency(cfg, CFG, None, None, tmp_path / "lat.parquet", tmp_path / "t.skops")
    model = LatencyModel.load(tmp_path / "t.skops")
    assert model.error.residuals == {} and m["calibration"] == {}
    p = resolve(cfg, feasibility=Feasibility("bound", 0.99))
    archs = p.table.archs[:50]
    assert np.array_equal(p.bound(archs), p.estimate(archs))


def test_latency_model_choice_prefers_the_cheapest_within_one_standard_error():
    from nag.latency.predictor import _candidates, choose_cheapest

    names = list(_candidates(0))
    assert names[0] == "ridge" and names[-1] == "gbr-600"  # cheapest to predict first

    def reports(shares):
        return {k: {"within_10pct": s, "n": 1000} for k, s in zip(names, shares)}

    # best 0.90 on 1,000 rows: s.e. 0.0095, so 0.892 (gbr-150) is as good and cheaper than gbr-600
    assert choose_cheapest(reports([0.70, 0.88, 0.892, 0.85, 0.89, 0.90])) == "gbr-150"
    # a larger model better by more than the held-out noise is kept
    assert choose_cheapest(reports([0.70, 0.85, 0.86, 0.85, 0.87, 0.90])) == "gbr-600"
    assert choose_cheapest(reports([0.95, 0.90, 0.90, 0.90, 0.90, 0.90])) == "ridge"
