"""Exported subnets: ONNX (checked against torch), the state dict, and a JSON model card.

Example::

    >>> data, diff = export_onnx(net, images[:64], atol=1e-4)            # doctest: +SKIP
    >>> write_bundle(Path("out"), {"model.onnx": data}, card)             # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from nag.atomic import atomic_path
from nag.errors import NagError
from nag.latency.meter import ort_session

CARD_SCHEMA = "nag-model-card/1"
OPSET = 17
# every card has these keys (tests check the schema; readers may rely on them)
CARD_KEYS = ("schema", "name", "platform", "budget_ms", "arch_id", "arch", "tokens", "latency_ms", "accuracy",
             "params", "madds", "input", "finetune", "onnx", "provenance")


class ExportError(NagError, ValueError):
    """An export that cannot be written as asked (existing output, ONNX not equal to torch)."""


def export_onnx(model: torch.nn.Module, images: torch.Tensor, atol: float) -> tuple[bytes, float]:
    """``model`` (eval mode) as ONNX bytes with a dynamic batch axis, and the largest absolute difference
    between onnxruntime's and torch's outputs on ``images``. Every output must satisfy
    ``|ort − torch| ≤ atol · (1 + |torch|)`` (numpy's allclose with rtol = atol: float32 logits of size 10
    cannot agree to 1e-4 absolutely once onnxruntime fuses BatchNorm), else an :class:`ExportError`."""
    model = model.eval()
    x = images.contiguous().float()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x[:1],),
            buf,
            dynamo=False,
            opset_version=OPSET,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )
    data = buf.getvalue()
    with torch.inference_mode():
        ref = model(x).numpy()
    got = ort_session(data, threads=1).run(None, {"input": x.numpy()})[0]
    diff = float(np.abs(got - ref).max())
    if not np.allclose(got, ref, rtol=atol, atol=atol):
        raise ExportError(f"onnxruntime's outputs differ from torch's by up to {diff:.3g} (beyond {atol:g} · "
                          f"(1 + |torch output|)); the export is not faithful: nothing was written")
    return data, diff


class OnnxModule(torch.nn.Module):
    """An ONNX model behind a torch call (``forward`` runs the onnxruntime session), so the latency meter
    times the exported file itself."""

    def __init__(self, data: bytes, threads: int) -> None:
        super().__init__()
        self.session = ort_session(data, threads)

    def forward(self, x: torch.Tensor):
        return self.session.run(None, {"input": x.numpy()})[0]


def file_sha256(path: str | Path) -> str | None:
    path = Path(path)
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit(root: str | Path = ".") -> str | None:
    """HEAD of the project's git checkout (``+dirty`` when it has changes), or None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(supernet: str | Path, generator: str | Path | None = None, root: str | Path = ".") -> dict:
    return {
        "supernet_sha256": file_sha256(supernet),
        "generator_sha256": file_sha256(generator) if generator else None,
        "git_commit": git_commit(root),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def check_card(card: dict) -> dict:
    """Refuse a card that lacks a schema key (the registry and readers rely on them)."""
    missing = [k for k in CARD_KEYS if k not in card]
    if missing or card.get("schema") != CARD_SCHEMA:
        raise ExportError(f"model card is missing {missing or 'its schema tag'} (schema {CARD_SCHEMA})")
    return card


def check_out(out: Path, force: bool) -> None:
    """An existing output folder is refused unless ``force`` (it is then replaced whole, atomically)."""
    if out.exists() and not force:
        raise ExportError(f"{out} already exists; choose another --out or pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder; remove it or choose another --out")


def write_bundle(out: Path, files: dict[str, bytes], card: dict) -> None:
    """Write ``files`` and ``card.json`` into the folder ``out`` as one atomic step (a temporary
    sibling renamed into place: an interrupted export leaves no partial model behind)."""
    check_card(card)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        (tmp / "card.json").write_text(json.dumps(card, indent=2, allow_nan=False) + "\n")
