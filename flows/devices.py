"""Adding a device from its own latency measurements: ``python -m flows.devices add NAME FILE.csv`` (or
``NAME DIR/``: a device's per-layer lookup tables in OFA's format, :mod:`flows.device_lut`).

The file is parsed (nag.latency.predictor.read_measurements), validated with the Great Expectations
``measurements`` suite, copied to ``data/devices/NAME.csv`` and only then declared in params.yaml as
an ``imported`` platform. Any failure — a bad file, a name that is taken — changes nothing.

``--column lat_x`` takes one device column out of a multi-device table such as
``data/benchmarks/ofa_gpu_latency.csv`` (columns ks, e, d, r, lat_*).

A file with an ``arch_str`` column (NAS-Bench-201 cells, as ``nag measure-plan`` writes them) is a
NAS-Bench-201 device: declared under ``table_platforms:`` with ``table: data/benchmarks/nb201.csv``, whose
devices its latency is transferred from — ``latency.min_measured`` (10) rows are enough. An mbv3 device
(OFA ``ks``/``e``/``d`` columns) needs as few: under 100 rows its latency is transferred from the OFA
reference table's devices (nag.platforms.mbv3_device), from 100 rows fitted on its own.

``append_measurements`` adds a file's rows to an existing imported device (the inbox does, for a file
named after one): duplicates of rows it has are dropped, a conflicting latency refuses the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import typer

from flows.device_files import DeviceError, check_file, check_name, check_resolutions, kit_ids_checked
from flows.validate import describe_failures, measurement_expectations, run_suite

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Add a device from its own latency measurements: the file is validated (Great "
                       "Expectations), copied to data/devices/NAME.csv and only then declared in params.yaml "
                       "as an imported platform; any failure changes nothing.")
NB201_TABLE = "data/benchmarks/nb201.csv"


def table_column(path: Path, column: str) -> pd.DataFrame:
    """One device of a multi-device table, in the measurement-file schema."""
    from nag.data.benchmarks import TableError, read_csv_table

    try:
        df = read_csv_table(path)
    except TableError as exc:
        raise DeviceError(f"{exc}; --column needs a CSV table with columns ks, e, d and lat_*") from None
    if column not in df.columns:
        lat = [c for c in df.columns if c.startswith("lat_")]
        raise DeviceError(f"{path} has no column {column!r}; its latency columns: {lat}")
    if "arch_str" in df.columns:  # an NB201-schema table
        return pd.DataFrame({"arch_str": df["arch_str"], "latency_ms": df[column]})
    missing = [c for c in ("ks", "e", "d") if c not in df.columns]
    if missing:
        raise DeviceError(
            f"{path} lacks the architecture column(s) {missing}: --column takes a table with ks, e, d "
            f"(OFA lists) and lat_* columns, such as data/benchmarks/ofa_gpu_latency.csv"
        )
    out = df[["ks", "e", "d"]].copy()
    if "r" in df.columns:
        out["resolution"] = df["r"]
    out["latency_ms"] = df[column]
    return out


def _append_to(lines: list[str], key: str, block: list[str]) -> list[str]:
    """``lines`` with ``block`` appended to the top-level mapping ``key`` (an anchor and an inline empty
    ``{}`` on its line are fine: the ``{}`` is opened up); a missing mapping is added at the end."""
    header = rf"^{key}:(\s+&\w+)?\s*(\{{\}})?\s*(#.*)?$"
    try:
        start = next(i for i, line in enumerate(lines) if re.match(header, line))
    except StopIteration:
        return [*lines, f"{key}:", *block]
    lines = list(lines)
    lines[start] = re.sub(r"\s*\{\}\s*(#.*)?$", "", lines[start])
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[A-Za-z_]", lines[i])), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return lines[:end] + block + lines[end:]


def _insert_platform(text: str, name: str, entry: dict, group: str = "supernet_platforms") -> str:
    """``text`` (params.yaml) with ``name: entry`` appended to ``group`` (the ``supernet_platforms:`` or
    ``table_platforms:`` mapping, and ``platforms:`` too where that is a plain mapping rather than the
    merge of the two types; a file without the groups: its plain ``platforms:``), comments kept."""
    block = [f"  {name}:"] + [f"    {k}: {v}" for k, v in entry.items()]
    lines = text.splitlines()
    grouped = bool(re.search(r"(?m)^(supernet|table)_platforms:", text))
    if grouped:
        lines = _append_to(lines, group, block)
    if not grouped or not re.search(r"(?m)^platforms:\s*(#.*)?\n\s+<<:", text):
        lines = _append_to(lines, "platforms", block)
    return "\n".join(lines) + "\n"


def parse_file(source: Path, frame: pd.DataFrame | None, min_rows: int) -> tuple[pd.DataFrame, bool]:
    """(the parsed measurements, whether they are NAS-Bench-201 cells); too few rows: say how many more."""
    from nag.data.benchmarks import TableError, read_csv_table
    from nag.latency.predictor import imagenet_space, read_measurements
    from nag.platforms.table_device import read_nb201_measurements

    if frame is None:
        try:
            frame = read_csv_table(source)
        except TableError as exc:
            raise DeviceError(f"{exc}: no measurements to use") from None
    check_resolutions(source, frame)
    nb201 = "arch_str" in frame.columns
    parsed = (read_nb201_measurements(source, frame) if nb201
              else read_measurements(source, imagenet_space(), frame))
    if len(parsed) < min_rows:
        more = min_rows - len(parsed)
        raise DeviceError(f"{source}: {len(parsed)} measured architecture(s); measure at least {more} more "
                          f"(nag measure-plan -p <a platform of that space> --n {more} says which)")
    return parsed, nb201


def append_measurements(name: str, source: Path, params_path: Path = Path("params.yaml")) -> dict:
    """Add ``source``'s rows to imported device ``name``'s file (temp file, then rename): rows it already
    has are dropped, a conflicting latency for the same architecture refuses the whole file. Returns
    ``{"platform", "file", "added", "duplicates", "rows"}``."""
    from nag.config import load_params
    from nag.data.benchmarks import TableError, read_csv_table

    params = load_params(params_path)
    plat = params.platform(name)
    check_file(source, params.devices)
    if plat.kind != "imported":
        raise DeviceError(f"platform {name!r} is {plat.kind}, not an imported device: its measurements "
                          f"cannot be appended; name the file after a new device")
    target = params_path.resolve().parent / plat.file
    try:
        old, new = read_csv_table(target), read_csv_table(source)
    except TableError as exc:
        raise DeviceError(f"{exc}: no measurements to append") from None
    new = kit_ids_checked(source, new)
    if set(new.columns) != set(old.columns):
        raise DeviceError(f"{source}: columns {sorted(new.columns)} differ from {target}'s "
                          f"{sorted(old.columns)}; write the new rows in the same format")
    merged = pd.concat([old, new[old.columns]], ignore_index=True)
    parsed, _ = parse_file(source, merged, 1)  # conflicting duplicates are refused here, naming the file
    added = len(parsed) - len(parse_file(target, old, 1)[0])
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        merged.drop_duplicates().to_csv(tmp, index=False)
        os.replace(tmp, target)
    except OSError as exc:
        raise DeviceError(f"cannot write {target} ({exc.strerror or exc}); nothing was changed") from None
    finally:
        tmp.unlink(missing_ok=True)
    return {"platform": name, "file": str(plat.file), "added": int(added),
            "duplicates": int(len(new) - added), "rows": int(len(parsed))}


def add_device(name: str, source: Path, column: str | None = None, resolution: int = 0,
               params_path: Path = Path("params.yaml"), devices_dir: Path = Path("data/devices")) -> dict:
    """Validate ``source`` and register it as platform ``name``; returns the validation report."""
    from nag.config import ConfigError, load_params
    from nag.config.rules import RESOLUTIONS

    check_name(name)
    if resolution != 0 and not RESOLUTIONS[0] <= resolution <= RESOLUTIONS[1]:
        raise DeviceError(
            f"--resolution {resolution}: give the input resolution in pixels within [{RESOLUTIONS[0]}, "
            f"{RESOLUTIONS[1]}] (e.g. 224), or 0 for the largest the file measured"
        )
    params = load_params(params_path)
    if name in {p.name for p in params.platforms}:
        raise DeviceError(f"platform {name!r} already exists in {params_path}; choose another name")
    target = devices_dir / f"{name}.csv"
    for taken in (target, devices_dir / name):
        if taken.exists():
            raise DeviceError(f"{taken} already exists; choose another name or remove it first")
    if source.is_dir() and not source.is_symlink():  # OFA lookup tables, one file per resolution
        from flows.device_lut import add_lut_device

        if column or resolution:
            raise DeviceError("--column and --resolution are for a measurement file; a lookup-table folder "
                              "names its resolutions in its file names")
        return add_lut_device(name, source, params, params_path, devices_dir, _insert_platform)
    check_file(source, params.devices)
    tmp = devices_dir / f".{name}.csv.tmp"
    staged = params_path.with_name(f".{params_path.name}.tmp")
    placed = False
    try:
        # parse the user's file itself, so every message names it (the copy is written only once it passed)
        from nag.data.benchmarks import TableError, read_csv_table

        if column:
            frame = table_column(source, column)
        else:
            try:
                frame = kit_ids_checked(source, read_csv_table(source))
            except TableError as exc:
                raise DeviceError(f"{exc}: no measurements to use") from None
        parsed, nb201 = parse_file(source, frame, params.latency.min_measured)
        results = run_suite(f"measurements_{name}", parsed, measurement_expectations(params.latency, nb201))
        report = {"platform": name, "kind": "imported", "success": all(r["success"] for r in results),
                  "n_expectations": len(results), "n_failed": sum(not r["success"] for r in results),
                  "failed": [r for r in results if not r["success"]], "results": results}
        if not report["success"]:
            raise DeviceError(describe_failures(report), report)
        # as params.yaml's other paths: relative to the project (the params file's folder) when inside it
        root = params_path.resolve().parent
        file = target.resolve().relative_to(root) if target.resolve().is_relative_to(root) else target
        entry = {"kind": "imported", "file": Path(file).as_posix()}
        if nb201:
            entry.update({"table": NB201_TABLE, "metric": "acc_cifar10"})
        if resolution:
            entry["resolution"] = resolution
        group = "table_platforms" if nb201 else "supernet_platforms"
        staged.write_text(_insert_platform(params_path.read_text(), name, entry, group))
        try:
            load_params(staged).platform(name)  # the edited file must parse and hold the new platform
        except ConfigError as exc:
            raise DeviceError(
                f"adding {name!r} would make {params_path} invalid "
                f"({str(exc).replace(str(staged), str(params_path))}); nothing was changed"
            ) from None
        devices_dir.mkdir(parents=True, exist_ok=True)
        frame.drop_duplicates().to_csv(tmp, index=False)  # exact duplicate rows collapsed before storing
        os.replace(tmp, target)  # both files staged; the device file placed first, params.yaml last
        placed = True
        os.replace(staged, params_path)
        placed = False
        return report
    except OSError as exc:  # a read-only folder, a full disk, a params.yaml that cannot be replaced
        where = exc.filename or params_path
        raise DeviceError(f"cannot write {where} ({exc.strerror or exc}); nothing was changed") from None
    finally:
        if placed:  # params.yaml was not replaced: the device file goes too, so a retry is not refused
            target.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
        staged.unlink(missing_ok=True)


@app.callback()
def _root() -> None:
    """Devices known by their own measurements."""


@app.command()
def add(
    name: str = typer.Argument(..., help="platform name (lower-case, e.g. pixel7-tflite)"),
    file: Path = typer.Argument(
        ..., help="CSV: ks, e, d (or architecture), latency_ms[, resolution, repeats, std_ms]; or "
                  "arch_str, latency_ms (NAS-Bench-201 cells); or a folder of OFA lookup tables "
                  "(<resolution>_lookup_table.yaml: an ofa platform)"
    ),
    column: str = typer.Option(
        None, help="take this latency column of a multi-device table (e.g. lat_2080ti_1)"
    ),
    resolution: int = typer.Option(0, help="input resolution to predict at (0: the largest measured)"),
    params: Path = typer.Option(Path("params.yaml")),
) -> None:
    """Validate a device's measurement file and add it as an imported platform."""
    from nag.config import ConfigError
    from nag.latency.predictor import MeasurementError

    try:
        report = add_device(name, file, column, resolution, params)
    except OSError as exc:  # reading the file or params.yaml: name it, no traceback
        typer.secho(f"error: cannot read {exc.filename or file} ({exc.strerror or exc})", fg=typer.colors.RED,
                    err=True)
        raise typer.Exit(2) from None
    except (DeviceError, MeasurementError, ConfigError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"added platform {name!r}: {report['n_expectations']} expectations met; data/devices/{name}"
        f"{'' if report['kind'] == 'ofa' else '.csv'}, params.yaml updated. Run `dvc repro` to measure, "
        f"validate and train for it."
    )


if __name__ == "__main__":
    app()
