"""The real dvc.yaml on a tiny config: the whole chain runs, a second repro runs nothing, and changing
only a generator parameter reruns only generator@p and what follows."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml
from tiny_project import make_project

pytestmark = pytest.mark.slow

def repro(root) -> list[str]:
    """Run ``dvc repro`` and return the stages it ran."""
    res = subprocess.run(["dvc", "repro"], cwd=root, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return re.findall(r"Running stage '([^']+)'", res.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("dvc"))


def test_whole_chain_then_noop_then_generator_change(project):
    ran = repro(project)
    for stage in ("prepare", "train_supernet", "sample_archs", "accuracy", "latency@tiny-pixel3",
                  "validate@tiny-pixel3", "arch_dataset@tiny-pixel3", "evaluator@tiny-pixel3",
                  "generator@tiny-pixel3", "generate@tiny-pixel3", "finetune@tiny-pixel3"):
        assert stage in ran, (stage, ran)
    frontier = json.loads((project / "reports/frontier/tiny-pixel3.json").read_text())
    assert frontier["satisfaction_rate"] == 1.0
    assert (project / "reports/plots/tiny-pixel3/frontier.csv").read_text().startswith("budget_ms,")
    index = json.loads((project / "models/subnets/tiny-pixel3/index.json").read_text())
    assert index["applicable"] is False and "no supernet" in index["reason"]  # NB201 cells: nothing to finetune

    assert set(repro(project)) <= {"machine"}  # always_changed; nothing depends on it here

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["generator"]["iterations"] = 25
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert set(repro(project)) - {"machine"} == {"generator@tiny-pixel3", "generate@tiny-pixel3",
                                                 "finetune@tiny-pixel3"}


def test_empty_platform_list_is_a_clear_error(project, tmp_path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump({**params, "platforms": {}}))
    res = subprocess.run(["nag", "arch-dataset", "-p", "tiny-pixel3", "--out", str(tmp_path / "x.parquet"),
                          "--metrics", str(tmp_path / "m.json"), "--params", str(bad)],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "platforms: is empty" in res.stderr
