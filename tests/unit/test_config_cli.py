from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nag.cli import app
from nag.config import ConfigError, DataConfig, load_params


def test_load_params_defaults_and_errors(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("data:\n  val_size: 5\n")
    params = load_params(p)
    assert params.data == DataConfig(val_size=5)
    p.write_text("data:\n  val_sise: 5\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_params(p)
    p.write_text("data:\n  val_size: many\n")
    with pytest.raises(ConfigError, match="expected int"):
        load_params(p)
    with pytest.raises(ConfigError, match="missing"):
        load_params(tmp_path / "none.yaml")


def test_cli_prepare(tiny_idx_dir, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(f"data:\n  source: {tiny_idx_dir}\n  val_size: 10\n")
    runner = CliRunner()
    res = runner.invoke(app, ["prepare", "--out", str(tmp_path / "p"), "--metrics", str(tmp_path / "m.json"),
                              "--params", str(params)])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "m.json").read_text())["n_val"] == 10
    params.write_text(f"data:\n  source: {tmp_path / 'missing'}\n")
    res = runner.invoke(app, ["prepare", "--out", str(tmp_path / "q"), "--params", str(params)])
    assert res.exit_code == 2 and "dataset-fashion-mnist" in res.output
    assert not (tmp_path / "q").exists()


def test_help_lists_commands():
    res = CliRunner().invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("prepare", "arch-dataset", "train-evaluator", "train-generator", "frontier", "generate",
                "benchmark"):
        assert cmd in res.output


def test_platform_params(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text(
        "platforms:\n  a: {device: pixel3, file: t.csv}\n  b: "
        "{kind: benchmark, device: gold_6240, file: t.csv}\n"
        "  c: {kind: local, runtime: cpu-onnxruntime, file: m.json, max_spread: 0.5}\n"
        "  d: {kind: imported, file: d.csv, resolution: 224}\n"
    )
    params = load_params(p)
    assert [x.name for x in params.platforms] == ["a", "b", "c", "d"] and params.platform(
        "b"
    ).device == "gold_6240"
    assert params.platform("c").max_spread == 0.5 and params.platform("d").resolution == 224
    with pytest.raises(ConfigError, match="unknown platform 'e'; the params file declares: a, b, c, d"):
        params.platform("e")
    for bad, msg in (("a: {kind: local, runtime: tpu, file: m.json}", "runtime = 'tpu'"),
                     ("a: {kind: imported}", "names no file")):
        p.write_text(f"platforms:\n  {bad}\n")
        with pytest.raises(ConfigError, match=msg):
            load_params(p)
    p.write_text("platforms:\n  a: {file: x}\nbenchmarks:\n  b: {file: y}\n")
    with pytest.raises(ConfigError, match="now table_platforms"):
        load_params(p)
    for empty in ("platforms:\n", "platforms: {}\n"):
        p.write_text(empty)
        with pytest.raises(ConfigError, match="platforms: is empty; declare at least one"):
            load_params(p)
    p.write_text("platforms:\n  a: {device: pixel3, file: t.csv}\n")
    params = load_params(p)
    with pytest.raises(ConfigError, match="unknown platform 'c'; the params file declares: a"):
        params.platform("c")
    p.write_text("platforms:\n  a: {kind: quantum}\n")
    with pytest.raises(ConfigError, match="kind = 'quantum'"):
        load_params(p)
    p.write_text("platforms:\n  - a\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_params(p)
