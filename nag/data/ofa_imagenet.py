"""Once-for-all's released ImageNet assets for its MobileNetV3 w1.2 space, read without torch.

* **Latency lookup tables** in OFA's YAML format (one file ``<r>_lookup_table.yaml`` per input resolution;
  each key one layer by type and shapes, each value ``count``/``mean`` (ms)/``std``): a network's latency is
  the sum over its layers (:class:`LutLatency`), exact by construction for any architecture of the space.
* **OFA's ImageNet accuracy predictor** (128 → 400 → 400 → 400 → 1 MLP) as numpy arrays
  (:class:`OFAPredictor`; ``convert_predictor`` turns the released PyTorch state dict into them once).

Example::

    >>> lut = LutLatency.load("data/benchmarks/ofa_note10_lut")            # doctest: +SKIP
    >>> space = OFASpace()
    >>> lut(space, [space.from_ofa([3] * 20, [3] * 20, [2] * 5, 160)])      # doctest: +SKIP
    array([10.2])
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from nag.errors import NagError
from nag.method.tokens import MLPValues, ResolutionTables
from nag.spaces.base import Arch
from nag.spaces.mbv3 import EXPANDS, KERNELS, MAX_DEPTH, make_divisible
from nag.spaces.ofa import RESOLUTIONS, OFASpace

LUT_FILE = re.compile(r"^(\d+)_lookup_table\.yaml$")


class LutError(NagError, ValueError):
    """A lookup table that cannot time the space (missing layer, bad value, foreign resolution)."""


def _down(h: int, stride: int) -> int:
    return math.ceil(h / stride)


def layer_keys(space: OFASpace, r: int) -> tuple[list[str], dict[tuple[int, int, int, int], str]]:
    """OFA's keys for the fixed layers at resolution ``r``, and for every (stage, slot, kernel, expand)
    block the space can hold there (the layout of OFA's mobile latency estimator)."""
    m = space.macro
    h = _down(r, m.stem_stride)
    stem = m.stem_channels
    fixed = [f"Conv-input:{r}x{r}x3-output:{h}x{h}x{stem}",
             f"expanded_conv-input:{h}x{h}x{stem}-output:{h}x{h}x{stem}-expand:{stem}-kernel:3-stride:1"
             f"-idskip:1-se:0-hs:0"]
    blocks: dict[tuple[int, int, int, int], str] = {}
    cin = stem
    for s, (cout, stride) in enumerate(zip(m.stage_channels, m.stage_strides)):
        se, hs = int(m.stage_se[s]), int(m.stage_acts[s] == "h_swish")
        for b in range(MAX_DEPTH):
            c_in, st = (cin, stride) if b == 0 else (cout, 1)
            h_in, h = h, _down(h, st)
            skip = int(st == 1 and c_in == cout)
            for k in KERNELS:
                for e in EXPANDS:
                    mid = make_divisible(round(c_in * e))
                    blocks[(s, b, k, e)] = (
                        f"expanded_conv-input:{h_in}x{h_in}x{c_in}-output:{h}x{h}x{cout}-expand:{mid}"
                        f"-kernel:{k}-stride:{st}-idskip:{skip}-se:{se}-hs:{hs}")
        cin = cout
    fe, last = m.final_expand_channels, m.last_channels
    fixed += [f"Conv_1-input:{h}x{h}x{cin}-output:{h}x{h}x{fe}",
              f"AvgPool2D-input:{h}x{h}x{fe}-output:1x1x{fe}",
              f"Conv_2-input:1x1x{fe}-output:1x1x{last}", f"Logits-input:1x1x{last}-output:{m.num_classes}"]
    return fixed, blocks


def read_lut(path: Path) -> dict[str, float]:
    """``key → mean (ms)`` of one OFA lookup-table file, every mean checked finite and positive."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise LutError(f"{path}: not a readable YAML lookup table ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict) or not raw:
        raise LutError(f"{path}: a lookup table is a mapping of layer keys to {{count, mean, std}}")
    out = {}
    for key, v in raw.items():
        mean = v.get("mean") if isinstance(v, dict) else None
        number = isinstance(mean, (int, float)) and not isinstance(mean, bool)
        if not number or not math.isfinite(mean) or mean <= 0:
            raise LutError(f"{path}: layer {key!r} has mean {mean!r}; every mean must be a finite positive "
                           f"latency in ms")
        out[str(key)] = float(mean)
    return out


class LutLatency:
    """A network's latency as the sum of its layers' lookup-table means, per resolution (vectorised)."""

    def __init__(self, tables: dict[int, dict[str, float]], source: str = "") -> None:
        self.tables, self.source = tables, source

    @classmethod
    def load(cls, folder: str | Path, space: OFASpace | None = None) -> LutLatency:
        """Read ``<r>_lookup_table.yaml`` files and check they time every network of ``space``."""
        folder = Path(folder)
        files = sorted(p for p in folder.glob("*.yaml")) if folder.is_dir() else []
        if not files:
            raise LutError(f"{folder}: no <resolution>_lookup_table.yaml files (OFA's lookup-table format)")
        tables = {}
        for p in files:
            m = LUT_FILE.match(p.name)
            if not m:
                raise LutError(f"{p}: name it <resolution>_lookup_table.yaml (e.g. 224_lookup_table.yaml)")
            tables[int(m.group(1))] = read_lut(p)
        lut = cls(tables, str(folder))
        lut.check(space or lut.space())
        return lut

    def space(self) -> OFASpace:
        """OFA's space at the resolutions these tables time (any of :data:`RESOLUTIONS`: a device timed at
        fewer sizes is a space of fewer resolutions)."""
        foreign = sorted(set(self.tables) - set(RESOLUTIONS))
        if foreign:
            raise LutError(f"{self.source}: resolution(s) {foreign} are outside the space's {RESOLUTIONS}")
        return OFASpace(tuple(sorted(self.tables)))

    def check(self, space: OFASpace) -> None:
        """Refuse tables that cannot time every architecture of ``space`` (names the first missing layer)."""
        foreign = sorted(set(self.tables) - set(space.resolutions))
        if foreign:
            raise LutError(f"{self.source}: resolution(s) {foreign} are outside the space's "
                           f"{space.resolutions}")
        for r in space.resolutions:
            if r not in self.tables:
                raise LutError(f"{self.source}: no lookup table for {r} px ({r}_lookup_table.yaml)")
            fixed, blocks = layer_keys(space, r)
            missing = [k for k in dict.fromkeys([*fixed, *blocks.values()]) if k not in self.tables[r]]
            if missing:
                raise LutError(f"{self.source}/{r}_lookup_table.yaml lacks {len(missing)} layer(s) of the "
                               f"space, e.g. {missing[0]!r}; measure them or drop {r} px")

    def _arrays(self, space: OFASpace, r: int) -> tuple[float, np.ndarray]:
        fixed, blocks = layer_keys(space, r)
        t = self.tables[r]
        v = np.zeros((space.num_stages, MAX_DEPTH, len(KERNELS), len(EXPANDS)))
        for (s, b, k, e), key in blocks.items():
            v[s, b, KERNELS.index(k), EXPANDS.index(e)] = t[key]
        return sum(t[k] for k in fixed), v

    def frame(self):
        """``arch_id`` (the layer key), ``resolution``, ``latency_ms``: every entry, as validation reads a
        device's measurements."""
        import pandas as pd

        rows = [(k, r, v) for r, t in sorted(self.tables.items()) for k, v in t.items()]
        return pd.DataFrame(rows, columns=["arch_id", "resolution", "latency_ms"])

    def token_fn(self, space: OFASpace) -> ResolutionTables:
        """The tables as arrays over ``space``'s token rows (an engine keeps these)."""
        parts = [self._arrays(space, r) for r in space.resolutions]
        return ResolutionTables(space, np.array([b for b, _ in parts]), np.stack([v for _, v in parts]))

    def __call__(self, space: OFASpace, archs: Sequence[Arch]) -> np.ndarray:
        return self.token_fn(space)(archs)  # one-off calls; a platform keeps the token_fn


