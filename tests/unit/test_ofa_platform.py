"""The OFA ImageNet platform in the product (issue 34): a lookup-table folder added as a device (validated,
nothing changed on refusal), the platform's latency exact by its tables, its engine answering from arrays."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import ROOT

from flows.device_files import DeviceError
from flows.devices import add_device
from nag.config import PlatformConfig
from nag.data.ofa_imagenet import LutLatency
from nag.delivery.ofa_format import read_ofa_folder
from nag.platforms.ofa import ofa_platform

LUT = ROOT / "data/benchmarks/ofa_note10_lut"


@pytest.fixture()
def project(tmp_path):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "data/devices").mkdir(parents=True)
    return tmp_path


def _lut_copy(tmp_path, edit=None):
    d = tmp_path / "lut"
    shutil.copytree(LUT, d)
    if edit:
        edit(d)
    return d


def test_lut_folder_added_as_ofa_platform(project):
    report = add_device("phone-x", _lut_copy(project), params_path=project / "params.yaml",
                        devices_dir=project / "data/devices")
    assert report["success"] and report["resolutions"] == [160, 176, 192, 208, 224]
    text = (project / "params.yaml").read_text()
    assert "  phone-x:\n    kind: ofa\n    file: data/devices/phone-x" in text
    assert sorted(p.name for p in (project / "data/devices/phone-x").iterdir())[0] == "160_lookup_table.yaml"


@pytest.mark.parametrize("edit,message", [
    (lambda d: (d / "224_lookup_table.yaml").write_text(
        (d / "224_lookup_table.yaml").read_text().replace("mean: 0.994418", "mean: -1.0")),
     "finite positive"),
    (lambda d: (d / "224_lookup_table.yaml").rename(d / "300_lookup_table.yaml"), "outside the space"),
    (lambda d: (d / "notes.txt").write_text("x"), "holds only"),
    (lambda d: (d / "192_lookup_table.yaml").write_text("\n".join(
        (d / "192_lookup_table.yaml").read_text().splitlines()[4:])), "lacks"),
])
def test_bad_lut_folder_changes_nothing(project, edit, message):
    before = (project / "params.yaml").read_text()
    with pytest.raises(DeviceError, match=message):
        add_device("phone-x", _lut_copy(project, edit), params_path=project / "params.yaml",
                   devices_dir=project / "data/devices")
    assert (project / "params.yaml").read_text() == before
    assert list((project / "data/devices").iterdir()) == []


def test_fewer_resolutions_make_a_smaller_space(tmp_path):
    d = _lut_copy(tmp_path, lambda d: [(d / f"{r}_lookup_table.yaml").unlink() for r in (160, 176)])
    p = ofa_platform(PlatformConfig("phone-x", kind="ofa", file=str(d)), n_archs=50)
    assert p.space.resolutions == (192, 208, 224)
    assert {p.space.resolution(a) for a in p.archs} <= {192, 208, 224}


def test_platform_latency_is_the_tables_sum_and_engine_arrays_agree(tmp_path):
    p = ofa_platform(PlatformConfig("note10", kind="ofa", file=str(LUT)), n_archs=300, seed=1)
    lut = LutLatency.load(LUT, p.space)
    fresh = p.space.sample(40, seed=7)  # outside the dataset: the tables answer too
    np.testing.assert_allclose(p.latency(fresh), lut(p.space, fresh))
    np.testing.assert_allclose(p.latency_fn(fresh), lut(p.space, fresh))
    assert p.accuracy(fresh).min() > 70 and p.accuracy(fresh).max() < 90  # OFA's predictor, in %
    picks = ROOT / "data/benchmarks/ofa_note10_picks"
    published = read_ofa_folder(p.space, picks / "note10_lat-30ms_top1-78.4_finetune-75")
    assert p.latency([published])[0] == pytest.approx(29.97, abs=0.01)
    frame = p.latency_frame()
    assert list(frame["arch_id"]) == [a.arch_id for a in p.archs] and set(frame["source"]) == {"lut"}
