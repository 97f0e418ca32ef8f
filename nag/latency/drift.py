"""Drift probes: is this machine as fast now as when its latency table was measured?

A local platform keeps ``latency.probes`` networks measured with its table (spread over its latency
range). Every later measurement on the platform (finetune@, ``nag export``, ``nag check-latency``)
times them again, interleaved in the same rounds with what it measures. Their median ratio now/then is
the drift; a measurement divided by it is what the table's machine state would have given (the scale
every estimate and budget lives on). Past ``latency.max_drift`` the table is stale.

Example::

    >>> raw, fixed, drift, upper = measure_beside_probes(space, probes, [(net, shape)], cfg)  # doctest: +SKIP
    >>> drift.ratio, drift.stale                                                      # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from nag.errors import NagError
from nag.latency.meter import MeterSettings, measure_many
from nag.spaces.base import Arch

DRIFT_DIR = Path("reports/drift")


class StaleTableError(NagError, RuntimeError):
    """A latency table measured when the machine ran at another speed than now."""


def choose_probes(measured_ms: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` directly measured networks spread evenly over their latency range (quantiles)."""
    order = np.argsort(measured_ms, kind="stable")
    picks = np.unique(np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int))
    return order[picks]


def probe_set(archs: list[Arch], measured_ms: np.ndarray, runtime: str, settings: MeterSettings) -> dict:
    """What a latency model keeps of its probes."""
    return {"tokens": [list(a.tokens) for a in archs], "latency_ms": [float(v) for v in measured_ms],
            "runtime": runtime, "settings": asdict(settings)}


@dataclass(frozen=True)
class Drift:
    """The probes' latency now vs in the table."""

    ratio: float  # median over probes of now / then
    per_probe: tuple[float, ...]
    max_drift: float

    @property
    def stale(self) -> bool:
        return abs(self.ratio - 1.0) > self.max_drift

    def correct(self, measured_ms: float) -> float:
        """A measurement taken now, on the table's scale (the overall ratio; measure_beside_probes
        corrects its own items round by round)."""
        return float(measured_ms) / self.ratio


def stale_message(platform: str, ratio: float, max_drift: float) -> str:
    return (f"the latency table of {platform} is stale: its probe networks now run "
            f"{100 * (ratio - 1):+.1f} % "
            f"vs when it was measured (limit ±{100 * max_drift:g} %); re-measure it with "
            f"`dvc repro -s -f latency@{platform}` and then `dvc repro`")


def measure_beside_probes(space, probes: dict, items: list, settings: MeterSettings, max_drift: float = 0.10,
                          progress: bool = False, desc: str = "", confidence: float = 0.9
                          ) -> tuple[list[float], list[float], Drift, list[float]]:
    """Time ``items`` (``(model, input shape)``) and the probes in the same interleaved rounds, with the
    probes' runtime. Returns each item's raw latency (ms, median of its round minima), its drift-corrected
    latency, the drift, and each item's upper bound: the ``confidence`` quantile of its drift-corrected
    round values (the latency it stayed under in that share of the rounds: the timing noise counted).
    The correction pairs rounds: a round's drift is the probes' median ratio now/then *in that round*, an
    item's corrected latency the median over rounds of its round minimum divided by that round's drift (a
    machine changing speed between rounds is corrected round by round)."""
    from nag.supernet.static import build_static

    m = space.macro
    shape = (1, m.in_channels, m.input_size, m.input_size)
    nets = [(build_static(space, space.from_tokens(t)).eval(), shape) for t in probes["tokens"]]
    recs = measure_many(list(items) + nets, probes["runtime"], settings, progress=progress, desc=desc)
    mins = np.array([r["round_min_ms"] for r in recs])  # (items + probes, rounds)
    k = len(items)
    then = np.asarray(probes["latency_ms"], dtype=np.float64)[:, None]
    per_round = np.median(mins[k:] / then, axis=0)  # (rounds,)
    rounds = mins[:k] / per_round  # (items, rounds), on the table's scale
    corrected = np.median(rounds, axis=1) if k else np.zeros(0)
    upper = np.quantile(rounds, confidence, axis=1) if k else np.zeros(0)
    ratios = np.median(mins[k:], axis=1) / then[:, 0]
    drift = Drift(float(np.median(per_round)), tuple(float(r) for r in ratios), max_drift)
    return ([r["latency_ms"] for r in recs[:k]], [float(v) for v in corrected], drift,
            [float(max(u, c)) for u, c in zip(upper, corrected)])


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def drift_record(platform: str, drift: Drift, model_path: str | Path, what: str) -> dict:
    """A JSON-able record of one drift measurement, tied to the latency model it was measured against."""
    return {"platform": platform, "ratio": drift.ratio, "drift_pct": 100 * (drift.ratio - 1),
            "per_probe": list(drift.per_probe), "max_drift": drift.max_drift, "stale": drift.stale,
            "latency_model_sha256": file_sha256(model_path), "what": what,
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def latest_record(root: str | Path, platform: str, model_path: str | Path) -> dict | None:
    """The newest drift record of ``platform`` taken against the current latency model: from
    ``reports/drift/<p>.json`` (check-latency, export) or the finetune report
    (``reports/finetune/<p>.json``)."""
    root = Path(root)
    if not Path(model_path).is_file():
        return None
    sha = file_sha256(model_path)
    found = []
    for path, key in ((root / DRIFT_DIR / f"{platform}.json", None),
                      (root / "reports" / "finetune" / f"{platform}.json", "drift")):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        rec = rec.get(key) if key else rec
        if isinstance(rec, dict) and rec.get("latency_model_sha256") == sha and "measured_at" in rec:
            found.append(rec)
    return max(found, key=lambda r: r["measured_at"]) if found else None
