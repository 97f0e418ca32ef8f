"""Measure one model's batch-1 latency on this machine: warm-up, N timed calls, median and spread.

Two runtimes: ``cpu-torch`` (PyTorch eager, inference mode) and ``cpu-onnxruntime`` (the same network
exported to ONNX, run by onnxruntime's CPU provider). Threads are pinned for the measurement and the
settings travel in the returned record.

Example::

    >>> rec = measure(torch.nn.Conv2d(8, 8, 3, padding=1), (1, 8, 14, 14), "cpu-torch", MeterSettings())
    >>> sorted(rec)[:4]
    ['cv', 'iqr_ms', 'max_ms', 'mean_ms']
"""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch

RUNTIMES = ("cpu-torch", "cpu-onnxruntime")


@dataclass(frozen=True)
class MeterSettings:
    warmup: int = 10
    repeats: int = 30
    threads: int = 1


@contextmanager
def torch_threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def summarize(times_ms: np.ndarray) -> dict:
    """Median, quartiles, IQR and coefficient of variation of timed calls (ms)."""
    t = np.asarray(times_ms, dtype=np.float64)
    q1, med, q3 = np.percentile(t, [25, 50, 75])
    return {"median_ms": float(med), "mean_ms": float(t.mean()), "p25_ms": float(q1), "p75_ms": float(q3),
            "iqr_ms": float(q3 - q1), "cv": float(t.std() / t.mean()), "min_ms": float(t.min()),
            "max_ms": float(t.max())}


def time_calls(fn: Callable[[], object], settings: MeterSettings) -> np.ndarray:
    for _ in range(settings.warmup):
        fn()
    out = np.empty(settings.repeats)
    for i in range(settings.repeats):
        t0 = time.perf_counter()
        fn()
        out[i] = (time.perf_counter() - t0) * 1000.0
    return out


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


def measure(model: torch.nn.Module, shape: tuple[int, ...], runtime: str, settings: MeterSettings) -> dict:
    """Time ``model`` on a random input of ``shape`` with ``runtime``; returns the summary record
    plus the settings it was measured with."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    model = model.eval()
    x = torch.randn(*shape)
    with torch_threads(settings.threads), torch.inference_mode():
        if runtime == "cpu-torch":
            times = time_calls(lambda: model(x), settings)
        else:
            session = ort_session(onnx_bytes(model, x), settings.threads)
            feed = {"input": x.numpy()}
            times = time_calls(lambda: session.run(None, feed), settings)
    return {**summarize(times), "runtime": runtime, **asdict(settings), "input_shape": list(shape)}
