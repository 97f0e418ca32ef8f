"""The delivery check of local platforms: a delivered network must fit its budget *when measured*.

Two measurements, both beside the platform's drift probes (:mod:`nag.latency.drift`) and divided by the
drift they show (so they live on the latency table's scale, the one budgets and estimates use):

1. **choose** (:func:`fit_budgets`) — each budget's pick, built fresh, is timed; it fits only when its
   upper bound (the ``latency.confidence`` quantile of its drift-corrected rounds: the timing noise
   counted, not a point estimate) is within the budget. One over its budget is
   replaced by the best pick for a budget shrunk by its overshoot (and below its own latency), at most
   ``latency.delivery_tries`` picks in all, each try reported; none fitting is a :class:`DeliveryError`
   naming the smallest latency measured.
2. **report** (:func:`measure_delivered`) — the finetuned, exported models are timed again, in a later,
   independent measurement: that one decides ``within_budget`` (choosing by a noisy measurement and
   reporting the same measurement would flatter the result).

Example::

    >>> rows = fit_budgets(params, platform, generated, rows)                   # doctest: +SKIP
    >>> timings, drift = measure_delivered(params, platform, archs, nets, onnx)  # doctest: +SKIP
"""

from __future__ import annotations

import torch

from nag.config import Params
from nag.errors import NagError
from nag.latency.drift import Drift, measure_beside_probes, stale_message
from nag.latency.meter import MeterSettings
from nag.method.infer import InfeasibleError
from nag.platforms import Platform
from nag.spaces.base import Arch


class DeliveryError(NagError, RuntimeError):
    """No candidate met the budget as measured on this machine."""


def settings_for(params: Params, platform: Platform) -> MeterSettings:
    """The table's meter settings with twice its rounds: a handful of models deserve a steadier estimate."""
    lc, p = params.latency, platform.config
    return MeterSettings(lc.warmup, lc.repeats, 2 * lc.rounds, p.threads or lc.threads)


def probes_of(platform: Platform) -> dict:
    """The drift probes the platform's latency model was measured with."""
    from nag.latency.model import LatencyModel

    probes = LatencyModel.load(platform.files.model).probes
    if not probes:
        raise DeliveryError(f"the latency model {platform.files.model} of {platform.name} has no drift "
                            f"probes; re-measure it: dvc repro -s -f latency@{platform.name}")
    return probes


def time_beside_probes(params: Params, platform: Platform, models: list[torch.nn.Module], desc: str,
                       log=print) -> tuple[list[float], list[float], Drift, list[float]]:
    """Raw and drift-corrected latency (ms) of ``models`` on the platform's runtime, the drift of the
    probes timed with them, and each model's upper bound at ``latency.confidence``; warns (``log``) when
    the table is stale."""
    m = platform.space.macro
    shape = (1, m.in_channels, m.input_size, m.input_size)
    raw, corrected, drift, upper = measure_beside_probes(
        platform.space, probes_of(platform), [(x, shape) for x in models], settings_for(params, platform),
        params.latency.max_drift, progress=True, desc=desc, confidence=params.latency.confidence)
    if drift.stale:
        log(f"warning: {stale_message(platform.name, drift.ratio, drift.max_drift)}")
    return raw, corrected, drift, upper


