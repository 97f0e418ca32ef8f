"""What local latency depends on: this machine's CPU, cores and runtime versions (``nag machine``).

Read without importing the runtimes (package metadata), so the always-run ``machine`` stage is cheap.
"""

from __future__ import annotations

import os
import platform as pyplatform
from importlib.metadata import version
from pathlib import Path


def machine_description() -> dict:
    """What local latency depends on: CPU model, cores and runtime versions."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = pyplatform.processor()
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "machine": pyplatform.machine(),
            "torch": version("torch"), "onnxruntime": version("onnxruntime")}
