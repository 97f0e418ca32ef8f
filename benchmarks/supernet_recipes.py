"""Supernet recipes side by side at equal compute: today's random sampling vs the sandwich rule vs the
sandwich rule with in-place distillation (issue 22).

Every recipe is params.yaml's ``supernet:`` with a few settings changed, trained by the real
``train_supernet`` stage code into its own folder, then measured as the stage measures (largest, smallest,
20 random subnets twice, accuracy–MAdds Spearman). Equal compute = the same images per epoch and the same
number of subnet forwards per step (``subnets_per_step``), so the largest network's phase sees the same
images in every recipe; wall time is reported beside it. Recipes run ``--workers`` at a time, one torch
thread each, so they share the machine's load alike. A finished recipe's JSON is reused on a rerun.

    python benchmarks/supernet_recipes.py --workers 2
    python benchmarks/supernet_recipes.py --recipes random sandwich --images-per-epoch 5000  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES: dict[str, dict] = {
    "random": {"sampling": "random", "subnets_per_step": 2, "distill": False},
    "sandwich": {"sampling": "sandwich", "subnets_per_step": 2, "distill": False},
    "sandwich+distill": {"sampling": "sandwich", "subnets_per_step": 2, "distill": True},
    # 3 forwards per step (largest, smallest, one random) on 2/3 of the images: the same forwards in all
    "sandwich3": {"sampling": "sandwich", "subnets_per_step": 3, "distill": False, "images_scale": 2 / 3},
    "sandwich3+distill": {"sampling": "sandwich", "subnets_per_step": 3, "distill": True,
                          "images_scale": 2 / 3},
}


def _run(name: str, overrides: dict, params_path: str, images: int | None, reference: int, threads: int,
         out_dir: str) -> dict:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    from nag.atomic import write_json
    from nag.config import load_params
    from nag.stages.train_supernet import run

    base = load_params(params_path).supernet
    over = dict(overrides)
    scale = over.pop("images_scale", 1.0)
    ipe = images if images is not None else base.images_per_epoch
    cfg = replace(base, **over, images_per_epoch=int(round(ipe * scale)), reference_images=reference,
                  threads=threads, device="cpu")
    folder = Path(out_dir) / name.replace("+", "_")
    metrics = run(cfg, ROOT / "data/prepared", folder / "supernet.pt", folder / "work", log=lambda s: None)
    report = {"recipe": name, "overrides": overrides, "images_per_epoch": cfg.images_per_epoch,
              "threads": threads, **metrics}
    write_json(Path(out_dir) / f"{name.replace('+', '_')}.json", report)
    return report


def row(r: dict) -> dict:
    rs, noise = r["random_subnets"], r["eval_noise"]
    alone = r.get("smallest_trained_alone") or {}
    return {"recipe": r["recipe"], "largest": r["test_acc_largest"], "smallest": r["test_acc_smallest"],
            "random_mean": rs["mean"], "random_std": rs["std"], "spearman_madds": rs["spearman_acc_madds"],
            "noise_std": noise["per_measurement_std"], "spread_over_noise": rs["std"] / max(1e-9, noise[
                "per_measurement_std"]), "train_wall_s": r["train_wall_s"], "eval_wall_s": r["eval_wall_s"],
            "subnet_images_per_s": r["subnet_images_per_s"], "smallest_alone": alone.get("test_acc")}


def to_markdown(rows: list[dict]) -> str:
    lines = ["| recipe | largest | smallest | 20 random (mean ± std) | Spearman acc–MAdds | eval noise (std) "
             "| spread / noise | train s |", "|---|---|---|---|---|---|---|---|"]
    for x in rows:
        sp = "–" if x["spearman_madds"] is None else f"{x['spearman_madds']:.2f}"
        lines.append(f"| {x['recipe']} | {x['largest']:.2f} | {x['smallest']:.2f} | {x['random_mean']:.2f} ± "
                     f"{x['random_std']:.2f} | {sp} | {x['noise_std']:.3f} | {x['spread_over_noise']:.1f} | "
                     f"{x['train_wall_s']:.0f} |")
    alone = [x["smallest_alone"] for x in rows if x["smallest_alone"] is not None]
    if alone:
        lines += ["", f"The smallest network trained alone (same run): {alone[0]:.2f} %."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--images-per-epoch", type=int, default=None, help="default: params.yaml's")
    ap.add_argument("--reference-images", type=int, default=100_000,
                    help="the smallest network trained alone on this many images (in the first recipe's job)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per recipe")
    ap.add_argument("--out-dir", default=str(ROOT / "reports/benchmarks/supernet_recipes"))
    args = ap.parse_args()
    if not (ROOT / "data/prepared/meta.json").is_file():
        raise SystemExit("data/prepared is missing: run `dvc repro prepare` first")

    from nag.atomic import write_json, write_with

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reports: dict[str, dict] = {}
    todo = []
    for i, name in enumerate(args.recipes):
        done = out / f"{name.replace('+', '_')}.json"
        if done.is_file():
            reports[name] = json.loads(done.read_text())
        else:
            todo.append((name, args.reference_images if i == 0 else 0))
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(_run, name, RECIPES[name], args.params, args.images_per_epoch, ref,
                               args.threads, str(out)): name for name, ref in todo}
        for f in as_completed(futures):
            reports[futures[f]] = f.result()
            print(f"done: {futures[f]}", flush=True)
    rows = [row(reports[n]) for n in args.recipes]
    write_json(out / "summary.json", {"rows": rows, "images_per_epoch": args.images_per_epoch,
                                      "threads": args.threads, "workers": args.workers})
    md = to_markdown(rows)
    write_with(out / "summary.md", lambda tmp: Path(tmp).write_text(md))
    print(md)


if __name__ == "__main__":
    main()
