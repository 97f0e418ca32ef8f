"""Load on the REST endpoint: ``mlflow models serve`` of ``models:/nag-generator-<p>@champion`` on 127.0.0.1,
then a bounded burst of one-budget requests (default 200, 8 in flight) with budgets spread over the trained
range; reports p50/p95/max latency, throughput and errors.

    python benchmarks/serve_load.py --platform nb201-pixel3

Needs a registered champion (bash scripts/run.sh, or python -m flows.register). Prints figures and writes
``reports/benchmarks/serve_load_<p>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, budget: float) -> tuple[float, int]:
    body = json.dumps({"dataframe_records": [{"budget_ms": budget}]}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError:
        status = 0
    return 1000 * (time.perf_counter() - t0), status


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", default="nb201-pixel3")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="server worker processes")
    args = ap.parse_args()
    from nag.atomic import write_json
    from nag.serving.engine import Engine

    engine = Engine.load(ROOT / f"models/engine/{args.platform}.skops")
    lo, hi = float(max(engine.budgets[0], engine.cheapest)), float(engine.budgets[-1])
    budgets = np.random.default_rng(0).uniform(lo, hi, args.requests)
    port = _port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": os.environ.get("MLFLOW_TRACKING_URI",
                                                              f"sqlite:///{ROOT / 'mlruns/mlflow.db'}")}
    model = f"models:/nag-generator-{args.platform}@champion"
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", model, "--env-manager",
                             "local", "-h", "127.0.0.1", "-p", str(port), "-w", str(args.workers)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2):
                    break
            except OSError:
                if time.perf_counter() - t0 > 180 or proc.poll() is not None:
                    raise SystemExit(f"the endpoint for {model} did not come up")
                time.sleep(0.5)
        startup = time.perf_counter() - t0
        for b in budgets[:5]:  # warm
            _request(f"{url}/invocations", float(b))
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(lambda b: _request(f"{url}/invocations", float(b)), budgets))
        wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ms = np.array([r[0] for r in results])
    errors = int(sum(r[1] != 200 for r in results))
    out = {"platform": args.platform, "model": model, "requests": args.requests,
           "concurrency": args.concurrency, "server_workers": args.workers, "startup_s": startup,
           "errors": errors, "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
           "max_ms": float(ms.max()), "requests_per_s": args.requests / wall, "cpus": os.cpu_count(),
           "load_avg": os.getloadavg()}
    print(json.dumps(out, indent=1))
    write_json(ROOT / f"reports/benchmarks/serve_load_{args.platform}.json", out)


if __name__ == "__main__":
    main()
