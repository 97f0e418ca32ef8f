"""Supernet speed: training images/s of the largest subnet through the elastic supernet vs the same
network built as a plain static model (the elastic-op overhead, as a ratio measured in one run), and
subnet evaluations/s (BN recalibration + validation accuracy, as the accuracy stage measures).

    python benchmarks/supernet_speed.py [--batch 128] [--steps 8] [--rounds 3] [--subnets 6]

Uses params.yaml's supernet macro and data/prepared when present (random images otherwise).
Prints figures and writes ``reports/benchmarks/supernet_speed.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def train_rate(model, x, y, steps: int) -> float:
    import torch

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for i in range(steps + 2):
        if i == 2:
            t0 = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return steps * len(x) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--prepared", default=str(ROOT / "data" / "prepared"))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="alternating supernet/static rounds")
    ap.add_argument("--subnets", type=int, default=6, help="subnets timed for evaluations/s")
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmarks" / "supernet_speed.json"))
    args = ap.parse_args()

    import torch

    from nag.atomic import write_json
    from nag.config import load_params
    from nag.supernet.data import Images, load_images, make_space
    from nag.supernet.evaluate import measure
    from nag.supernet.supernet import Supernet

    cfg = load_params(args.params).supernet
    space = make_space(cfg, args.prepared)
    size, cin = space.macro.input_size, space.macro.in_channels
    torch.manual_seed(0)
    net = Supernet(space).to(memory_format=torch.channels_last)
    largest = net.largest()
    net.set_active(largest)
    static = net.extract(largest).to(memory_format=torch.channels_last)
    x = torch.randn(args.batch, cin, size, size).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, space.macro.num_classes, (args.batch,))
    rates = {"supernet": [], "static": []}
    for _ in range(args.rounds):  # alternate so drift on a noisy machine hits both alike
        net.set_active(largest)
        rates["supernet"].append(train_rate(net, x, y, args.steps))
        rates["static"].append(train_rate(static, x, y, args.steps))
    sup, sta = float(np.median(rates["supernet"])), float(np.median(rates["static"]))

    try:
        val, norm = load_images(args.prepared, "val", space.macro.num_classes)
        train, _ = load_images(args.prepared, "train", space.macro.num_classes, norm=norm)
        source = "data/prepared"
    except Exception:  # no prepared data: random images of the right shape
        val = Images(torch.randn(10_000, cin, size, size), torch.randint(0, 10, (10_000,)))
        train, source = val, "random"
    calib = train.subset(500, 0)
    archs = space.sample(args.subnets, seed=0, unique=True)
    measure(net, archs[0], calib, val, 250)  # warm-up
    t0 = time.perf_counter()
    for a in archs:
        measure(net, a, calib, val, 250)
    per = (time.perf_counter() - t0) / len(archs)
    result = {
        "torch_threads": torch.get_num_threads(),
        "batch": args.batch,
        "largest_train_img_per_s": {"supernet": sup, "static": sta, "rounds": rates},
        "elastic_overhead_ratio": sta / sup,
        "eval": {"images": len(val), "calib_images": len(calib), "source": source,
                 "seconds_per_subnet": per, "subnets_per_s": 1 / per},
    }
    print(
        f"largest subnet training: supernet {sup:.0f} img/s, static {sta:.0f} img/s -> overhead "
        f"x{sta / sup:.2f}"
    )
    print(
        f"subnet evaluation ({len(val)} images + {len(calib)} calibration): {per:.2f} s each, {1 / per:.2f}/s"
    )
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
