"""One ``platforms:`` entry of params.yaml → its :class:`~nag.platforms.kinds.Platform`.

Example::

    >>> from nag.config import PlatformConfig
    >>> p = resolve(PlatformConfig("nb201-pixel3", device="pixel3"))    # doctest: +SKIP
    >>> p.latency([p.space.parse(s)]), p.cheapest                      # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from nag.config import ConfigError, PlatformConfig, SupernetConfig
from nag.method.archdata import Lookup
from nag.platforms.kinds import (
    Feasibility,
    Platform,
    PlatformFiles,
    TablePlatform,
    _table,
    read_latency_table,
    table_platform,
)
from nag.spaces.nb201 import NB201Space


def resolve(
    cfg: PlatformConfig, supernet: SupernetConfig | None = None, files: PlatformFiles | None = None,
    feasibility: Feasibility = Feasibility(),
) -> Platform:
    """Build the :class:`Platform` for one ``platforms:`` entry (mbv3 ones need ``supernet``; their
    artifacts default to :meth:`PlatformFiles.default`). A benchmark platform keeps ``files`` only for
    the validation report its dataset must pass; its table's values are its latency (bound = estimate)."""
    if cfg.kind == "ofa":
        from nag.platforms.ofa import ofa_platform

        return ofa_platform(cfg, files or PlatformFiles.default(cfg.name), feasibility)
    if cfg.kind == "imported" and cfg.table:
        from nag.platforms.table_device import table_device_platform

        return table_device_platform(cfg, files or PlatformFiles.default(cfg.name), feasibility)
    if cfg.kind in ("local", "imported"):
        from nag.latency.model import LatencyModel
        from nag.supernet.data import make_space

        if supernet is None:
            raise ConfigError(
                f"platform {cfg.name!r} is an mbv3 platform: resolving it needs the supernet settings"
            )
        files = files or PlatformFiles.default(cfg.name)
        space = make_space(supernet, files.prepared)
        return table_platform(
            cfg, space, read_latency_table(files.latency, cfg.name), LatencyModel.load(files.model), files,
            feasibility,
        )
    if cfg.kind != "benchmark":
        raise ConfigError(f"platform {cfg.name!r}: kind {cfg.kind!r} is not supported")
    table = _table(cfg.file)
    try:
        lat = table.latency(cfg.device)
        acc = table.accuracy(cfg.metric)
    except KeyError as exc:
        raise ConfigError(f"platform {cfg.name!r}: {exc.args[0]}") from None
    # a cell missing from a partial table has no measured latency, and a cell that does not see its input
    # is no network: neither is ever feasible (infinite latency), so no budget grid, pick or oracle holds one
    space = NB201Space()
    lat = np.where([space.sees_input(a) for a in table.archs], lat, np.inf)
    return TablePlatform(cfg, space, Lookup(table.archs, lat, f"latency on {cfg.device}", missing=np.inf),
                         Lookup(table.archs, acc, cfg.metric), files=files, feasibility=feasibility,
                         table=table)
