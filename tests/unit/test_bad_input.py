"""Bad input, tried as a new user would (issue 21): each case ends with one line naming the offending
value or file and the fix, exit code 2, no traceback, and params.yaml / data/devices unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from conftest import BENCH, ROOT
from typer.testing import CliRunner

from flows.validate import main as validate_main
from nag.cli import app
from nag.config import load_params
from nag.spaces import NB201Space

# the repository's own params.yaml with tiny sizes: every section present, as a user's file would be
TINY = {"dataset": {"train_size": 150, "seed": 0}, "budgets": {"k": 4, "lo_pct": 1.0, "hi_pct": 95.0},
        "evaluator": {"hidden": 32, "steps": 40, "pairs_per_step": 128},
        "generator": {"iterations": 30}, "infer": {"pool": 128, "candidates": 8, "predictor": "ridge"}}
PLATFORMS = {"a-pixel3": {"kind": "benchmark", "file": str(BENCH / "nb201.csv"), "device": "pixel3"},
             "b-gold": {"kind": "benchmark", "file": str(BENCH / "nb201.csv"), "device": "gold_6240"}}


def _write_params(path: Path, **override) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY.items():
        raw[section] = {**raw[section], **values}
    for key, value in override.items():  # "budgets.k" -> value
        section, name = key.split(".", 1)
        raw[section][name] = value
    raw["table_platforms"], raw["supernet_platforms"], raw["platforms"] = PLATFORMS, {}, PLATFORMS
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Two tiny NB201 platforms, each trained through the stage commands (validation included)."""
    d = tmp_path_factory.mktemp("bad")
    params = ["--params", str(_write_params(d / "params.yaml"))]
    runner, validate = CliRunner(), typer.Typer()
    validate.command()(validate_main)
    for name in PLATFORMS:
        res = runner.invoke(app, ["latency", "-p", name, "--out", str(d / f"{name}.lat.parquet"), "--model",
                                  str(d / f"{name}.lat.skops"), "--metrics", str(d / f"{name}.lat.json"),
                                  "--plot", str(d / f"{name}.lat.png"), *params])
        assert res.exit_code == 0, res.output
        res = runner.invoke(
            validate,
            [
                "-p",
                name,
                "--latency",
                str(d / f"{name}.lat.parquet"),
                "--metrics",
                str(d / f"{name}.lat.json"),
                "--out",
                str(d / f"{name}.valid.json"),
                *params,
            ],
        )
        assert res.exit_code == 0, res.output
        f = {k: str(d / f"{name}.{k}") for k in ("ds.parquet", "valid.json", "ev.pt", "gen.pt")}
        for args in (["arch-dataset", "--out", f["ds.parquet"], "--validation", f["valid.json"]],
                     ["train-evaluator", "--dataset", f["ds.parquet"], "--out", f["ev.pt"],
                      "--validation", f["valid.json"]],
                     ["train-generator", "--evaluator", f["ev.pt"], "--out", f["gen.pt"]]):
            args = [*args, "--metrics", str(d / "m.json")]
            res = runner.invoke(app, [*args, "-p", name, *params])
            assert res.exit_code == 0, (args[0], res.output)
    return d


def _refused(res, *needles: str) -> str:
    """Exit code 2, one line of output, no traceback, and every needle in that line."""
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), res.exception  # not an uncaught error
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _generate(d: Path, params: Path, platform: str = "a-pixel3", ckpt: str = "a-pixel3", *extra: str):
    return CliRunner().invoke(
        app,
        [
            "generate",
            "-p",
            platform,
            "-b",
            "8",
            "--evaluator",
            str(d / f"{ckpt}.ev.pt"),
            "--generator",
            str(d / f"{ckpt}.gen.pt"),
            "--params",
            str(params),
            *extra,
        ],
    )


# --- 2: out-of-range params, refused the same way by every command -------------------------------------
@pytest.mark.parametrize(
    "key,value,needle",
    [
        ("budgets.k", 0, "budgets.k = 0"),
        ("budgets.k", -3, "budgets.k = -3"),
        ("budgets.lo_pct", 150, "budgets.lo_pct = 150"),
        ("evaluator.lr", -1, "evaluator.lr = -1"),
    ],
)
@pytest.mark.parametrize("command", ["train-evaluator", "generate"])
def test_out_of_range_params(project, tmp_path, key, value, needle, command):
    params = _write_params(tmp_path / "my-params.yaml", **{key: value})
    text = params.read_text()
    if command == "generate":
        res = _generate(project, params)
    else:
        res = CliRunner().invoke(app, ["train-evaluator", "-p", "a-pixel3", "--dataset",
                                       str(project / "a-pixel3.ds.parquet"), "--out", str(tmp_path / "ev.pt"),
                                       "--metrics", str(tmp_path / "m.json"), "--params", str(params),
                                       "--validation", str(project / "a-pixel3.valid.json")])
    _refused(res, needle, str(params))
    assert params.read_text() == text and not (tmp_path / "ev.pt").exists()


