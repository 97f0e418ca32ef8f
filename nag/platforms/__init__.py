"""Platforms: where an architecture's latency (and, for tables, accuracy) comes from, and their files.

Lives here: the protocol and its two types (``kinds``), building one from params.yaml (``resolve``), the
paths dvc.yaml writes (``layout``), the few-shot device builders (``table_device``, ``mbv3_device``) and
OFA's ImageNet platform (``ofa``: lookup-table latency, OFA's predictor as accuracy).
May import ``method``, ``spaces``, ``latency``, ``fewshot``, ``data``, ``supernet``, ``config``.
"""

from nag.platforms.kinds import (
    Feasibility,
    Platform,
    PlatformFiles,
    SupernetPlatform,
    TablePlatform,
    check_validated,
    read_latency_table,
    table_platform,
)
from nag.platforms.resolve import resolve

__all__ = ["Feasibility", "Platform", "PlatformFiles", "SupernetPlatform", "TablePlatform", "check_validated",
           "read_latency_table", "resolve", "table_platform"]
