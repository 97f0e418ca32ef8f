"""``nag benchmark fewshot``: a device known from N measurements, judged on its whole true column.

The device's true latency is column ``lat_D`` of an NB201-schema table. Only the N architectures the
measurement plan (:func:`nag.fewshot.plan.frontier_plan`, on the table's accuracy) picks are "measured"
(read from the table and counted); the reference devices are the ``lat_*`` columns of a reference table
**minus every column of D's hardware** (all its batch sizes). The transfer model
(:class:`nag.fewshot.transfer.TransferModel`) predicts every cell; its out-of-fold residuals give the bound
at ``latency.confidence``.

Reported: the latency model's Spearman, MAPE and share within ±10 % over all the table's networks, the
bound's coverage, the same figures for N random picks (what the plan buys); then NAG trained (M cells, as
``nag benchmark nb201``) on the device's *predicted* latency (``infer.feasibility``: the bound by default)
and judged on the *true* latency (mean regret vs the true oracle, satisfaction), beside NAG trained on
the full true column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.stats import spearmanr

from nag.bench.nb201 import EVAL_PCT, run_nb201_benchmark
from nag.config import DatasetConfig, Params, PlatformConfig
from nag.fewshot.plan import frontier_plan
from nag.fewshot.transfer import TransferError, TransferModel, measurement_plan, references_for
from nag.latency.bound import conformal_quantile
from nag.method.archdata import Lookup, QueryCounter
from nag.method.budget import make_budgets
from nag.method.pareto import best_under_budget
from nag.platforms import TablePlatform, resolve
from nag.platforms.kinds import _table


def reference_matrix(reference: str, device: str, arch_ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """Log latency (cells × references) of ``arch_ids`` on the reference table's devices that are not
    ``device``'s hardware, and their names."""
    ref = _table(str(reference))  # the cached table resolve() reads too: parsed once per process
    names = references_for(device, sorted({*ref.devices, device}))
    names = [d for d in ref.devices if d in names]
    if not names:
        raise TransferError(f"{reference} has no device column outside the hardware of {device!r} to "
                            f"transfer from; give --reference a table with other devices")
    pos = {a: i for i, a in enumerate(ref.frame["arch_id"])}
    missing = [a for a in arch_ids if a not in pos]
    if missing:
        raise TransferError(f"{reference} lacks {len(missing)} of the table's architectures (e.g. "
                            f"{missing[0]}); the reference table must cover every cell")
    rows = np.array([pos[a] for a in arch_ids])
    lat = np.column_stack([ref.latency(d)[rows] for d in names])
    return np.log(np.clip(lat, 1e-6, None)), names


def latency_figures(true: np.ndarray, pred: np.ndarray, bound: np.ndarray) -> dict:
    rel = np.abs(pred - true) / true
    return {"spearman": float(spearmanr(true, pred).statistic), "mape": float(100 * rel.mean()),
            "within_10pct": float((rel <= 0.10).mean()), "bound_coverage": float(np.mean(true <= bound)),
            "bound_margin_pct": float(100 * np.mean(bound / pred - 1))}


def fit_device(R: np.ndarray, A: np.ndarray, y: np.ndarray, rows: np.ndarray, confidence: float,
               seed: int) -> tuple[np.ndarray, np.ndarray, TransferModel]:
    """(estimate, bound, model) of every cell from the measured ``rows`` of true latency ``y``; a measured
    cell's estimate and bound are its measurement."""
    model = TransferModel.fit(R[rows], np.log(y[rows]), A[rows], seed)
    est = np.exp(model.predict(R, A))
    q = max(conformal_quantile(model.residuals, confidence), 0.0)
    bound = est * np.exp(q)
    est[rows], bound[rows] = y[rows], y[rows]
    return est, bound, model


@dataclass
class FewShotDevice:
    """A table device known only at the ``rows`` it measured (indices into the table's networks ``net``)."""

    truth: TablePlatform
    net: np.ndarray
    R: np.ndarray
    A: np.ndarray
    confidence: float
    feasibility: str
    seed: int

    def platform(self, rows: np.ndarray) -> tuple[TablePlatform, TransferModel]:
        y = self.truth.latency.values[self.net]
        est, bound, model = fit_device(self.R, self.A, y, rows, self.confidence, self.seed)
        lookups = []
        for what, v in (("estimate", est), ("bound", bound)):
            full = np.full(len(self.truth.latency.values), np.inf)
            full[self.net] = v
            lookups.append(Lookup(self.truth.table.archs, full, f"{what} from {len(rows)} rows",
                                  missing=np.inf))
        estimate, upper = lookups
        sim = TablePlatform(self.truth.config, self.truth.space,
                            upper if self.feasibility == "bound" else estimate, self.truth.accuracy,
                            estimate=estimate, bound=upper, table=self.truth.table)
        return sim, model


