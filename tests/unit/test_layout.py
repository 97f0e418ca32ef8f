"""The per-platform artifact layout is written once (platforms/layout.py) and dvc.yaml agrees with it: every
per-platform stage reads and writes exactly the layout's paths, and passes them on its command line."""

from __future__ import annotations

import pytest
from conftest import ROOT

from nag.config import load_params
from nag.platforms.layout import PlatformLayout

# stage -> (layout fields among its outputs (outs, metrics, plots), layout fields among its deps)
STAGES = {
    "latency": (("latency", "latency_model", "latency_metrics", "latency_plot"), ()),
    "table": (("latency", "latency_model", "dataset", "latency_metrics", "latency_plot"), ()),
    "validate": (("validation",), ("latency", "latency_metrics")),
    "arch_dataset": (("dataset", "dataset_metrics"), ("latency", "latency_model", "validation")),
    "train_evaluator": (("evaluator", "evaluator_metrics"), ("dataset", "validation")),
    "train_generator": (("generator", "generator_metrics"), ("evaluator",)),
    "frontier": (("frontier", "engine"), ("dataset", "latency", "latency_model", "evaluator", "generator")),
    "finetune": (
        ("subnets", "finetune_metrics"),
        ("frontier", "latency", "latency_model", "evaluator", "generator"),
    ),
}
BY_GROUP = {
    "table_platforms": {"table", "validate", "train_evaluator", "train_generator", "frontier"},
    "supernet_platforms": {
        "latency",
        "validate",
        "arch_dataset",
        "train_evaluator",
        "train_generator",
        "frontier",
        "finetune",
    },
}


@pytest.fixture(scope="module")
def stages():
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return {s.name: s for s in repo.index.stages if "@" in s.name and s.dvcfile.relpath == "dvc.yaml"}


def _rel(outs) -> set[str]:
    return {o.def_path for o in outs}


def test_every_platform_has_exactly_its_types_stages(stages):
    params = load_params(ROOT / "params.yaml")
    assert {p.group for p in params.platforms} == set(BY_GROUP)  # the default pipeline holds both types
    for p in params.platforms:
        have = {name.split("@")[0] for name in stages if name.split("@")[1] == p.name}
        assert have == BY_GROUP[p.group], (p.name, have)


def test_stage_paths_are_the_layouts(stages):
    for name, stage in stages.items():
        kind, platform = name.split("@")
        lay = PlatformLayout.of(platform)
        writes, reads = STAGES[kind]
        outs, deps = _rel(stage.outs), _rel(stage.deps)
        for field in writes:
            path = getattr(lay, field).as_posix()
            assert path in outs or any(o.startswith(path + "/") for o in outs), (name, field, path, outs)
        for field in reads:
            assert getattr(lay, field).as_posix() in deps, (name, field, deps)
        for field in (*writes, *reads):  # and the command is told those paths, not its own defaults
            assert getattr(lay, field).as_posix() in stage.cmd, (name, field)
