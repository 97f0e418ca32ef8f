"""An OFA ImageNet platform: OFA's MobileNetV3 w1.2 space with OFA's accuracy predictor as its (counted)
accuracy and a device's per-layer lookup tables as its latency — exact for any architecture, as in the paper's
mobile setting (the Samsung Note10 tables OFA released).

The ``table@<p>`` stage samples the platform's M architectures (``archs:`` count and seed) and writes their
latency with their tokens (``data/latency/<p>.parquet``); every later stage reads them back from there.

Example::

    >>> p = ofa_platform(PlatformConfig("note10", kind="ofa", file="data/benchmarks/ofa_note10_lut"),
    ...                  n_archs=200)                                                  # doctest: +SKIP
    >>> p.latency(p.space.sample(2, seed=0)), p.accuracy(p.space.sample(2, seed=0))   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from nag.config import ConfigError, DatasetConfig, InferConfig, PlatformConfig
from nag.data.ofa_imagenet import LutLatency, OFAPredictor
from nag.method.archdata import ArchDataset, DataError, Lookup
from nag.method.tokens import MLPValues, ResolutionTables
from nag.platforms.kinds import Feasibility, Platform, PlatformFiles
from nag.spaces.base import ArchError
from nag.spaces.ofa import OFASpace

PREDICTOR = Path("data/benchmarks/ofa_acc_predictor.npz")  # OFA's released predictor, as numpy arrays


@dataclass
class OFAPlatform(Platform):
    """OFA's space at ImageNet scale: predicted top-1 (%) answers counted queries; a lookup table, latency."""

    archs: list = field(default_factory=list)  # the sampled architectures the lookups hold (the dataset)
    latency_fn: ResolutionTables | None = None  # the same latency and accuracy as arrays over token rows
    accuracy_fn: MLPValues | None = None

    def cheapest_arch(self) -> str:
        return "the smallest network: kernel 3, expand 3, depth 2 everywhere, at the lowest resolution"

    def ranking_predictor(self, cfg: InferConfig) -> tuple[str, ...]:
        return tuple(cfg.predictor_mbv3)  # the same one-hot features as the mbv3 space's

    def infer_config(self, cfg: InferConfig) -> InferConfig:
        return replace(cfg, pool=cfg.pool_mbv3, max_total_samples=cfg.max_total_samples_mbv3)

    def make_dataset(self, cfg: DatasetConfig) -> tuple[ArchDataset, np.ndarray]:
        """The sampled architectures with their predicted accuracy and table latency."""
        data = ArchDataset(self.space, self.archs, self.accuracy.values, self.latency.values)
        return data, np.arange(len(self.archs))

    def latency_frame(self) -> pd.DataFrame:
        """``arch_id, latency_ms, source, spread, tokens``: what ``table@<p>`` writes (the lookup tables'
        sums are exact by construction: source ``lut``, no spread)."""
        n = len(self.archs)
        return pd.DataFrame({"arch_id": [a.arch_id for a in self.archs],
                             "latency_ms": np.asarray(self.latency.values, dtype=np.float64),
                             "source": ["lut"] * n, "spread": np.full(n, np.nan),
                             "tokens": [list(a.tokens) for a in self.archs]})


def read_ofa_archs(path: Path, space: OFASpace) -> list:
    """The architectures of a ``table@<p>`` latency table (its ``tokens`` column), checked."""
    try:
        frame = pd.read_parquet(path, columns=["arch_id", "tokens"])
    except (OSError, ValueError, KeyError) as exc:  # pyarrow's errors are ValueError/OSError subclasses
        raise DataError(f"{path}: not an OFA platform's latency table ({exc}); rerun table@"
                        ) from None
    try:
        archs = [space.from_tokens(t) for t in frame["tokens"]]
    except ArchError as exc:
        raise DataError(f"{path}: {exc}; rerun its table stage") from None
    if [a.arch_id for a in archs] != frame["arch_id"].tolist():
        raise DataError(f"{path}: arch_id does not match the tokens; the file was edited: rerun table@")
    return archs


def ofa_platform(cfg: PlatformConfig, files: PlatformFiles | None = None,
                 feasibility: Feasibility = Feasibility(), n_archs: int = 16_000, seed: int = 0,
                 predictor: str | Path = PREDICTOR) -> OFAPlatform:
    """The platform of an ``ofa`` entry: ``file`` the folder of ``<r>_lookup_table.yaml`` files. Its
    architectures are those of ``files.latency`` where that exists, else ``n_archs`` sampled with ``seed``."""
    if not cfg.file:
        raise ConfigError(f"platform {cfg.name!r}: an ofa platform names its lookup-table folder (file: DIR)")
    lut = LutLatency.load(cfg.file)
    space = lut.space()
    latency_fn = lut.token_fn(space)
    accuracy_fn = OFAPredictor.load(predictor).token_fn(space)
    if files is not None and files.latency.is_file():
        archs = read_ofa_archs(files.latency, space)
    else:
        archs = space.sample(n_archs, seed=seed, unique=True)
    tokens = np.array([a.tokens for a in archs], dtype=np.int64)
    latency = Lookup(archs, latency_fn.on_tokens(tokens), f"latency on {cfg.name}", fallback=latency_fn)
    accuracy = Lookup(archs, accuracy_fn.on_tokens(tokens), "OFA-predicted top-1", fallback=accuracy_fn)
    smallest = space.from_ofa([3] * 20, [3] * 20, [2] * 5, min(space.resolutions))
    cheapest = float(latency_fn([smallest])[0])
    return OFAPlatform(cfg, space, latency, accuracy, files=files, cheapest_ms=cheapest,
                       feasibility=feasibility, archs=archs, latency_fn=latency_fn, accuracy_fn=accuracy_fn)