def fit_budgets(params: Params, platform: Platform, generated, rows: list[dict], log=print,
                strict: bool = True) -> list[dict]:
    """Measurement 1 on a local platform: every row (``budget_ms``, ``arch_obj`` and the pick's fields)
    whose network, timed and drift-corrected, exceeds its budget moves to another pick until one fits.
    Returns the rows (replaced where a fallback was taken), each with its ``delivery`` tries. A budget no
    candidate meets raises :class:`DeliveryError` (``strict``: a user asked for it) or, for the stage, is
    returned marked ``undeliverable`` (the smallest measured bound) so the other budgets still deliver."""
    from nag.supernet.static import build_static

    if platform.config.kind != "local":
        return rows
    rows = [dict(r, delivery=[]) for r in rows]
    pending = list(range(len(rows)))
    asked = {i: rows[i]["budget_ms"] for i in pending}
    for attempt in range(params.latency.delivery_tries):
        archs = [rows[i]["arch_obj"] for i in pending]
        nets = [build_static(platform.space, a).eval() for a in archs]
        desc = f"delivery check {attempt + 1} on {platform.name}"
        raw, corrected, drift, upper = time_beside_probes(params, platform, nets, desc, log)
        still = []
        for i, ms, measured, ucb in zip(pending, raw, corrected, upper):
            r = rows[i]
            r["delivery"].append({"try": attempt + 1, "asked_ms": asked[i], "arch_id": r["arch_obj"].arch_id,
                                  "latency_ms": r["latency_ms"],
                                  "latency_bound_ms": r.get("latency_bound_ms"),
                                  "measured_raw_ms": ms, "drift_ratio": drift.ratio, "measured_ms": measured,
                                  "measured_upper_ms": ucb, "fits": ucb <= r["budget_ms"]})
            if ucb > r["budget_ms"]:
                still.append(i)
        pending = still
        if not pending or attempt + 1 == params.latency.delivery_tries:
            break
        for i in pending:
            r, last = rows[i], rows[i]["delivery"][-1]
            # shrink by the overshoot, and below the failed pick's own latency so it cannot come back
            asked[i] = min(asked[i] * r["budget_ms"] / last["measured_upper_ms"],
                           float(platform.latency([r["arch_obj"]])[0])) * (1 - 5e-3)
            if asked[i] < platform.cheapest:
                continue  # nothing smaller to try: the next round measures the same pick and stops
            try:
                choice = generated.choose([asked[i]], zero_query=True)[0][0]
            except InfeasibleError:
                continue  # the generator samples nothing that small: the same pick again, then stop
            rows[i] = {**generated.describe(choice), "budget_ms": r["budget_ms"], "arch_obj": choice.arch,
                       "margin_ms": r["budget_ms"] - choice.latency, "delivery": r["delivery"],
                       **{k: r[k] for k in ("interpolated", "extra") if k in r}}
    for i in pending:
        tries = rows[i]["delivery"]
        best = min(tries, key=lambda t: t["measured_upper_ms"])
        why = (f"no candidate met {rows[i]['budget_ms']:.4g} ms on {platform.name} when measured here "
               f"({len(tries)} tried): the smallest measured {best['measured_upper_ms']:.4g} ms "
               f"(drift-corrected upper bound at {params.latency.confidence:g}; {best['arch_id']})")
        if strict:
            raise DeliveryError(f"{why}; raise the budget to at least that, or re-measure the table "
                                f"(dvc repro -s -f latency@{platform.name})")
        log(f"warning: {why}; that budget is not delivered")
        rows[i]["undeliverable"] = {"budget_ms": rows[i]["budget_ms"], "reason": why,
                                    "smallest_measured_upper_ms": best["measured_upper_ms"]}
    for r in rows:
        if "undeliverable" in r:
            continue
        last, n = r["delivery"][-1], len(r["delivery"]) - 1
        log(f"budget {r['budget_ms']:.4g} ms: {r['arch_obj'].arch_id} measured {last['measured_ms']:.4g} ms "
            f"(bound {last['measured_upper_ms']:.4g})" + (f" after {n} fallback(s)" if n else ""))
    return rows


def measure_delivered(params: Params, platform: Platform, archs: list[Arch], nets: list[torch.nn.Module],
                      onnx: list[bytes], log=print
                      ) -> tuple[list[tuple[float, float, float] | None], Drift | None]:
    """Measurement 2 on a local platform: (model raw, reference raw, model drift-corrected) latency (ms) of
    each delivered model — the model itself (``cpu-onnxruntime``: its ONNX file) and a fresh network of the
    same architecture — timed beside the probes, and their drift. ``([None] * n, None)`` elsewhere (an
    imported device is measured on the device)."""
    from nag.delivery.export import OnnxModule
    from nag.supernet.static import build_static

    if platform.config.kind != "local":
        return [None] * len(nets), None
    threads = settings_for(params, platform).threads
    delivered = nets if platform.config.runtime == "cpu-torch" else [OnnxModule(b, threads) for b in onnx]
    refs = [build_static(platform.space, a).eval() for a in archs]
    raw, corrected, drift, _ = time_beside_probes(params, platform, [*delivered, *refs],
                                               f"delivered models on {platform.name}", log)
    k = len(nets)
    return [(raw[i], raw[k + i], corrected[i]) for i in range(k)], drift
