"""The ``new_device`` Prefect flow: retraining when a device's measurements arrive.

For each ``<name>.csv`` in the inbox (``orchestration.inbox``, default ``data/devices/incoming/``):

* a file modified within ``orchestration.settle_s`` is still being written: left for the next scan;
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


def settled(path: Path, settle_s: float) -> bool:
    """Whether the file has not been modified for ``settle_s`` seconds (a writer has finished)."""
    return time.time() - path.stat().st_mtime >= settle_s


def add_one(base: Path, params_file: str, path: Path, rejected: Path, logger) -> dict:
    """Validate, add, train and register one device file; roll back and reject on failure."""
    from flows.devices import DeviceError, add_device
    from flows.register import register_all
    from nag.config import ConfigError, load_params
    from nag.latency.predictor import MeasurementError

    name = path.stem.lower()
    params_path = base / params_file
    before = {p: p.read_text() for p in (params_path, base / "dvc.lock") if p.is_file()}
    try:
        report = add_device(name, path, params_path=params_path, devices_dir=base / "data/devices")
    except (DeviceError, MeasurementError, ConfigError) as exc:
        report = getattr(exc, "report", None) or {"platform": name, "success": False, "error": str(exc)}
        target = _reject(path, rejected, {**report, "stage": "measurement file", "error": str(exc)})
        logger.warning(f"{path.name}: rejected ({str(exc).splitlines()[0]}); see {target}.report.json")
        return {"file": path.name, "platform": name, "status": "rejected", "reason": str(exc)}
    path.unlink()  # add_device copied it to data/devices/<name>.csv
    params = load_params(params_path)
    try:
        ws.repro(base, ["accuracy"])  # the shared chain its arch_dataset@ depends on (a no-op when current)
        done, failed = run_platforms(base, params, [name], logger)
    except ws.StageFailed as exc:
        failed = {name: str(exc).splitlines()[0]}
    if failed:  # e.g. its latency predictor fails validate@: undo everything this file changed
        for p, text in before.items():
            p.write_text(text)
        device_file = base / f"data/devices/{name}.csv"
        validation = base / f"reports/validation/{name}.json"
        report = json.loads(validation.read_text()) if validation.is_file() else {}
        if report.get("failed"):  # say which expectation refused it, not only which stage
            from flows.validate import describe_failures

            failed[name] += " " + describe_failures(report).splitlines()[1].strip()
        target = _reject(device_file, rejected, {**report, "platform": name, "success": False,
                                                 "stage": "pipeline", "error": failed[name]})
        for out in [*platform_files(base, params.platform(name)).values(),
                    base / f"reports/plots/latency/{name}.png"]:
            out.unlink(missing_ok=True)  # what its stages wrote before failing
        for folder in (f"reports/plots/{name}", f"models/subnets/{name}", f"models/subnets.work/{name}"):
            shutil.rmtree(base / folder, ignore_errors=True)
        logger.warning(
            f"{path.name}: its stages failed ({failed[name]}); rolled back, see {target}.report.json"
        )
        return {"file": path.name, "platform": name, "status": "rejected", "reason": failed[name]}
    summary = register_all(base, params, [name])["platforms"][0]
    logger.info(f"{name}: nag-generator-{name} v{summary['version']} "
                f"{'champion' if summary['promoted'] else 'challenger'} ({summary['reason']})")
    return {"file": path.name, "platform": name, "status": "added", "registered": summary}


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
        for path in sorted(inbox.glob("*.csv")) if inbox.is_dir() else []:
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
