"""The search-space contract every space implements.

A space is an ordered list of :class:`Decision`; an architecture (:class:`Arch`) is the tuple of
chosen indices (*tokens*), one per decision, stored in canonical form so that two encodings of the
same network share one ``arch_id``.

Example::

    >>> from nag.spaces import get_space
    >>> space = get_space("nb201")
    >>> arch = space.sample(1, seed=0)[0]
    >>> space.from_tokens(space.to_tokens(arch)) == arch
    True
    >>> space.features(arch).shape
    (30,)
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nag.errors import NagError


@dataclass(frozen=True)
class Decision:
    """One categorical choice of a space: a name and its options (in token order)."""

    name: str
    choices: tuple

    @property
    def size(self) -> int:
        return len(self.choices)


@dataclass(frozen=True)
class Arch:
    """An architecture as a value: the space it belongs to and one token per decision."""

    space: str
    tokens: tuple[int, ...]

    @cached_property
    def arch_id(self) -> str:
        """Stable id: a hash of the space name and the canonical tokens."""
        text = self.space + ":" + ",".join(str(t) for t in self.tokens)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


class ArchError(NagError, ValueError):
    """An architecture that does not belong to a space."""


class SearchSpace(ABC):
    """Ordered categorical decisions plus the operations search and learning need."""

    name: str
    decisions: tuple[Decision, ...]

    # ----- what each space defines -----------------------------------------------------------
    @abstractmethod
    def canonical_tokens(self, tokens: Sequence[int]) -> tuple[int, ...]:
        """Tokens with every don't-care decision set to a fixed value."""

    @abstractmethod
    def features(self, arch: Arch) -> np.ndarray:
        """One-hot feature vector (float32, shape ``(feature_dim,)``)."""

    @property
    @abstractmethod
    def feature_dim(self) -> int:
        """Length of :meth:`features`."""

    # ----- shared operations -----------------------------------------------------------------
    @property
    def num_decisions(self) -> int:
        return len(self.decisions)

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.decisions)

    def sees_input(self, arch: Arch) -> bool:
        """Whether the network's output depends on its input (every network of most spaces does; an NB201
        cell whose every input-output path holds a ``none`` edge does not, and is no answer to a budget)."""
        return True

    def size(self) -> int:
        """Number of distinct canonical architectures (counted by enumeration where needed)."""
        return sum(1 for _ in self.enumerate())

    def from_tokens(self, tokens: Sequence[int]) -> Arch:
        """Validate and canonicalise a token sequence into an :class:`Arch`."""
        tokens = tuple(int(t) for t in tokens)
        if len(tokens) != self.num_decisions:
            raise ArchError(
                f"space {self.name!r} expects {self.num_decisions} tokens, got {len(tokens)}"
            )
        for t, d in zip(tokens, self.decisions):
            if not 0 <= t < d.size:
                raise ArchError(f"token {t} out of range for decision {d.name!r} ({d.size} choices)")
        return Arch(self.name, self.canonical_tokens(tokens))

    def to_tokens(self, arch: Arch) -> tuple[int, ...]:
        self.check(arch)
        return arch.tokens

    def check(self, arch: Arch) -> None:
        """Raise :class:`ArchError` unless ``arch`` is a canonical member of this space."""
        if not isinstance(arch, Arch) or arch.space != self.name:
            got = getattr(arch, "space", type(arch).__name__)
            raise ArchError(f"architecture from space {got!r} given to space {self.name!r}")
        if self.from_tokens(arch.tokens) != arch:
            raise ArchError(f"architecture {arch.tokens} is not canonical in space {self.name!r}")

    def features_batch(self, archs: Sequence[Arch]) -> np.ndarray:
        """Stack :meth:`features` into ``(len(archs), feature_dim)``."""
        if not archs:
            return np.zeros((0, self.feature_dim), dtype=np.float32)
        return self.features_from_tokens(np.array([a.tokens for a in archs], dtype=np.int64))

    def features_from_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """Vectorised features of raw token rows ``(N, num_decisions)`` (canonicalised on the fly);
        the default loops over :meth:`features`, spaces override it where it is a hot path."""
        return np.stack([self.features(self.from_tokens(t)) for t in tokens]).astype(np.float32)

    def canonical_batch(self, tokens: np.ndarray) -> np.ndarray:
        """:meth:`canonical_tokens` of each row of ``(N, num_decisions)`` (spaces vectorise it where it is a
        hot path: inference canonicalises every sample)."""
        return np.array([self.canonical_tokens(t) for t in np.asarray(tokens).tolist()], dtype=np.int64)

    def random_tokens(self, rng: np.random.Generator) -> tuple[int, ...]:
        return tuple(int(rng.integers(d.size)) for d in self.decisions)

    def sample(self, n: int, seed: int | np.random.Generator = 0, unique: bool = False) -> list[Arch]:
        """Draw ``n`` architectures with uniformly random tokens (seeded).

        With ``unique=True`` the result holds ``n`` distinct canonical architectures; asking for
        more than the space holds is an error.
        """
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if not unique:
            return [self.from_tokens(self.random_tokens(rng)) for _ in range(n)]
        if n > int(np.prod(self.vocab_sizes, dtype=np.float64)):
            raise ValueError(f"asked for {n} unique archs but space {self.name!r} is smaller")
        out: dict[str, Arch] = {}
        tries = 0
        while len(out) < n:
            a = self.from_tokens(self.random_tokens(rng))
            out.setdefault(a.arch_id, a)
            tries += 1
            if tries == 50 * n + 10_000 and n > self.size():  # checked once: enumeration is slow
                raise ValueError(f"asked for {n} unique archs but space {self.name!r} has fewer")
        return list(out.values())

    def mutate(self, arch: Arch, prob: float, rng: np.random.Generator) -> Arch:
        """Resample each decision with probability ``prob``."""
        self.check(arch)
        tokens = [
            int(rng.integers(d.size)) if rng.random() < prob else t
            for t, d in zip(arch.tokens, self.decisions)
        ]
        return self.from_tokens(tokens)

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        """Uniform crossover: each decision from either parent with equal probability."""
        self.check(a)
        self.check(b)
        pick = rng.random(self.num_decisions) < 0.5
        return self.from_tokens([x if p else y for x, y, p in zip(a.tokens, b.tokens, pick)])

    def enumerate(self) -> Iterator[Arch]:
        """Every canonical architecture once (only sensible for small spaces)."""
        seen: set[tuple[int, ...]] = set()
        for tokens in np.ndindex(*self.vocab_sizes):
            canon = self.canonical_tokens(tokens)
            if canon not in seen:
                seen.add(canon)
                yield Arch(self.name, tuple(int(t) for t in canon))

    def describe(self, arch: Arch) -> dict:
        """Human-readable form: decision name → chosen value."""
        self.check(arch)
        return {d.name: d.choices[t] for d, t in zip(self.decisions, arch.tokens)}
