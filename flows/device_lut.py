"""Adding a device from its per-layer lookup tables (OFA's format): ``python -m flows.devices add NAME DIR/``.

``DIR`` holds one ``<resolution>_lookup_table.yaml`` per input size, keyed by layer as OFA's released Samsung
Note10 tables are (``data/benchmarks/ofa_note10_lut``). Every file is checked unread first (no symlink, within
``devices:`` limits); the tables must time every layer of OFA's MobileNetV3 w1.2 space at their resolutions
(any of 160–224 px) with finite positive means; their entries pass the Great Expectations ``measurements``
suite. Only then is the folder copied to ``data/devices/NAME/`` (a temporary folder, renamed) and declared
in params.yaml as an ``ofa`` platform under ``table_platforms:`` — params.yaml last; any failure changes
nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from flows.device_files import DeviceError, check_file


def add_lut_device(name: str, source: Path, params, params_path: Path, devices_dir: Path,
                   insert_platform) -> dict:
    """Validate the lookup-table folder ``source`` and declare it as platform ``name``; the report."""
    from flows.validate import describe_failures, measurement_expectations, run_suite
    from nag.config import ConfigError, load_params
    from nag.data.ofa_imagenet import LUT_FILE, LutLatency

    files = sorted(source.iterdir())
    if not files:
        raise DeviceError(f"{source}: an empty folder; give OFA lookup tables "
                          f"(<resolution>_lookup_table.yaml)")
    for f in files:
        if f.is_symlink() or not f.is_file() or not LUT_FILE.match(f.name):
            raise DeviceError(f"{f}: a lookup-table folder holds only <resolution>_lookup_table.yaml files "
                              f"(no links, no subfolders); move it out")
        check_file(f, params.devices)
    try:
        lut = LutLatency.load(source)
    except ValueError as exc:  # LutError: a missing layer, a bad mean, a resolution outside the space
        raise DeviceError(str(exc)) from None
    results = run_suite(f"measurements_{name}", lut.frame(), measurement_expectations(params.latency))
    report = {"platform": name, "kind": "ofa", "success": all(r["success"] for r in results),
              "n_expectations": len(results), "n_failed": sum(not r["success"] for r in results),
              "failed": [r for r in results if not r["success"]], "results": results,
              "resolutions": sorted(lut.tables)}
    if not report["success"]:
        raise DeviceError(describe_failures(report), report)
    target = devices_dir / name
    root = params_path.resolve().parent
    file = target.resolve().relative_to(root) if target.resolve().is_relative_to(root) else target
    staged = params_path.with_name(f".{params_path.name}.tmp")
    tmp = devices_dir / f".{name}.tmp"
    placed = False
    try:
        staged.write_text(insert_platform(params_path.read_text(), name,
                                          {"kind": "ofa", "file": Path(file).as_posix()}, "table_platforms"))
        try:
            load_params(staged).platform(name)
        except ConfigError as exc:
            raise DeviceError(f"adding {name!r} would make {params_path} invalid "
                              f"({str(exc).replace(str(staged), str(params_path))}); nothing was changed"
                              ) from None
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for f in files:
            shutil.copyfile(f, tmp / f.name)
        os.replace(tmp, target)  # the folder placed first, params.yaml last
        placed = True
        os.replace(staged, params_path)
        placed = False
        return report
    except OSError as exc:
        raise DeviceError(f"cannot write {exc.filename or params_path} ({exc.strerror or exc}); nothing was "
                          f"changed") from None
    finally:
        if placed:  # params.yaml was not replaced: the folder goes too, so a retry is not refused
            shutil.rmtree(target, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        staged.unlink(missing_ok=True)
