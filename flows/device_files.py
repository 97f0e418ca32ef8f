"""Checks of a device's measurement file before anything of it is kept (flows/devices.py calls them): the
device's name, the file itself (no symlink, within ``devices:`` limits, unread until then), whole
resolutions in range, and a measurement kit's ``arch_id`` column against each row's architecture."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


class DeviceError(ValueError):
    """The device cannot be added (the message says why and what to do; ``report``: the failed
    validation, when validation is what refused it)."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report


def check_name(name: str) -> None:
    """Refuse a device name that is not ``[a-z][a-z0-9._-]*`` or that YAML would read as something else."""
    import yaml

    from nag.config import ConfigError
    from nag.config.platforms import check_name as platform_name

    try:
        platform_name(name, "device name")
    except ConfigError as exc:
        raise DeviceError(str(exc)) from None
    if yaml.safe_load(name) != name:  # yes, no, on, off, null...: YAML 1.1 reads them as other types
        raise DeviceError(f"device name {name!r} is read by YAML as {yaml.safe_load(name)!r}; choose another "
                          f"name, e.g. dev-{name}")


def check_file(source: Path, limits) -> None:
    """Refuse, before parsing, a file that is missing, a symlink, or over ``limits`` (``devices:``:
    ``max_file_mb``, ``max_rows``); no content of the file is echoed."""
    if source.is_symlink():
        raise DeviceError(f"{source} is a symbolic link; copy the measurement file itself there")
    if not source.is_file():
        raise DeviceError(f"{source}: no such file")
    mb = source.stat().st_size / 2**20
    if mb > limits.max_file_mb:
        raise DeviceError(f"{source} is {mb:.1f} MB, over devices.max_file_mb = {limits.max_file_mb:g} "
                          f"(params.yaml); split it or raise the limit")
    with source.open("rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    if lines - 1 > limits.max_rows:
        raise DeviceError(f"{source} has about {lines - 1} data lines, over devices.max_rows = "
                          f"{limits.max_rows} (params.yaml); split it or raise the limit")


def check_resolutions(source: Path, frame: pd.DataFrame) -> None:
    """A ``resolution`` column holds whole pixel sizes within the space's range, never a fraction."""
    from nag.config.rules import RESOLUTIONS

    if "resolution" not in frame.columns:
        return
    res = pd.to_numeric(frame["resolution"], errors="coerce")
    bad = ~(res.notna() & (res == res.round()) & res.between(*RESOLUTIONS))
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DeviceError(f"{source}: resolution {frame['resolution'].iloc[i]!r} (CSV line {i + 2}) must be "
                          f"a whole size in [{RESOLUTIONS[0]}, {RESOLUTIONS[1]}] px")


def kit_ids_checked(source: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its ``arch_id`` column (a measurement kit's plan.csv), once every row's id is
    there, unique and the id of the row's own architecture (else a one-line error naming the CSV line)."""
    from nag.latency.predictor import imagenet_space
    from nag.spaces.base import ArchError
    from nag.spaces.nb201 import NB201Space

    if "arch_id" not in frame.columns:
        return frame
    ids = frame["arch_id"].map(lambda v: "" if pd.isna(v) else str(v).strip())
    blank = ids == ""
    if blank.any():
        raise DeviceError(f"{source}: CSV line {int(blank.to_numpy().nonzero()[0][0]) + 2} has no arch_id; "
                          f"keep the kit's plan.csv rows as they were written")
    dup = ids.duplicated(keep=False)
    if dup.any():
        lines = [int(i) + 2 for i in dup.to_numpy().nonzero()[0][:5]]
        raise DeviceError(f"{source}: arch_id {ids[dup].iloc[0]} appears more than once (CSV lines {lines}); "
                          f"keep one row per model")
    space = NB201Space() if "arch_str" in frame.columns else imagenet_space()
    for i, row in frame.iterrows():
        try:
            arch = (space.parse(str(row["arch_str"])) if "arch_str" in frame.columns
                    else space.from_ofa(*([int(v) for v in str(row[k]).split()] for k in ("ks", "e", "d"))))
        except (ArchError, ValueError, KeyError) as exc:
            raise DeviceError(f"{source}: CSV line {i + 2}: not a network of the space ({exc})") from None
        if arch.arch_id != ids[i]:
            raise DeviceError(f"{source}: CSV line {i + 2}: arch_id {ids[i]} is not the network of its row "
                              f"({arch.arch_id}); a row from another kit, or an edited file")
    return frame.drop(columns=["arch_id"])
