"""Inference speed of the platforms' engines (models/engine/<p>.skops), in-process and warm: one budget and
100 budgets at once, zero-query and (table platforms) querying; the engine's load time; ``nag generate``
from a shell (a new process). With ``--baseline REV`` the same figures of the code at git revision REV
(a temporary worktree, the same checkpoints) are measured in the same run, for before/after ratios.

    python benchmarks/infer_speed.py --platform nb201-pixel3 --platform cpu-torch --baseline a62a48e

Needs the pipeline's outputs for the platforms (dvc repro). Prints figures and writes
``reports/benchmarks/infer_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# what is timed, in a child process, for either code version: prints one JSON line
PROBE = r"""
import json, sys, time
import numpy as np
name, params_path, root, engine_path = sys.argv[1:5]

def timed(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return 1000 * float(np.median(ts))

t0 = time.perf_counter()
if engine_path != "-":
    from nag.serving.engine import Engine
    g = Engine.load(engine_path)
else:  # the code before the engine: checkpoints through nag.serving.generated
    from pathlib import Path
    from nag.cli.common import platform
    from nag.serving.generated import Generated
    params, plat = platform(Path(params_path), name)
    g = Generated(params, plat, f"{root}/models/evaluator/{name}.pt", f"{root}/models/generator/{name}.pt")
load_ms = 1000 * (time.perf_counter() - t0)
b = np.asarray(g.budgets)
one, many = [float((b[1] + b[-1]) / 2)], [float(x) for x in np.linspace(b[1], b[-1], 100)]
out = {"load_ms": load_ms, "budget_ms": one[0]}
querying = (g.accuracy if hasattr(g, "sampler") else g.platform.accuracy) is not None
for mode, zq in (("zero_query", True), ("querying", False)):
    if zq or querying:
        out[f"{mode}_1_budget_ms"] = timed(lambda: g.choose(one, zero_query=zq), 10)
        out[f"{mode}_100_budgets_ms"] = timed(lambda: g.choose(many, zero_query=zq), 7)
c = g.choose(one, zero_query=True)[0][0]
out["zero_query_pick"] = {"arch_id": c.arch.arch_id, "latency_ms": c.latency, "score": c.score}
print(json.dumps(out))
"""


def probe(name: str, code_dir: Path, engine: str) -> dict:
    """The figures of the code in ``code_dir`` (``-P``: that code, not the working directory's)."""
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    cmd = [sys.executable, "-P", "-c", PROBE, name, str(ROOT / "params.yaml"), str(ROOT), engine]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def shell_generate(name: str, budget: float, code_dir: Path, repeats: int = 3) -> float:
    """Median wall (ms) of ``nag generate -p name -b budget`` as a new process."""
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        cmd = [sys.executable, "-P", "-m", "nag", "generate", "-p", name, "-b", f"{budget:.6g}"]
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
        ts.append(time.perf_counter() - t0)
    return 1000 * float(np.median(ts))


def engine_for(base: Path, engine: Path, tmp: str) -> Path | None:
    """The engine file the baseline's code reads: the same file when its engine format is ours, else None
    (older formats were pickles, which this project no longer writes)."""
    import re

    from nag.serving.engine import FORMAT

    m = re.search(r"^FORMAT = (\d+)", (base / "nag/serving/engine.py").read_text(), re.M)
    return engine if m and int(m.group(1)) == FORMAT else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", action="append", default=None)
    ap.add_argument("--baseline", default=None, help="git revision to time the same way (before/after)")
    ap.add_argument("--out", default=str(ROOT / "reports/benchmarks/infer_speed.json"))
    args = ap.parse_args()
    from nag.atomic import write_json

    names = args.platform or ["nb201-pixel3", "cpu-torch"]
    out = {"cpus": os.cpu_count(), "load_before": os.getloadavg(), "platforms": {}}
    with tempfile.TemporaryDirectory() as tmp:
        base = None
        if args.baseline:
            base = Path(tmp) / "baseline"
            subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base), args.baseline], cwd=ROOT,
                           check=True)
        try:
            for name in names:
                engine = ROOT / f"models/engine/{name}.skops"
                row = {"after": probe(name, ROOT, str(engine))}
                row["after"]["shell_generate_ms"] = shell_generate(name, row["after"]["budget_ms"], ROOT)
                has_engine = base is not None and (base / "nag/serving/engine.py").is_file()
                theirs = engine_for(base, engine, tmp) if has_engine else None
                if has_engine and theirs is None:
                    print(f"{name}: the baseline's engine format is not ours; no before figures")
                elif base is not None:
                    # code that has the engine reads the engine (in its format); older code the checkpoints
                    row["before"] = probe(name, base, str(theirs) if has_engine else "-")
                    if theirs == engine or not has_engine:  # `nag generate` reads models/engine/<p>.skops
                        row["before"]["shell_generate_ms"] = shell_generate(name, row["after"]["budget_ms"],
                                                                            base)
                    row["speedup"] = {k: row["before"][k] / row["after"][k] for k in row["after"]
                                      if k.endswith("_ms") and k in row["before"] and k != "budget_ms"}
                out["platforms"][name] = row
                print(name, json.dumps(row, indent=1))
        finally:
            if base is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    out["load_after"] = os.getloadavg()
    out["baseline"] = args.baseline
    write_json(args.out, out)


if __name__ == "__main__":
    main()
