"""The ``accuracy`` stage: supernet-measured accuracy for a subset of ``data/archs.parquet``, a
predictor (chosen by held-out Kendall τ) for the rest; every row flagged ``measured``/``predicted``.

Progress is saved every few measurements to a work file keyed by ``arch_id``; a rerun against the same
supernet and settings measures only what is missing. The first ``repeats`` measured subnets are
measured again with another BN-calibration batch: the agreement of the two is the noise ceiling any
predictor can reach.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy.stats import spearmanr
from tqdm import tqdm

from nag.atomic import write_json, write_with
from nag.config import AccuracyConfig
from nag.method.acc_predictor import fit_accuracy_predictor
from nag.method.archdata import DataError
from nag.spaces.mbv3 import MBV3Space
from nag.supernet.archs import load_archs
from nag.supernet.checkpoint import load_supernet
from nag.supernet.data import load_images
from nag.supernet.evaluate import measure, measurement_key, noise_report, rank_corr


def _load_work(path: Path, key: str) -> dict:
    empty = {"key": key, "acc": {}, "repeat": {}}
    if not path.is_file():
        return empty
    try:
        work = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        print(f"{path} is unreadable; measuring from the start")
        return empty
    if work.get("key") != key:
        print(f"{path} was measured with another supernet or settings; measuring from the start")
        return empty
    return work


def predictor_inputs(df: pd.DataFrame, features: np.ndarray) -> np.ndarray:
    """Architecture features plus log MAdds and log parameters (cost proxies trees use well)."""
    extra = np.log(df[["madds", "params"]].to_numpy(dtype=np.float64))
    return np.hstack([features.astype(np.float64), extra])


def run(space: MBV3Space, cfg: AccuracyConfig, archs_path: str | Path, supernet_path: str | Path,
        prepared: str | Path, out: str | Path, work_path: str | Path) -> dict:
    df, archs = load_archs(archs_path, space)
    features = np.stack(
        pq.read_table(archs_path, columns=["features"]).column("features").to_numpy(zero_copy_only=False)
    )
    n = min(cfg.measured, len(archs))
    if n < 10:
        raise DataError(
            f"accuracy.measured={cfg.measured}: at least 10 measured archs are needed to fit a predictor"
        )
    net, norm = load_supernet(supernet_path, space)
    classes = space.macro.num_classes
    val, _ = load_images(prepared, "val", classes, norm=norm)
    val = val.subset(cfg.val_images, cfg.seed)
    train, _ = load_images(prepared, "train", classes, norm=norm)
    calib = [train.subset(cfg.calib_images, cfg.seed + i) for i in (0, 1)]
    key = measurement_key(supernet_path, cfg)
    work_path = Path(work_path)
    work = _load_work(work_path, key)
    resumed = len(work["acc"])
    jobs = [("acc", a, 0) for a in archs[:n]] + [("repeat", a, 1) for a in archs[: min(cfg.repeats, n)]]
    todo = [j for j in jobs if j[1].arch_id not in work[j[0]]]
    t0 = time.perf_counter()
    for i, (kind, arch, c) in enumerate(tqdm(todo, desc="measuring subnets", leave=False), 1):
        work[kind][arch.arch_id] = measure(net, arch, calib[c], val, cfg.batch_size)
        if i % cfg.checkpoint_every == 0 or i == len(todo):
            write_json(work_path, work)
    wall = time.perf_counter() - t0

    measured_ids = [a.arch_id for a in archs[:n]]
    y = np.array([work["acc"][i] for i in measured_ids])
    X = predictor_inputs(df, features)
    model, report = fit_accuracy_predictor(X[:n], y, kinds=cfg.predictors, seed=cfg.seed)
    acc = np.concatenate([y, model.predict(X[n:])]) if n < len(archs) else y
    table = pd.DataFrame({"arch_id": df["arch_id"], "accuracy": acc,
                          "source": ["measured"] * n + ["predicted"] * (len(archs) - n)})
    write_with(out, lambda tmp: table.to_parquet(tmp, index=False))
    rep_ids = measured_ids[: min(cfg.repeats, n)]
    noise = noise_report(y[: len(rep_ids)], np.array([work["repeat"][i] for i in rep_ids]))
    return {
        "n_archs": len(archs), "n_measured": n, "n_predicted": len(archs) - n,
        "resumed_measurements": resumed, "new_measurements": len(todo), "measure_wall_s": wall,
        "seconds_per_subnet": wall / len(todo) if todo else None,
        "val_images": len(val),
        "measured_acc": {"mean": float(y.mean()), "std": float(y.std(ddof=1)), "min": float(y.min()),
                         "max": float(y.max())},
        "spearman_acc_madds": rank_corr(spearmanr, y, df["madds"].to_numpy()[:n]),
        "noise": {**noise, "per_measurement_std": noise["std_diff"] / np.sqrt(2)},
        "predictor": {"chosen": report["chosen"], **report["heldout"], "candidates": report["candidates"],
                      "noise_ceiling_kendall_tau": noise["kendall_tau"]},
        "config": asdict(cfg),
    }
