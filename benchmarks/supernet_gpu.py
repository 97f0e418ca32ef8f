"""The GPU recipe end to end: the supernet trained with ``benchmarks/profiles/supernet_gpu.yaml`` over
params.yaml's ``supernet:`` (CUDA, all 50k images per epoch, batch 512, more epochs), then measured as the
train_supernet stage measures (largest, smallest, 20 random subnets twice, the smallest trained alone).

    python benchmarks/supernet_gpu.py                 # on a machine with a CUDA GPU (target: <= 10 min)
    python benchmarks/supernet_gpu.py --smoke         # the same path on this CPU at a tiny size (a check)

Needs data/prepared (``dvc repro prepare``). Writes the weights and figures under ``--out-dir``
(default reports/benchmarks/supernet_gpu/: ``metrics.json``; weights in a git-ignored folder) and prints
the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "benchmarks/profiles/supernet_gpu.yaml"
SMOKE = {"device": "cpu", "images_per_epoch": 512, "batch_size": 128, "eval_subnets": 2, "calib_images": 128,
         "reference_images": 512}


def params_with(profile: dict, smoke: bool) -> dict:
    """params.yaml with the profile's ``supernet:`` keys over its own (``smoke``: tiny and on the CPU)."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    sup = {**raw["supernet"], **profile["supernet"]}
    if smoke:
        sup.update(SMOKE)
        sup["phases"] = [{**p, "epochs": 1} for p in sup["phases"]]
    return {**raw, "supernet": sup}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default=str(PROFILE))
    ap.add_argument("--smoke", action="store_true", help="tiny, on the CPU: checks the path, not the recipe")
    ap.add_argument("--out-dir", default=str(ROOT / "reports/benchmarks/supernet_gpu"))
    args = ap.parse_args()
    if not (ROOT / "data/prepared/meta.json").is_file():
        raise SystemExit("data/prepared is missing: run `dvc repro prepare` first")
    out = Path(args.out_dir)
    (out / "weights").mkdir(parents=True, exist_ok=True)
    params = out / "weights" / "params.yaml"
    params.write_text(yaml.safe_dump(params_with(yaml.safe_load(Path(args.profile).read_text()), args.smoke),
                                     sort_keys=False))
    metrics = out / ("metrics_smoke.json" if args.smoke else "metrics.json")
    cmd = [sys.executable, "-m", "nag", "train-supernet", "--params", str(params), "--prepared",
           str(ROOT / "data/prepared"), "--out", str(out / "weights/supernet.pt"), "--work",
           str(out / "weights/work"), "--metrics", str(metrics)]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    wall = time.perf_counter() - t0
    m = json.loads(metrics.read_text())
    rs, alone = m["random_subnets"], m.get("smallest_trained_alone") or {}
    noise = m["eval_noise"]["per_measurement_std"]
    print(f"device {m['device']}: end to end {wall:.0f} s (training {m['train_wall_s']:.0f} s, "
          f"evaluation {m['eval_wall_s']:.0f} s)")
    print(f"largest {m['test_acc_largest']:.2f} %, smallest {m['test_acc_smallest']:.2f} % (trained alone: "
          f"{alone.get('test_acc', float('nan')):.2f} %), {rs['n']} random subnets {rs['mean']:.2f} ± "
          f"{rs['std']:.2f} % (evaluation noise {noise:.3f}), accuracy-MAdds Spearman "
          f"{rs['spearman_acc_madds']}")

if __name__ == "__main__":
    main()
