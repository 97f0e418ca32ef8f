"""Search spaces: the contract (:mod:`nag.spaces.base`) and its implementations
(``nb201``, ``mbv3``, ``ofa``).

Each is small typed code with a docstring example; a new space implements ``SearchSpace``.
May import ``nag.errors`` only: every other package builds on it.
"""

from __future__ import annotations

from nag.spaces.base import Arch, ArchError, Decision, SearchSpace
from nag.spaces.mbv3 import MBV3Macro, MBV3Space
from nag.spaces.nb201 import NB201Space
from nag.spaces.ofa import OFASpace

SPACES = ("mbv3", "nb201", "ofa-w1.2")


def get_space(name: str, macro: MBV3Macro | None = None) -> SearchSpace:
    """Build a space by name (``mbv3`` takes an optional :class:`MBV3Macro`)."""
    if name == "mbv3":
        return MBV3Space(macro)
    if name == "nb201":
        return NB201Space()
    if name == "ofa-w1.2":
        return OFASpace()
    raise ValueError(f"unknown search space {name!r}; known: {', '.join(SPACES)}")


__all__ = [
    "Arch",
    "ArchError",
    "Decision",
    "MBV3Macro",
    "MBV3Space",
    "NB201Space",
    "OFASpace",
    "SearchSpace",
    "get_space",
]
