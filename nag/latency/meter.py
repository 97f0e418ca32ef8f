"""Measure one model's batch-1 latency on this machine: warm-up, N timed calls, median and spread.

Two runtimes: ``cpu-torch`` (PyTorch eager, inference mode) and ``cpu-onnxruntime`` (the same network
exported to ONNX, run by onnxruntime's CPU provider). Threads are pinned, the garbage collector is
paused, and the calls of many models are interleaved in rounds so that a noisy spell of the machine
hits all of them alike; the settings travel in every record.

Example::

    >>> rec = measure(torch.nn.Conv2d(8, 8, 3, padding=1), (1, 8, 14, 14), "cpu-torch", MeterSettings())
    >>> rec["latency_ms"] > 0, rec["rounds"]
    (True, 5)
"""

from __future__ import annotations

import gc
import io
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from nag.supernet.threads import torch_threads

RUNTIMES = ("cpu-torch", "cpu-onnxruntime")


@dataclass(frozen=True)
class MeterSettings:
    """``rounds`` × (``warmup`` + ``repeats``) calls per model; rounds interleave all models of a batch."""

    warmup: int = 3
    repeats: int = 20
    rounds: int = 5
    threads: int = 1


@contextmanager
def quiet_timing(threads: int):
    """Pinned torch threads, no autograd, no garbage-collector pauses while timing."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        with torch_threads(threads), torch.inference_mode():
            yield
    finally:
        if gc_was:
            gc.enable()


def summarize(rounds: list[np.ndarray]) -> dict:
    """The latency estimate is the median over rounds of each round's fastest call: on a shared,
    noisy machine a round hit by another tenant is slow as a whole, and the fastest call of a round is
    its least disturbed one (two passes over the same networks agreed to a median 2.6 % this way, vs
    10 % for the median of 100 back-to-back calls). Spread: IQR of the round minima."""
    mins = np.array([r.min() for r in rounds])
    calls = np.concatenate(rounds)
    q1, q3 = np.percentile(mins, [25, 75])
    return {"latency_ms": float(np.median(mins)), "median_ms": float(np.median(calls)),
            "iqr_ms": float(q3 - q1), "cv": float(calls.std() / calls.mean()),
            "round_min_ms": [float(v) for v in mins]}


def onnx_bytes(model: torch.nn.Module, example: torch.Tensor) -> bytes:
    """The model exported to ONNX (TorchScript exporter, opset 17), in memory."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (example,), buf, dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["output"])
    return buf.getvalue()


def ort_session(data: bytes, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def _runner(
    model: torch.nn.Module, shape: tuple[int, ...], runtime: str, threads: int
) -> Callable[[], object]:
    model = model.eval()
    x = torch.randn(*shape)
    if runtime == "cpu-torch":
        return lambda: model(x)
    # an already exported model (nag.delivery.export.OnnxModule) is timed through its own session
    session = getattr(model, "session", None) or ort_session(onnx_bytes(model, x), threads)
    feed = {"input": x.numpy()}
    return lambda: session.run(None, feed)


def measure_many(
    items: Sequence[tuple[torch.nn.Module, tuple[int, ...]]],
    runtime: str,
    settings: MeterSettings,
    progress: bool = False,
    desc: str = "",
) -> list[dict]:
    """Time every ``(model, input shape)`` with ``runtime``: ``settings.rounds`` rounds, each calling
    every model ``warmup`` + ``repeats`` times in turn. One record per model (see :func:`summarize`)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    with torch_threads(settings.threads):
        runners = [_runner(m, shape, runtime, settings.threads)
                   for m, shape in tqdm(items, desc=f"prepare {desc}", disable=not progress, leave=False)]
    times: list[list[np.ndarray]] = [[] for _ in runners]
    with quiet_timing(settings.threads):
        for _ in tqdm(range(settings.rounds), desc=f"time {desc}", disable=not progress, leave=False):
            for j, fn in enumerate(runners):
                for _ in range(settings.warmup):
                    fn()
                t = np.empty(settings.repeats)
                for i in range(settings.repeats):
                    t0 = time.perf_counter()
                    fn()
                    t[i] = (time.perf_counter() - t0) * 1000.0
                times[j].append(t)
    meta = {"runtime": runtime, **asdict(settings)}
    return [{**summarize(t), **meta, "input_shape": list(shape)} for t, (_, shape) in zip(times, items)]


def remeasure_noisy(
    items: Sequence[tuple[torch.nn.Module, tuple[int, ...]]],
    records: list[dict],
    runtime: str,
    settings: MeterSettings,
    max_spread: float,
    tries: int = 2,
    measure: Callable | None = None,
) -> list[dict]:
    """Measure again (more rounds, pooled with the first ones) every record whose spread
    (IQR / estimate of the round minima) exceeds ``max_spread``; at most ``tries`` times. ``measure``
    (items -> records) replaces :func:`measure_many` (e.g. a :class:`nag.latency.normalise.Normaliser`)."""
    records = list(records)
    measure = measure or (lambda subset: measure_many(subset, runtime, settings))
    for _ in range(tries):
        noisy = [i for i, r in enumerate(records) if r["iqr_ms"] > max_spread * r["latency_ms"]]
        if not noisy:
            break
        again = measure([items[i] for i in noisy])
        for i, new in zip(noisy, again):
            mins = np.array(records[i]["round_min_ms"] + new["round_min_ms"])
            q1, q3 = np.percentile(mins, [25, 75])
            records[i] = {**records[i], "latency_ms": float(np.median(mins)), "iqr_ms": float(q3 - q1),
                          "round_min_ms": mins.tolist(), "rounds": len(mins)}
    return records


def measure(model: torch.nn.Module, shape: tuple[int, ...], runtime: str, settings: MeterSettings) -> dict:
    """Time one model (:func:`measure_many` of one)."""
    return measure_many([(model, shape)], runtime, settings)[0]
