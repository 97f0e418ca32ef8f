"""Does a killed and resumed supernet training end where an uninterrupted one does? (issue 22, item 5)

Runs ``nag train-supernet`` (the default recipe of params.yaml, full size) into a scratch folder, kills it
with SIGKILL (as the OOM killer or a lost machine would: no handler runs) ``--kill-after`` seconds into the
epoch after the ``--kill-in``-th epoch log line, runs the same command again (it resumes from the last
checkpoint), then compares the result with an uninterrupted run's: weights bit for bit (models/supernet.pt
of the pipeline, or ``--reference``) and the stage's figures (largest, smallest, random subnets).

    python benchmarks/supernet_resume.py --reference models/supernet.pt \\
        --reference-metrics reports/metrics/supernet.json

Prints both runs' figures and writes ``reports/benchmarks/supernet_resume.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("test_acc_largest", "test_acc_smallest")


def _cmd(work: Path) -> list[str]:
    return [sys.executable, "-m", "nag", "train-supernet", "--prepared", "data/prepared", "--out",
            str(work / "supernet.pt"), "--work", str(work / "work"), "--metrics", str(work / "metrics.json")]


def run_killed(work: Path, kill_in: int, kill_after: float) -> dict:
    """Start, kill inside the epoch after the ``kill_in``-th epoch line, return what the log said."""
    proc = subprocess.Popen(_cmd(work), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen, t_kill = [], None
    for line in proc.stdout:
        if " epoch " in line and "loss" in line:
            seen.append(line.strip())
            if len(seen) == kill_in:
                t_kill = time.monotonic() + kill_after
                break
    while t_kill is not None and time.monotonic() < t_kill and proc.poll() is None:
        time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return {"epochs_logged_before_kill": seen, "killed_after_s": kill_after, "returncode": proc.returncode}


def state_diff(a: Path, b: Path) -> dict:
    import torch

    sa = torch.load(a, weights_only=False, map_location="cpu")["state"]
    sb = torch.load(b, weights_only=False, map_location="cpu")["state"]
    diffs = {k: float((sa[k].double() - sb[k].double()).abs().max()) for k in sa if sa[k].is_floating_point()}
    return {"tensors": len(sa), "identical": all(torch.equal(sa[k], sb[k]) for k in sa),
            "max_abs_diff": max(diffs.values()), "tensors_differing": sum(v > 0 for v in diffs.values())}


def figures(m: dict) -> dict:
    rs = m["random_subnets"]
    return {**{k: m[k] for k in FIGURES}, "random_mean": rs["mean"], "random_std": rs["std"],
            "spearman_acc_madds": rs["spearman_acc_madds"], "train_wall_s": m["train_wall_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", default=str(ROOT / "models/supernet.pt"), help="the uninterrupted run")
    ap.add_argument("--reference-metrics", default=str(ROOT / "reports/metrics/supernet.json"))
    ap.add_argument("--kill-in", type=int, default=1, help="kill in the epoch after N epoch lines")
    ap.add_argument("--kill-after", type=float, default=30.0, help="seconds into that epoch")
    ap.add_argument("--work", default="/tmp/nag_supernet_resume")
    ap.add_argument("--out", default=str(ROOT / "reports/benchmarks/supernet_resume.json"))
    args = ap.parse_args()
    work = Path(args.work)
    if work.exists():
        raise SystemExit(f"{work} exists: remove it first (a fresh run is what is compared)")
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    killed = run_killed(work, args.kill_in, args.kill_after)
    resumed = subprocess.run(_cmd(work), cwd=ROOT, capture_output=True, text=True)
    if resumed.returncode != 0:
        raise SystemExit(f"the resumed run failed:\n{resumed.stdout[-2000:]}\n{resumed.stderr[-2000:]}")
    log = [ln for ln in (resumed.stdout + resumed.stderr).splitlines() if "resuming" in ln]

    from nag.atomic import write_json

    ref = json.loads(Path(args.reference_metrics).read_text())
    got = json.loads((work / "metrics.json").read_text())
    report = {"killed": killed, "resume_log": log, "wall_s": time.perf_counter() - t0,
              "uninterrupted": figures(ref), "killed_and_resumed": figures(got),
              "weights": state_diff(Path(args.reference), work / "supernet.pt"),
              "threads": os.environ.get("OMP_NUM_THREADS", "torch default")}
    write_json(args.out, report)
    print(json.dumps({k: report[k] for k in ("resume_log", "uninterrupted", "killed_and_resumed", "weights")},
                     indent=1))


if __name__ == "__main__":
    main()
