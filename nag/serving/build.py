"""The :class:`~nag.serving.engine.Engine` of a platform, made from its trained checkpoints (torch is
needed here, once; the engine itself never imports it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nag.config import Params
from nag.method.checkpoint import load_evaluator, load_generator
from nag.method.infer import evaluator_score
from nag.method.sampler import Sampler
from nag.method.tokens import (
    CellScore,
    CellValues,
    DeviceLatency,
    Linear,
    LutLatency,
    PredictorScore,
    TableOrModel,
    TokenFn,
)
from nag.platforms import Platform
from nag.serving.engine import Engine, fingerprint
from nag.spaces.base import Arch
from nag.spaces.mbv3 import EXPANDS, KERNELS, MBV3Space


def _tokens(archs) -> np.ndarray:
    return np.array([a.tokens for a in archs], dtype=np.int64)


def lut_latency(space: MBV3Space, model) -> LutLatency:
    """A local platform's latency model (block LUT + correction) as arrays."""
    from nag.latency.lut import distinct_blocks

    entries = model.lut["entries"]
    table = np.zeros((space.num_stages, 2, len(KERNELS), len(EXPANDS)))
    for key, spec in distinct_blocks(space).items():
        table[spec.stage, spec.slot, KERNELS.index(spec.kernel), EXPANDS.index(spec.expand)] = \
            entries[key]["latency_ms"]
    base = entries["stem"]["latency_ms"] + entries["head"]["latency_ms"]
    corr = model.correction
    return LutLatency(space, base, table, Linear.of(corr.model) if corr is not None else None,
                      corr is not None and corr.kind != "linear")


def device_latency(model) -> DeviceLatency:
    """An imported device's latency predictor, its MAdds features as per-block tables at its resolution."""
    from nag.latency.predictor import imagenet_space
    from nag.spaces.mbv3 import MBV3Macro
    from nag.supernet.static import BlockSpec, block_madds, fixed_madds, stage_plan

    macro = MBV3Macro(input_size=int(model.resolution))
    plan, space = stage_plan(macro), imagenet_space()
    madds = np.zeros((space.num_stages, 2, len(KERNELS), len(EXPANDS)))
    for s in range(space.num_stages):
        for b in range(2):
            cin, cout, stride, size = plan[s][b]
            for ki, k in enumerate(KERNELS):
                for ei, e in enumerate(EXPANDS):
                    spec = BlockSpec(s, b, cin, cout, k, e, stride, size, macro.stage_acts[s],
                                     macro.stage_se[s])
                    madds[s, b, ki, ei] = block_madds(spec)
    return DeviceLatency(space, model.predictor, model.resolution, fixed_madds(macro), madds)


def _supernet_latency(platform: Platform, known: np.ndarray) -> tuple[TokenFn, TokenFn, TokenFn]:
    """(latency, estimate, bound) of an mbv3 platform: its table's rows (the architecture dataset the
    evaluator was trained on: ``known`` tokens) by tokens, its latency model elsewhere."""
    from nag.latency.model import LatencyModel

    space, conf = platform.space, platform.feasibility.confidence
    model = LatencyModel.load(platform.files.model)
    fallback = lut_latency(space, model) if model.kind == "local" else device_latency(model)
    archs = [Arch(space.name, tuple(int(t) for t in row)) for row in known]
    by_id = {a.arch_id: a for a in archs}
    ids = platform.estimate.ids
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"{platform.files.latency} holds {len(missing)} architectures its evaluator was "
                         f"not trained on (e.g. {missing[0]}); rerun arch_dataset@{platform.name} and after")
    tokens = _tokens([by_id[i] for i in ids])
    estimate = TableOrModel(space, tokens, platform.estimate.values, fallback)
    factor = model.error.factor(model.source, conf)
    bound = TableOrModel(space, tokens, platform.bound.values, fallback, factor)
    return (bound if platform.feasibility.mode == "bound" else estimate), estimate, bound


def _cells(platform: Platform, lookup, missing: float) -> CellValues:
    archs = platform.table.archs
    return CellValues(platform.space, _tokens(archs), lookup(archs), missing)


def build_engine(params: Params, platform: Platform, evaluator_path: str | Path,
                 generator_path: str | Path) -> Engine:
    """The engine that answers budgets on ``platform`` with these trained checkpoints."""
    space = platform.space
    k, name = params.budgets.k, platform.name
    evaluator, predictor, ev_meta = load_evaluator(evaluator_path, space, k, name)
    generator, _ = load_generator(generator_path, space, k, name, ev_meta["budgets"])
    known = space.canonical_batch(np.asarray(ev_meta["known"]["tokens"], dtype=np.int64))
    enumerable = getattr(platform, "table", None) is not None  # a table: every cell known
    if enumerable:
        latency = _cells(platform, platform.latency, np.inf)
        estimate = _cells(platform, platform.estimate, np.inf)
        bound = _cells(platform, platform.bound, np.inf)
        accuracy = _cells(platform, platform.accuracy, np.nan)
        every = _tokens(platform.table.archs)
        pred = CellScore(space, every, predictor.predict(space.features_from_tokens(every)), np.nan) \
            if predictor is not None else None
    elif getattr(platform, "latency_fn", None) is not None:  # OFA: lookup tables (exact), OFA's predictor
        latency = estimate = bound = platform.latency_fn
        accuracy = platform.accuracy_fn
        pred = PredictorScore(space, predictor) if predictor is not None else None
    else:
        latency, estimate, bound = _supernet_latency(platform, known)
        accuracy = None
        pred = PredictorScore(space, predictor) if predictor is not None else None
    rank_by = params.infer.rank_by
    if rank_by == "predictor" and pred is None:
        raise ValueError("infer.rank_by=predictor needs an accuracy predictor; none was trained")
    if rank_by not in ("predictor", "evaluator"):
        raise ValueError(f"unknown infer.rank_by {rank_by!r}; use evaluator or predictor")
    reward = evaluator_score(evaluator, space)
    score = pred if rank_by == "predictor" else reward
    kn = ev_meta["known"]
    cheapest_arch = platform.cheapest_arch()
    return Engine(
        platform=name, space=space, sampler=Sampler.from_generator(generator),
        infer=platform.infer_config(params.infer),
        latency=latency, estimate=estimate, bound=bound, score=score, predictor=pred,
        known_tokens=known,
        known_accuracy=np.asarray(kn["accuracy"], dtype=np.float64),
        known_latency=np.asarray(kn["latency"], dtype=np.float64),
        margin=float(ev_meta.get("predictor_rmse", 0.0)), cheapest=float(platform.cheapest),
        cheapest_arch=cheapest_arch, feasibility={"mode": platform.feasibility.mode,
                                                  "confidence": platform.feasibility.confidence},
        accuracy=accuracy, evaluator=reward, fingerprint=fingerprint(params, name),
        meta={"evaluator": str(evaluator_path), "generator": str(generator_path)},
    )
