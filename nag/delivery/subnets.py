"""Finetuned subnets for generated architectures: what the ``finetune@<platform>`` stage
(:mod:`nag.stages.finetune`) and ``nag export`` share, and ``nag export`` itself.

For each budget (the platform's K trained budgets from ``frontier@`` plus ``finetune_budgets_ms``) the
chosen architecture is checked to fit when measured (local platforms, :mod:`nag.delivery.check`), extracted
from the supernet, evaluated on the test split, finetuned, evaluated again, exported to ONNX (checked against
torch) and, on a local platform, timed again beside the drift probes. A budget sharing its architecture
with another shares its finetuned model. Finished models are kept
in a work folder keyed by the supernet and the finetune settings, so an interrupted stage resumes with
the next architecture.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from nag.config import FinetuneConfig, Params
from nag.delivery.export import check_out, export_onnx, provenance, write_bundle
from nag.method.checkpoint import FORMAT, CheckpointError, load_object, save_object
from nag.platforms import Platform
from nag.spaces.base import Arch
from nag.supernet.checkpoint import load_supernet
from nag.supernet.data import Images, load_images, read_meta
from nag.supernet.evaluate import accuracy
from nag.supernet.finetune import finetune, subnet_from_supernet
from nag.supernet.static import StaticNet, arch_madds, arch_params, build_static


@dataclass
class SubnetSource:
    """The supernet and the images a subnet is evaluated and finetuned on."""

    supernet: torch.nn.Module
    norm: tuple[float, float]
    meta: dict
    train: Images
    test: Images
    calib: Images
    supernet_path: Path

    @classmethod
    def load(cls, platform: Platform, supernet_path: str | Path, prepared: str | Path, cfg: FinetuneConfig):
        space = platform.space
        supernet, norm = load_supernet(supernet_path, space)  # a missing/foreign file: CheckpointError
        meta = read_meta(prepared)
        train, _ = load_images(prepared, "train", space.macro.num_classes, norm)
        test, _ = load_images(prepared, "test", space.macro.num_classes, norm)
        return cls(
            supernet, norm, meta, train, test, train.subset(cfg.calib_images, cfg.seed), Path(supernet_path)
        )

    def key(self, cfg: FinetuneConfig, do_finetune: bool) -> str:
        """What a finished model depends on: the supernet's bytes and the finetune settings."""
        h = hashlib.sha256(self.supernet_path.read_bytes())
        h.update(json.dumps({"cfg": asdict(cfg), "finetune": do_finetune}, sort_keys=True).encode())
        return h.hexdigest()[:16]


def make_subnet(src: SubnetSource, arch: Arch, cfg: FinetuneConfig, do_finetune: bool, progress: bool
                ) -> tuple[StaticNet, dict]:
    """Extract (BN recalibrated), evaluate, optionally finetune and evaluate again."""
    net = subnet_from_supernet(src.supernet, arch, src.calib)
    rec = {"test_acc_before": accuracy(net, src.test), "finetuned": do_finetune}
    if do_finetune:
        seed = int(arch.arch_id[:8], 16)
        rec["train"] = finetune(net, src.train, cfg, seed, progress, desc=f"finetune {arch.arch_id}")
    rec["test_acc_after"] = accuracy(net, src.test) if do_finetune else rec["test_acc_before"]
    return net, rec


def _cached(work: Path, arch: Arch, key: str, space, log) -> tuple[StaticNet, dict] | None:
    path = work / f"{arch.arch_id}.pt"
    if not path.is_file():
        return None
    try:
        obj = load_object(path, "subnet")
    except CheckpointError as exc:
        log(f"ignoring unreadable {path} ({exc}); finetuning {arch.arch_id} again")
        return None
    if obj.get("key") != key:
        return None  # made from another supernet or with other settings
    net = build_static(space, arch)
    net.load_state_dict(obj["state"])
    return net.eval(), obj["record"]


def subnets_for(
    src: SubnetSource,
    platform: Platform,
    archs: list[Arch],
    cfg: FinetuneConfig,
    do_finetune: bool,
    work: Path | None,
    progress: bool = True,
    log=print,
) -> list[tuple[StaticNet, dict]]:
    """One (network, record) per arch; finished ones are read from / saved to ``work`` (resume)."""
    key = src.key(cfg, do_finetune)
    out = []
    for arch in tqdm(archs, desc=f"subnets {platform.name}", disable=not progress):
        got = _cached(work, arch, key, platform.space, log) if work else None
        if got is None:
            got = make_subnet(src, arch, cfg, do_finetune, progress)
            if work:
                save_object(work / f"{arch.arch_id}.pt", {"kind": "subnet", "format": FORMAT, "key": key,
                                                          "record": got[1], "state": got[0].state_dict()})
        out.append(got)
    return out


