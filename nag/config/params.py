"""Frozen dataclasses for each section of ``params.yaml``; parsed once, at the CLI.

Library code receives these objects and never opens params.yaml itself.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from nag.config.mbv3 import (
    AccuracyConfig,
    ArchsConfig,
    FinetuneConfig,
    LatencyConfig,
    SupernetConfig,
)
from nag.config.ops import (
    DevicesConfig,
    OrchestrationConfig,
    PaperConfig,
    RegistryConfig,
    ServeConfig,
)
from nag.config.platforms import (
    ConfigError,
    PlatformConfig,
    check_platform,
    platform_entries,
)
from nag.config.rules import check_rules


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
class BudgetConfig:
    """``budgets:`` — K trained budgets evenly spaced over a percentile range of the dataset's latency."""

    k: int = 10
    lo_pct: float = 1.0
    hi_pct: float = 99.0


@dataclass(frozen=True)
class EvaluatorConfig:
    """``evaluator:`` section of params.yaml."""

    hidden: int = 128
    embed_dim: int = 64
    budget_input: str = "embedding"  # embedding | onehot (authors' code; ablation)
    loss: str = "hinge"  # hinge | logistic (authors' code; ablation)
    steps: int = 2000
    pairs_per_step: int = 1024
    within_budget_share: float = 0.9  # share of pairs drawn with both members within the budget
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class GeneratorConfig:
    """``generator:`` section of params.yaml."""

    hidden: int = 64
    hidden_mbv3: int = 16  # the same on mbv3 platforms (45 decisions: the LSTM is most of a budget's time)
    embed_dim: int = 64
    iterations: int = 1500
    samples_per_budget: int = 8  # N in the paper
    lr: float = 3e-3
    entropy: float = 0.3  # λ, relative to the reward scale (rewards are normalised per budget)
    baseline: str = "moving_average"  # moving_average | none (the paper has none)
    baseline_momentum: float = 0.9
    seed: int = 0

    def for_space(self, space: str) -> GeneratorConfig:
        """The settings a generator of ``space`` (a space name) trains with: mbv3 (and OFA's ImageNet space,
        an mbv3 body and a resolution) has its own LSTM size."""
        return replace(self, hidden=self.hidden_mbv3) if space.startswith(("mbv3", "ofa")) else self


@dataclass(frozen=True)
class InferConfig:
    """``infer:`` section of params.yaml."""

    candidates: int = 64  # C: at most this many accuracy queries per budget
    pool: int = 4096  # samples drawn from π(·|B) per round (pool == candidates, widen 0: the paper)
    max_total_samples: int = 40960  # cap on samples per call when many budgets are asked at once
    pool_mbv3: int = 4096  # the same two on mbv3 platforms (benchmarks/infer_pool.py)
    max_total_samples_mbv3: int = 40960
    widen: float = 0.2  # half of each pool is drawn at B·(1 + widen); infeasible ones are filtered
    max_rounds: int = 8
    rank_by: str = "predictor"  # evaluator | predictor: what orders feasible candidates for querying
    predictor: str = "rf"  # accuracy predictor fitted on the M archs (rf | gbr | rf+gbr | mlp | ridge)
    predictor_mbv3: tuple[str, ...] = ("ridge", "gbr")  # mbv3: the best of these by held-out Kendall τ
    feasibility: str = "bound"  # bound | estimate: the latency a budget must hold (training, inference, gate)
    seed: int = 0


