"""sample_archs and the accuracy stage on the tiny supernet: flags, predictor report, resume by arch_id,
and the CLI commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tiny_supernet import TINY_ACC, TINY_ARCHS, make_prepared, tiny_cfg, write_tiny_params
from typer.testing import CliRunner

from nag.cli import app
from nag.config import PhaseConfig
from nag.method.archdata import DataError
from nag.spaces import MBV3Space
from nag.stages.accuracy import run as run_accuracy
from nag.stages.sample_archs import run as run_sample_archs
from nag.supernet.archs import load_archs
from nag.supernet.checkpoint import save_supernet
from nag.supernet.data import make_space
from nag.supernet.supernet import Supernet


@pytest.fixture
def setup(tmp_path: Path):
    prepared = make_prepared(tmp_path / "prepared")
    space = make_space(tiny_cfg(), prepared)
    run_sample_archs(space, TINY_ARCHS, tmp_path / "archs.parquet")
    save_supernet(tmp_path / "supernet.pt", Supernet(space), (0.2, 0.3))
    return space, prepared, tmp_path


def test_sample_archs_table(setup):
    space, _, tmp = setup
    df, archs = load_archs(tmp / "archs.parquet", space)
    assert len(df) == 40 and df["arch_id"].is_unique and (df["space"] == "mbv3-2s").all()
    assert [
        space.from_ofa(*(list(map(int, r[c].split())) for c in ("ks", "e", "d"))) for _, r in df.iterrows()
    ] == archs
    assert (df["madds"] > 0).all() and (df["params"] > 0).all()
    with pytest.raises(DataError, match="space"):
        load_archs(tmp / "archs.parquet", MBV3Space())


def test_accuracy_stage_flags_rows_and_resumes(setup):
    space, prepared, tmp = setup
    out, work = tmp / "acc.parquet", tmp / "acc.work.json"
    m = run_accuracy(space, TINY_ACC, tmp / "archs.parquet", tmp / "supernet.pt", prepared, out, work)
    table = pd.read_parquet(out)
    assert len(table) == 40 and table["source"].value_counts().to_dict() == {"predicted": 28, "measured": 12}
    assert table["accuracy"].between(0, 100).all()
    assert m["n_measured"] == 12 and m["resumed_measurements"] == 0 and m["noise"]["n"] == 4
    assert m["predictor"]["chosen"] in ("ridge", "rf") and "kendall_tau" in m["predictor"]
    assert "noise_ceiling_kendall_tau" in m["predictor"]
    # a rerun measures nothing again: everything comes from the work file
    again = run_accuracy(space, TINY_ACC, tmp / "archs.parquet", tmp / "supernet.pt", prepared, out, work)
    assert again["resumed_measurements"] == 12 and again["new_measurements"] == 0
    assert pd.read_parquet(out).query("source == 'measured'").equals(table.query("source == 'measured'"))
    # a partial work file (an interrupted run) is completed, not redone
    state = json.loads(work.read_text())
    state["acc"] = dict(list(state["acc"].items())[:5])
    work.write_text(json.dumps(state))
    part = run_accuracy(space, TINY_ACC, tmp / "archs.parquet", tmp / "supernet.pt", prepared, out, work)
    assert part["resumed_measurements"] == 5 and part["new_measurements"] == 7
    # another supernet invalidates the measurements
    save_supernet(tmp / "supernet.pt", Supernet(space), (0.1, 0.3))
    fresh = run_accuracy(space, TINY_ACC, tmp / "archs.parquet", tmp / "supernet.pt", prepared, out, work)
    assert fresh["resumed_measurements"] == 0


def test_cli_supernet_commands(tmp_path: Path):
    prepared = make_prepared(tmp_path / "prepared")
    params = write_tiny_params(
        tmp_path / "params.yaml",
        phases=(PhaseConfig("full", 1, 0.05), PhaseConfig("kernel", 1, 0.02, kernels=(3, 5, 7))),
    )
    runner = CliRunner()
    common = ["--params", str(params), "--prepared", str(prepared)]
    r = runner.invoke(
        app,
        [
            "train-supernet",
            *common,
            "--out",
            str(tmp_path / "s.pt"),
            "--work",
            str(tmp_path / "w"),
            "--metrics",
            str(tmp_path / "sm.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["sample-archs", *common, "--out", str(tmp_path / "a.parquet"),
                            "--metrics", str(tmp_path / "am.json")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["accuracy", *common, "--archs", str(tmp_path / "a.parquet"), "--supernet",
                            str(tmp_path / "s.pt"), "--out", str(tmp_path / "acc.parquet"),
                            "--work", str(tmp_path / "acc.json"), "--metrics", str(tmp_path / "accm.json")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "accm.json").read_text())["n_measured"] == 12
    # a checkpoint of another width: one readable line, exit 2
    wide = write_tiny_params(tmp_path / "wide.yaml", width_mult=0.5)
    r = runner.invoke(app, ["accuracy", "--params", str(wide), "--prepared", str(prepared), "--archs",
                            str(tmp_path / "a.parquet"), "--supernet", str(tmp_path / "s.pt"),
                            "--out", str(tmp_path / "x.parquet"), "--metrics", str(tmp_path / "x.json")])
    assert r.exit_code == 2 and "width_mult" in r.output
    assert not (tmp_path / "x.parquet").exists()
