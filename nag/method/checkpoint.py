"""Saving and loading trained evaluators and generators with the metadata that guards their use.

A checkpoint records its search space, decision vocabulary, feature size and trained budgets; loading
it for another space or another K is a clear error, never a silent mismatch. Files are written
atomically. Files are read with ``weights_only=True`` (tensors and plain containers: nothing in them can
run code); the accuracy predictor (scikit-learn) travels inside the evaluator file as skops bytes,
rebuilt from trusted types only (:mod:`nag.artifacts`).
"""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nag.artifacts import (
    ArtifactError,
    dumps_object,
    from_tensor_bytes,
    loads_object,
    to_tensor_bytes,
    torch_load,
)
from nag.atomic import write_with
from nag.config import EvaluatorConfig, GeneratorConfig
from nag.errors import NagError
from nag.method.evaluator import Evaluator
from nag.method.generator import Generator
from nag.spaces.base import SearchSpace

FORMAT = 1
EVALUATOR_FORMAT = 2  # 1: its predictor pickled; 2: its predictor as skops bytes

REBUILD = {"evaluator": "dvc repro -f train_evaluator@<platform>",
           "generator": "dvc repro -f train_generator@<platform>",
           "supernet": "dvc repro -f train_supernet", "subnet": "dvc repro -f finetune@<platform>"}


class CheckpointError(NagError, ValueError):
    """A checkpoint that is missing, truncated, or made for another space / budget grid."""


def _space_meta(space: SearchSpace) -> dict:
    return {"space": space.name, "vocab_sizes": list(space.vocab_sizes), "feature_dim": space.feature_dim}


def save_object(path: str | Path, obj: dict) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_with(path, lambda tmp: tmp.write_bytes(buf.getvalue()))


def load_object(path: str | Path, kind: str, fmt: int = FORMAT) -> dict:
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a {kind} checkpoint: pass the checkpoint file itself "
                              f"(e.g. models/{kind}/<platform>.pt)")
    if not path.is_file():
        raise CheckpointError(f"missing {kind} checkpoint {path}: run its stage first (dvc repro)")
    try:
        obj = torch_load(path, f"{kind} checkpoint", REBUILD.get(kind, "dvc repro"))
    except ArtifactError as exc:
        raise CheckpointError(str(exc)) from None
    if not isinstance(obj, dict) or obj.get("kind") != kind or obj.get("format") != fmt:
        raise CheckpointError(f"{path} is not a {kind} checkpoint of format {fmt}; rebuild it with "
                              f"`{REBUILD.get(kind, 'dvc repro')}`")
    return obj


def _check_meta(obj: dict, space: SearchSpace, path: str | Path, k: int | None, platform: str | None) -> None:
    want = _space_meta(space)
    got = {key: obj["meta"].get(key) for key in want}
    if got != want:
        raise CheckpointError(f"{path} was trained for space {got['space']!r} {got}, not {want}")
    if k is not None and len(obj["meta"]["budgets"]) != k:
        raise CheckpointError(
            f"{path} was trained with K={len(obj['meta']['budgets'])} budgets, but budgets.k is "
            f"{k}: retrain it (dvc repro) or set budgets.k back to {len(obj['meta']['budgets'])}"
        )
    trained_for = obj["meta"].get("platform")
    if platform is not None and trained_for is not None and trained_for != platform:
        raise CheckpointError(f"{path} was trained for platform {trained_for!r}, not {platform!r}: pass "
                              f"{platform}'s own checkpoint (models/<stage>/{platform}.pt)")


def save_evaluator(path: str | Path, model: Evaluator, cfg: EvaluatorConfig, space: SearchSpace,
                   predictor: Any = None, extra: dict | None = None) -> None:
    meta = {**_space_meta(space), "budgets": model.budget.budgets.tolist(), **(extra or {})}
    blob = to_tensor_bytes(dumps_object(predictor)) if predictor else None
    save_object(path, {"kind": "evaluator", "format": EVALUATOR_FORMAT, "meta": meta, "config": asdict(cfg),
                       "state": model.state_dict(), "predictor": blob})


def load_evaluator(path: str | Path, space: SearchSpace, k: int | None = None,
                   platform: str | None = None) -> tuple[Evaluator, Any, dict]:
    """Returns (evaluator in eval mode, accuracy predictor or None, meta); refuses a checkpoint of another
    space, another K, or (given ``platform``) another platform."""
    obj = load_object(path, "evaluator", EVALUATOR_FORMAT)
    _check_meta(obj, space, path, k, platform)
    cfg = EvaluatorConfig(**obj["config"])
    model = Evaluator(space.feature_dim, obj["meta"]["budgets"], cfg.hidden, cfg.embed_dim,
                      one_hot=cfg.budget_input == "onehot")
    model.load_state_dict(obj["state"])
    model.eval()
    predictor = None
    if obj["predictor"] is not None:
        predictor = loads_object(from_tensor_bytes(obj["predictor"]), f"{path} (its accuracy predictor)",
                                 "accuracy predictor", REBUILD["evaluator"])
    return model, predictor, obj["meta"]


def save_generator(path: str | Path, gen: Generator, cfg: GeneratorConfig, space: SearchSpace,
                   extra: dict | None = None) -> None:
    meta = {**_space_meta(space), "budgets": gen.budget.budgets.tolist(), **(extra or {})}
    save_object(path, {"kind": "generator", "format": FORMAT, "meta": meta, "config": asdict(cfg),
                 "state": gen.state_dict()})


def load_generator(path: str | Path, space: SearchSpace, k: int | None = None, platform: str | None = None,
                   budgets: list[float] | None = None) -> tuple[Generator, dict]:
    """Returns (generator in eval mode, meta); refuses as :func:`load_evaluator` does, and (given
    ``budgets``: its evaluator's grid) a generator trained on another budget grid."""
    obj = load_object(path, "generator")
    _check_meta(obj, space, path, k, platform)
    if budgets is not None and not np.allclose(obj["meta"]["budgets"], budgets, rtol=1e-9, atol=0):
        raise CheckpointError(
            f"{path} was trained on budgets {np.round(obj['meta']['budgets'], 4).tolist()} ms, "
            f"not its evaluator's {np.round(budgets, 4).tolist()}: retrain the generator (dvc repro)"
        )
    cfg = GeneratorConfig(**obj["config"])
    gen = Generator(space.vocab_sizes, obj["meta"]["budgets"], cfg.hidden, cfg.embed_dim)
    gen.load_state_dict(obj["state"])
    gen.eval()
    return gen, obj["meta"]
