"""A platform's answer to any budget, in one file: the generator's sampler, the latency (estimate and
bound) and the ranking of token rows, the architectures already measured — numpy arrays and, for mbv3,
the scikit-learn predictors. Loading it imports neither torch nor the pipeline: ``nag generate``, the
MLflow model and its REST endpoint serve from it. The frontier@ stage writes it
(``models/engine/<p>.skops``) from the checkpoints it has just judged, with a fingerprint of what it was
built from (the ``infer:`` settings and the platform entry), so a stale engine is noticed, not served.

Example::

    >>> engine = Engine.load("models/engine/nb201-pixel3.skops")      # doctest: +SKIP
    >>> [engine.describe(c)["arch"] for c in engine.choose([8.0], zero_query=True)[0]]   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nag.artifacts import ArtifactError, dump_object, load_object
from nag.errors import NagError
from nag.method.infer import Choice, generate_many
from nag.method.sampler import Sampler
from nag.method.tokens import CellValues, TokenFn, keys
from nag.spaces.base import Arch, SearchSpace

FORMAT = 5  # 4: gate-major sampler arrays, pickled; 5: the same, as skops (no pickle)


class EngineError(NagError, ValueError):
    """An engine file that is missing, unreadable, of another format, or built from other settings."""


def fingerprint(params: Any, platform: str) -> str:
    """What an engine's answers depend on besides its trained files: ``infer:``, ``latency.confidence``
    and the platform's entry of ``params`` (:class:`nag.config.Params`)."""
    text = json.dumps({"infer": asdict(params.infer), "confidence": params.latency.confidence,
                       "platform": asdict(params.platform(platform))}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_hashes(paths: dict[str, Path]) -> dict[str, str]:
    """SHA-256 of each existing file an engine is built from: staleness is judged by content, not file times
    (a ``git checkout`` or ``dvc checkout`` touches times without changing what the engine serves)."""
    return {k: hashlib.sha256(Path(p).read_bytes()).hexdigest()
            for k, p in paths.items() if Path(p).is_file()}


def stale_sources(engine: "Engine", paths: dict[str, Path]) -> list[str]:
    """The names of ``paths`` whose content differs from what ``engine`` was built from (all of them for an
    engine that recorded none)."""
    built = engine.meta.get("sources") or {}
    now = source_hashes(paths)
    return sorted(k for k in now if built.get(k) != now[k])


class _Counter:
    """Accuracy queries of an oracle, counting the distinct architectures read (the known ones are paid):
    what ``method.archdata.QueryCounter`` does by arch_id, by cell index (an enumerable table) or token bytes
    (OFA's predictor) instead, so a call does not hash the dataset's known architectures first."""

    def __init__(self, oracle: TokenFn, paid: np.ndarray) -> None:
        self.oracle = oracle
        self.key = oracle.index if isinstance(oracle, CellValues) else keys
        self.paid = set(self.key(paid).tolist()) if len(paid) else set()
        self.initial = len(self.paid)

    def __call__(self, archs) -> np.ndarray:
        tokens = np.array([a.tokens for a in archs], dtype=np.int64)
        self.paid.update(self.key(tokens).tolist())
        return self.oracle.on_tokens(tokens)


class _Archs:
    """Architectures of token rows, made only when indexed (a pick among thousands of known ones)."""

    def __init__(self, space: SearchSpace, tokens: np.ndarray) -> None:
        self.space, self.tokens = space, tokens

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int) -> Arch:
        return Arch(self.space.name, tuple(int(t) for t in self.tokens[i]))


