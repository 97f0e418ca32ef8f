"""The NAG-core commands end to end on a tiny NB201-schema table, and their bad-input errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
from conftest import BENCH
from typer.testing import CliRunner

from flows.validate import main as validate_main
from nag.cli import app
from nag.method.checkpoint import CheckpointError, load_evaluator, load_generator
from nag.spaces import MBV3Space, NB201Space

TINY = """
dataset: {train_size: 200, seed: 0}
budgets: {k: 4, lo_pct: 5, hi_pct: 95}
evaluator: {hidden: 32, steps: 60, pairs_per_step: 256}
generator: {iterations: 40}
infer: {pool: 128, candidates: 8, predictor: ridge}
platforms:
  tiny-pixel3: {kind: benchmark, file: TABLE, device: pixel3, metric: acc_cifar10}
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "params.yaml").write_text(TINY.replace("TABLE", str(BENCH / "nb201.csv")))
    runner = CliRunner()
    p = ["--params", str(d / "params.yaml")]
    lat = ["--out", str(d / "lat.parquet"), "--model", str(d / "lat.skops")]
    res = runner.invoke(app, ["latency", "-p", "tiny-pixel3", *lat, "--metrics", str(d / "lat.json"),
                              "--plot", str(d / "lat.png")] + p)
    assert res.exit_code == 0, res.output
    validate = typer.Typer()
    validate.command()(validate_main)  # the Great Expectations check every platform passes before training
    res = runner.invoke(validate, ["-p", "tiny-pixel3", "--latency", str(d / "lat.parquet"), "--metrics",
                                   str(d / "lat.json"), "--out", str(d / "valid.json")] + p)
    assert res.exit_code == 0, res.output
    steps = [
        [
            "arch-dataset",
            "-p",
            "tiny-pixel3",
            "--out",
            str(d / "ds.parquet"),
            "--metrics",
            str(d / "m0.json"),
            "--validation",
            str(d / "valid.json"),
        ],
        [
            "train-evaluator",
            "-p",
            "tiny-pixel3",
            "--dataset",
            str(d / "ds.parquet"),
            "--out",
            str(d / "ev.pt"),
            "--validation",
            str(d / "valid.json"),
            "--metrics",
            str(d / "m1.json"),
        ],
        [
            "train-generator",
            "-p",
            "tiny-pixel3",
            "--evaluator",
            str(d / "ev.pt"),
            "--out",
            str(d / "gen.pt"),
            "--metrics",
            str(d / "m2.json"),
        ],
        [
            "frontier",
            "-p",
            "tiny-pixel3",
            "--dataset",
            str(d / "ds.parquet"),
            "--evaluator",
            str(d / "ev.pt"),
            "--generator",
            str(d / "gen.pt"),
            "--out",
            str(d / "frontier.json"),
            "--plots",
            str(d / "plots"),
            "--engine",
            str(d / "engine.skops"),
        ],
    ]
    for args in steps:
        res = runner.invoke(app, args + p)
        assert res.exit_code == 0, (args[0], res.output)
    return d


def _gen(workdir, *extra):
    args = ["generate", "-p", "tiny-pixel3", "--evaluator", str(workdir / "ev.pt"), "--generator",
            str(workdir / "gen.pt"), "--params", str(workdir / "params.yaml"), *extra]
    return CliRunner().invoke(app, args)


def test_pipeline_outputs(workdir):
    m1 = json.loads((workdir / "m1.json").read_text())
    assert len(m1["budgets_ms"]) == 4 and "val_pair_agreement" in m1
    fr = json.loads((workdir / "frontier.json").read_text())
    assert fr["satisfaction_rate"] == 1.0 and len(fr["frontier"]) == 7  # 4 trained + 3 midpoints
    assert (workdir / "plots" / "frontier.png").stat().st_size > 1000
    assert (workdir / "plots" / "latency_hist.png").stat().st_size > 1000


