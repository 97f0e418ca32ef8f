"""Measuring a latency table on a machine whose speed wanders.

A shared 2-core VM changes speed by tens of percent from one minute to the next (seen here: the same
networks measured again a minute later, median 17–48 % apart). A table measured through such spells mixes
machine states. :class:`Normaliser` times the platform's probe networks beside every chunk of measured
items, in the same interleaved rounds, and divides each round of each item by that round's drift (the
probes' median ratio to their baseline) — so every entry of the table, the LUT blocks, the directly
measured networks and their repeats, is expressed on one machine state. The baseline is then rescaled to
the probes' median state over the whole measurement, and kept with the table: later measurements
(:mod:`nag.latency.drift`) correct to the same scale.

Example::

    >>> norm = Normaliser(probe_items, "cpu-torch", settings)          # doctest: +SKIP
    >>> records = norm.measure(items)      # records on the baseline's machine state   # doctest: +SKIP
    >>> scale = norm.rescale([records])    # ... then on the measurement's median state  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from nag.latency.meter import MeterSettings, measure_many

Item = tuple  # (torch module, input shape)


def _restate(rec: dict, drift: np.ndarray) -> dict:
    """``rec`` with each round minimum divided by its round's drift (raw values kept)."""
    raw = np.asarray(rec["round_min_ms"], dtype=np.float64)
    mins = raw / drift
    q1, q3 = np.percentile(mins, [25, 75])
    return {**rec, "latency_ms": float(np.median(mins)), "iqr_ms": float(q3 - q1),
            "round_min_ms": [float(v) for v in mins], "raw_round_min_ms": [float(v) for v in raw],
            "raw_latency_ms": float(np.median(raw)), "drift": float(np.median(drift))}


@dataclass
class Normaliser:
    """Times ``probes`` beside every ``chunk`` of measured items and restates the items on the probes'
    baseline (their latency measured alone, with twice the rounds, when the normaliser starts)."""

    probes: Sequence[Item]
    runtime: str
    settings: MeterSettings
    chunk: int = 24
    baseline: np.ndarray = field(init=False)
    drifts: list[float] = field(init=False, default_factory=list)  # per chunk: median drift

    def __post_init__(self) -> None:
        s = self.settings
        first = MeterSettings(s.warmup, s.repeats, 2 * s.rounds, s.threads)
        alone = measure_many(list(self.probes), self.runtime, first)
        self.baseline = np.array([r["latency_ms"] for r in alone])

    def measure(self, items: Sequence[Item], progress: bool = False, desc: str = "") -> list[dict]:
        """:func:`nag.latency.meter.measure_many` of ``items``, chunk by chunk beside the probes, each
        record restated on the baseline's machine state."""
        out: list[dict] = []
        starts = range(0, len(items), self.chunk)
        quiet = not progress or len(starts) < 2
        for start in tqdm(starts, desc=f"chunks {desc}", disable=quiet, leave=False):
            part = list(items[start:start + self.chunk])
            recs = measure_many(part + list(self.probes), self.runtime, self.settings)
            probe = np.array([r["round_min_ms"] for r in recs[len(part):]])  # (probes, rounds)
            drift = np.median(probe / self.baseline[:, None], axis=0)  # (rounds,)
            self.drifts.append(float(np.median(drift)))
            out += [_restate(r, drift) for r in recs[: len(part)]]
        return out

    def rescale(self, record_lists: Sequence[list[dict]]) -> float:
        """Move every record of ``record_lists`` (in place) and the baseline from the baseline's state to
        the median state of the chunks measured; returns the factor."""
        factor = float(np.median(self.drifts)) if self.drifts else 1.0
        for records in record_lists:
            for i, r in enumerate(records):
                records[i] = {**r, "latency_ms": r["latency_ms"] * factor, "iqr_ms": r["iqr_ms"] * factor,
                              "round_min_ms": [v * factor for v in r["round_min_ms"]]}
        self.baseline = self.baseline * factor
        return factor
