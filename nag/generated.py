"""A platform's trained evaluator + generator, loaded and checked, answering budgets: what ``nag generate``,
the frontier@ stage, ``nag export`` and the registry's model serve from."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nag.archdata import QueryCounter
from nag.checkpoint import load_evaluator, load_generator
from nag.config import Params
from nag.infer import Choice, generate_many, make_score
from nag.platforms import Platform


class Generated:
    """A loaded generator bundle, ready to answer budgets for one platform."""

    def __init__(self, params: Params, platform: Platform, evaluator_path: str | Path,
                 generator_path: str | Path) -> None:
        self.params, self.platform = params, platform
        space = platform.space
        k, name = params.budgets.k, platform.name
        self.evaluator, self.predictor, ev_meta = load_evaluator(evaluator_path, space, k, name)
        self.generator, meta = load_generator(generator_path, space, k, name, ev_meta["budgets"])
        self.budgets = np.asarray(meta["budgets"])
        kn = ev_meta["known"]
        self.known = ([space.from_tokens(t) for t in kn["tokens"]], np.asarray(kn["accuracy"]),
                      np.asarray(kn["latency"]))
        self.margin = float(ev_meta.get("predictor_rmse", 0.0))
        self.score = make_score(params.infer.rank_by, self.evaluator, self.predictor, space)

    def choose(self, budgets, zero_query: bool = False) -> tuple[list[Choice], int]:
        """Best architecture per budget and the number of new accuracy queries spent."""
        p = self.platform
        counter = None if zero_query or p.accuracy is None else QueryCounter(p.accuracy, self.known[0])
        choices = generate_many(
            self.generator,
            p.space,
            budgets,
            p.latency,
            self.params.infer,
            self.score,
            counter,
            cheapest=p.cheapest,
            platform=p.name,
            cheapest_arch=p.cheapest_arch(),
            known=self.known,
            known_margin=self.margin,
        )
        return choices, (counter.queries - counter.initial) if counter else 0

    def predicted_accuracy(self, archs) -> np.ndarray:
        """The bundled accuracy predictor's estimate (%) for ``archs``."""
        return np.asarray(self.predictor.predict(self.platform.space.features_batch(archs)), dtype=np.float64)

    def describe(self, c: Choice) -> dict:
        """A pick as the reports show it: ``latency_ms`` is the estimate, ``latency_bound_ms`` its upper
        bound at the confidence, ``margin_ms`` what the budget leaves above the latency feasibility used."""
        p = self.platform
        space, feas = p.space, p.feasibility
        est, bound = float(p.estimate([c.arch])[0]), float(p.bound([c.arch])[0])
        return {"budget_ms": c.budget, "arch_id": c.arch.arch_id, "tokens": list(c.arch.tokens),
                "arch": space.describe(c.arch), "latency_ms": est, "latency_bound_ms": bound,
                "margin_ms": c.budget - c.latency, "feasibility": feas.mode, "confidence": feas.confidence,
                "accuracy": c.accuracy, "predicted_accuracy": float(self.predicted_accuracy([c.arch])[0]),
                "score": c.score, "rank_by": self.params.infer.rank_by,
                "n_feasible_candidates": c.n_feasible, "n_queried": c.n_queried}