def test_generate_json_schema(workdir):
    res = _gen(workdir, "--budget", "12", "--budget", "20", "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)  # stderr: the note on sections this tiny file lacks
    assert len(rows) == 2
    for row, b in zip(rows, (12, 20)):
        assert set(row) >= {"platform", "budget_ms", "arch_id", "tokens", "arch", "latency_ms", "accuracy",
                            "score", "n_queried"}
        assert row["budget_ms"] == b and row["latency_ms"] <= b
        assert NB201Space().parse(row["arch"]["arch_str"]).arch_id == row["arch_id"]
    zero = json.loads(_gen(workdir, "--budget", "12", "--json", "--zero-query").stdout)
    assert zero[0]["n_queried"] == 0


def test_generate_bad_input(workdir):
    res = _gen(workdir, "--budget", "0.0001")
    assert res.exit_code == 2 and "below the cheapest architecture" in res.output
    res = CliRunner().invoke(
        app, ["generate", "-p", "pixel9", "-b", "3", "--params", str(workdir / "params.yaml")]
    )
    assert res.exit_code == 2 and "unknown platform 'pixel9'" in res.output and "tiny-pixel3" in res.output
    res = CliRunner().invoke(app, ["generate", "-p", "tiny-pixel3", "-b", "3", "--params",
                                   str(workdir / "params.yaml"), "--generator", str(workdir / "none.pt"),
                                   "--evaluator", str(workdir / "ev.pt")])
    assert res.exit_code == 2 and "missing generator checkpoint" in res.output


def test_checkpoint_mismatch(workdir, tmp_path):
    with pytest.raises(CheckpointError, match="K=4 budgets, but budgets.k is 10"):
        load_generator(workdir / "gen.pt", NB201Space(), k=10)
    with pytest.raises(CheckpointError, match="space 'nb201'"):
        load_evaluator(workdir / "ev.pt", MBV3Space())
    broken = tmp_path / "gen.pt"
    broken.write_bytes((workdir / "gen.pt").read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable generator"):
        load_generator(broken, NB201Space())


def _dataset(params, out, metrics, validation):
    return CliRunner().invoke(app, ["arch-dataset", "-p", "tiny-pixel3", "--out", str(out), "--metrics",
                                    str(metrics), "--params", str(params), "--validation", str(validation)])


def test_dataset_bad_input(workdir, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text((workdir / "params.yaml").read_text().replace("train_size: 200", "train_size: 50000"))
    out = tmp_path / "ds.parquet"
    res = _dataset(params, out, tmp_path / "m.json", workdir / "valid.json")
    assert res.exit_code == 2 and "dataset.train_size = 50000" in res.output and not out.exists()
    bad = tmp_path / "nan.csv"
    df = pd.read_csv(BENCH / "nb201.csv").head(300)
    df.loc[7, "lat_pixel3"] = float("nan")
    df.to_csv(bad, index=False)
    params.write_text((workdir / "params.yaml").read_text().replace(str(BENCH / "nb201.csv"), str(bad)))
    res = _dataset(params, out, tmp_path / "m.json", workdir / "valid.json")
    assert res.exit_code == 2 and "lat_pixel3" in res.output and not out.exists()


def test_dataset_refused_without_passed_validation(workdir, tmp_path):
    out = tmp_path / "ds.parquet"
    failed = tmp_path / "valid.json"
    report = json.loads((workdir / "valid.json").read_text())
    failed.write_text(json.dumps({**report, "success": False}))
    for report_path, msg in ((failed, "failed validation"), (tmp_path / "none.json", "no validation report")):
        res = CliRunner().invoke(app, ["arch-dataset", "-p", "tiny-pixel3", "--out", str(out), "--metrics",
                                       str(tmp_path / "m.json"), "--params", str(workdir / "params.yaml"),
                                       "--validation", str(report_path)])
        assert res.exit_code == 2 and msg in res.output and not out.exists()
