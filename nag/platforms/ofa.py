"""An OFA ImageNet platform: OFA's MobileNetV3 w1.2 space with OFA's accuracy predictor as its (counted)
accuracy and a device's per-layer lookup tables as its latency — exact for any architecture, as in the paper's
mobile setting (the Samsung Note10 tables OFA released).

Example::

    >>> p = ofa_platform(PlatformConfig("note10", kind="ofa", file="data/benchmarks/ofa_note10_lut"),
    ...                  n_archs=200)                                                  # doctest: +SKIP
    >>> p.latency(p.space.sample(2, seed=0)), p.accuracy(p.space.sample(2, seed=0))   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nag.config import ConfigError, DatasetConfig, InferConfig, PlatformConfig
from nag.data.ofa_imagenet import LutLatency, OFAPredictor
from nag.method.archdata import ArchDataset, Lookup
from nag.platforms.kinds import Feasibility, Platform, PlatformFiles
from nag.spaces.ofa import OFASpace

PREDICTOR = Path("data/benchmarks/ofa_acc_predictor.npz")  # OFA's released predictor, as numpy arrays


@dataclass
class OFAPlatform(Platform):
    """OFA's space at ImageNet scale: predicted top-1 (%) answers counted queries; a lookup table, latency."""

    archs: list = field(default_factory=list)  # the sampled architectures the lookups hold (the dataset)

    def cheapest_arch(self) -> str:
        return "the smallest network: kernel 3, expand 3, depth 2 everywhere, at the lowest resolution"

    def ranking_predictor(self, cfg: InferConfig) -> tuple[str, ...]:
        return (cfg.predictor,)

    def make_dataset(self, cfg: DatasetConfig) -> tuple[ArchDataset, np.ndarray]:
        """The sampled architectures with their predicted accuracy and table latency."""
        data = ArchDataset(self.space, self.archs, self.accuracy.values, self.latency.values)
        return data, np.arange(len(self.archs))


def ofa_platform(cfg: PlatformConfig, files: PlatformFiles | None = None,
                 feasibility: Feasibility = Feasibility(), n_archs: int = 16_000, seed: int = 0,
                 predictor: str | Path = PREDICTOR) -> OFAPlatform:
    """The platform of an ``ofa`` entry: ``file`` the folder of ``<r>_lookup_table.yaml`` files."""
    if not cfg.file:
        raise ConfigError(f"platform {cfg.name!r}: an ofa platform names its lookup-table folder (file: DIR)")
    space = OFASpace()
    lut = LutLatency.load(cfg.file, space)
    score = OFAPredictor.load(predictor)
    archs = space.sample(n_archs, seed=seed, unique=True)
    tokens = np.array([a.tokens for a in archs], dtype=np.int64)

    def latency_of(rest):
        return lut(space, rest)

    def accuracy_of(rest):
        return 100.0 * score(space.features_batch(rest))

    latency = Lookup(archs, lut.latency_tokens(space, tokens), f"latency on {cfg.name}", fallback=latency_of)
    accuracy = Lookup(archs, 100.0 * score(space.features_from_tokens(tokens)), "OFA-predicted top-1",
                      fallback=accuracy_of)
    r0 = min(space.resolutions)
    smallest = space.from_ofa([3] * 20, [3] * 20, [2] * 5, r0)
    cheapest = float(lut(space, [smallest])[0])
    return OFAPlatform(cfg, space, latency, accuracy, files=files, cheapest_ms=cheapest,
                       feasibility=feasibility, archs=archs)
