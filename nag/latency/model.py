"""A platform's latency model: the latency of *any* architecture of the space, not only the M sampled.

Local platforms: the block LUT plus its linear correction; imported devices: the fitted predictor at
the platform's resolution; OFA lookup-table devices: their tables' sums (exact); benchmark tables: nothing
outside the table (infinite latency). Each carries
its error model (:mod:`nag.latency.bound`: residuals it did not train on, per estimate source), so any
estimate has an upper bound at a confidence, and a local platform its drift probes
(:mod:`nag.latency.drift`). Saved
(as skops, atomically: :mod:`nag.artifacts`, no pickle) by the latency stage as
``models/latency/<platform>.skops``; the generator's candidates are timed with it.

Example::

    >>> model = LatencyModel.load("models/latency/cpu-torch.skops")      # doctest: +SKIP
    >>> model.predict(space, space.sample(3, seed=0))                  # doctest: +SKIP
    array([2.61, 3.02, 2.47])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nag.artifacts import ArtifactError, dump_object, load_object
from nag.errors import NagError
from nag.latency.bound import ErrorModel
from nag.spaces.base import Arch
from nag.spaces.mbv3 import MBV3Space

FORMAT = 2  # 2: error model and drift probes


class LatencyModelError(NagError, ValueError):
    """A latency model file that is missing, unreadable or for another platform kind."""


@dataclass
class LatencyModel:
    platform: str
    kind: str  # local | imported | ofa | benchmark (a table: what it lacks is never feasible)
    lut: dict | None = None
    correction: Any = None  # nag.latency.lut.LutCorrection
    predictor: Any = None  # sklearn regressor of log latency (ofa: the lookup tables, ResolutionTables)
    resolution: int = 0
    meta: dict = field(default_factory=dict)
    error: ErrorModel = field(default_factory=ErrorModel)
    probes: dict | None = None  # local: {"tokens", "latency_ms", "runtime", "settings"} (nag.latency.drift)

    @property
    def source(self) -> str:
        """The source name of this model's estimates for architectures outside the table."""
        return {"local": "lut", "imported": "predicted"}.get(self.kind, "measured")

    def predict_bound(self, space: MBV3Space, archs: list[Arch], confidence: float) -> np.ndarray:
        """The upper bound (ms) at ``confidence`` of :meth:`predict`."""
        return self.error.bounds(self.predict(space, archs), self.source, confidence)

    def predict(self, space: MBV3Space, archs: list[Arch]) -> np.ndarray:
        """Latency (ms) of each architecture."""
        if not archs:
            return np.zeros(0)
        if self.kind == "benchmark":
            return np.full(len(archs), np.inf)
        if self.kind == "ofa":
            return self.predictor(archs)
        if self.kind == "local":
            from nag.latency.lut import lut_sums

            sums, counts, _ = lut_sums(space, self.lut, archs)
            out = self.correction.predict(space, archs, sums, counts) if self.correction is not None else sums
            return np.where(out > 0, out, sums)
        from nag.latency.predictor import predict_latency

        return predict_latency(self.predictor, archs, self.resolution)

    def save(self, path: str | Path) -> None:
        dump_object({"format": FORMAT, "model": self}, path)

    @staticmethod
    def load(path: str | Path) -> LatencyModel:
        """Read a latency model file (skops, trusted types only: never runs code from the file)."""
        rebuild = f"dvc repro -f latency@{Path(path).stem}"
        try:
            obj = load_object(path, "latency model", rebuild)
        except ArtifactError as exc:
            raise LatencyModelError(str(exc)) from None
        if (
            not isinstance(obj, dict)
            or obj.get("format") != FORMAT
            or not isinstance(obj.get("model"), LatencyModel)
        ):
            raise LatencyModelError(
                f"{path} is not a latency model of format {FORMAT}; rebuild it with `{rebuild}`"
            )
        return obj["model"]
