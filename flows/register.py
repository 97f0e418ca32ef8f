"""``python -m flows.register``: log the pipeline run to MLflow, register its models, run the gate.

Registered models: ``nag-supernet`` (when an mbv3 platform is declared), ``nag-evaluator-<p>`` and
``nag-generator-<p>`` (MLflow models from code: flows/generator_model.py, flows/evaluator_model.py, served
from the platform's engine file, ``nag`` bundled as code), ``nag-subnet-<p>`` (mbv3 platforms: one version per
finetuned budget, see flows/subnets.py). The whole step holds ``mlruns/registry.lock``:
a second writer waits ``registry.lock_timeout_s`` and then stops with an error, having written nothing.
Works with or without Prefect (the Prefect flows call :func:`register_all`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import mlflow
import typer
from filelock import FileLock, Timeout
from mlflow import MlflowClient

from flows import registry as reg
from flows.subnets import register_subnets
from flows.tracking import (
    built_platforms,
    check_inputs,
    configure,
    last_stage,
    log_pipeline,
    platform_files,
    provenance,
)
from nag.errors import NagError

HERE = Path(__file__).resolve().parent
MODEL_CODE = {"generator": HERE / "generator_model.py", "evaluator": HERE / "evaluator_model.py"}


def _requirements() -> list[str]:
    """Pinned requirements of the generator/evaluator models (explicit: inferring them imports the world):
    what the engine needs (no torch); ``nag`` itself travels with the model as code."""
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("mlflow", "numpy", "pandas", "scikit-learn", "scipy", "pyyaml")]


def _signature(kind: str):
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType, Array

    if kind == "generator":  # typed JSON out: tokens a list of integers, arch an object (its space's fields)
        inputs = Schema([ColSpec("double", "budget_ms")])
        out = [("budget_ms", "double"), ("arch_id", "string"), ("tokens", Array("long")), ("arch", AnyType()),
               ("latency_ms", "double"), ("latency_bound_ms", "double"),
               ("accuracy", "double"), ("predicted_accuracy", "double"), ("satisfied", "boolean")]
    else:
        inputs = Schema([ColSpec("string", "tokens"), ColSpec("double", "budget_ms")])
        out = [("arch_id", "string"), ("score", "double"), ("predicted_accuracy", "double"),
               ("latency_ms", "double")]
    return ModelSignature(inputs, Schema([ColSpec(t, n) for n, t in out]))


def log_engine_model(kind: str, engine: Path, max_budgets: int = 1000):
    """Log the ``kind`` (generator | evaluator) model of an engine file to the active run, from code; a call
    answers at most ``max_budgets`` rows (``serve.max_budgets``)."""
    import pandas as pd

    import nag
    from nag.serving.engine import Engine

    e = Engine.load(engine)  # an input example (a trained budget; a known architecture) documents the call
    budget = float(e.budgets[len(e.budgets) // 2])
    example = pd.DataFrame({"budget_ms": [budget]}) if kind == "generator" else pd.DataFrame(
        {"tokens": [json.dumps([int(x) for x in e.known_tokens[0]])], "budget_ms": [budget]})
    return mlflow.pyfunc.log_model(name=kind, python_model=str(MODEL_CODE[kind]),
                                   artifacts={"engine": str(engine)},
                                   model_config={"max_budgets": int(max_budgets)},
                                   code_paths=[str(Path(nag.__file__).parent)],
                                   pip_requirements=_requirements(), signature=_signature(kind),
                                   input_example=example)


def _subnet_requirements() -> list[str]:
    """The subnet pyfunc runs on onnxruntime and numpy/pandas (no torch, no ``nag``)."""
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("onnxruntime", "numpy", "pandas", "mlflow")]


def _reference(root: Path, params, name: str):
    """The current pipeline's view of a platform: latency, and accuracy to judge answers by."""
    from nag.method.checkpoint import load_evaluator
    from nag.platforms import Feasibility, PlatformFiles, resolve

    plat_cfg = params.platform(name)
    files = PlatformFiles.default(name, root)
    if plat_cfg.group == "table_platforms":  # its table paths are relative to the project root
        plat_cfg = replace(plat_cfg, file=str(root / plat_cfg.file),
                           table=str(root / plat_cfg.table) if plat_cfg.table else "")
    platform = resolve(plat_cfg, params.supernet, files, Feasibility.of(params))
    if platform.accuracy is not None:
        return platform, platform.accuracy, "true"
    _, predictor, _ = load_evaluator(platform_files(root, plat_cfg)["evaluator"], platform.space)
    return platform, (lambda archs: predictor.predict(platform.space.features_batch(archs))), "predicted"


