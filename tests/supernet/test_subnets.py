"""Finetuned subnets on a tiny supernet: extract → finetune → export (onnxruntime equals torch), the model
card's schema, resuming an interrupted stage, and exports that fail leaving nothing behind."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_supernet import prepared, tiny_cfg  # noqa: F401  (fixture)

from nag.config import FinetuneConfig, PlatformConfig
from nag.delivery import subnets
from nag.delivery.export import CARD_KEYS, ExportError, check_card, check_out, export_onnx, write_bundle
from nag.latency.meter import ort_session
from nag.platforms import SupernetPlatform
from nag.supernet.checkpoint import save_supernet
from nag.supernet.data import make_space
from nag.supernet.finetune import finetune, subnet_from_supernet
from nag.supernet.supernet import Supernet

CFG = FinetuneConfig(
    epochs=1, images_per_epoch=16, batch_size=16, lr=0.01, calib_images=32, onnx_check_images=16
)


@pytest.fixture
def src(prepared, tmp_path):  # noqa: F811
    space = make_space(tiny_cfg(), prepared)
    torch.manual_seed(0)
    net = Supernet(space)
    save_supernet(tmp_path / "supernet.pt", net, (0.3, 0.3))
    plat = SupernetPlatform(PlatformConfig("tiny-dev", kind="imported", file="x.csv"), space, None, None)
    return plat, subnets.SubnetSource.load(plat, tmp_path / "supernet.pt", prepared, CFG)


def test_extract_finetune_one_step_export_equals_torch(src):
    plat, s = src
    arch = plat.space.sample(1, seed=1)[0]
    net = subnet_from_supernet(s.supernet, arch, s.calib)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rec = finetune(net, s.train, CFG, progress=False)
    assert rec["steps"] == 1 and np.isfinite(rec["loss_last"])
    changed = [
        k for k, v in net.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, before[k])
    ]
    assert changed, "one optimizer step changed no weight"
    assert not net.training
    data, diff = export_onnx(net, s.test.x[:16], atol=1e-4)
    x = s.test.x[16:40].contiguous()  # other images and another batch size than the check used
    got = ort_session(data, 1).run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        ref = net(x).numpy()
    assert diff <= 1e-4 and np.abs(got - ref).max() <= 1e-4


def test_export_refuses_an_unfaithful_model(src):
    class Flaky(torch.nn.Module):  # differs between calls: the check must notice
        def forward(self, x):
            return x.flatten(1)[:, :3] + torch.rand(len(x), 3)

    with pytest.raises(ExportError, match="differ from torch"):
        export_onnx(Flaky(), src[1].test.x[:8], atol=1e-4)


def test_card_schema_and_bundle(src, tmp_path):
    plat, s = src
    arch = plat.space.sample(1, seed=2)[0]
    (net, rec), = subnets.subnets_for(s, plat, [arch], CFG, True, None, progress=False)
    data, diff = export_onnx(net, s.test.x[:8], CFG.onnx_atol)
    row = {"budget_ms": 3.0, "latency_ms": 2.5, "predicted_accuracy": 80.0, "arch_obj": arch}
    card = subnets.card_for(plat, row, rec, None, None, s, CFG, diff,
                            {"supernet_sha256": "x", "git_commit": None}, "model.onnx")
    write_bundle(tmp_path / "out", {"model.onnx": data}, card)
    got = json.loads((tmp_path / "out/card.json").read_text())
    assert set(CARD_KEYS) <= set(got) and got["schema"] == "nag-model-card/1"
    assert got["arch_id"] == arch.arch_id and got["latency_ms"]["within_budget"] is True
    assert got["accuracy"]["test_after_finetune"] == rec["test_acc_after"] and got["finetune"]["finetuned"]
    assert got["input"]["shape"][1:] == [1, 16, 16] and got["params"] > 0 and got["madds"] > 0
    with pytest.raises(ExportError, match="missing"):
        check_card({k: v for k, v in card.items() if k != "latency_ms"})
    with pytest.raises(ExportError, match="--force"):
        check_out(tmp_path / "out", force=False)
    check_out(tmp_path / "out", force=True)


def test_failed_bundle_leaves_no_partial_output(tmp_path):
    card = {k: None for k in CARD_KEYS} | {"schema": "nag-model-card/1"}
    with pytest.raises(TypeError):
        write_bundle(tmp_path / "out" / "bundle", {"model.onnx": b"x", "model.pt": "not bytes"}, card)
    assert list((tmp_path / "out").iterdir()) == []  # neither the folder nor its temporary sibling


def test_interrupted_stage_resumes_from_work(src, tmp_path, monkeypatch):
    plat, s = src
    archs = plat.space.sample(3, seed=4, unique=True)
    work = tmp_path / "work"
    calls = []
    real = subnets.make_subnet

    def counting(src_, arch, *a, **k):
        calls.append(arch.arch_id)
        if len(calls) == 3:
            raise KeyboardInterrupt  # interrupted while making the third
        return real(src_, arch, *a, **k)

    monkeypatch.setattr(subnets, "make_subnet", counting)
    with pytest.raises(KeyboardInterrupt):
        subnets.subnets_for(s, plat, archs, CFG, True, work, progress=False)
    assert sorted(p.stem for p in work.glob("*.pt")) == sorted(a.arch_id for a in archs[:2])
    (work / f"{archs[1].arch_id}.pt").write_bytes(b"truncated")  # a damaged file is redone, not fatal
    calls.clear()
    monkeypatch.setattr(subnets, "make_subnet", lambda *a, **k: calls.append(a[1].arch_id) or real(*a, **k))
    got = subnets.subnets_for(s, plat, archs, CFG, True, work, progress=False, log=lambda m: None)
    assert calls == [archs[1].arch_id, archs[2].arch_id]  # the first came from the work folder
    assert len(got) == 3 and all(r["finetuned"] for _, r in got)
    other = FinetuneConfig(**{**CFG.__dict__, "lr": 0.02})  # other settings: nothing reused
    calls.clear()
    subnets.subnets_for(s, plat, archs[:1], other, True, work, progress=False)
    assert calls == [archs[0].arch_id]


@pytest.mark.parametrize("runtime", ["cpu-torch", "cpu-onnxruntime"])
def test_local_platform_times_exported_models_beside_fresh_references_and_probes(src, runtime, tmp_path):
    """Measurement 2 of the delivery: the exported models, fresh networks of their archs and the latency
    model's drift probes in the same rounds; the probes as the table measured them give a drift near 1."""
    from dataclasses import replace

    from nag.config import LatencyConfig, Params
    from nag.delivery.check import measure_delivered, settings_for
    from nag.latency.drift import probe_set
    from nag.latency.meter import measure_many
    from nag.latency.model import LatencyModel
    from nag.platforms import PlatformFiles
    from nag.supernet.static import build_static

    plat, s = src
    params = Params(latency=LatencyConfig(warmup=1, repeats=5, rounds=3))
    local = replace(plat, config=PlatformConfig("tiny-local", kind="local", file="m.json", runtime=runtime),
                    files=PlatformFiles(tmp_path, tmp_path / "lat.parquet", tmp_path / "m.skops"))
    probes = plat.space.sample(3, seed=9, unique=True)
    m = plat.space.macro
    shape = (1, m.in_channels, m.input_size, m.input_size)
    then = measure_many([(build_static(plat.space, a), shape) for a in probes], runtime,
                        settings_for(params, local))
    kept = probe_set(probes, [r["latency_ms"] for r in then], runtime, settings_for(params, local))
    LatencyModel("tiny-local", "local", probes=kept).save(local.files.model)
    archs = plat.space.sample(2, seed=5, unique=True)
    made = subnets.subnets_for(s, local, archs, CFG, False, None, progress=False)
    onnx = [export_onnx(n, s.test.x[:4], CFG.onnx_atol)[0] for n, _ in made]
    got, drift = measure_delivered(params, local, archs, [n for n, _ in made], onnx, log=lambda _: None)
    assert len(got) == 2 and all(m > 0 and r > 0 and c > 0 for m, r, c in got)
    assert len(drift.per_probe) == 3 and 0.5 < drift.ratio < 2.0 and drift.correct(2.0) == 2.0 / drift.ratio
    imported = measure_delivered(params, plat, archs, [n for n, _ in made], onnx)
    assert imported == ([None, None], None)