def latency_card(platform: Platform, row: dict, timing: tuple[float, float, float] | None, drift) -> dict:
    """The card's latency: the estimate and its bound, and on a local platform the delivered model measured
    (raw and divided by the probes' drift), a fresh network of the arch timed beside it, and the
    delivery check's tries (:mod:`nag.delivery.check`). ``within_budget`` is judged on the drift-corrected
    measurement here, on the bound the pick was chosen by for an imported device."""
    pred, bound, budget = row["latency_ms"], row.get("latency_bound_ms", row["latency_ms"]), row["budget_ms"]
    feas = platform.feasibility
    out = {"predicted": pred, "bound": bound, "confidence": feas.confidence, "feasibility": feas.mode,
           "measured": None, "measured_corrected": None, "drift_ratio": None, "error_pct": None,
           "reference_measured": None, "machine_drift_pct": None, "vs_reference_pct": None,
           "within_budget": (bound if feas.mode == "bound" else pred) <= budget, "within_budget_raw": None,
           "source": f"predicted (platform latency model; chosen so that its {feas.mode} fits)",
           "delivery": row.get("delivery", [])}
    if timing is None:
        return out
    measured, reference, corrected = timing
    return {**out, "measured": measured, "measured_corrected": corrected, "drift_ratio": drift.ratio,
            "error_pct": 100 * (corrected - pred) / pred, "reference_measured": reference,
            # how much the machine has drifted since the table (probes), and what export/finetuning changed
            "machine_drift_pct": 100 * (drift.ratio - 1),
            "vs_reference_pct": 100 * (measured - reference) / reference,
            "within_budget": corrected <= budget, "within_budget_raw": measured <= budget,
            "source": "measured here beside the drift probes, after the choice (not the delivery check's)"}


def card_for(platform: Platform, row: dict, rec: dict, timing: tuple[float, float, float] | None, drift,
             src: SubnetSource, cfg: FinetuneConfig, onnx_diff: float, prov: dict, onnx_file: str) -> dict:
    """The model card of one budget's subnet (schema: :data:`nag.delivery.export.CARD_KEYS`)."""
    space, arch = platform.space, row["arch_obj"]
    m = space.macro
    return {
        "schema": "nag-model-card/1",
        "name": f"nag-subnet-{platform.name}",
        "platform": platform.name,
        "budget_ms": row["budget_ms"],
        "arch_id": arch.arch_id,
        "arch": space.describe(arch),
        "tokens": list(arch.tokens),
        "latency_ms": latency_card(platform, row, timing, drift),
        "accuracy": {
            "predicted_val": row.get("predicted_accuracy"),
            "test_before_finetune": rec["test_acc_before"],
            "test_after_finetune": rec["test_acc_after"],
        },
        "params": arch_params(space, arch),
        "madds": arch_madds(space, arch),
        "input": {
            "shape": [None, m.in_channels, m.input_size, m.input_size],
            "dtype": "float32",
            "normalize": {"mean": src.norm[0], "std": src.norm[1], "scale": "pixels / 255"},
            "classes": src.meta.get("classes"),
        },
        "finetune": {
            "finetuned": rec["finetuned"],
            **({"settings": asdict(cfg), **rec.get("train", {})} if rec["finetuned"] else {}),
        },
        "onnx": {
            "file": onnx_file,
            "opset": 17,
            "max_abs_diff_vs_torch": onnx_diff,
            "atol": cfg.onnx_atol,
            "rtol": cfg.onnx_atol,
        },
        "provenance": prov,
    }


def record_drift(platform: Platform, drift, what: str) -> dict:
    """Keep the drift just measured as ``reports/drift/<p>.json`` (the registry gate reads the newest)."""
    from nag.atomic import write_json
    from nag.latency.drift import DRIFT_DIR, drift_record

    rec = drift_record(platform.name, drift, platform.files.model, what)
    write_json(DRIFT_DIR / f"{platform.name}.json", rec)
    return rec


def export_all(nets: list[StaticNet], src: SubnetSource, cfg: FinetuneConfig) -> list[tuple[bytes, float]]:
    x = src.test.x[: cfg.onnx_check_images]
    return [export_onnx(n, x, cfg.onnx_atol) for n in nets]


def run_export(params: Params, platform: Platform, budget: float, out: str | Path, supernet_path: str | Path,
               prepared: str | Path, evaluator: str | Path, generator: str | Path, do_finetune: bool = True,
               force: bool = False, progress: bool = True) -> dict:
    """``nag export``: generate for ``budget``, extract, (finetune), export ONNX + card into ``out``."""
    from nag.delivery.check import fit_budgets, measure_delivered
    from nag.serving.generated import Generated

    out = Path(out)
    check_out(out, force)  # before any work
    if not platform.has_supernet:
        from nag.config import ConfigError

        raise ConfigError(
            f"platform {platform.name!r} is a benchmark table (NB201 cells): there is no supernet "
            f"to extract weights from; export from an mbv3 platform (kind local or imported)"
        )
    cfg = params.finetune
    g = Generated(params, platform, evaluator, generator)
    src = SubnetSource.load(
        platform, supernet_path, prepared, cfg
    )  # a missing supernet fails before generating
    choice = g.choose([budget], zero_query=True)[0][0]
    row, = fit_budgets(params, platform, g, [{**g.describe(choice), "arch_obj": choice.arch}])
    (net, rec), = subnets_for(src, platform, [row["arch_obj"]], cfg, do_finetune, None, progress)
    data, diff = export_all([net], src, cfg)[0]
    timings, drift = measure_delivered(params, platform, [row["arch_obj"]], [net], [data])
    card = card_for(
        platform, row, rec, timings[0], drift, src, cfg, diff, provenance(supernet_path, generator),
        "model.onnx",
    )
    if drift is not None:
        record_drift(platform, drift, "nag export")
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    write_bundle(out, {"model.onnx": data, "model.pt": buf.getvalue()}, card)
    return card
