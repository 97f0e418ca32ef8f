"""The real dvc.yaml on a tiny config: the whole chain runs, a second repro runs nothing, and changing
only a generator parameter reruns only generator@p and what follows."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import yaml
from conftest import BENCH, ROOT, write_idx

pytestmark = pytest.mark.slow

TINY = {
    "data": {"source": "fm", "val_size": 100, "seed": 0},
    "dataset": {"train_size": 150, "seed": 0},
    "budgets": {"k": 4, "lo_pct": 5, "hi_pct": 95},
    "evaluator": {"hidden": 32, "steps": 40, "pairs_per_step": 128},
    "generator": {"iterations": 20},
    "infer": {"pool": 64, "candidates": 8, "predictor": "ridge"},
    "supernet": {"stage_strides": [2, 2], "batch_size": 16, "images_per_epoch": 32, "calib_images": 16,
                 "eval_subnets": 2, "threads": 1, "device": "cpu",
                 "phases": [{"name": "full", "epochs": 1, "lr": 0.01},
                            {"name": "all", "epochs": 1, "lr": 0.01, "kernels": [3, 5, 7], "depths": [2, 3, 4],
                             "expands": [3, 4, 6]}]},
    "archs": {"count": 30, "seed": 0},
    "accuracy": {"measured": 12, "repeats": 3, "calib_images": 16, "predictors": ["ridge"], "batch_size": 32,
                 "checkpoint_every": 3},
    "platforms": {"tiny-pixel3": {"kind": "benchmark", "file": "data/benchmarks/nb201.csv", "device": "pixel3",
                                  "metric": "acc_cifar10"}},
}


def repro(root) -> list[str]:
    """Run ``dvc repro`` and return the stages it ran."""
    res = subprocess.run(["dvc", "repro"], cwd=root, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return re.findall(r"Running stage '([^']+)'", res.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("dvc")
    for folder in ("nag", "flows"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dvc.yaml", root / "dvc.yaml")
    (root / "data/benchmarks").mkdir(parents=True)
    shutil.copy(BENCH / "nb201.csv", root / "data/benchmarks/nb201.csv")
    (root / "data/devices").mkdir()
    fm = root / "fm"
    fm.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 300), ("t10k", 60)):  # class = the bright quadrant: learnable in a few steps
        y = np.arange(n) % 3
        x = rng.integers(0, 60, (n, 28, 28))
        for i, c in enumerate(y):
            x[i, (c // 2) * 14:(c // 2 + 1) * 14, (c % 2) * 14:(c % 2 + 1) * 14] += 150
        write_idx(fm / f"{split}-images-idx3-ubyte", x)
        write_idx(fm / f"{split}-labels-idx1-ubyte", y)
    base = yaml.safe_load((ROOT / "params.yaml").read_text())  # DVC wants every tracked key present
    for section, values in TINY.items():
        base[section] = values if section == "platforms" else {**base.get(section, {}), **values}
    (root / "params.yaml").write_text(yaml.safe_dump(base))
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "config", "core.autostage", "false"]):
        subprocess.run(cmd, cwd=root, check=True)
    return root


def test_whole_chain_then_noop_then_generator_change(project):
    ran = repro(project)
    for stage in ("prepare", "train_supernet", "sample_archs", "accuracy", "latency@tiny-pixel3",
                  "validate@tiny-pixel3", "arch_dataset@tiny-pixel3", "evaluator@tiny-pixel3",
                  "generator@tiny-pixel3", "generate@tiny-pixel3"):
        assert stage in ran, (stage, ran)
    frontier = json.loads((project / "reports/frontier/tiny-pixel3.json").read_text())
    assert frontier["satisfaction_rate"] == 1.0
    assert (project / "reports/plots/tiny-pixel3/frontier.csv").read_text().startswith("budget_ms,")

    assert set(repro(project)) <= {"machine"}  # always_changed; nothing depends on it here

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["generator"]["iterations"] = 25
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert set(repro(project)) - {"machine"} == {"generator@tiny-pixel3", "generate@tiny-pixel3"}


def test_empty_platform_list_is_a_clear_error(project, tmp_path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump({**params, "platforms": {}}))
    res = subprocess.run(["nag", "arch-dataset", "-p", "tiny-pixel3", "--out", str(tmp_path / "x.parquet"),
                          "--metrics", str(tmp_path / "m.json"), "--params", str(bad)],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "platforms: is empty" in res.stderr
