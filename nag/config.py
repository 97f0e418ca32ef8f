"""Frozen dataclasses for each section of ``params.yaml``; parsed once, at the CLI.

Library code receives these objects and never opens params.yaml itself.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """params.yaml is malformed (unknown key, wrong type, bad value)."""


@dataclass(frozen=True)
class DataConfig:
    """``data:`` — where the images come from and how they are split."""

    source: str = "/usr/share/datasets/fashion-mnist"
    format: str = "idx"  # idx | imagefolder (torchvision ImageFolder layout)
    val_size: int = 10_000
    test_fraction: float = 0.15  # imagefolder only: idx ships its own test split
    image_size: int = 28
    seed: int = 0


@dataclass(frozen=True)
class Params:
    """The whole params.yaml."""

    data: DataConfig = field(default_factory=DataConfig)


def _build(cls: type, raw: Any, where: str) -> Any:
    """Instantiate dataclass ``cls`` from a mapping, recursively, rejecting unknown keys."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(names)}")
    kwargs = {}
    for key, value in raw.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, f"{where}.{key}")
        else:
            kwargs[key] = _coerce(hint, value, f"{where}.{key}")
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        items = [_coerce(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def load_params(path: str | Path = "params.yaml") -> Params:
    """Parse params.yaml into :class:`Params` (missing sections take their defaults)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"missing {path}: run from the project root or pass --params")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}") from exc
    return _build(Params, raw, path.name)
