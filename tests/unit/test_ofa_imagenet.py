"""The paper's own setting (issue 34): OFA's w1.2 space, its ImageNet predictor and the Note10 lookup tables,
checked against what OFA published (its 30 ms pick's latency and score, its four net.configs)."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT

from nag.data.ofa_imagenet import LutError, LutLatency, OFAPredictor, layer_keys
from nag.delivery.ofa_format import OFAConfigError, from_ofa_configs, read_ofa_folder, to_ofa_configs
from nag.spaces.base import ArchError
from nag.spaces.ofa import OFASpace

LUT = ROOT / "data/benchmarks/ofa_note10_lut"
PICKS = ROOT / "data/benchmarks/ofa_note10_picks"
PREDICTOR = ROOT / "data/benchmarks/ofa_acc_predictor.npz"


@pytest.fixture(scope="module")
def space():
    return OFASpace()


@pytest.fixture(scope="module")
def lut(space):
    return LutLatency.load(LUT, space)


def test_published_30ms_pick_sums_to_its_name(space, lut):
    arch = read_ofa_folder(space, PICKS / "note10_lat-30ms_top1-78.4_finetune-75")
    assert lut(space, [arch])[0] == pytest.approx(29.97, abs=0.01)  # OFA's name says 30 ms
    score = OFAPredictor.load(PREDICTOR)(space.features_batch([arch]))[0]
    assert score == pytest.approx(0.820, abs=0.001)  # what the assets' README reports for it


@pytest.mark.parametrize("folder", sorted(p.name for p in PICKS.iterdir()))
def test_published_configs_round_trip(folder):
    net = json.loads((PICKS / folder / "net.config").read_text())
    run = json.loads((PICKS / folder / "run.config").read_text())
    space = OFASpace((run["image_size"],))  # 220 and 260 px: networks of the space, not of the tables
    arch = from_ofa_configs(space, net, run)
    net2, run2 = to_ofa_configs(space, arch)
    assert run2 == {"image_size": run["image_size"]}
    for key in ("first_conv", "blocks", "final_expand_layer", "feature_mix_layer", "classifier"):
        assert net2[key] == net[key], key


def test_space_range_and_predictor_spread(space, lut):
    small = space.from_ofa([3] * 20, [3] * 20, [2] * 5, 160)
    big = space.from_ofa([7] * 20, [6] * 20, [4] * 5, 224)
    ms = lut(space, [small, big])
    assert 9 < ms[0] < 11 and 85 < ms[1] < 95  # "the space spans about 10-92 ms"
    acc = OFAPredictor.load(PREDICTOR)(space.features_batch([small, big]))
    assert acc[0] == pytest.approx(0.75, abs=0.01) and acc[1] == pytest.approx(0.84, abs=0.01)


def test_features_are_ofas_encoding(space):
    arch = space.from_ofa([3, 5, 7, 3] * 5, [4, 6, 3, 3] * 5, [2, 4, 3, 2, 4], 192)
    f = space.features(arch).reshape(-1)
    ks, es, r = f[:60].reshape(20, 3), f[60:120].reshape(20, 3), f[120:]
    depth = [2, 4, 3, 2, 4]
    for slot in range(20):
        on = slot % 4 < depth[slot // 4]
        assert ks[slot].sum() == on and es[slot].sum() == on
        if on:
            assert ks[slot].argmax() == (0, 1, 2, 0)[slot % 4] and es[slot].argmax() == (1, 2, 0, 0)[slot % 4]
    assert r.argmax() == (192 - 112) // 16 and r.sum() == 1
    with pytest.raises(ArchError, match="no feature"):
        OFASpace((220,)).features_batch([OFASpace((220,)).sample(1)[0]])


def test_vectorised_latency_is_the_sum_of_keys(space, lut):
    archs = space.sample(50, seed=3)
    for a, got in zip(archs, lut(space, archs)):
        r = space.resolution(a)
        fixed, blocks = layer_keys(space, r)
        want = sum(lut.tables[r][k] for k in fixed) + sum(lut.tables[r][blocks[b]] for b in space.blocks(a))
        assert got == pytest.approx(want, rel=1e-12)


def _copy(tmp_path):
    d = tmp_path / "lut"
    shutil.copytree(LUT, d)
    return d


def test_bad_lookup_tables_are_refused_by_name(tmp_path, space):
    d = _copy(tmp_path)
    text = (d / "176_lookup_table.yaml").read_text()
    key = layer_keys(space, 176)[1][(2, 1, 5, 4)]
    start = text.index(key + ":")
    end = text.index("\n", text.index("std:", start))
    (d / "176_lookup_table.yaml").write_text(text[:start] + text[end + 1:])
    with pytest.raises(LutError, match=r"176_lookup_table.yaml lacks 1 layer"):
        LutLatency.load(d, space)
    for bad in ("-1.0", ".nan", "0", "'fast'"):
        d = _copy(tmp_path / bad)
        p = d / "224_lookup_table.yaml"
        lines = p.read_text().splitlines()
        i = next(j for j, line in enumerate(lines) if line.strip().startswith("mean:"))
        lines[i] = f"  mean: {bad}"
        p.write_text("\n".join(lines) + "\n")
        with pytest.raises(LutError, match="finite positive"):
            LutLatency.load(d, space)
    d = _copy(tmp_path / "foreign")
    shutil.copy(d / "224_lookup_table.yaml", d / "240_lookup_table.yaml")
    with pytest.raises(LutError, match=r"\[240\] are outside"):
        LutLatency.load(d, space)
    (d / "240_lookup_table.yaml").rename(d / "notes.yaml")
    with pytest.raises(LutError, match="name it <resolution>_lookup_table.yaml"):
        LutLatency.load(d, space)
    with pytest.raises(OFAConfigError, match="net.config"):
        read_ofa_folder(space, tmp_path)


def test_dataset_latency_spans_the_note10_budgets(space, lut):
    ms = lut(space, space.sample(16_000, seed=0))  # the platform's dataset
    assert ms.min() < 15 and ms.max() > 60  # the Note10 budgets (15-60 ms) lie inside its range
