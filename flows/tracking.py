"""MLflow tracking of a pipeline run: one run per ``dvc.lock`` state, a nested run per platform.

The parent run holds every params section, the shared stages' metrics (prepare, supernet, archs,
accuracy) and their JSON as artifacts; each platform's nested run holds its platform settings, the
metrics of its stages (latency@ or table@, validate@, arch_dataset@, train_evaluator@, train_generator@,
frontier@, finetune@), their JSON, the
plots and the Great Expectations report. Tags: git commit (and whether the tree was dirty) and the
md5 of ``dvc.lock``. Logging the same ``dvc.lock`` state twice reuses the first run.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import mlflow
from mlflow import MlflowClient

EXPERIMENT = "nag-pipeline"
SHARED_METRICS = ("prepare", "supernet", "sample_archs", "accuracy")


class MissingArtifactError(FileNotFoundError):
    """A stage output the tracking or registry step needs does not exist."""


def configure(root: Path) -> MlflowClient:
    """Point MLflow at ``<root>/mlruns/mlflow.db`` (SQLite), artifacts under ``<root>/mlruns/artifacts`` — or,
    when ``MLFLOW_TRACKING_URI`` names a server (``http(s)://``: a team's ``mlflow server``), at that server,
    whose artifact store holds the artifacts (``MLFLOW_REGISTRY_URI``, if set, for the registry). A local
    URI there is ignored: MLflow itself exports the last one set, which would point another project here at
    the previous project's store."""
    import os

    server = os.environ.get("MLFLOW_TRACKING_URI", "")
    if server.startswith(("http://", "https://")):
        registry = os.environ.get("MLFLOW_REGISTRY_URI", "")
        registry = registry if registry.startswith(("http://", "https://")) else server
        mlflow.set_tracking_uri(server)
        mlflow.set_registry_uri(registry)
        client = MlflowClient(server, registry)
        if client.get_experiment_by_name(EXPERIMENT) is None:
            client.create_experiment(EXPERIMENT)  # artifacts: the server's own artifact root
        mlflow.set_experiment(EXPERIMENT)
        return client
    store = root / "mlruns"
    store.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{(store / 'mlflow.db').resolve()}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)
    if client.get_experiment_by_name(EXPERIMENT) is None:
        client.create_experiment(EXPERIMENT, artifact_location=(store / "artifacts").resolve().as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return client


def platform_files(root: Path, p) -> dict[str, Path]:
    """What one platform's stages wrote (the dvc.yaml paths: :class:`nag.platforms.layout.PlatformLayout`);
    ``p`` a :class:`nag.config.PlatformConfig` (supernet-backed ones also have finetuned subnets)."""
    from nag.platforms.layout import PlatformLayout

    lay = PlatformLayout.of(p.name, root)
    files = {"latency": lay.latency, "latency_model": lay.latency_model, "dataset": lay.dataset,
             "evaluator": lay.evaluator, "generator": lay.generator, "frontier": lay.frontier,
             "engine": lay.engine, "validation": lay.validation, "m_latency": lay.latency_metrics,
             "m_train_evaluator": lay.evaluator_metrics, "m_train_generator": lay.generator_metrics}
    if p.group == "supernet_platforms":
        files.update({"m_arch_dataset": lay.dataset_metrics, "m_finetune": lay.finetune_metrics,
                      "subnets": lay.subnets / "index.json"})
    return files


def selected(params, only: list[str] | None) -> list:
    """The platforms to log/register: all, or those named in ``only``."""
    return [p for p in params.platforms if not only or p.name in only]


def _missing(root: Path, params, only: list[str] | None) -> list[str]:
    need = [root / "dvc.lock"]
    if any(p.group == "supernet_platforms" for p in selected(params, only)):  # the mbv3 chain ran
        need += [root / f"reports/metrics/{m}.json" for m in SHARED_METRICS]
    for p in selected(params, only):
        need += list(platform_files(root, p).values())
    return [str(f.relative_to(root)) for f in need if not f.is_file()]


def last_stage(p) -> str:
    """The stage that completes a platform's chain (what `dvc repro` needs to build it all)."""
    return f"{'finetune' if p.group == 'supernet_platforms' else 'frontier'}@{p.name}"


def built_platforms(root: Path, params) -> list[str]:
    """The platforms whose every pipeline output is in place (what `python -m flows.register` registers when
    no platform is named); refuses, naming what to run, when there is none."""
    built = [p.name for p in params.platforms if not _missing(root, params, [p.name])]
    if not built:
        first = params.platforms[0]
        raise MissingArtifactError(
            f"no platform of {', '.join(p.name for p in params.platforms)} is built yet; build one first, "
            f"e.g. `dvc repro {last_stage(first)}` (all of them: `dvc repro`), then rerun")
    return built


def check_inputs(root: Path, params, only: list[str] | None = None) -> None:
    """Refuse to start when any stage output is missing (nothing logged, nothing registered)."""
    missing = _missing(root, params, only)
    if missing:
        built = [p.name for p in params.platforms if not _missing(root, params, [p.name])]
        todo = " ".join(last_stage(p) for p in selected(params, only) if p.name not in built)
        hint = f"; or register what is built: {' '.join(f'-p {b}' for b in built)}" if built else ""
        raise MissingArtifactError(f"missing pipeline output(s): {', '.join(missing[:6])}"
                                   f"{' …' if len(missing) > 6 else ''}; run `dvc repro {todo}` first{hint}")


def flatten(obj, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a metrics JSON as ``a.b.c`` → value (lists and strings are skipped)."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{re.sub(r'[^A-Za-z0-9_./ -]', '_', str(k))}."))
    elif isinstance(obj, bool):
        out[prefix[:-1]] = float(obj)
    elif isinstance(obj, (int, float)) and obj == obj:  # NaN is not a metric
        out[prefix[:-1]] = float(obj)
    return out


