#!/usr/bin/env python3
"""Time every model of this kit on this device and fill in plan.csv (standalone: Python 3, numpy and
onnxruntime only; copied into each kit by ``nag measure-plan --kit``, never imported by ``nag``).

    pip install onnxruntime numpy
    python measure.py                 # all cores onnxruntime chooses; --threads 1 for one core
    python measure.py --rounds 9 --repeats 30

How it times: every model is loaded first (a file that fails is named, nothing is timed); each is warmed
up; then ``--rounds`` rounds each call every model ``--repeats`` times, in a new shuffled order per round,
so a slow spell of the device hits every model alike. A model's latency is the median over rounds of its
fastest call in the round; ``std_ms`` is the spread of those round minima. Each finished round is saved
(``.measure-progress.json``): a run killed half-way resumes from its last finished round. plan.csv is
written only at the end, via a temporary file and a rename.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

PROGRESS = ".measure-progress.json"


def fail(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def read_plan(path: Path, models: Path) -> tuple[list[str], list[dict]]:
    if not path.is_file():
        fail(f"{path}: no such file; run measure.py from the kit's folder or pass --plan")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames or []), list(reader)
    if "arch_id" not in fields or "latency_ms" not in fields:
        fail(f"{path}: needs arch_id and latency_ms columns (a kit's plan.csv)")
    seen = set()
    for i, r in enumerate(rows, start=2):
        a = (r.get("arch_id") or "").strip()
        if not a:
            fail(f"{path}: line {i} has no arch_id")
        if a in seen:
            fail(f"{path}: arch_id {a} appears twice (line {i}); keep one row per model")
        if not (models / f"{a}.onnx").is_file():
            fail(f"{path}: line {i}: no model file {models / (a + '.onnx')} for arch_id {a}")
        seen.add(a)
    if not rows:
        fail(f"{path}: no rows to measure")
    return fields, rows


def load(models: Path, ids: list[str], threads: int):
    import numpy as np
    import onnxruntime as ort

    sessions = []
    for a in ids:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        path = models / f"{a}.onnx"
        try:
            s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            inp = s.get_inputs()[0]
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
            x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
            s.run(None, {inp.name: x})
        except Exception as exc:  # onnxruntime raises its own types for bad files and unsupported ops
            fail(f"{path} does not load or run here ({exc.__class__.__name__}: {str(exc).splitlines()[0]})")
        sessions.append((s, {inp.name: x}))
    return sessions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parent
    ap.add_argument("--plan", type=Path, default=here / "plan.csv")
    ap.add_argument("--models", type=Path, default=here / "models")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: onnxruntime's default)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed calls per model before timing")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=20, help="timed calls per model per round")
    ap.add_argument("--fresh", action="store_true", help="ignore saved progress and start again")
    args = ap.parse_args()
    for k in ("rounds", "repeats"):
        if getattr(args, k) < 1:
            fail(f"--{k} {getattr(args, k)}: must be >= 1")
    if args.warmup < 0 or args.threads < 0:
        fail("--warmup and --threads must be >= 0")
    import numpy as np

    fields, rows = read_plan(args.plan, args.models)
    ids = [r["arch_id"].strip() for r in rows]
    settings = {"ids": ids, "threads": args.threads, "repeats": args.repeats, "rounds": args.rounds}
    progress_path = args.plan.with_name(PROGRESS)
    mins: list[list[float]] = []
    if progress_path.is_file() and not args.fresh:
        try:
            saved = json.loads(progress_path.read_text())
            if saved.get("settings") == settings:
                mins = saved["mins"]
                print(f"resuming after round {len(mins)} of {args.rounds}", file=sys.stderr)
        except (ValueError, KeyError):
            mins = []
    sessions = load(args.models, ids, args.threads)
    for s, feed in sessions:
        for _ in range(args.warmup):
            s.run(None, feed)
    rng = np.random.default_rng(len(mins))
    for r in range(len(mins), args.rounds):
        best = [float("inf")] * len(ids)
        for done, i in enumerate(rng.permutation(len(ids)), start=1):
            s, feed = sessions[i]
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                s.run(None, feed)
                best[i] = min(best[i], 1000 * (time.perf_counter() - t0))
            print(f"\rround {r + 1}/{args.rounds}: model {done}/{len(ids)}", end="", file=sys.stderr,
                  flush=True)
        mins.append(best)
        tmp = progress_path.with_name(progress_path.name + ".tmp")
        tmp.write_text(json.dumps({"settings": settings, "mins": mins}))
        os.replace(tmp, progress_path)
    print(file=sys.stderr)
    m = np.asarray(mins, dtype=np.float64)  # (rounds, models)
    if not np.all(np.isfinite(m)) or np.any(m <= 0):
        fail("a model timed as zero or not finite; rerun with --fresh")
    out_fields = fields + [c for c in ("repeats", "std_ms") if c not in fields]
    for j, r in enumerate(rows):
        r["latency_ms"] = f"{float(np.median(m[:, j])):.6g}"
        r["repeats"] = str(args.rounds * args.repeats)
        r["std_ms"] = f"{float(np.std(m[:, j])):.4g}"
    tmp = args.plan.with_name(args.plan.name + ".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=out_fields)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, args.plan)
    progress_path.unlink(missing_ok=True)
    print(f"wrote {args.plan}: {len(rows)} models, median {float(np.median(m)):.4g} ms; bring it back and "
          f"add it: python -m flows.devices add NAME plan.csv", file=sys.stderr)


if __name__ == "__main__":
    main()