@dataclass(frozen=True)
class DatasetConfig:
    """``dataset:`` — the architecture dataset of table-backed platforms (NB201): M sampled cells."""

    train_size: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class Params:
    """The whole params.yaml."""

    data: DataConfig = field(default_factory=DataConfig)
    budgets: BudgetConfig = field(default_factory=BudgetConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    infer: InferConfig = field(default_factory=InferConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    archs: ArchsConfig = field(default_factory=ArchsConfig)
    accuracy: AccuracyConfig = field(default_factory=AccuracyConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    orchestration: OrchestrationConfig = field(default_factory=OrchestrationConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    paper: PaperConfig = field(default_factory=PaperConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    devices: DevicesConfig = field(default_factory=DevicesConfig)
    platforms: tuple[PlatformConfig, ...] = ()

    def platform(self, name: str) -> PlatformConfig:
        """The platform called ``name``; an unknown name is an error listing the known ones."""
        for p in self.platforms:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.platforms) or "none"
        raise ConfigError(f"unknown platform {name!r}; the params file declares: {known}")


def _build(cls: type, raw: Any, where: str) -> Any:
    """Instantiate dataclass ``cls`` from a mapping, recursively, rejecting unknown keys (``where``: the
    setting's dotted name, e.g. ``budgets``)."""
    if raw is None:
        raw = {}
    where = where or "top level"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(names)}")
    kwargs = {}
    for key, value in raw.items():
        kwargs[key] = _coerce(hints[key], value, key if where == "top level" else f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"{where}: {exc}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is tuple[PlatformConfig, ...]:  # a mapping name -> settings in the file: named by name
        return tuple(_build(PlatformConfig, v, f"platforms.{v['name']}") for v in value)
    if origin in (tuple, list):
        if isinstance(value, str):  # one item of a list setting may be written bare
            value = [value]
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


def params_to_dict(params: Params) -> dict:
    """``params`` as plain JSON-able data (platforms as a list of mappings with their name)."""
    return json.loads(json.dumps(dataclasses.asdict(params)))


def _checked(raw: dict) -> Params:
    params = _build(Params, raw, "")
    check_rules(params, ConfigError)
    for p in params.platforms:
        check_platform(p)
    return params


def params_from_dict(raw: dict, where: str = "bundled params") -> Params:
    """The inverse of :func:`params_to_dict` (a model bundle's snapshot of params.yaml), checked as
    :func:`load_params` checks the file."""
    if not isinstance(raw, dict) or not isinstance(raw.get("platforms", []), list) or \
            not all(isinstance(p, dict) and "name" in p for p in raw.get("platforms", [])):
        raise ConfigError(f"{where}: not a params snapshot (a mapping with a list of named platforms)")
    try:
        return _checked(raw)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (DVC refuses such a file too; the
    last one silently winning would make ``nag`` and DVC read different settings)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(f"key {key!r} appears twice in one mapping (lines {seen[key]} and {line}); "
                                  f"keep one")
            seen[key] = line
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> Any:
    """``path`` parsed by YAML's safe loader with duplicate keys refused (:class:`ConfigError` naming it)."""
    try:
        return yaml.load(path.read_text(), Loader=_UniqueKeys)  # noqa: S506  (a SafeLoader subclass)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        why = getattr(exc, "problem", None) or exc.__class__.__name__
        raise ConfigError(f"cannot parse {path} as YAML{at} ({why}); fix its syntax") from None


def load_params(path: str | Path = "params.yaml", note: Callable[[str], None] | None = None) -> Params:
    """Parse and check params.yaml into :class:`Params`. Every value is checked against
    :mod:`nag.config.rules`; an error names ``path`` and the setting. A section the file lacks takes the
    code's defaults (the dataclass defaults above); ``note`` (the CLI: stderr) is told which."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"missing {path}: run from the project root or pass --params")
    raw = read_yaml(path)
    if raw is None:
        raise ConfigError(f"{path} is empty; restore it (git checkout {path.name}) or write its sections")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    sections = set(raw)
    try:
        raw = platform_entries(raw)
        params = _checked(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    defaulted = [
        f.name for f in dataclasses.fields(Params) if f.name not in sections and f.name != "platforms"
    ]
    if note and defaulted:
        note(
            f"note: {path} has no {', '.join(defaulted)} section(s): the code defaults apply (see "
            "nag/config/params.py)"
        )
    return params
