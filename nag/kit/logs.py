"""``nag kit import-logs KIT LOGS``: a phone's LiteRT ``benchmark_model`` logs into the kit's ``plan.csv``.

One log per model, named ``<arch_id>.log`` (``adb shell benchmark_model --graph=<arch_id>.tflite > …``).
From each log: the timed run's ``count=N … avg=A std=S`` line (microseconds; the last such line, after the
warm-up's) and otherwise its ``Inference (avg): A`` summary. ``latency_ms`` is the average (benchmark_model
reports no median), ``repeats`` the count, ``std_ms`` the spread. A missing log, a log without timings or a
non-positive time is a one-line error naming it; plan.csv is rewritten only when every row has its time.

Example::

    >>> import_logs(Path("kit"), Path("logs"))      # doctest: +SKIP
    {'rows': 10, 'file': 'kit/plan.csv'}
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from nag.atomic import write_with
from nag.errors import NagError

COUNT_RE = re.compile(r"count=(\d+)\b.*?\bavg=([0-9.eE+-]+)(?:.*?\bstd=([0-9.eE+-]+))?")
AVG_RE = re.compile(r"Inference \(avg\):\s*([0-9.eE+-]+)")


class LogError(NagError, ValueError):
    """A benchmark_model log that is missing or holds no usable timing."""


def parse_log(path: Path) -> tuple[float, int, float]:
    """(latency ms, timed runs, std ms) of one benchmark_model log."""
    text = path.read_text(errors="replace")
    counts = COUNT_RE.findall(text)
    if counts:
        n, avg, std = counts[-1]
        out = (float(avg) / 1000, int(n), float(std or 0) / 1000)
    else:
        avgs = AVG_RE.findall(text)
        if not avgs:
            raise LogError(f"{path}: no timings found (expected benchmark_model's 'count=… avg=…' or "
                           f"'Inference (avg): …' line); rerun benchmark_model and keep its whole output")
        out = (float(avgs[-1]) / 1000, 0, 0.0)
    if not (math.isfinite(out[0]) and out[0] > 0):
        raise LogError(f"{path}: average {out[0] * 1000:g} us is not a positive time")
    return out


def import_logs(kit: Path, logs: Path) -> dict:
    """Fill ``kit/plan.csv`` from ``logs/<arch_id>.log``."""
    plan = Path(kit) / "plan.csv"
    if not plan.is_file():
        raise LogError(f"{plan}: no such file; pass the kit folder that nag measure-plan --kit wrote")
    with plan.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames or []), list(reader)
    if "arch_id" not in fields:
        raise LogError(f"{plan} has no arch_id column: not a kit's plan")
    missing = [r["arch_id"] for r in rows if not (Path(logs) / f"{r['arch_id']}.log").is_file()]
    if missing:
        raise LogError(f"{len(missing)} of {len(rows)} models have no log in {logs} (e.g. {missing[0]}.log); "
                       f"time them and name each log <arch_id>.log")
    for r in rows:
        ms, n, std = parse_log(Path(logs) / f"{r['arch_id']}.log")
        r.update(latency_ms=f"{ms:.6g}", repeats=str(n) if n else "", std_ms=f"{std:.4g}" if n else "")
    for c in ("repeats", "std_ms"):
        if c not in fields:
            fields.append(c)

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)

    write_with(plan, write)
    return {"rows": len(rows), "file": str(plan)}
