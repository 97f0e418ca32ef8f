"""The ``machine`` stage (runs every time): this machine's description. Local platforms depend on it, so
their latency is measured again on another machine or runtime version, and only then."""

from __future__ import annotations

import json
from pathlib import Path

from nag.atomic import write_json
from nag.latency.machine import machine_description


def run(out: str | Path) -> dict:
    """Write ``out`` unless it already holds this description (same bytes: nothing downstream reruns);
    returns the description with ``changed``."""
    out = Path(out)
    desc = machine_description()
    if out.is_file() and json.loads(out.read_text()) == desc:
        return {**desc, "changed": False}
    write_json(out, desc)
    return {**desc, "changed": True}
