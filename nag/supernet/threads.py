"""Torch's intra-op thread count pinned for a block of work (timing, finetuning), restored after."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int):
    """``with torch_threads(1): ...`` runs the block on ``n`` threads, then restores the old count."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
