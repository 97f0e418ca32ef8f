"""Model registry: versions, the promotion gate and aliases (``@challenger`` → ``@champion``).

Every new version is created with all its tags in one call and then aliased ``challenger``; when an
alias cannot be set the version is deleted again, so a version is either fully tagged and aliased or
absent. A version whose artifacts equal an existing version's (same ``fingerprint`` tag) is not
created twice: promotion is re-run on the existing one, which is idempotent.

The gate (generators): on the platform's fixed evaluation grid of budgets (frozen as a registered-model
tag at the first version) the challenger and the champion are both asked for architectures, and both
answers are judged by the *current* pipeline's latency and accuracy (predicted accuracy for mbv3
platforms, the table's true accuracy for benchmark ones). The challenger becomes champion only if it
satisfies no fewer budgets and its mean accuracy is not lower than the champion's by more than
``registry.tolerance_pp``; a first version only if it satisfies every budget. Nothing is promoted on a
local platform whose latency table is stale: its newest drift record (the probes timed by finetune@,
``nag export`` or ``nag check-latency`` against the current latency model) off by more than
``latency.max_drift``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION, CHALLENGER = "champion", "challenger"
GRID_TAG = "eval_grid_ms"


class RegistryError(RuntimeError):
    """The registry cannot take this version (locked store, missing artifact, failed write)."""


def fingerprint(paths: list[Path]) -> str:
    """md5 over the bytes of the files a model bundles (order matters)."""
    h = hashlib.md5()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


@dataclass
class GateResult:
    satisfaction: float
    mean_accuracy: float
    per_budget: list[dict]


def judge(answer: pd.DataFrame, platform, accuracy_of) -> GateResult:
    """Judge a generator's answer by the reference ``platform`` latency and ``accuracy_of(archs)``."""
    space = platform.space
    archs = [space.from_tokens(json.loads(t) if isinstance(t, str) else list(t)) for t in answer["tokens"]]
    lat = platform.latency(archs)
    acc = accuracy_of(archs)
    rows = [{"budget_ms": float(b), "arch_id": a.arch_id, "latency_ms": float(lt), "accuracy": float(ac),
             "satisfied": bool(lt <= b)} for b, a, lt, ac in zip(answer["budget_ms"], archs, lat, acc)]
    return GateResult(float(np.mean([r["satisfied"] for r in rows])), float(np.mean(acc)), rows)


def decide(challenger: GateResult, champion: GateResult | None, tolerance_pp: float) -> tuple[bool, str]:
    """(promote?, why) by the gate's rule."""
    if champion is None:
        ok = challenger.satisfaction >= 1.0
        return ok, (
            "first version, satisfies every budget"
            if ok
            else f"first version satisfies only {challenger.satisfaction:.0%} of the budgets (needs 100 %)"
        )
    if challenger.satisfaction < champion.satisfaction:
        return False, f"satisfaction {challenger.satisfaction:.0%} < champion's {champion.satisfaction:.0%}"
    if challenger.mean_accuracy < champion.mean_accuracy - tolerance_pp:
        return False, (
            f"mean accuracy {challenger.mean_accuracy:.3f} < champion's {champion.mean_accuracy:.3f} "
            f"- {tolerance_pp} pp"
        )
    return True, (
        f"satisfaction {challenger.satisfaction:.0%} >= {champion.satisfaction:.0%}, mean accuracy "
        f"{challenger.mean_accuracy:.3f} vs champion's {champion.mean_accuracy:.3f} (tolerance "
        f"{tolerance_pp})"
    )


def stale_table(root: Path, name: str, plat_cfg, max_drift: float) -> str | None:
    """Why a local platform's latency table may not be promoted from (None: it may)."""
    from nag.latency.drift import latest_record, stale_message
    from nag.platforms.layout import PlatformLayout

    if plat_cfg.kind != "local":
        return None
    rec = latest_record(root, name, PlatformLayout.of(name, root).latency_model)
    if rec is None or abs(rec["ratio"] - 1) <= max_drift:
        return None
    when = f"drift measured {rec['measured_at']} by {rec['what']}"
    return f"{stale_message(name, rec['ratio'], max_drift)} ({when})"


def ensure_model(client: MlflowClient, name: str, description: str) -> None:
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description=description)


def find_version(client: MlflowClient, name: str, fp: str):
    """The existing version with this artifact fingerprint, or None."""
    for v in client.search_model_versions(f"name = '{name}'"):
        if v.tags.get("fingerprint") == fp:
            return v
    return None


def alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def create_version(client: MlflowClient, name: str, model_uri: str, run_id: str, tags: dict[str, str],
                   promote: bool):
    """Create a fully tagged version and alias it; on any failure nothing is left behind."""
    # MLflow 3 logged models are ``models:/m-<id>``; a tracking server wants that id with the source
    model_id = model_uri.split("/", 1)[1] if model_uri.startswith("models:/m-") else None
    version = client.create_model_version(name, model_uri, run_id=run_id, tags=tags, model_id=model_id)
    try:
        client.set_registered_model_alias(name, CHALLENGER, version.version)
        if promote:
            client.set_registered_model_alias(name, CHAMPION, version.version)
    except Exception:
        client.delete_model_version(name, version.version)
        raise
    return version


def apply_decision(
    client: MlflowClient, name: str, version: str, promote: bool, tags: dict[str, str]
) -> None:
    """Re-run promotion on an existing version: same tags, champion alias when it passes."""
    for k, v in tags.items():
        client.set_model_version_tag(name, version, k, v)
    if promote and alias_version(client, name, CHAMPION) != version:
        client.set_registered_model_alias(name, CHAMPION, version)


def evaluation_grid(client: MlflowClient, name: str, dataset_latency: np.ndarray, cfg) -> list[float]:
    """The platform's fixed grid of budgets: read from the registered model, or frozen now."""
    model = client.get_registered_model(name)
    if GRID_TAG in model.tags:
        return json.loads(model.tags[GRID_TAG])
    lo, hi = np.percentile(dataset_latency, [cfg.grid_lo_pct, cfg.grid_hi_pct])
    grid = [float(b) for b in np.linspace(lo, hi, cfg.grid_points)]
    client.set_registered_model_tag(name, GRID_TAG, json.dumps(grid))
    return grid


def gate_tags(result: GateResult, champion: GateResult | None, champion_version: str | None, promote: bool,
              why: str, accuracy_kind: str) -> dict[str, str]:
    tags = {"gate.decision": "promoted" if promote else "rejected", "gate.reason": why,
            "gate.accuracy": accuracy_kind, "gate.satisfaction": f"{result.satisfaction:.4f}",
            "gate.mean_accuracy": f"{result.mean_accuracy:.4f}"}
    if champion is not None:
        tags.update({"gate.champion_version": str(champion_version),
                     "gate.champion_satisfaction": f"{champion.satisfaction:.4f}",
                     "gate.champion_mean_accuracy": f"{champion.mean_accuracy:.4f}"})
    return tags


def load_alias(name: str, alias: str):
    """The pyfunc model behind ``models:/name@alias``; a version that is not a model from code (a pickle) is
    refused before anything of it is loaded (:func:`flows.models.check_loadable`)."""
    from flows.models import check_loadable

    uri = f"models:/{name}@{alias}"
    check_loadable(uri)
    return mlflow.pyfunc.load_model(uri)
