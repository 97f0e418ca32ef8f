"""The project's binary artifacts, read and written without pickle: nothing the project loads runs code.

* Object artifacts (a platform's latency model, its serving engine, cached reference predictors) are
  written with skops (a zip of JSON and ``.npy`` arrays, read with ``allow_pickle=False``). Reading one
  first lists the types it would build and refuses any outside :data:`TRUSTED` (the project's own
  classes, listed by name) that is not a scikit-learn class (a fitted model's parts).
* Tensor artifacts (checkpoints) are ``torch.save`` files read with ``weights_only=True``: tensors and
  plain containers only; a scikit-learn model travels inside as skops bytes (a uint8 tensor).
* A file from an older NAG that is a pickle is refused with the command that rebuilds it; ``--trust-pickle``
  does not exist on purpose: rebuilding costs a ``dvc repro -f`` of one stage.

Example::

    >>> dump_object({"a": np.arange(3)}, "/tmp/x.skops")                         # doctest: +SKIP
    >>> load_object("/tmp/x.skops", "example", "dvc repro -f example")            # doctest: +SKIP
    {'a': array([0, 1, 2])}
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nag.atomic import write_with
from nag.errors import NagError

# The project's own classes an artifact may hold: data holders whose state is arrays and numbers.
TRUSTED = frozenset({
    "nag.config.params.InferConfig",
    "nag.fewshot.transfer.Candidate",
    "nag.fewshot.transfer.Ensemble",
    "nag.fewshot.transfer.TransferModel",
    "nag.latency.bound.ErrorModel",
    "nag.latency.lut.LutCorrection",
    "nag.latency.meter.MeterSettings",
    "nag.latency.model.LatencyModel",
    "nag.platforms.mbv3_device.TransferPredictor",
    "nag.serving.engine.Engine",
    "nag.method.sampler.Sampler",
    "nag.method.tokens.CellScore",
    "nag.method.tokens.CellValues",
    "nag.method.tokens.DeviceLatency",
    "nag.method.tokens.Linear",
    "nag.method.tokens.LutLatency",
    "nag.method.tokens.MLPScore",
    "nag.method.tokens.MLPValues",
    "nag.method.tokens.PredictorScore",
    "nag.method.tokens.ResolutionTables",
    "nag.method.tokens.TableOrModel",
    "nag.spaces.base.Arch",
    "nag.spaces.base.Decision",
    "nag.spaces.mbv3.MBV3Macro",
    "nag.spaces.mbv3.MBV3Space",
    "nag.spaces.nb201.NB201Space",
    "nag.spaces.ofa.OFASpace",
})
# scikit-learn classes (estimators, their trees and losses) are fitted-model state, rebuilt by skops as
# skops trusts them; a scikit-learn *function* is not a class and is never trusted.
TRUSTED_LIBRARY = "sklearn."
PICKLE_PROTOCOLS = range(2, 6)  # a pickle starts with b"\x80" and its protocol byte


class ArtifactError(NagError, ValueError):
    """An artifact file that is missing, unreadable, a pickle, or holds a type the project does not trust."""


def is_pickle(data: bytes) -> bool:
    """Whether ``data`` is a bare pickle stream (what older NAG versions wrote)."""
    return len(data) >= 2 and data[0] == 0x80 and data[1] in PICKLE_PROTOCOLS


def refuse_pickle(path: str | Path, what: str, rebuild: str) -> ArtifactError:
    return ArtifactError(f"{path} is a pickle (an older NAG's {what}), which this version never loads: "
                         f"pickles can run code; rebuild it with `{rebuild}`")


def read_bytes(path: str | Path, what: str, rebuild: str) -> bytes:
    """The file's bytes, or an :class:`ArtifactError` naming it (missing, a folder, empty, a pickle)."""
    path = Path(path)
    if path.is_dir():
        raise ArtifactError(f"{path} is a folder, not a {what}: pass the file itself")
    if not path.is_file():
        raise ArtifactError(f"missing {what} {path}: run `{rebuild}`")
    data = path.read_bytes()
    if not data:
        raise ArtifactError(f"{path} is empty (0 bytes), not a {what}: rebuild it with `{rebuild}`")
    if is_pickle(data):
        raise refuse_pickle(path, what, rebuild)
    return data


def _library_class(name: str) -> bool:
    """Whether ``name`` is a class of the trusted library (imported only to check that it is a class)."""
    import importlib

    if not name.startswith(TRUSTED_LIBRARY):
        return False
    module, _, attr = name.rpartition(".")
    try:
        return isinstance(getattr(importlib.import_module(module), attr), type)
    except (ImportError, AttributeError, ValueError):
        return False


def untrusted(types: list[str]) -> list[str]:
    """Those of ``types`` (fully qualified names) neither listed in :data:`TRUSTED` nor a library class."""
    return sorted(t for t in types if t not in TRUSTED and not _library_class(t))


def dumps_object(obj: Any) -> bytes:
    import skops.io as sio

    return sio.dumps(obj)


def loads_object(data: bytes, where: str, what: str, rebuild: str) -> Any:
    """Rebuild an object from skops bytes, refusing any type the project does not trust."""
    import skops.io as sio

    try:
        types = sio.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ArtifactError(f"{where} is not a readable {what} ({exc.__class__.__name__}: {exc}); rebuild it "
                            f"with `{rebuild}`") from None
    bad = untrusted(types)
    if bad:
        raise ArtifactError(f"{where} holds types this project does not load ({', '.join(bad[:3])}): not a "
                            f"{what} written by NAG; rebuild it with `{rebuild}`")
    try:
        return sio.loads(data, trusted=types)
    except Exception as exc:  # a damaged archive raises many types
        raise ArtifactError(f"{where} is not a readable {what} ({exc.__class__.__name__}: {exc}); rebuild it "
                            f"with `{rebuild}`") from None


def dump_object(obj: Any, path: str | Path) -> None:
    """Write ``obj`` (the project's data classes, arrays, scikit-learn models) as skops, atomically."""
    data = dumps_object(obj)
    write_with(path, lambda tmp: tmp.write_bytes(data))


def load_object(path: str | Path, what: str, rebuild: str) -> Any:
    """Read an object artifact written by :func:`dump_object`; never runs code from the file."""
    return loads_object(read_bytes(path, what, rebuild), str(path), what, rebuild)


def to_tensor_bytes(data: bytes):
    """``data`` as a uint8 tensor, so it travels inside a ``weights_only`` torch file."""
    import torch

    return torch.frombuffer(bytearray(data), dtype=torch.uint8).clone()


def from_tensor_bytes(t) -> bytes:
    return np.asarray(t.numpy(), dtype=np.uint8).tobytes()


def torch_load(path: str | Path, what: str, rebuild: str) -> Any:
    """A torch file's contents with ``weights_only=True`` (tensors and plain containers only)."""
    import pickle

    import torch

    data = read_bytes(path, what, rebuild)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" in str(exc):
            raise ArtifactError(f"{path} holds objects other than tensors (an older NAG's {what}, or a "
                                f"planted file), which this version never loads; rebuild it with `{rebuild}`"
                                ) from None
        raise ArtifactError(f"{path} is not a readable {what} ({exc.__class__.__name__}); rebuild it with "
                            f"`{rebuild}`") from None
    except Exception as exc:  # truncated or foreign files raise many types
        raise ArtifactError(f"{path} is not a readable {what} ({exc.__class__.__name__}: {exc}); rebuild it "
                            f"with `{rebuild}`") from None