def register_platform(root: Path, params, name: str, run_id: str, client: MlflowClient, prov: dict) -> dict:
    """Register (or find) the platform's evaluator and generator versions and run the gate."""
    import pandas as pd

    files = platform_files(root, params.platform(name))
    gen_name, ev_name = f"nag-generator-{name}", f"nag-evaluator-{name}"
    platform, accuracy_of, kind = _reference(root, params, name)
    fp = reg.fingerprint([files["engine"], *MODEL_CODE.values()])
    reg.ensure_model(client, gen_name, f"NAG generator for {name}: budgets (ms) in, architectures out")
    reg.ensure_model(client, ev_name, f"NAG evaluator R(arch | budget) for {name}")
    existing = reg.find_version(client, gen_name, fp)
    if existing is None:
        with mlflow.start_run(run_id=run_id):
            gen_info = log_engine_model("generator", files["engine"], params.serve.max_budgets)
            ev_info = log_engine_model("evaluator", files["engine"], params.serve.max_budgets)
        challenger = mlflow.pyfunc.load_model(gen_info.model_uri)
    else:
        challenger = mlflow.pyfunc.load_model(f"models:/{gen_name}/{existing.version}")
    dataset_lat = pd.read_parquet(files["dataset"])["latency_ms"].to_numpy()
    grid = reg.evaluation_grid(client, gen_name, dataset_lat, params.registry)
    frame = pd.DataFrame({"budget_ms": [b for b in grid if b >= platform.cheapest]})
    result = reg.judge(challenger.predict(frame), platform, accuracy_of)
    champ_version = reg.alias_version(client, gen_name, reg.CHAMPION)
    champion = None
    unreadable = None
    if champ_version is not None and (existing is None or champ_version != str(existing.version)):
        try:
            champion = reg.judge(reg.load_alias(gen_name, reg.CHAMPION).predict(frame), platform, accuracy_of)
        except NagError as exc:  # a pickled (older NAG) champion or engine: never loaded, so not compared
            unreadable = f"champion v{champ_version} not loaded: {exc}"
    promote, why = reg.decide(result, champion, params.registry.tolerance_pp)
    if unreadable:
        why = f"{why}; {unreadable}"
    if existing is not None and champ_version == str(existing.version):
        promote, why = True, "already champion"
    else:
        stale = reg.stale_table(root, name, params.platform(name), params.latency.max_drift)
        if stale and promote:
            promote, why = False, stale
    tags = {
        **reg.gate_tags(result, champion, champ_version, promote, why, kind),
        **prov,
        "fingerprint": fp,
        "platform": name,
        "gate.grid_ms": json.dumps([round(b, 6) for b in frame["budget_ms"]]),
    }
    if existing is None:
        ev = reg.create_version(client, ev_name, ev_info.model_uri, run_id, {**prov, "fingerprint": fp,
                                                                            "platform": name}, promote)
        try:
            gv = reg.create_version(client, gen_name, gen_info.model_uri, run_id,
                                    {**tags, "evaluator_version": str(ev.version)}, promote)
        except Exception:
            client.delete_model_version(ev_name, ev.version)  # the pair is registered together or not at all
            raise
        version, created = str(gv.version), True
    else:
        version, created = str(existing.version), False
        reg.apply_decision(
            client, gen_name, version, promote, {k: v for k, v in tags.items() if k.startswith("gate.")}
        )
        ev_version = existing.tags.get("evaluator_version")
        if promote and ev_version and reg.alias_version(client, ev_name, reg.CHAMPION) != ev_version:
            client.set_registered_model_alias(ev_name, reg.CHAMPION, ev_version)
    return {"platform": name, "version": version, "created": created, "promoted": promote, "reason": why,
            "satisfaction": result.satisfaction, "mean_accuracy": result.mean_accuracy, "accuracy": kind}