@dataclass
class Engine:
    """Everything a budget needs on one platform (see the module docstring)."""

    platform: str
    space: SearchSpace
    sampler: Sampler
    infer: Any  # nag.config.InferConfig
    latency: TokenFn  # the latency a budget must hold (``infer.feasibility``)
    estimate: TokenFn
    bound: TokenFn
    score: Any  # ranks feasible candidates (predictor or evaluator)
    predictor: TokenFn | None  # the accuracy predictor's estimate (%) for the report
    known_tokens: np.ndarray  # the architecture dataset: measured accuracy and latency
    known_accuracy: np.ndarray
    known_latency: np.ndarray
    margin: float  # the predictor's held-out RMSE: a sampled pick must beat the known best by it
    cheapest: float
    cheapest_arch: str
    feasibility: dict  # {"mode", "confidence"}
    accuracy: TokenFn | None = None  # a table's (or OFA predictor's) accuracy: the counted queries
    evaluator: Any = None  # R(α | B) (nag.method.tokens.MLPScore), whatever ranks
    fingerprint: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def budgets(self) -> np.ndarray:
        """The K trained budgets (ms)."""
        return self.sampler.budgets

    def choose(self, budgets, zero_query: bool = False) -> tuple[list[Choice], int]:
        """Best architecture per budget and the number of new accuracy queries spent (querying needs a
        table's accuracy; without one every call is zero-query)."""
        counter = None if zero_query or self.accuracy is None else _Counter(self.accuracy, self.known_tokens)
        known = (_Archs(self.space, self.known_tokens), self.known_accuracy, self.known_latency)
        choices = generate_many(self.sampler, self.space, budgets, self.latency, self.infer, self.score,
                                counter, cheapest=self.cheapest, platform=self.platform,
                                cheapest_arch=self.cheapest_arch, known=known, known_margin=self.margin)
        return choices, (len(counter.paid) - counter.initial) if counter else 0

    def predicted_accuracy(self, archs) -> np.ndarray:
        """The accuracy predictor's estimate (%) for ``archs`` (NaN without a predictor)."""
        if self.predictor is None:
            return np.full(len(archs), np.nan)
        return np.asarray(self.predictor(archs), dtype=np.float64)

    def describe(self, c: Choice) -> dict:
        """A pick as the reports show it: ``latency_ms`` is the estimate, ``latency_bound_ms`` its upper
        bound at the confidence, ``margin_ms`` what the budget leaves above the latency feasibility used."""
        est, bound = float(self.estimate([c.arch])[0]), float(self.bound([c.arch])[0])
        return {"budget_ms": c.budget, "arch_id": c.arch.arch_id, "tokens": list(c.arch.tokens),
                "arch": self.space.describe(c.arch), "latency_ms": est, "latency_bound_ms": bound,
                "margin_ms": c.budget - c.latency, "feasibility": self.feasibility["mode"],
                "confidence": self.feasibility["confidence"], "accuracy": c.accuracy,
                "predicted_accuracy": float(self.predicted_accuracy([c.arch])[0]), "score": c.score,
                "rank_by": self.infer.rank_by, "n_feasible_candidates": c.n_feasible,
                "n_queried": c.n_queried}

    def save(self, path: str | Path) -> None:
        dump_object({"kind": "engine", "format": FORMAT, "engine": self}, path)

    @staticmethod
    def load(path: str | Path, expect: str | None = None) -> Engine:
        """Read an engine file (skops, trusted types only: never runs code from the file); with ``expect``
        (a :func:`fingerprint`), refuse one built from other settings."""
        path = Path(path)
        rebuild = f"dvc repro -f frontier@{path.stem}"
        try:
            obj = load_object(path, "engine", rebuild)
        except ArtifactError as exc:
            raise EngineError(str(exc)) from None
        if not isinstance(obj, dict) or obj.get("kind") != "engine" or obj.get("format") != FORMAT \
                or not isinstance(obj.get("engine"), Engine):
            raise EngineError(f"{path} is not an engine of format {FORMAT}; rebuild it with `{rebuild}`")
        engine = obj["engine"]
        if expect is not None and engine.fingerprint != expect:
            raise EngineError(f"{path} was built from other infer:/platform settings than params.yaml's; "
                              f"rerun the platform's frontier stage (dvc repro)")
        return engine
