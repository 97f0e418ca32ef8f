"""A tiny, real NAG project in a temporary folder (the repo's dvc.yaml, nag/ and flows/, a learnable
synthetic Fashion-MNIST-shaped dataset, tiny sizes), for the DVC and Prefect flow tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import BENCH, ROOT, write_idx

TINY = {
    "data": {"source": "fm", "val_size": 100, "seed": 0},
    "dataset": {"train_size": 150, "seed": 0},
    "budgets": {"k": 4, "lo_pct": 5, "hi_pct": 95},
    "evaluator": {"hidden": 32, "steps": 40, "pairs_per_step": 128},
    "generator": {"iterations": 20},
    "infer": {"pool": 64, "candidates": 8, "predictor": "ridge", "predictor_mbv3": "ridge"},
    "supernet": {
        "batch_size": 16,
        "images_per_epoch": 32,
        "calib_images": 16,
        "eval_subnets": 2,
        "reference_images": 32,  # the smallest trained alone: exercised, at the tiny size
        "threads": 1,
        "device": "cpu",
        "phases": [
            {"name": "full", "epochs": 1, "lr": 0.01},
            {
                "name": "all",
                "epochs": 1,
                "lr": 0.01,
                "kernels": [3, 5, 7],
                "depths": [2, 3, 4],
                "expands": [3, 4, 6],
            },
        ],
    },
    "archs": {"count": 30, "seed": 0},
    "accuracy": {
        "measured": 12,
        "repeats": 3,
        "calib_images": 16,
        "predictors": ["ridge"],
        "batch_size": 32,
        "checkpoint_every": 3,
    },
    "finetune": {"images_per_epoch": 32, "batch_size": 16, "calib_images": 16, "onnx_check_images": 8},
    "registry": {"grid_points": 4, "lock_timeout_s": 5.0},
    "platforms": {
        "tiny-pixel3": {
            "kind": "benchmark",
            "file": "data/benchmarks/nb201.csv",
            "device": "pixel3",
            "metric": "acc_cifar10",
        }
    },
}


def make_project(root: Path, platforms: dict | None = None, **sections) -> Path:
    """Lay out the project in ``root`` (git + dvc initialised); ``sections`` override TINY's."""
    for folder in ("nag", "flows"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(
        ROOT / "dvc.yaml", root / "dvc.yaml"
    )  # the product pipeline (the paper's: benchmarks/dvc.yaml)
    (root / "data/benchmarks").mkdir(parents=True)
    for table in ("nb201.csv", "ofa_gpu_latency.csv"):  # the latter: latency@'s few-row reference table
        shutil.copy(BENCH / table, root / "data/benchmarks" / table)
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
    for group in ("platforms", "table_platforms", "supernet_platforms"):
        base.pop(group)
    for section, values in {**TINY, **sections}.items():
        if section != "platforms":
            base[section] = {**base.get(section, {}), **values}
    (root / "params.yaml").write_text(yaml.safe_dump(base, sort_keys=False)
                                      + platforms_yaml(platforms or TINY["platforms"]))
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "config", "core.autostage", "false"]):
        subprocess.run(cmd, cwd=root, check=True)
    return root


def platforms_yaml(platforms: dict) -> str:
    """``platforms`` (name -> settings with kind) as params.yaml writes them: the two typed mappings and
    their union (YAML anchors and merge, as the repository's params.yaml)."""
    groups = {"table_platforms": {}, "supernet_platforms": {}}
    for name, v in platforms.items():
        groups["table_platforms" if v.get("kind", "benchmark") == "benchmark" else "supernet_platforms"][
            name
        ] = v
    out = []
    for group, anchor in (("table_platforms", "tables"), ("supernet_platforms", "supernet")):
        body = yaml.safe_dump(groups[group], sort_keys=False) if groups[group] else "{}\n"
        out.append(f"{group}: &{anchor}" + ("\n" + "".join(f"  {line}\n" for line in body.splitlines())
                                           if groups[group] else " {}\n"))
    return "".join(out) + "platforms:\n  <<: [*tables, *supernet]\n"


def device_file(path: Path, rows: int = 300, column: str = "lat_titan_xp_64", skip: int = 0) -> Path:
    """A real device's measurement file (``rows`` of HELP's OFA GPU table, one latency column)."""
    src = pd.read_csv(BENCH / "ofa_gpu_latency.csv", skiprows=range(1, skip + 1), nrows=rows)
    out = src[["ks", "e", "d"]].assign(resolution=src["r"], latency_ms=src[column])
    out.to_csv(path, index=False)
    return path


def aged(path: Path) -> Path:
    """``path`` with an mtime a minute ago (the inbox leaves files written just now for the next scan)."""
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


def planned_mbv3_rows(root, plan_args, out, column="titan_xp_32"):
    """A plan from `nag measure-plan` on the mbv3 space, its latency filled in by the OFA table's
    predictor of a real GPU column (the project's cached reference predictors: what latency@ loads too)."""
    from nag.latency.predictor import device_features, imagenet_space
    from nag.platforms.mbv3_device import reference_log_latency, reference_predictors

    res = subprocess.run(["nag", "measure-plan", *plan_args, "--out", str(out)], cwd=root,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    plan = pd.read_csv(out)
    space = imagenet_space()
    archs = [space.from_ofa(*([int(v) for v in str(r[c]).split()] for c in ("ks", "e", "d")))
             for _, r in plan.iterrows()]
    names, cols = reference_predictors(str(root / "data/benchmarks/ofa_gpu_latency.csv"),
                                       cache=str(root / "models/cache"))
    log_lat = reference_log_latency([cols[names.index(column)]],
                                    device_features(archs, plan["resolution"].to_numpy()))[:, 0]
    plan.assign(latency_ms=np.round(np.exp(log_lat), 4)).to_csv(out, index=False)
    return aged(out)


def planned_nb201_rows(root, plan_args, out, column="lat_samsung_s7"):
    """A plan from `nag measure-plan`, its latency filled in from a real device column of the table."""
    res = subprocess.run(["nag", "measure-plan", *plan_args, "--out", str(out)], cwd=root,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(root / "data/benchmarks/nb201.csv").set_index("arch_str")[column]
    plan = pd.read_csv(out)
    plan.assign(latency_ms=table.loc[plan["arch_str"]].to_numpy()).to_csv(out, index=False)
    return aged(out)


def client_for(root):
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlruns/mlflow.db'}"
    return MlflowClient(uri, uri)


def dvc_changed(root) -> set[str]:
    out = subprocess.run(
        ["dvc", "status", "--json"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out or "{}")) - {"machine"}


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server per session (the flow tests share it)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):  # a busy 2-core machine starts it slowly
        yield
