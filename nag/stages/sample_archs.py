"""The ``sample_archs`` stage: the M unique mbv3 architectures every supernet-backed platform shares."""

from __future__ import annotations

import time
from pathlib import Path

from nag.config import ArchsConfig
from nag.spaces.mbv3 import MBV3Space
from nag.supernet.archs import save_archs


def run(space: MBV3Space, cfg: ArchsConfig, out: str | Path) -> dict:
    """M unique canonical architectures (seeded) with their tokens, features, MAdds and parameters."""
    t0 = time.perf_counter()
    archs = space.sample(cfg.count, seed=cfg.seed, unique=True)
    df = save_archs(out, space, archs)
    return {"count": len(df), "space": space.name, "unique": int(df["arch_id"].nunique()),
            "madds_min": int(df["madds"].min()), "madds_max": int(df["madds"].max()),
            "params_min": int(df["params"].min()), "params_max": int(df["params"].max()),
            "wall_s": time.perf_counter() - t0}