def _judge(truth: TablePlatform, sim: TablePlatform, budgets: np.ndarray, choices, oracle: np.ndarray,
           measured: int, queries: int) -> dict:
    archs = [c.arch for c in choices]
    a, t = truth.accuracy(archs), truth.latency(archs)
    answered = np.array([c.budget for c in choices])
    return {"mean_regret_pp": float(np.mean(oracle[np.isin(budgets, answered)] - a)),
            "satisfaction_rate": float(np.mean(t <= answered)), "budgets_answered": len(choices),
            "budgets": int(len(budgets)), "measured": measured, "queries": queries,
            "per_budget": [{"budget_ms": float(c.budget), "true_latency_ms": float(x), "accuracy": float(y),
                            "predicted_ms": float(sim.estimate([c.arch])[0]),
                            "bound_ms": float(sim.bound([c.arch])[0])} for c, x, y in zip(choices, t, a)]}


def nag_on(dev: FewShotDevice, rows: np.ndarray, params: Params, budgets: np.ndarray, train_size: int,
           loop: int, progress: bool, near: bool = False) -> dict:
    """NAG trained and asked on the device known at ``rows``, judged on its true latency; then ``loop``
    rounds of the closed loop: the picks not yet measured are measured (counted) — with ``near``, also the
    near-picks (what the same generator picks when the *estimate* must fit: better networks the bound's
    margin keeps out, which a measurement may let in) — the latency model is refitted and the generator
    asked again. ``rounds[0]`` is the answer from ``rows`` alone."""
    from nag.method.acc_predictor import fit_accuracy_predictor
    from nag.method.evaluator import train_evaluator
    from nag.method.generator import train_generator
    from nag.method.infer import generate_many, make_score

    t0 = time.perf_counter()
    truth = dev.truth
    sim, _ = dev.platform(rows)
    data, _ = sim.make_dataset(DatasetConfig(train_size, dev.seed))
    trained = make_budgets(data.lat, params.budgets.k, params.budgets.lo_pct, params.budgets.hi_pct)
    evaluator, _ = train_evaluator(data, trained, params.evaluator, progress)
    generator, _ = train_generator(data.space, evaluator, params.generator, progress)
    predictor, rep = fit_accuracy_predictor(data.features, data.acc, (params.infer.predictor,), dev.seed)
    score = make_score(params.infer.rank_by, evaluator, predictor, data.space)
    train_seconds = time.perf_counter() - t0
    acc_all, lat_all = truth.accuracy.values, truth.latency.values
    oracle = acc_all[best_under_budget(acc_all, lat_all, budgets)]
    pos = {truth.table.archs[i].arch_id: k for k, i in enumerate(dev.net)}
    counter = QueryCounter(sim.accuracy, data.archs)
    rounds, to_measure = [], []
    for r in range(loop + 1):
        if r:
            new = {pos[c.arch.arch_id] for c in to_measure} - set(rows.tolist())
            rows = np.concatenate([rows, np.array(sorted(new), dtype=np.int64)])
            sim, _ = dev.platform(rows)

        def ask(lookup):
            fits = budgets[budgets >= lookup.min]
            return generate_many(generator, data.space, fits, lookup, params.infer, score, counter,
                                 cheapest=lookup.min, known=(data.archs, data.acc, lookup(data.archs)),
                                 known_margin=rep["heldout"]["rmse"])

        choices = ask(sim.latency)
        rounds.append(_judge(truth, sim, budgets, choices, oracle, len(rows), counter.queries))
        if r < loop:
            to_measure = choices + (ask(sim.estimate) if near and sim.estimate is not sim.latency else [])
    return {**rounds[0], "train_seconds": train_seconds, "rounds": rounds}


