"""The ``new_device`` Prefect flow: retraining when a device's measurements arrive.

For each ``<name>.csv`` in the inbox (``orchestration.inbox``, default ``data/devices/incoming/``):

* any other file (another suffix or case, ``.CSV``, ``notes.txt``) or a symbolic link is moved to
  ``rejected/`` with a report saying why, never silently ignored;
* a file modified within ``orchestration.settle_s`` is still being written: left for the next scan;
* a file named after an existing imported device brings more of its measurements: the rows are appended
  (duplicates dropped, a conflicting latency refuses the file), and its stages rerun as below;
* validate it (Great Expectations ``measurements`` suite, flows/devices.py) → on success it becomes
  ``data/devices/<name>.csv`` and an ``imported`` platform in params.yaml; only that platform's stages
  run (latency@, validate@, then its training chain), then registration and promotion;
* on any failure — a bad file, a name already taken, a platform whose latency fails validate@ — the
  file goes to ``data/devices/rejected/`` with ``<file>.report.json`` beside it, and params.yaml and
  dvc.lock are exactly as before.

``python -m flows.new_device`` scans once (no Prefect server needed); flows/serve.py schedules it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import typer
from prefect import flow, get_run_logger

from flows import workspace as ws
from flows.pipeline import run_platforms, task_runner
from flows.tracking import platform_files


def _reject(path: Path, rejected: Path, report: dict) -> Path:
    """Move ``path`` to ``rejected/`` (never overwriting an earlier rejection) with its report beside it."""
    rejected.mkdir(parents=True, exist_ok=True)
    target = rejected / path.name
    if target.exists():
        target = rejected / f"{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}"
    report_path = target.with_name(target.name + ".report.json")
    tmp = report_path.with_name("." + report_path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str) + "\n")
    os.replace(tmp, report_path)
    shutil.move(str(path), target)
    return target


def refusal(path: Path) -> str | None:
    """Why the inbox will not read ``path`` (None: it will): only plain ``<device-name>.csv`` files are."""
    if path.is_symlink():
        return "a symbolic link; copy the measurement file itself into the inbox"
    if path.suffix != ".csv":
        return (f"not a .csv file (suffix {path.suffix or 'none'!r}); the inbox reads <device-name>.csv "
                f"files only, lower-case .csv")
    return None


def settled(path: Path, settle_s: float) -> bool:
    """Whether the file has not been modified for ``settle_s`` seconds (a writer has finished)."""
    return time.time() - path.stat().st_mtime >= settle_s


def add_one(base: Path, params_file: str, path: Path, rejected: Path, logger) -> dict:
    """Validate, add, train and register one device file; roll back and reject on failure."""
    from flows.devices import DeviceError, add_device, append_measurements
    from flows.register import register_all
    from nag.config import ConfigError, load_params
    from nag.latency.predictor import MeasurementError

    name = path.stem.lower()
    params_path = base / params_file
    known = {p.name: p for p in load_params(params_path).platforms}
    device_file = base / (known[name].file if name in known else f"data/devices/{name}.csv")
    before = {p: p.read_text() for p in (params_path, base / "dvc.lock", device_file) if p.is_file()}
    appended = name in known
    try:
        if appended:  # more measurements of a device we have
            report = append_measurements(name, path, params_path)
            logger.info(f"{path.name}: {report['added']} new row(s) for {name} "
                        f"({report['duplicates']} already known), {report['rows']} in all")
        else:
            report = add_device(name, path, params_path=params_path, devices_dir=base / "data/devices")
    except (DeviceError, MeasurementError, ConfigError) as exc:
        report = getattr(exc, "report", None) or {"platform": name, "success": False, "error": str(exc)}
        target = _reject(path, rejected, {**report, "stage": "measurement file", "error": str(exc)})
        logger.warning(f"{path.name}: rejected ({str(exc).splitlines()[0]}); see {target}.report.json")
        return {"file": path.name, "platform": name, "status": "rejected", "reason": str(exc)}
    incoming = path.read_bytes()
    path.unlink()  # add_device copied it to data/devices/<name>.csv (or its rows were appended there)
    params = load_params(params_path)
    try:
        if params.platform(name).group == "supernet_platforms":
            ws.repro(base, ["accuracy"])  # the shared chain its arch_dataset@ needs (a no-op when current)
        done, failed = run_platforms(base, params, [name], logger)
    except ws.StageFailed as exc:
        failed = {name: str(exc)}  # the whole reason is stored in the report; the log shows its first line
    if failed:  # e.g. its latency predictor fails validate@: undo everything this file changed
        for p, text in before.items():
            p.write_text(text)
        validation = base / f"reports/validation/{name}.json"
        report = json.loads(validation.read_text()) if validation.is_file() else {}
        if report.get("failed"):  # say which expectation refused it, not only which stage
            from flows.validate import describe_failures

            failed[name] += " " + describe_failures(report).splitlines()[1].strip()
        if appended:  # the device keeps what it had: its earlier rows, stages and registered models
            path.write_bytes(incoming)
            target = _reject(path, rejected, {**report, "platform": name, "success": False,
                                              "stage": "pipeline", "error": failed[name]})
            ws.repro(base, [f"validate@{name}"])  # its outputs back as dvc.lock records them
            first = failed[name].splitlines()[0]
            logger.warning(f"{path.name}: with these rows its stages failed ({first}); the rows were not "
                           f"kept, see {target}.report.json")
            return {"file": path.name, "platform": name, "status": "rejected", "reason": failed[name]}
        target = _reject(device_file, rejected, {**report, "platform": name, "success": False,
                                                 "stage": "pipeline", "error": failed[name]})
        for out in [*platform_files(base, params.platform(name)).values(),
                    base / f"reports/plots/latency/{name}.png"]:
            out.unlink(missing_ok=True)  # what its stages wrote before failing
        for folder in (f"reports/plots/{name}", f"models/subnets/{name}", f"models/subnets.work/{name}"):
            shutil.rmtree(base / folder, ignore_errors=True)
        logger.warning(f"{path.name}: its stages failed ({failed[name].splitlines()[0]}); rolled back, see "
                       f"{target}.report.json")
        return {"file": path.name, "platform": name, "status": "rejected", "reason": failed[name]}
    summary = register_all(base, params, [name])["platforms"][0]
    logger.info(f"{name}: nag-generator-{name} v{summary['version']} "
                f"{'champion' if summary['promoted'] else 'challenger'} ({summary['reason']})")
    return {"file": path.name, "platform": name, "status": "appended" if appended else "added",
            "registered": summary}


@flow(name="nag-new-device", log_prints=True)
def new_device(root: str = ".", params_file: str = "params.yaml") -> list[dict]:
    """Scan the inbox once; returns what happened to each file."""
    from nag.config import load_params

    logger = get_run_logger()
    base = Path(root).resolve()
    cfg = load_params(base / params_file).orchestration
    inbox = base / cfg.inbox
    rejected = inbox.parent / "rejected"
    results = []
    with ws.workspace_lock(base, cfg.lock_timeout_s):
        for path in sorted(inbox.iterdir()) if inbox.is_dir() else []:
            if path.name.startswith(".") or path.is_dir() and not path.is_symlink():
                continue  # a writer's temporary file, a folder
            refused = refusal(path)
            if refused:
                target = _reject(path, rejected, {"file": path.name, "success": False, "stage": "inbox",
                                                  "error": refused})
                logger.warning(f"{path.name}: rejected ({refused}); see {target}.report.json")
                results.append({"file": path.name, "status": "rejected", "reason": refused})
                continue
            if not settled(path, cfg.settle_s):
                logger.info(
                    f"{path.name}: modified under {cfg.settle_s:g} s ago, still being written; next scan"
                )
                results.append({"file": path.name, "status": "waiting"})
                continue
            results.append(add_one(base, params_file, path, rejected, logger))
    return results


def main(root: Path = typer.Option(Path(".")), params: str = typer.Option("params.yaml")) -> None:
    """Scan the device inbox once."""
    from nag.config import load_params

    cfg = load_params(root / params)
    for r in new_device.with_options(task_runner=task_runner(cfg.orchestration))(str(root), params):
        typer.echo(json.dumps(r))


if __name__ == "__main__":
    typer.run(main)
