"""Drift probes and the delivery check on a local platform measured for real (tiny space): probes kept with
the table, +30 % drift injected (the table measured when the machine was 30 % faster) → stale warning,
corrected measurement, the registry gate's refusal; a budget no candidate meets when measured → a clear
error naming the smallest measured latency."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nag.config import LatencyConfig, Params, PlatformConfig
from nag.delivery.check import DeliveryError, fit_budgets, time_beside_probes
from nag.latency.drift import latest_record
from nag.latency.model import LatencyModel
from nag.platforms import Feasibility, PlatformFiles, table_platform
from nag.stages.latency import run as run_latency
from nag.stages.sample_archs import run as run_sample_archs
from nag.supernet.archs import load_archs
from nag.supernet.static import arch_madds

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "supernet"))
from test_latency import TINY  # noqa: E402

CFG = LatencyConfig(warmup=2, repeats=10, rounds=3, validate_sample=12, probes=6)
NAME = "tiny-cpu"


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    from tiny_supernet import TINY_ARCHS

    root = tmp_path_factory.mktemp("drift")
    run_sample_archs(TINY, TINY_ARCHS, root / "archs.parquet")
    plat = PlatformConfig(NAME, kind="local", runtime="cpu-torch", file="machine.json")
    metrics = run_latency(plat, CFG, TINY, root / "archs.parquet", root / "lat.parquet", root / "m.skops")
    return root, plat, metrics


def platform_at(root: Path, plat: PlatformConfig, model: Path, feasibility=Feasibility()):
    files = PlatformFiles(root, root / "lat.parquet", model)
    return table_platform(plat, TINY, pd.read_parquet(root / "lat.parquet"), LatencyModel.load(model), files,
                          feasibility)


def test_table_keeps_probes_and_calibration_and_bounds_hold_estimates(measured):
    root, plat, metrics = measured
    model = LatencyModel.load(root / "m.skops")
    assert len(model.probes["tokens"]) == 6 and model.probes["runtime"] == "cpu-torch"
    madds = [arch_madds(TINY, TINY.from_tokens(t)) for t in model.probes["tokens"]]
    assert sorted(madds) == madds and len(set(madds)) > 1  # spread over the sample, small to large
    assert len(metrics["calibration"]["lut"]["measured"]) == 12 and metrics["n_probes"] == 6
    p = platform_at(root, plat, root / "m.skops")
    _, archs = load_archs(root / "archs.parquet", TINY)
    assert (p.bound(archs) >= p.estimate(archs)).all() and p.latency is p.bound
    outside = TINY.sample(5, seed=77)
    assert (model.predict_bound(TINY, outside, 0.9) >= model.predict(TINY, outside)).all()
    est = platform_at(root, plat, root / "m.skops", Feasibility("estimate"))
    assert est.latency is est.estimate and est.cheapest <= p.cheapest


def test_injected_drift_is_stale_corrected_and_refused_by_the_gate(measured, tmp_path, monkeypatch):
    from flows.registry import stale_table
    from nag.delivery.subnets import record_drift
    from nag.supernet.static import build_static

    root, plat, _ = measured
    params = Params(latency=CFG)
    # this shared machine's own speed wanders by tens of percent: inject +100 % on top of its state now
    # (+30 % was masked by a host swing: measured 1.04 in a fresh-clone run)
    _, _, now, _ = time_beside_probes(params, platform_at(root, plat, root / "m.skops"), [], "t",
                                      log=lambda _: None)
    model = LatencyModel.load(root / "m.skops")
    model.probes = {**model.probes, "latency_ms": [v * now.ratio / 2.0 for v in model.probes["latency_ms"]]}
    model.save(tmp_path / "m.skops")
    p = platform_at(root, plat, tmp_path / "m.skops")
    logged = []
    arch = TINY.sample(1, seed=3)[0]
    raw, corrected, drift, upper = time_beside_probes(params, p, [build_static(TINY, arch).eval()], "t",
                                                      log=logged.append)
    assert drift.ratio > 1 + CFG.max_drift and drift.stale
    assert logged and "stale" in logged[0] and f"dvc repro -s -f latency@{NAME}" in logged[0]
    # corrected round by round: near the overall correction, never the raw figure of a 100 % drift
    assert corrected[0] == pytest.approx(raw[0] / drift.ratio, rel=0.15) and corrected[0] < raw[0]
    assert upper[0] >= corrected[0]  # the delivery check's bound: the noise of the rounds counted
    monkeypatch.chdir(tmp_path)
    rec = record_drift(p, drift, "test")
    assert json.loads((tmp_path / "reports/drift" / f"{NAME}.json").read_text())["stale"] is True
    assert latest_record(tmp_path, NAME, tmp_path / "m.skops") == rec
    (tmp_path / "models/latency").mkdir(parents=True)
    (tmp_path / "models/latency" / f"{NAME}.skops").write_bytes((tmp_path / "m.skops").read_bytes())
    why = stale_table(tmp_path, NAME, plat, CFG.max_drift)
    assert why and "stale" in why and "by test" in why
    assert stale_table(tmp_path, NAME, plat, 10.0) is None  # within a looser limit: promotable
    (tmp_path / "models/latency" / f"{NAME}.skops").write_bytes((root / "m.skops").read_bytes())
    assert stale_table(tmp_path, NAME, plat, CFG.max_drift) is None  # re-measured: the old record is moot


def test_budget_no_candidate_meets_when_measured_is_a_clear_error(measured):
    root, plat, _ = measured
    p = platform_at(root, plat, root / "m.skops")
    _, archs = load_archs(root / "archs.parquet", TINY)
    lat = p.estimate(archs)
    i = int(np.argmin(lat))
    row = {"budget_ms": float(lat[i]) / 10, "arch_obj": archs[i], "latency_ms": float(lat[i])}
    params = Params(latency=LatencyConfig(**{**CFG.__dict__, "delivery_tries": 1}))
    with pytest.raises(DeliveryError, match="no candidate met .* the smallest measured") as err:
        fit_budgets(params, p, None, [row], log=lambda _: None)
    assert archs[i].arch_id in str(err.value) and f"latency@{NAME}" in str(err.value)
    ok = fit_budgets(params, p, None, [{**row, "budget_ms": float(lat[i]) * 10}], log=lambda _: None)
    assert ok[0]["arch_obj"] == archs[i] and ok[0]["delivery"][0]["fits"]
    # the finetune stage (strict=False): the tight budget is marked undeliverable, the other still delivers
    both = fit_budgets(params, p, None, [row, {**row, "budget_ms": float(lat[i]) * 10}], log=lambda _: None,
                       strict=False)
    assert both[0]["undeliverable"]["budget_ms"] == row["budget_ms"] and "no candidate met" in \
        both[0]["undeliverable"]["reason"]
    assert "undeliverable" not in both[1] and both[1]["delivery"][0]["fits"]


class Slowed(torch.nn.Module):
    """A network on a machine running ``speed[0]`` times slower: it busy-waits the extra time after
    each call (a real slowdown the meter measures, shared by every network wrapped with the same list)."""

    def __init__(self, net: torch.nn.Module, speed: list[float]) -> None:
        super().__init__()
        self.net, self.speed = net, speed

    def forward(self, x):
        t0 = time.perf_counter()
        out = self.net(x)
        until = t0 + (time.perf_counter() - t0) * self.speed[0]
        while time.perf_counter() < until:
            pass
        return out


def test_normaliser_restates_a_slower_spell_on_the_baseline_state():
    from nag.latency.meter import MeterSettings
    from nag.latency.normalise import Normaliser
    from nag.supernet.static import build_static

    speed = [1.0]
    m = TINY.macro
    shape = (1, m.in_channels, m.input_size, m.input_size)
    archs = TINY.sample(7, seed=11, unique=True)
    nets = [(Slowed(build_static(TINY, a).eval(), speed), shape) for a in archs]
    norm = Normaliser(nets[:4], "cpu-torch", MeterSettings(2, 10, 3, 1), chunk=2)
    calm = norm.measure(nets[4:])
    speed[0] = 3.0  # the machine runs at a third of its speed from one chunk of the table to the next
    slow = norm.measure(nets[4:])
    raw = np.array([b["raw_latency_ms"] / a["raw_latency_ms"] for a, b in zip(calm, slow)])
    restated = np.array([b["latency_ms"] / a["latency_ms"] for a, b in zip(calm, slow)])
    # on a shared host its own swings add to the injected 3x (a slow spell during `calm` read 1.49x of an
    # injected 2x in CI), so the margins are wide: raw well above 2, restated far nearer 1 than raw
    assert np.median(raw) > 2.0 and abs(np.median(restated) - 1) < (np.median(raw) - 1) / 2
    assert norm.drifts[-1] / norm.drifts[0] > 2.0
    before = calm[0]["latency_ms"]
    factor = norm.rescale([calm, slow])  # in place: onto the median state of the chunks measured
    assert factor == pytest.approx(float(np.median(norm.drifts)))
    assert calm[0]["latency_ms"] == pytest.approx(before * factor)
