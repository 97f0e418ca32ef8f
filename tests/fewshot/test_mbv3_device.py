"""An mbv3 device from ten measurements: latency transferred from the OFA reference table's devices
(another GPU's columns only, so nothing of the device's own hardware), through the latency stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from nag.config import LatencyConfig, PlatformConfig
from nag.data.benchmarks import load_ofa_latency
from nag.fewshot.transfer import TransferError, measurement_plan
from nag.latency.model import LatencyModel
from nag.latency.predictor import device_features, imagenet_space
from nag.platforms.mbv3_device import fit_transfer_predictor, reference_log_latency, reference_predictors
from nag.spaces import MBV3Macro, MBV3Space
from nag.stages.latency import run as run_latency
from nag.stages.sample_archs import run as run_sample_archs

ROOT = Path(__file__).resolve().parents[2]
OFA = ROOT / "data/benchmarks/ofa_gpu_latency.csv"
FIVE = MBV3Space(MBV3Macro(width_mult=0.25, input_size=28, in_channels=1, num_classes=10, stem_stride=1))


@pytest.fixture(scope="module")
def other_gpu(tmp_path_factory) -> Path:
    """The reference table without the Titan Xp: the 2080 Ti's three batch sizes only."""
    df = pd.read_csv(OFA)
    path = tmp_path_factory.mktemp("refs") / "refs.csv"
    df[["ks", "e", "d", "r", "lat_2080ti_1", "lat_2080ti_32", "lat_2080ti_64"]].to_csv(path, index=False)
    return path


def test_ten_planned_rows_rank_an_unseen_gpu(other_gpu, tmp_path):
    t = load_ofa_latency(OFA, imagenet_space())
    X = device_features(list(t.archs), t.frame["r"].to_numpy())
    truth = t.latency("titan_xp_64")
    _, cols = reference_predictors(str(other_gpu), cache=str(tmp_path))
    (cached,) = tmp_path.glob("reference-*.skops")  # the fit is kept: a second process loads it
    _, again = reference_predictors.__wrapped__(str(other_gpu), cache=str(tmp_path))
    assert np.array_equal(reference_log_latency(again, X[:50]), reference_log_latency(cols, X[:50]))
    cached.write_bytes(b"truncated")  # an unreadable cache is fitted again and replaced
    _, refit = reference_predictors.__wrapped__(str(other_gpu), cache=str(tmp_path))
    assert np.allclose(reference_log_latency(refit, X[:50]), reference_log_latency(cols, X[:50]))
    assert cached.stat().st_size > 1000
    rows = measurement_plan(reference_log_latency(cols, X), 10, seed=0)
    pred, report, (measured, oof) = fit_transfer_predictor(X[rows], truth[rows], other_gpu)
    assert report["references"] == ["2080ti_1", "2080ti_32", "2080ti_64"] and report["n_rows"] == 10
    assert report["transfer"]["validation"] == "leave-one-out" and len(oof) == 10
    rest = np.setdiff1d(np.arange(len(truth)), rows)
    est = np.exp(pred.predict(X[rest]))
    rel = np.abs(est - truth[rest]) / truth[rest]
    # 4,990 networks it never saw, on hardware it has no column of (the benchmark table's figure: 0.97)
    assert spearmanr(est, truth[rest]).statistic > 0.9 and np.mean(rel <= 0.1) > 0.5
    bound = est * np.exp(max(np.quantile(pred.model.residuals, 0.9), 0))
    assert np.mean(truth[rest] <= bound) > 0.7
    with pytest.raises(TransferError, match="measure at least 7 more"):
        fit_transfer_predictor(X[rows[:3]], truth[rows[:3]], other_gpu, min_rows=10)


def test_latency_stage_imports_a_ten_row_mbv3_device(tmp_path):
    run_sample_archs(FIVE, type("A", (), {"count": 60, "seed": 0})(), tmp_path / "archs.parquet")
    df = pd.read_csv(OFA)
    at224 = df[df["r"] == 224].head(10)
    csv = tmp_path / "phone.csv"
    at224[["ks", "e", "d", "r"]].rename(columns={"r": "resolution"}).assign(
        latency_ms=at224["lat_titan_xp_32"]).to_csv(csv, index=False)
    plat = PlatformConfig("phone", kind="imported", file=str(csv), resolution=224)
    cfg = LatencyConfig(min_measured=10)
    m = run_latency(plat, cfg, FIVE, tmp_path / "archs.parquet", tmp_path / "lat.parquet",
                    tmp_path / "m.skops")
    assert m["predictor"]["chosen"].startswith("transfer:") and m["file_rows"] == 10
    assert len(m["calibration"]["predicted"]["measured"]) == 10
    lat = pd.read_parquet(tmp_path / "lat.parquet")
    assert len(lat) == 60 and (lat["latency_ms"] > 0).all()
    model = LatencyModel.load(tmp_path / "m.skops")
    from nag.supernet.archs import load_archs

    _, archs = load_archs(tmp_path / "archs.parquet", FIVE)
    assert np.allclose(model.predict(FIVE, archs), lat["latency_ms"])
    assert len(model.error.residuals["predicted"]) == 10
    assert (model.predict_bound(FIVE, archs, 0.9) > model.predict(FIVE, archs)).all()
    few = tmp_path / "few.csv"
    pd.read_csv(csv).head(6).to_csv(few, index=False)
    with pytest.raises(TransferError, match="measure at least 4 more"):
        run_latency(PlatformConfig("few", kind="imported", file=str(few), resolution=224), cfg, FIVE,
                    tmp_path / "archs.parquet", tmp_path / "x.parquet", tmp_path / "x.skops")
    assert not (tmp_path / "x.parquet").exists()