def run_fewshot_benchmark(params: Params, table: str, device: str, measured: int, seed: int = 0,
                          reference: str = "data/benchmarks/nb201.csv", metric: str = "acc_cifar10",
                          train_size: int = 1000, nag: bool = True, full: dict | None = None,
                          loop: int = 2, progress: bool = True, near: bool = False) -> dict:
    """The figures above for one device, N and seed; ``full``: NAG on the full column, already run (the
    ``methods["nag"]`` of ``nag benchmark nb201`` with the same settings), else it is run here."""
    truth = resolve(PlatformConfig(f"nb201-{device}", file=table, device=device, metric=metric))
    lat = truth.latency.values
    net = np.flatnonzero(np.isfinite(lat) & (lat > 0))  # cells that are networks
    archs = [truth.table.archs[i] for i in net]
    R, refs = reference_matrix(reference, device, [a.arch_id for a in archs])
    A = truth.space.features_batch(archs)
    y = lat[net]
    conf = params.latency.confidence
    out = {"device": device, "metric": metric, "seed": seed, "measured": measured, "confidence": conf,
           "references": refs, "feasibility": params.infer.feasibility, "train_size": train_size}
    picks = {"plan": frontier_plan(R, measured, seed, acc=truth.accuracy.values[net]),
             "random": np.random.default_rng(seed).choice(len(net), measured, replace=False)}
    for how, rows in picks.items():
        t0 = time.perf_counter()
        est, bound, model = fit_device(R, A, y, rows, conf, seed)
        out[f"latency_{how}"] = {**latency_figures(y, est, bound), "model": model.report,
                                 "fit_seconds": time.perf_counter() - t0}
        if how == "plan":
            out["measured_arch_str"] = [truth.space.to_string(archs[i]) for i in rows]
    if not nag:
        return out
    dev = FewShotDevice(truth, net, R, A, conf, params.infer.feasibility, seed)
    budgets = make_budgets(y, 10, *EVAL_PCT)
    out["budgets_ms"] = budgets.tolist()
    out["nag_fewshot"] = nag_on(dev, picks["plan"], params, budgets, train_size, loop, progress, near)
    out["loop"] = {"rounds": loop, "near_picks": near}
    if full is None:
        full = run_nb201_benchmark(truth, params, train_size, seed, progress)["methods"]["nag"]
    out["nag_full_column"] = {k: full[k] for k in ("mean_regret_pp", "satisfaction_rate", "queries")}
    return out


@lru_cache(maxsize=2)
def _ofa_table(table: str):
    """(the OFA table, its networks' device features at each row's resolution): read once per process."""
    from nag.data.benchmarks import load_ofa_latency
    from nag.latency.predictor import device_features, imagenet_space

    t = load_ofa_latency(table, imagenet_space())
    res = t.frame["r"].to_numpy() if "r" in t.frame else np.full(len(t.archs), 224)
    return t, device_features(list(t.archs), res)


@lru_cache(maxsize=8)
def _predicted_references(table: str, refs: tuple, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(log latency of every row of the OFA table on each reference, as predictors fitted on a seeded half
    of its networks give it; the rows of the other half). Shared by every device and N with these
    references: the fits are the slow part."""
    from nag.platforms.mbv3_device import fit_reference_columns, reference_log_latency

    t, A = _ofa_table(table)
    ids = np.array([a.arch_id for a in t.archs])  # split by network: all its resolutions on one side
    fit = np.isin(ids, np.random.default_rng(seed).choice(np.unique(ids), len(np.unique(ids)) // 2,
                                                          replace=False))
    R = np.log(np.column_stack([t.latency(d) for d in refs]))
    return reference_log_latency(fit_reference_columns(A[fit], list(R[fit].T), seed), A), np.flatnonzero(~fit)


def run_fewshot_mbv3(table: str, device: str, measured: int, seed: int = 0, confidence: float = 0.9,
                     predicted_references: bool = False) -> dict:
    """The latency figures on an OFA MobileNetV3 table (``ks, e, d, r, lat_*``): device column ``lat_D`` is
    the truth, the table's other devices minus D's hardware the references (the plan: the spread alone, the
    table has no accuracy); features add the architecture encoding at each row's resolution
    (:func:`nag.latency.predictor.device_features`).

    ``predicted_references``: the product path of an imported mbv3 device (:mod:`nag.platforms.mbv3_device`):
    each reference's latency is what its gradient-boosted predictor gives, fitted on a seeded half of the
    table's networks; the device is planned, measured and judged on the other half only (networks the
    reference predictors never saw, as the dataset's are)."""
    t, A = _ofa_table(table)
    if device not in t.devices:
        raise TransferError(f"unknown device {device!r}; {table} has: {', '.join(t.devices)}")
    refs = references_for(device, list(t.devices))
    if not refs:
        raise TransferError(f"{table} has no device outside the hardware of {device!r} to transfer from")
    R = np.log(np.column_stack([t.latency(d) for d in refs]))
    y = t.latency(device)
    judged = np.arange(len(y))
    if predicted_references:
        R, judged = _predicted_references(table, tuple(refs), seed)
    out = {"space": "mbv3", "device": device, "seed": seed, "measured": measured, "confidence": confidence,
           "references": refs, "rows": int(len(judged)), "predicted_references": predicted_references}
    picks = {"plan": judged[measurement_plan(R[judged], measured, seed)],
             "random": np.random.default_rng(seed).choice(judged, measured, replace=False)}
    for how, rows in picks.items():
        est, bound, model = fit_device(R, A, y, rows, confidence, seed)
        others = np.setdiff1d(judged, rows)
        out[f"latency_{how}"] = {**latency_figures(y[others], est[others], bound[others]),
                                 "model": model.report}
    return out