def flat_params(obj, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flat_params(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = json.dumps(obj) if isinstance(obj, (list, tuple)) else str(obj)
    return out


def _log(metrics: dict[str, float] | None = None, params: dict[str, str] | None = None) -> None:
    items = sorted((metrics or {}).items())
    for i in range(0, len(items), 500):
        mlflow.log_metrics(dict(items[i:i + 500]))
    items = sorted((params or {}).items())
    for i in range(0, len(items), 90):
        mlflow.log_params(dict(items[i:i + 90]))


def provenance(root: Path) -> dict[str, str]:
    """git commit, dirty flag and the md5 of dvc.lock: what reproduces this run."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    lock = hashlib.md5((root / "dvc.lock").read_bytes()).hexdigest()
    return {"git_commit": git("rev-parse", "HEAD") or "unknown",
            "git_dirty": str(bool(git("status", "--porcelain", "--untracked-files=no"))).lower(),
            "dvc_lock_md5": lock}


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def log_pipeline(root: Path, params, client: MlflowClient, only: list[str] | None = None
                 ) -> tuple[str, dict[str, str], bool]:
    """(parent run id, {platform: nested run id}, reused?) for the current pipeline state."""
    from nag.config import params_to_dict

    tags = provenance(root)
    exp = client.get_experiment_by_name(EXPERIMENT)
    found = client.search_runs(
        [exp.experiment_id],
        f"tags.dvc_lock_md5 = '{tags['dvc_lock_md5']}' and "
        f"tags.git_commit = '{tags['git_commit']}' and tags.role = 'pipeline'",
    )
    children: dict[str, str] = {}
    if found:
        parent = found[0].info.run_id
        for r in client.search_runs([exp.experiment_id], f"tags.mlflow.parentRunId = '{parent}'"):
            children[r.data.tags.get("platform", "")] = r.info.run_id
        if all(p.name in children for p in selected(params, only)):
            return parent, children, True
    raw = params_to_dict(params)
    plats = [p for p in raw.pop("platforms") if not only or p["name"] in only]
    with mlflow.start_run(
        run_name=f"pipeline {tags['git_commit'][:8]}", tags={**tags, "role": "pipeline"}
    ) as run:
        _log(params=flat_params(raw))
        for m in SHARED_METRICS:
            path = root / f"reports/metrics/{m}.json"
            if not path.is_file():  # a benchmark-only pipeline has no supernet chain
                continue
            _log(metrics={f"{m}.{k}": v for k, v in flatten(_read(path)).items()})
            mlflow.log_artifact(str(path), "metrics")
        for plat in plats:
            name = plat["name"]
            files = platform_files(root, params.platform(name))
            with mlflow.start_run(
                run_name=name,
                nested=True,
                tags={**tags, "role": "platform", "platform": name, "kind": plat["kind"]},
            ) as child:
                _log(params=flat_params(plat, "platform."))
                for key, stage in (
                    ("m_latency", "latency"),
                    ("m_arch_dataset", "arch_dataset"),
                    ("m_train_evaluator", "train_evaluator"),
                    ("m_train_generator", "train_generator"),
                    ("frontier", "frontier"),
                    ("m_finetune", "finetune"),
                ):
                    if key not in files:  # a stage this platform's type does not have
                        continue
                    data = _read(files[key])
                    if key in ("frontier", "m_finetune"):  # per-budget lists: in the JSON artifact
                        data = {
                            k: v
                            for k, v in data.items()
                            if k not in ("frontier", "budgets", "budgets_exceeded")
                        }
                    _log(metrics={f"{stage}.{k}": v for k, v in flatten(data).items()})
                    mlflow.log_artifact(str(files[key]), "metrics")
                report = _read(files["validation"])
                _log(metrics={"validation.success": float(report["success"]),
                              "validation.n_failed": float(report["n_failed"])})
                mlflow.log_artifact(str(files["validation"]), "validation")
                for png in [
                    root / f"reports/plots/latency/{name}.png",
                    *sorted((root / f"reports/plots/{name}").glob("*")),
                ]:
                    if png.is_file():
                        mlflow.log_artifact(str(png), "plots")
                children[name] = child.info.run_id
        parent = run.info.run_id
    return parent, children, False
