"""The ``platforms`` of params.yaml: two types, one mapping each, and their union.

* ``table_platforms:`` — table-backed platforms: a benchmark table (NAS-Bench-201 schema) answers
  accuracy and, for its devices, latency (``benchmark``); an ``imported`` device of that space brings its
  own few measurements, and the table's devices are the references its latency is transferred from;
  an ``ofa`` platform is OFA's ImageNet MobileNetV3 w1.2 space, its accuracy OFA's released predictor and
  its latency a device's per-layer lookup tables (OFA's YAML format).
  Their stages need nothing but the table and the file: no supernet, no measurement here.
* ``supernet_platforms:`` — supernet-backed (mbv3) platforms: ``local`` (measured on this machine) or
  ``imported`` (a device's own measurement file); they need the supernet, the sampled architectures and
  their accuracy.
* ``platforms:`` — every platform, for the stages both types share (DVC ``foreach`` needs one mapping
  per set of dependencies): written once in params.yaml as the YAML merge
  ``platforms: {<<: [*tables, *supernet]}``.

A params file used only with ``nag`` commands may instead hold one plain ``platforms:`` mapping (each
entry with its ``kind``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nag.errors import NagError

PLATFORM_KINDS = ("benchmark", "local", "imported", "ofa")
LOCAL_RUNTIMES = ("cpu-torch", "cpu-onnxruntime")
GROUPS = {
    "table_platforms": ("benchmark", "imported", "ofa"),
    "supernet_platforms": ("local", "imported"),
}  # group -> the kinds it holds


class ConfigError(NagError, ValueError):
    """params.yaml is malformed (unknown key, wrong type, bad value)."""


@dataclass(frozen=True)
class PlatformConfig:
    """One platform (a mapping name → settings in params.yaml).

    Every platform names the ``file`` its latency comes from (a DVC dependency of its stages):

    * ``benchmark`` — a table of real measurements (NB201 schema): ``file`` holds accuracy column
      ``metric`` and latency column ``lat_<device>``.
    * ``local`` — mbv3 networks measured on this machine with ``runtime`` (cpu-torch | cpu-onnxruntime)
      and ``threads`` (0 = latency.threads), batch 1, through a per-block lookup table; ``file`` is the
      machine description (data/devices/machine.json), so a new machine means new measurements.
    * ``imported`` — a device described by its own measurement file ``file`` (data/devices/<name>.csv);
      a predictor fitted on it gives every architecture a latency at ``resolution`` (0 = the supernet's
      input size). With ``table`` (an NB201-schema table: accuracy column ``metric``, and the known
      devices' latency to transfer from) it is a NAS-Bench-201 device (under ``table_platforms:``).
    * ``ofa`` — OFA's ImageNet MobileNetV3 w1.2 space (under ``table_platforms:``): ``file`` is the folder
      of a device's per-layer lookup tables, ``<r>_lookup_table.yaml`` per input resolution (OFA's format,
      as OFA released the Samsung Note10's); accuracy is OFA's ImageNet predictor.
    """

    name: str
    kind: str = "benchmark"
    file: str = ""
    device: str = ""
    metric: str = "acc_cifar10"
    runtime: str = "cpu-torch"
    threads: int = 0
    resolution: int = 0
    max_spread: float = 0.0  # measured rows' IQR / estimate allowed here (0 = latency.max_spread)
    finetune_budgets_ms: tuple[float, ...] = ()  # mbv3: budgets finetuned besides the K trained ones
    table: str = ""  # imported NB201 device: the table of accuracy and reference devices

    @property
    def group(self) -> str:
        """``table_platforms`` or ``supernet_platforms``: which mapping of params.yaml holds it (and so
        which stages it has)."""
        return "table_platforms" if self.kind in ("benchmark", "ofa") or self.table else "supernet_platforms"


def check_platform(p: PlatformConfig) -> None:
    """Refuse an entry whose kind or kind-specific settings are wrong."""
    if p.kind not in PLATFORM_KINDS:
        raise ConfigError(f"platforms.{p.name}.kind = {p.kind!r}: must be one of {', '.join(PLATFORM_KINDS)}")
    if p.kind == "local" and p.runtime not in LOCAL_RUNTIMES:
        raise ConfigError(
            f"platforms.{p.name}.runtime = {p.runtime!r}: must be one of {', '.join(LOCAL_RUNTIMES)}"
        )
    if not p.file:
        raise ConfigError(f"platforms.{p.name} names no file (its measurements, or for local "
                          f"platforms data/devices/machine.json)")


NAME_RE = re.compile(r"^[a-z][a-z0-9._-]{0,62}$")  # a platform name: also a file name and a DVC stage key


def check_name(name: Any, where: str) -> None:
    """Refuse a platform name YAML reads as another type (``123``, ``1e5``, ``yes``) or that is not
    ``[a-z][a-z0-9._-]*`` (so it never escapes a folder as a file name)."""
    if not isinstance(name, str):
        raise ConfigError(f"{where}: the platform name {name!r} is read by YAML as {type(name).__name__}, "
                          f"not a name; start it with a lower-case letter, e.g. dev-{name}")
    if not NAME_RE.match(name):
        raise ConfigError(f"{where}: platform name {name!r}: start with a lower-case letter, then letters, "
                          f"digits, '.', '_' or '-' (at most 63)")


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping of name -> settings")
    for name in value:
        check_name(name, where)
    bad = [k for k, v in value.items() if not isinstance(v, dict)]
    if bad:
        raise ConfigError(f"{where}.{bad[0]} must be a mapping of settings (kind, file, ...)")
    return value


def platform_entries(raw: dict) -> dict:
    """``raw`` (params.yaml as read) with ``platforms`` as a list of named entries, taken from the
    ``table_platforms:`` and ``supernet_platforms:`` groups (each entry's kind checked against its group; a
    table's kind defaults to ``benchmark``) or from a plain ``platforms:`` mapping."""
    raw = dict(raw)
    if "benchmarks" in raw:
        raise ConfigError(
            "the benchmarks: section is now table_platforms: (table-backed platforms); move its entries there"
        )
    if not any(g in raw for g in GROUPS):
        plats = _mapping(raw.get("platforms"), "platforms")
        if "platforms" in raw and not plats:
            raise ConfigError(
                "platforms: is empty; declare at least one platform (under table_platforms: or "
                "supernet_platforms:)"
            )
        if "platforms" in raw:
            raw["platforms"] = [{**v, "name": str(k)} for k, v in plats.items()]
        return raw
    entries: dict[str, dict] = {}
    for group, kinds in GROUPS.items():
        for name, v in _mapping(raw.pop(group, None), group).items():
            v = {"kind": kinds[0], **v} if group == "table_platforms" else dict(v)
            if v.get("kind") not in kinds:
                raise ConfigError(f"{group}.{name}.kind = {v.get('kind')!r}: a platform under {group}: is "
                                  f"{' or '.join(kinds)}; move it to the other mapping or fix its kind")
            if v.get("kind") == "imported" and bool(v.get("table")) != (group == "table_platforms"):
                raise ConfigError(
                    f"{group}.{name}: an imported NAS-Bench-201 device names its table (table: "
                    f"data/benchmarks/nb201.csv) and sits under table_platforms:; an mbv3 device names none "
                    f"and sits under supernet_platforms:")
            if name in entries:
                raise ConfigError(
                    f"platform {name!r} is declared twice (table_platforms: and supernet_platforms:); "
                    "rename one"
                )
            entries[str(name)] = v
    if not entries:
        raise ConfigError(
            "table_platforms: and supernet_platforms: are both empty; declare at least one platform"
        )
    union = raw.get("platforms")
    if not isinstance(union, dict) or set(map(str, union)) != set(entries):
        raise ConfigError(
            "platforms: must be the union of table_platforms: and supernet_platforms: (keep the line "
            "'platforms: {<<: [*tables, *supernet]}' and the anchors '&tables', '&supernet')"
        )
    raw["platforms"] = [{**v, "name": name} for name, v in entries.items()]
    return raw