def test_platform_errors_name_platforms_by_name(tmp_path):
    params = _write_params(tmp_path / "p.yaml")
    raw = yaml.safe_load(params.read_text())
    raw["table_platforms"]["b-gold"]["threads"] = -2
    params.write_text(yaml.safe_dump(raw))
    res = CliRunner().invoke(app, ["generate", "-p", "a-pixel3", "-b", "8", "--params", str(params)])
    line = _refused(res, "platforms.b-gold.threads = -2", str(params))
    assert "platforms[" not in line


def test_missing_sections_take_defaults_and_say_so(tmp_path):
    params = tmp_path / "short.yaml"
    params.write_text(
        yaml.safe_dump({"platforms": {k: {**v, "kind": "benchmark"} for k, v in PLATFORMS.items()}})
    )
    notes = []
    cfg = load_params(params, note=notes.append)
    assert cfg.budgets.k == 10 and len(notes) == 1 and "budgets" in notes[0] and "infer" in notes[0]


# --- 3, 4, 6: checkpoints that do not belong ---------------------------------------------------------------
def test_checkpoint_of_another_platform(project):
    _refused(_generate(project, project / "params.yaml", "a-pixel3", "b-gold"), "'b-gold'", "'a-pixel3'")


def test_checkpoint_of_another_budget_grid(project, tmp_path):
    params = _write_params(tmp_path / "k5.yaml", **{"budgets.k": 5})
    _refused(_generate(project, params), "K=4", "budgets.k is 5")


@pytest.mark.parametrize("case", ["folder", "empty"])
def test_unreadable_checkpoint(project, tmp_path, case):
    bad = tmp_path / "ev.pt"
    if case == "folder":
        bad.mkdir()
    else:
        bad.write_bytes(b"")
    res = CliRunner().invoke(
        app,
        [
            "generate",
            "-p",
            "a-pixel3",
            "-b",
            "8",
            "--evaluator",
            str(bad),
            "--generator",
            str(project / "a-pixel3.gen.pt"),
            "--params",
            str(project / "params.yaml"),
        ],
    )
    _refused(res, str(bad), "is a folder" if case == "folder" else "is empty (0 bytes)")


# --- 8: NB201 cells that cannot see their input ------------------------------------------------------------
def test_cells_without_input_path_are_no_answer(project, nb201_table):
    from nag.platforms import resolve

    cfg = load_params(project / "params.yaml")
    plat = resolve(cfg.platform("a-pixel3"))
    space = NB201Space()
    dead = np.array([not space.sees_input(a) for a in nb201_table.archs])
    acc = nb201_table.accuracy("acc_cifar10")
    assert dead.sum() == 341 and (acc[dead] == 10.0).all()  # chance level, every one of them
    real_lat = nb201_table.latency("pixel3")[~dead]
    assert plat.cheapest == pytest.approx(real_lat.min()) and plat.cheapest > 1.0
    data, _ = plat.make_dataset(cfg.dataset)
    assert all(space.sees_input(a) for a in data.archs)
    budgets = json.loads((project / "m.json").read_text())  # the last trained: b-gold's generator metrics
    assert min(budgets["budgets_ms"]) > 0.5
    res = _generate(project, project / "params.yaml", "a-pixel3", "a-pixel3", "--json")
    assert res.exit_code == 0, res.output
    picks = json.loads(res.stdout)
    assert all(space.sees_input(space.parse(p["arch"]["arch_str"])) for p in picks)
    below = CliRunner().invoke(
        app,
        [
            "generate",
            "-p",
            "a-pixel3",
            "-b",
            "0.5",
            "--evaluator",
            str(project / "a-pixel3.ev.pt"),
            "--generator",
            str(project / "a-pixel3.gen.pt"),
            "--params",
            str(project / "params.yaml"),
        ],
    )
    _refused(
        below, "below the cheapest architecture", f"{plat.cheapest:.4g} ms", "sees its input", "arch_str"
    )


def test_malformed_yaml_names_the_line(tmp_path):
    params = tmp_path / "broken.yaml"
    params.write_text("budgets:\n  k: 4\n  lo_pct: [1,\n")
    res = CliRunner().invoke(app, ["generate", "-p", "a-pixel3", "-b", "8", "--params", str(params)])
    _refused(res, str(params), "at line 4", "fix its syntax")
