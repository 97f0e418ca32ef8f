"""The real dvc.yaml on a tiny config: a table-backed platform's chain stands alone (no supernet, no
measurement), the whole pipeline runs, a second repro runs nothing, and changing only a generator parameter
reruns only train_generator@p and what follows."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml
from tiny_project import make_project

pytestmark = pytest.mark.slow

def repro(root, *targets: str) -> list[str]:
    """Run ``dvc repro`` (of ``targets``) and return the stages it ran."""
    res = subprocess.run(["dvc", "repro", *targets], cwd=root, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return re.findall(r"Running stage '([^']+)'", res.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("dvc"))


def test_table_chain_alone_then_whole_pipeline_then_noop_then_generator_change(project):
    chain = ["table@tiny-pixel3", "validate@tiny-pixel3", "train_evaluator@tiny-pixel3",
             "train_generator@tiny-pixel3", "frontier@tiny-pixel3"]
    assert (
        repro(project, "frontier@tiny-pixel3") == chain
    )  # the table and params alone: no supernet, nothing timed
    frontier = json.loads((project / "reports/frontier/tiny-pixel3.json").read_text())
    assert frontier["satisfaction_rate"] == 1.0
    assert (project / "reports/plots/tiny-pixel3/frontier.csv").read_text().startswith("budget_ms,")
    ran = repro(project)
    for stage in ("prepare", "train_supernet", "sample_archs", "accuracy"):
        assert stage in ran, (stage, ran)
    assert not set(ran) & set(chain) and not any(s.startswith(("finetune@", "latency@")) for s in ran), ran

    assert set(repro(project)) <= {"machine"}  # always_changed; nothing depends on it here

    params = yaml.safe_load((project / "params.yaml").read_text())  # (anchors expanded: still the union)
    params["generator"]["iterations"] = 25
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert set(repro(project)) - {"machine"} == {"train_generator@tiny-pixel3", "frontier@tiny-pixel3"}


def test_empty_platform_list_is_a_clear_error(project, tmp_path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    bad = tmp_path / "params.yaml"
    bad.write_text(
        yaml.safe_dump({**params, "platforms": {}, "table_platforms": {}, "supernet_platforms": {}})
    )
    res = subprocess.run(["nag", "train-evaluator", "-p", "tiny-pixel3", "--out", str(tmp_path / "x.pt"),
                          "--metrics", str(tmp_path / "m.json"), "--params", str(bad)],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "both empty" in res.stderr and str(bad) in res.stderr
