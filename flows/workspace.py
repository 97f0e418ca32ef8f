"""One DVC workspace, driven by the Prefect flows: stage commands, status, repro, commit, and the lock
that keeps two flow runs from editing params.yaml, dvc.lock or the MLflow store at once.

DVC holds a repo lock while it reproduces, so two ``dvc repro`` cannot run in one workspace. The flows
therefore run ``dvc repro`` only from the flow process (serially), and fan out the per-platform
training stages by running their *commands* (read from dvc.yaml) in workers; afterwards ``dvc commit``
records what those commands produced, so ``dvc status`` and a later ``dvc repro`` see them as done.
"""

from __future__ import annotations

import json
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

# per platform type (params.yaml's group), in order
MEASURING = {"table_platforms": ("table", "validate"),  # serial: local latency needs a quiet machine
             "supernet_platforms": ("latency", "validate")}
TRAINING = {"table_platforms": ("train_evaluator", "train_generator", "frontier"),  # fanned out
            "supernet_platforms": ("arch_dataset", "train_evaluator", "train_generator", "frontier")}
DELIVERY = {"table_platforms": (), "supernet_platforms": ("finetune",)}  # serial: local ones time models


class StageFailed(RuntimeError):
    """A stage command failed; ``transient`` says whether retrying may help."""

    def __init__(self, message: str, stage: str, transient: bool) -> None:
        super().__init__(message)
        self.stage, self.transient = stage, transient


class WorkspaceBusy(RuntimeError):
    """Another flow run holds this workspace."""


@contextmanager
def workspace_lock(root: Path, timeout_s: float):
    """Hold ``<root>/.nag-flow.lock`` for a flow run; a second run waits ``timeout_s`` then fails."""
    lock = FileLock(str(root / ".nag-flow.lock"), timeout=timeout_s)
    try:
        lock.acquire()
    except Timeout:
        raise WorkspaceBusy(
            f"another NAG flow run is using {root} (lock {root / '.nag-flow.lock'}) for more than "
            f"{timeout_s:g} s; wait for it to finish (see the Prefect UI) and run again"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _failed_stage(output: str) -> str:
    m = re.search(r"failed to reproduce '([^']+)'", output)
    return m.group(1) if m else ""


def repro(root: Path, targets: list[str]) -> str:
    """``dvc repro`` of ``targets`` (and what they need); raises :class:`StageFailed`."""
    res = subprocess.run(["dvc", "repro", *targets], cwd=root, capture_output=True, text=True)
    out = res.stdout + res.stderr
    if res.returncode != 0:
        stage = _failed_stage(out) or " ".join(targets)
        # validation refusing the data is a verdict, not an accident: never retried
        transient = not stage.startswith("validate@") and "exited with 2" not in out
        raise StageFailed(
            f"dvc repro {' '.join(targets)} failed at {stage}:\n{out[-3000:]}", stage, transient
        )
    return out


def stage_commands(root: Path, names: list[str]) -> dict[str, str]:
    """The resolved ``cmd`` of each named stage of dvc.yaml."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        stages = {s.name: s for s in repo.index.stages}  # (addressing is relative to the cwd)
    missing = [n for n in names if n not in stages]
    if missing:
        raise KeyError(f"dvc.yaml has no stage(s) {missing}; is the platform in params.yaml?")
    return {n: stages[n].cmd for n in names}


def stale_chain(root: Path, platform: str, group: str) -> list[str]:
    """The platform's training stages (``group``: its type) that must run: from the first changed one on."""
    chain = [f"{s}@{platform}" for s in TRAINING[group]]
    res = subprocess.run(["dvc", "status", "--json", *chain], cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        raise StageFailed(f"dvc status failed:\n{res.stderr[-2000:]}", chain[0], True)
    changed = set(json.loads(res.stdout or "{}"))
    for i, name in enumerate(chain):
        if name in changed:
            return chain[i:]
    return []


def run_command(root: Path, stage: str, cmd: str) -> None:
    """Run one stage's command in this process's worker (no DVC lock involved)."""
    res = subprocess.run(cmd, shell=True, cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        # exit 2: the command refused its input (a user error, not transient); signals/other: retry
        raise StageFailed(
            f"{stage} failed (exit {res.returncode}):\n{(res.stdout + res.stderr)[-3000:]}",
            stage,
            res.returncode != 2,
        )


def commit(root: Path, stages: list[str]) -> None:
    """Record in dvc.lock what the fanned-out commands produced."""
    if not stages:
        return
    res = subprocess.run(["dvc", "commit", "-f", *stages], cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        raise StageFailed(f"dvc commit failed:\n{(res.stdout + res.stderr)[-3000:]}", stages[0], True)