class OFAPredictor:
    """OFA's ImageNet top-1 predictor (a fraction) on :meth:`OFASpace.features`, in numpy."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
        self.weights, self.biases = weights, biases

    @classmethod
    def load(cls, path: str | Path) -> OFAPredictor:
        try:
            with np.load(path, allow_pickle=False) as z:
                n = len([k for k in z.files if k.startswith("w")])
                return cls([z[f"w{i}"] for i in range(n)], [z[f"b{i}"] for i in range(n)])
        except (OSError, ValueError, KeyError) as exc:
            raise NagError(f"{path}: not an OFA predictor file ({exc})") from None

    def token_fn(self, space: OFASpace, scale: float = 100.0) -> MLPValues:
        """The predictor over ``space``'s token rows, × ``scale`` (100: top-1 in %)."""
        return MLPValues(space, self.weights, self.biases, scale)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = x @ w.T + b
            if i < len(self.weights) - 1:
                x = np.maximum(x, 0)
        return x[:, 0].astype(np.float64)


def convert_predictor(pth: str | Path, out: str | Path) -> None:
    """The released ``acc_predictor.pth`` (a state dict; read with ``weights_only``) as ``.npz`` arrays."""
    import torch

    from nag.atomic import write_with

    sd = torch.load(pth, map_location="cpu", weights_only=True)
    layers = sorted({int(k.split(".")[0]) for k in sd})
    arrays = {}
    for i, layer in enumerate(layers):
        arrays[f"w{i}"] = sd[f"{layer}.weight"].numpy()
        arrays[f"b{i}"] = sd[f"{layer}.bias"].numpy()
    write_with(out, lambda tmp: np.savez(open(tmp, "wb"), **arrays))


__all__ = ["LutError", "LutLatency", "OFAPredictor", "convert_predictor", "layer_keys", "read_lut"]