def register_supernet(root: Path, params, run_id: str, client: MlflowClient, prov: dict) -> dict | None:
    """``nag-supernet``: promoted when its random subnets' mean accuracy is not lower (beyond tolerance)."""
    from flows.supernet_model import log_supernet

    path = root / "models/supernet.pt"
    if not path.is_file() or not any(p.group == "supernet_platforms" for p in params.platforms):
        return None
    metrics = json.loads((root / "reports/metrics/supernet.json").read_text())
    acc = float(metrics["random_subnets"]["mean"])
    name = "nag-supernet"
    reg.ensure_model(client, name, "OFA-style MobileNetV3 supernet trained with progressive shrinking")
    fp = reg.fingerprint([path])
    existing = reg.find_version(client, name, fp)
    if existing is not None:
        return {"version": str(existing.version), "created": False,
                "promoted": reg.alias_version(client, name, reg.CHAMPION) == str(existing.version)}
    champ = reg.alias_version(client, name, reg.CHAMPION)
    champ_acc = float(client.get_model_version(name, champ).tags["random_subnets_mean"]) if champ else None
    promote = champ_acc is None or acc >= champ_acc - params.registry.tolerance_pp
    info = log_supernet(root, params, run_id, _requirements())
    tags = {
        **prov,
        "fingerprint": fp,
        "random_subnets_mean": f"{acc:.4f}",
        "test_acc_largest": str(metrics["test_acc_largest"]),
        "test_acc_smallest": str(metrics["test_acc_smallest"]),
        "gate.decision": "promoted" if promote else "rejected",
        "gate.champion_random_subnets_mean": "" if champ_acc is None else f"{champ_acc:.4f}",
    }
    v = reg.create_version(client, name, info.model_uri, run_id, tags, promote)
    return {"version": str(v.version), "created": True, "promoted": promote, "random_subnets_mean": acc}


def register_all(root: Path, params, only: list[str] | None = None) -> dict:
    """Log the pipeline run and register every (or the ``only``) platform's models, under the lock."""
    root = root.resolve()
    if not only:  # every platform that is built; a note names the others
        only = built_platforms(root, params)
        rest = [p for p in params.platforms if p.name not in only]
        if rest:
            print(f"note: not built yet, so not registered: {', '.join(p.name for p in rest)} "
                  f"(`dvc repro {' '.join(last_stage(p) for p in rest)}` builds them)")
    check_inputs(root, params, only)
    (root / "mlruns").mkdir(exist_ok=True)
    lock = FileLock(str(root / "mlruns/registry.lock"), timeout=params.registry.lock_timeout_s)
    try:
        lock.acquire()
    except Timeout:
        raise reg.RegistryError(
            f"the registry store {root / 'mlruns'} is locked by another writer "
            f"({root / 'mlruns/registry.lock'}) "
            f"for more than {params.registry.lock_timeout_s:g} s; wait for it to finish and rerun "
            f"`python -m flows.register`"
        ) from None
    try:
        client = configure(root)
        parent, children, reused = log_pipeline(root, params, client, only)
        prov = provenance(root)
        summary = {"run_id": parent, "reused_run": reused,
                   "supernet": register_supernet(root, params, parent, client, prov), "platforms": []}
        sn_version = (summary["supernet"] or {}).get("version")
        summary["subnets"] = []
        for p in params.platforms:
            if only and p.name not in only:
                continue
            summary["platforms"].append(
                register_platform(root, params, p.name, children[p.name], client, prov)
            )
            if p.group == "supernet_platforms":  # a table-backed platform has no finetuned subnets
                summary["subnets"].append(register_subnets(root, p.name, children[p.name], client, prov,
                                                           sn_version, _subnet_requirements()))
        return summary
    finally:
        lock.release()


def main(
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml of the pipeline"),
    platform: list[str] = typer.Option(None, "--platform", "-p", help="only these platforms (repeatable)"),
    root: Path = typer.Option(Path("."), help="project root (dvc.yaml, mlruns/)"),
) -> None:
    """Log the current pipeline state to MLflow and register/promote its models."""
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from mlflow.exceptions import MlflowException

    from flows.tracking import MissingArtifactError
    from nag.config import ConfigError, load_params

    try:
        cfg = load_params(root / params if not params.is_absolute() else params)
        for name in platform or []:
            cfg.platform(name)
        summary = register_all(root, cfg, platform or None)
    except (
        ConfigError,
        MissingArtifactError,
        reg.RegistryError,
        MlflowException,
        ValueError,
        OSError,
    ) as exc:
        msg = str(exc)
        if "database is locked" in msg:
            msg = (f"the MLflow store is locked by another writer ({msg.splitlines()[0]}); "
                   f"retry when it finishes")
        typer.secho(f"error: {msg}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    for s in summary["platforms"]:
        typer.echo(
            f"nag-generator-{s['platform']} v{s['version']} ({'new' if s['created'] else 'existing'}): "
            f"{'champion' if s['promoted'] else 'challenger only'} — {s['reason']}"
        )
    for s in summary["subnets"]:
        if s["subnets"]:
            new = sum(v["created"] for v in s["subnets"])
            typer.echo(f"nag-subnet-{s['platform']}: {len(s['subnets'])} budget(s), {new} new version(s)")
    typer.echo(json.dumps(summary, indent=2))


if __name__ == "__main__":
    typer.run(main)
