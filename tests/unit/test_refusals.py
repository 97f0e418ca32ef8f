"""Trust (issue 38), the refusals: wrong values refused the same way everywhere — one line naming the value,
setting or file (and the line for YAML), exit code 2, no traceback, params.yaml and data/devices unchanged —
and messages that name the right rows."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest
from conftest import BENCH
from test_bad_device_input import _add, _real_rows, _snapshot, device_workspace  # noqa: F401  (fixture)
from test_bad_input import _refused, _write_params
from test_trust import _measurements
from typer.testing import CliRunner

from nag.artifacts import ArtifactError, load_object
from nag.cli import app
from nag.config import ConfigError, load_params


# --- refuse what is wrong, everywhere the same way -------------------------------------------------------
@pytest.mark.parametrize("key,value,needle", [
    ("infer.seed", -1, "infer.seed = -1"),
    ("evaluator.seed", -3, "evaluator.seed = -3"),
    ("paper.seeds", [0, -1], "paper.seeds"),
    ("serve.max_budgets", 0, "serve.max_budgets = 0"),
])
def test_settings_without_a_rule_before_now_are_refused(tmp_path, key, value, needle):
    params = _write_params(tmp_path / "params.yaml", **{key: value})
    res = CliRunner().invoke(app, ["generate", "-p", "a-pixel3", "-b", "8", "--params", str(params)])
    _refused(res, str(params), needle)


def test_every_numeric_setting_has_a_rule():
    """The audit: each setting of every section has a rule, or is listed as free (paths, names, crons)."""
    import dataclasses
    import typing

    from nag.config import Params
    from nag.config.rules import FREE, RULES

    for f in dataclasses.fields(Params):
        if f.name == "platforms":
            continue
        hints = typing.get_type_hints(typing.get_type_hints(Params)[f.name])
        missing = [k for k in hints if k not in RULES.get(f.name, {}) and k not in FREE.get(f.name, ())]
        assert not missing, (f.name, missing)


@pytest.mark.parametrize("text,needle", [
    ("budgets:\n  k: 4\n  k: 5\n", "'k' appears twice"),
    ("infer:\n  pool: 8\ninfer:\n  pool: 9\n", "'infer' appears twice"),
    ("", "is empty"),
    ("platforms:\n  123:\n    kind: local\n    file: x\n", "read by YAML as int"),
    ("platforms:\n  1e5:\n    kind: local\n    file: x\n", "platform name '1e5'"),
    ("platforms:\n  yes:\n    kind: local\n    file: x\n", "read by YAML as bool"),
    ("platforms:\n  ../up:\n    kind: local\n    file: x\n", "start with a lower-case letter"),
    ("platforms:\n  g:\n    kind: imported\n    file: x.csv\n    resolution: 100000\n", "resolution"),
    ("platforms:\n  g:\n    kind: imported\n    file: x.csv\n    resolution: 224.7\n", "expected int"),
])
def test_params_refused_with_the_line_or_setting(tmp_path, text, needle):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert needle in str(err.value) and str(path) in str(err.value)
    if "twice" in needle:
        assert "lines" in str(err.value)


@pytest.mark.parametrize("name", ["123", "1e5", "010", "yes", "null", "Phone", "../x"])
def test_device_names_yaml_would_misread_are_refused(device_workspace, name):  # noqa: F811
    params, devices = device_workspace
    src = _measurements(params.parent / "m.csv")
    before = _snapshot(params, devices)
    _refused(_add(params, name, str(src)), repr(name))
    assert _snapshot(params, devices) == before


@pytest.mark.parametrize("value", ["224.7", "100000"])
def test_device_resolutions_whole_and_in_range(device_workspace, value):  # noqa: F811
    params, devices = device_workspace
    rows = _real_rows(30)
    src = params.parent / "m.csv"
    frame = rows[["ks", "e", "d"]].assign(resolution=rows["r"].astype(object),
                                          latency_ms=rows["lat_titan_xp_64"])
    frame.loc[3, "resolution"] = value
    frame.to_csv(src, index=False)
    before = _snapshot(params, devices)
    _refused(_add(params, "gpu-x", str(src)), str(src), "CSV line 5", "resolution")
    assert _snapshot(params, devices) == before


@pytest.mark.parametrize("case", ["params", "exists", "n0", "no-folder"])
def test_measure_plan_out_and_n(tmp_path, case):
    params = _write_params(tmp_path / "params.yaml")
    text = params.read_text()
    out = {"params": params, "exists": tmp_path / "plan.csv", "n0": tmp_path / "new.csv",
           "no-folder": tmp_path / "nowhere" / "p.csv"}[case]
    if case == "exists":
        out.write_text("mine\n")
    n = "0" if case == "n0" else "10"
    res = CliRunner().invoke(app, ["measure-plan", "-p", "a-pixel3", "--n", n, "--out", str(out),
                                   "--params", str(params)])
    _refused(res, "--n 0" if case == "n0" else str(out))
    assert params.read_text() == text and not (tmp_path / "nowhere").exists()
    if case == "exists":
        assert out.read_text() == "mine\n"
        res = CliRunner().invoke(app, ["measure-plan", "-p", "a-pixel3", "--n", "3", "--out", str(out),
                                       "--force", "--params", str(params)])
        assert res.exit_code == 0 and out.read_text().startswith("arch_str")


def test_fewshot_mbv3_refuses_a_reference_it_would_ignore(tmp_path):
    res = CliRunner().invoke(app, ["benchmark", "fewshot", "--space", "mbv3", "--device", "titan_xp_64",
                                   "--table", str(BENCH / "ofa_gpu_latency.csv"), "--reference",
                                   str(tmp_path / "r.csv"), "--out-dir", str(tmp_path)])
    _refused(res, "--reference")


@pytest.mark.parametrize("name,why", [("Phone3.CSV", "not a .csv"), ("notes.txt", "not a .csv"),
                                      ("link.csv", "symbolic link")])
def test_inbox_reports_what_it_will_not_read(tmp_path, name, why):
    from flows.new_device import refusal

    path = tmp_path / name
    if name == "link.csv":
        (tmp_path / "real.csv").write_text("x\n")
        path.symlink_to(tmp_path / "real.csv")
    else:
        path.write_text("x\n")
    assert why in refusal(path)
    assert refusal(tmp_path / "real.csv" if name == "link.csv" else tmp_path / "ok.csv") is None


# --- messages --------------------------------------------------------------------------------------------
def test_conflicting_duplicates_named_by_their_own_lines(tmp_path):
    from nag.latency.predictor import MeasurementError, imagenet_space, read_measurements

    rows = _real_rows(6)
    frame = rows[["ks", "e", "d"]].assign(resolution=rows["r"], latency_ms=rows["lat_titan_xp_64"])
    frame = pd.concat([frame, frame.iloc[[0]], frame.iloc[[2]].assign(latency_ms=99.0)], ignore_index=True)
    path = tmp_path / "m.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(MeasurementError) as err:
        read_measurements(path, imagenet_space())
    # line 2 and 8 are an exact duplicate (harmless); lines 4 and 9 conflict
    assert "CSV lines [4, 9]" in str(err.value)


def test_artifact_errors_name_the_file_and_the_rebuild(tmp_path):
    path = tmp_path / "cpu-torch.skops"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ArtifactError, match="is a pickle .*dvc repro -f x"):
        load_object(path, "latency model", "dvc repro -f x")
