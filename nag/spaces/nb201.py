"""NAS-Bench-201 cell space: 6 edges of a 4-node DAG, 5 operations each (15,625 cells).

Edge order follows the NB201 string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: (1←0), (2←0), (2←1),
(3←0), (3←1), (3←2). Every token sequence is canonical. Cells without an input-output path (341 of
15,625: every path holds a ``none`` edge; 10 % accuracy, chance) are still distinct table rows, but
:meth:`NB201Space.sees_input` is False for them and platforms never offer them.

Example::

    >>> space = NB201Space()
    >>> s = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    >>> space.to_string(space.parse(s)) == s
    True
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from nag.spaces.base import Arch, ArchError, Decision, SearchSpace

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
_NODE_RE = re.compile(r"^\|([a-z0-9_]+)~(\d)\|$")


class NB201Space(SearchSpace):
    """The NB201 cell space."""

    name = "nb201"

    def __init__(self) -> None:
        self.decisions = tuple(Decision(f"edge{dst}<-{src}", OPS) for dst, src in EDGES)

    def canonical_tokens(self, tokens: Sequence[int]) -> tuple[int, ...]:
        return tuple(tokens)

    def canonical_batch(self, tokens: np.ndarray) -> np.ndarray:
        return np.asarray(tokens, dtype=np.int64)

    def size(self) -> int:
        return len(OPS) ** len(EDGES)

    def sees_input(self, arch: Arch) -> bool:
        """True unless every path from the input (node 0) to the output (node 3) holds a ``none`` edge."""
        reached = {0}
        for (dst, src), op in zip(EDGES, arch.tokens):  # EDGES are ordered by destination node
            if op != 0 and src in reached:
                reached.add(dst)
        return 3 in reached

    @property
    def feature_dim(self) -> int:
        return len(EDGES) * len(OPS)

    def features(self, arch: Arch) -> np.ndarray:
        out = np.zeros(self.feature_dim, dtype=np.float32)
        for e, t in enumerate(arch.tokens):
            out[e * len(OPS) + t] = 1.0
        return out

    def features_from_tokens(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens, dtype=np.int64)
        out = np.zeros((len(tokens), self.feature_dim), dtype=np.float32)
        cols = tokens + np.arange(len(EDGES)) * len(OPS)  # (N, 6) column of each edge's op
        np.put_along_axis(out, cols, 1.0, axis=1)
        return out

    def parse(self, text: str) -> Arch:
        """Parse an NB201 string into an :class:`Arch`; malformed strings raise :class:`ArchError`."""
        nodes = text.strip().split("+")
        if len(nodes) != 3:
            raise ArchError(f"NB201 string needs 3 nodes separated by '+': {text!r}")
        tokens: list[int] = []
        for dst, node in enumerate(nodes, start=1):
            parts = [p for p in node.split("|") if p]
            if len(parts) != dst:
                raise ArchError(f"node {dst} of {text!r} needs {dst} inputs, has {len(parts)}")
            for src, part in enumerate(parts):
                m = _NODE_RE.match(f"|{part}|")
                if not m or m.group(1) not in OPS or int(m.group(2)) != src:
                    raise ArchError(f"bad edge {part!r} in {text!r} (want op~{src}, op in {OPS})")
                tokens.append(OPS.index(m.group(1)))
        return self.from_tokens(tokens)

    def to_string(self, arch: Arch) -> str:
        self.check(arch)
        ops = [OPS[t] for t in arch.tokens]
        node1 = f"|{ops[0]}~0|"
        node2 = f"|{ops[1]}~0|{ops[2]}~1|"
        node3 = f"|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"
        return "+".join((node1, node2, node3))

    def describe(self, arch: Arch) -> dict:
        return {"arch_str": self.to_string(arch)}
