"""Progressive shrinking on the tiny config: it learns, resumes to the same result after an
interruption, refuses bad checkpoints and bad data, and runs under torchrun with 2 CPU processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_supernet import TINY_PHASES, make_prepared, tiny_cfg, write_tiny_params

from nag.config import ConfigError, PhaseConfig
from nag.data.fashion_mnist import DatasetError
from nag.method.checkpoint import CheckpointError
from nag.spaces import MBV3Space
from nag.stages.train_supernet import run as run_train_supernet
from nag.supernet.checkpoint import load_supernet, save_supernet
from nag.supernet.data import load_images, make_macro, make_space, read_meta
from nag.supernet.sampling import step_archs, step_plan
from nag.supernet.supernet import Supernet
from nag.supernet.train import check_schedule, train_supernet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    return make_prepared(tmp_path / "prepared")


def _state(net: Supernet) -> dict:
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_training_learns_and_writes_phase_checkpoints(prepared, tmp_path):
    cfg = tiny_cfg()
    metrics = run_train_supernet(
        cfg, prepared, tmp_path / "supernet.pt", tmp_path / "work", log=lambda s: None
    )
    assert [h["phase"] for h in metrics["phases"]] == ["full", "kernel", "kernel", "depth", "expand"]
    assert sorted(p.name for p in (tmp_path / "work").glob("phase-*.pt")) == [
        "phase-0-full.pt", "phase-1-kernel.pt", "phase-2-depth.pt", "phase-3-expand.pt"]
    assert metrics["test_acc_largest"] > 50 and metrics["test_acc_smallest"] > 40  # 3 classes: chance 33 %
    assert len(metrics["random_subnets"]["test_acc"]) == 3
    assert metrics["eval_noise"]["n"] == 3 and metrics["subnet_images_per_s"] > 0
    net, norm = load_supernet(tmp_path / "supernet.pt", make_space(cfg, prepared))
    assert not net.training and len(norm) == 2


@pytest.mark.parametrize("options", [
    {},  # random sampling, SGD
    # the default recipe's options: sandwich with a random subnet, in-place distillation, AdamW, dropout
    {"sampling": "sandwich", "subnets_per_step": 3, "distill": True, "optimizer": "adamw", "dropout": 0.1},
], ids=["random-sgd", "sandwich-distill-adamw"])
def test_interrupted_run_resumes_to_the_same_weights(prepared, tmp_path, options):
    cfg = tiny_cfg(**options)
    space = make_space(cfg, prepared)
    quiet = lambda s: None  # noqa: E731
    full, _ = train_supernet(space, cfg, prepared, tmp_path / "a", log=quiet)

    def interrupt(phase, epoch, step):
        if (phase, epoch, step) == (1, 1, 1):  # mid-epoch, in the second epoch of the kernel phase
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_supernet(space, cfg, prepared, tmp_path / "b", on_step=interrupt, log=quiet)
    last = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    assert last["progress"]["phase"] == 1 and last["progress"]["epoch"] == 1
    logs = []
    resumed, summary = train_supernet(space, cfg, prepared, tmp_path / "b", log=logs.append)
    assert any("resuming" in m for m in logs)
    assert len(summary["history"]) == 5
    a, b = _state(full.net), _state(resumed.net)
    for k in a:  # bit for bit: every draw is seeded and the optimizer state is restored
        assert torch.equal(a[k], b[k]), k


def test_truncated_resume_checkpoint_is_an_error_not_a_retrain(prepared, tmp_path):
    cfg = tiny_cfg(phases=(PhaseConfig("full", 1, 0.05),))
    work = tmp_path / "work"
    work.mkdir()
    (work / "last.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="delete"):
        train_supernet(make_space(cfg, prepared), cfg, prepared, work, log=lambda s: None)
    assert (work / "last.pt").read_bytes() == b"PK\x03\x04 truncated"


def test_changed_settings_start_fresh_and_keep_the_old_checkpoint(prepared, tmp_path):
    cfg = tiny_cfg(phases=(PhaseConfig("full", 1, 0.05),))
    space = make_space(cfg, prepared)
    train_supernet(space, cfg, prepared, tmp_path / "work", log=lambda s: None)
    logs = []
    other = tiny_cfg(phases=(PhaseConfig("full", 1, 0.01),))
    train_supernet(space, other, prepared, tmp_path / "work", log=logs.append)
    assert any("other supernet settings" in m for m in logs)
    assert len(list(tmp_path.glob("work.stale-*"))) == 1


def test_checkpoint_for_another_width_is_refused(prepared, tmp_path):
    cfg = tiny_cfg()
    space = make_space(cfg, prepared)
    save_supernet(tmp_path / "s.pt", Supernet(space), (0.0, 1.0))
    wider = MBV3Space(make_macro(tiny_cfg(width_mult=0.5), read_meta(prepared)))
    with pytest.raises(CheckpointError, match="width_mult: checkpoint 0.25 vs params 0.5"):
        load_supernet(tmp_path / "s.pt", wider)
    five = MBV3Space(make_macro(tiny_cfg(stage_strides=(2, 2, 2, 1, 2)), read_meta(prepared)))
    with pytest.raises(CheckpointError, match="space: checkpoint 'mbv3-2s' vs params 'mbv3'"):
        load_supernet(tmp_path / "s.pt", five)
    (tmp_path / "cut.pt").write_bytes((tmp_path / "s.pt").read_bytes()[:500])
    with pytest.raises(CheckpointError, match="not a readable"):
        load_supernet(tmp_path / "cut.pt", space)


def test_bad_data_and_schedules_are_refused(tmp_path):
    bad = make_prepared(tmp_path / "bad")
    np.savez_compressed(bad / "train.npz", x=np.zeros((4, 16, 16), np.uint8), y=np.array([0, 1, 7, 2]))
    with pytest.raises(DatasetError, match="labels 0..7 but the data declares 3 classes"):
        load_images(bad, "train", 3)
    np.savez_compressed(bad / "train.npz", x=np.zeros((0, 16, 16), np.uint8), y=np.zeros(0, np.int64))
    with pytest.raises(DatasetError, match="empty"):
        load_images(bad, "train", 3)
    with pytest.raises(DatasetError, match="supernet.input_size is 28"):
        make_space(tiny_cfg(input_size=28), bad)
    good = make_prepared(tmp_path / "good")
    for phases, msg in (((), "empty"), ((PhaseConfig("x", 1, 0.1, kernels=(9,)),), "kernels")):
        cfg = tiny_cfg(phases=phases)
        with pytest.raises(ConfigError, match=msg):
            train_supernet(make_space(cfg, good), cfg, good, tmp_path / "w", log=lambda s: None)


def test_in_place_distillation_trains(prepared, tmp_path):
    cfg = tiny_cfg(
        distill=True, optimizer="adamw", phases=(PhaseConfig("kernel", 1, 0.003, kernels=(3, 5, 7)),)
    )
    trainer, summary = train_supernet(
        make_space(cfg, prepared), cfg, prepared, tmp_path / "w", log=lambda s: None
    )
    assert np.isfinite(summary["history"][0]["loss"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_cpu_processes(prepared, tmp_path):
    params = write_tiny_params(  # the default recipe's rules: every rank must draw the same subnets
        tmp_path / "params.yaml",
        phases=(PhaseConfig("full", 1, 0.05), PhaseConfig("kernel", 1, 0.02, kernels=(3, 5, 7))),
        sampling="sandwich", subnets_per_step=4, distill=True, optimizer="adamw",
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        "-m",
        "nag.cli",
        "train-supernet",
        "--params",
        str(params),
        "--prepared",
        str(prepared),
        "--out",
        str(tmp_path / "s.pt"),
        "--work",
        str(tmp_path / "work"),
        "--metrics",
        str(tmp_path / "m.json"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["world_size"] == 2 and metrics["ranks_in_sync"] is True
    assert (tmp_path / "s.pt").is_file() and (tmp_path / "work" / "phase-1-kernel.pt").is_file()
    assert metrics["phases"][0]["steps"] == 48 // 16  # the global batch is split over the ranks


def test_sandwich_trains_the_largest_and_the_smallest_on_every_step(prepared):
    space = make_space(tiny_cfg(), prepared)
    net = Supernet(space)
    rng = np.random.default_rng(0)
    k, d, e = (3, 5, 7), (2, 3, 4), (3, 4, 6)
    teacher, archs = step_archs(step_plan("sandwich", 4, distill=False, single=False), rng, net, k, d, e)
    assert teacher is None and len(archs) == 4
    assert archs[0] == net.largest() and archs[1] == net.smallest()
    teacher, archs = step_archs(step_plan("sandwich", 3, distill=True, single=False), rng, net, k, d, e)
    assert teacher == net.largest() and archs[0] == net.smallest() and len(archs) == 2  # 3 forwards in all
    teacher, archs = step_archs(step_plan("random", 2, distill=True, single=False), rng, net, k, d, e)
    assert teacher == net.largest() and len(archs) == 2  # random + distill: the teacher is one more
    assert step_archs(step_plan("sandwich", 3, True, single=True), rng, net, (7,), (4,), (6,)) == (
        None, [net.largest()])
    with pytest.raises(ConfigError, match="subnets_per_step must be >= 2"):
        step_plan("sandwich", 1, distill=False, single=False)
    with pytest.raises(ConfigError, match="sampling must be one of random, sandwich"):
        check_schedule(tiny_cfg(sampling="sandwhich"))


def test_smallest_trained_alone_is_reported_as_the_reference(prepared, tmp_path):
    cfg = tiny_cfg(sampling="sandwich", phases=TINY_PHASES[:2], reference_images=64)
    metrics = run_train_supernet(cfg, prepared, tmp_path / "s.pt", tmp_path / "work", log=lambda s: None)
    alone = metrics["smallest_trained_alone"]
    assert alone["images"] == 64 and 0 <= alone["test_acc"] <= 100
    assert run_train_supernet(tiny_cfg(phases=TINY_PHASES[:1]), prepared, tmp_path / "t.pt", tmp_path / "w2",
                              log=lambda s: None)["smallest_trained_alone"] is None
