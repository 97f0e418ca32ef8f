"""Saving and loading trained evaluators and generators with the metadata that guards their use.

A checkpoint records its search space, decision vocabulary, feature size and trained budgets; loading
it for another space or another K is a clear error, never a silent mismatch. Files are written
atomically. The accuracy predictor (scikit-learn) travels pickled inside the evaluator file: these
are the project's own artifacts, loaded with ``weights_only=False`` for that reason only.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from nag.atomic import write_with
from nag.config import EvaluatorConfig, GeneratorConfig
from nag.evaluator import Evaluator
from nag.generator import Generator
from nag.spaces.base import SearchSpace

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that is missing, truncated, or made for another space / budget grid."""


def _space_meta(space: SearchSpace) -> dict:
    return {"space": space.name, "vocab_sizes": list(space.vocab_sizes), "feature_dim": space.feature_dim}


def save_object(path: str | Path, obj: dict) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_with(path, lambda tmp: tmp.write_bytes(buf.getvalue()))


def load_object(path: str | Path, kind: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"missing {kind} checkpoint {path}: run its stage first (dvc repro)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # truncated or foreign files raise many types
        raise CheckpointError(f"{path} is not a readable {kind} checkpoint ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(obj, dict) or obj.get("kind") != kind or obj.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {kind} checkpoint of format {FORMAT}")
    return obj


def _check_meta(obj: dict, space: SearchSpace, path: str | Path, k: int | None) -> None:
    want = _space_meta(space)
    got = {key: obj["meta"].get(key) for key in want}
    if got != want:
        raise CheckpointError(f"{path} was trained for space {got['space']!r} {got}, not {want}")
    if k is not None and len(obj["meta"]["budgets"]) != k:
        raise CheckpointError(f"{path} was trained with K={len(obj['meta']['budgets'])} budgets, expected K={k}")


def save_evaluator(path: str | Path, model: Evaluator, cfg: EvaluatorConfig, space: SearchSpace,
                   predictor: Any = None, extra: dict | None = None) -> None:
    meta = {**_space_meta(space), "budgets": model.budget.budgets.tolist(), **(extra or {})}
    save_object(path, {"kind": "evaluator", "format": FORMAT, "meta": meta, "config": asdict(cfg),
                 "state": model.state_dict(), "predictor": pickle.dumps(predictor) if predictor else None})


def load_evaluator(path: str | Path, space: SearchSpace, k: int | None = None) -> tuple[Evaluator, Any, dict]:
    """Returns (evaluator in eval mode, accuracy predictor or None, meta)."""
    obj = load_object(path, "evaluator")
    _check_meta(obj, space, path, k)
    cfg = EvaluatorConfig(**obj["config"])
    model = Evaluator(space.feature_dim, obj["meta"]["budgets"], cfg.hidden, cfg.embed_dim,
                      one_hot=cfg.budget_input == "onehot")
    model.load_state_dict(obj["state"])
    model.eval()
    predictor = pickle.loads(obj["predictor"]) if obj["predictor"] else None
    return model, predictor, obj["meta"]


def save_generator(path: str | Path, gen: Generator, cfg: GeneratorConfig, space: SearchSpace,
                   extra: dict | None = None) -> None:
    meta = {**_space_meta(space), "budgets": gen.budget.budgets.tolist(), **(extra or {})}
    save_object(path, {"kind": "generator", "format": FORMAT, "meta": meta, "config": asdict(cfg),
                 "state": gen.state_dict()})


def load_generator(path: str | Path, space: SearchSpace, k: int | None = None) -> tuple[Generator, dict]:
    obj = load_object(path, "generator")
    _check_meta(obj, space, path, k)
    cfg = GeneratorConfig(**obj["config"])
    gen = Generator(space.vocab_sizes, obj["meta"]["budgets"], cfg.hidden, cfg.embed_dim)
    gen.load_state_dict(obj["state"])
    gen.eval()
    return gen, obj["meta"]
