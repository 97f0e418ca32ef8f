"""The pyfunc classes of generator/evaluator versions registered before models from code (flows/
generator_model.py): such versions were cloudpickled and unpickle these classes, so a registry's older
champion still loads and the gate can compare with it. New versions are logged from code.

Each model bundles everything it needs, so ``mlflow.pyfunc.load_model("models:/nag-generator-<p>@champion")``
works in a fresh process without the pipeline's files: the evaluator and generator checkpoints (the
evaluator file carries the accuracy predictor), the platform's latency table and latency model, and a
snapshot of params.yaml (plus, for mbv3 platforms, the prepared data's description that fixes the space).

Example::

    >>> m = mlflow.pyfunc.load_model("models:/nag-generator-cpu-torch@champion")      # doctest: +SKIP
    >>> m.predict(pd.DataFrame({"budget_ms": [4.0, 5.5]}))                             # doctest: +SKIP
       budget_ms           arch_id  latency_ms  predicted_accuracy  satisfied  ...
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from nag.atomic import write_json

GENERATOR_OUTPUT = ("budget_ms", "arch_id", "tokens", "arch", "latency_ms", "latency_bound_ms",
                    "predicted_accuracy", "satisfied")


def write_bundle_config(path: Path, params, platform_name: str, meta: dict | None) -> None:
    """The params snapshot (and mbv3 data description) a bundled model rebuilds its platform from."""
    from nag.config import params_to_dict

    write_json(path, {"params": params_to_dict(params), "platform": platform_name, "meta": meta})


def bundle_artifacts(tmp: Path, params, platform, evaluator: Path, generator: Path, latency: Path,
                     latency_model: Path) -> dict[str, str]:
    """The artifact mapping of a generator/evaluator pyfunc (bundle config written into ``tmp``)."""
    meta = None
    if platform.has_supernet:  # mbv3: the space depends on the data
        meta = json.loads((Path(platform.files.prepared) / "meta.json").read_text())
    write_bundle_config(tmp / "bundle.json", params, platform.name, meta)
    return {"bundle": str(tmp / "bundle.json"), "evaluator": str(evaluator), "generator": str(generator),
            "latency": str(latency), "latency_model": str(latency_model)}


def load_bundle(artifacts: dict[str, str]):
    """(params, platform) rebuilt from a model's artifacts: latency from its table + model, no oracle."""
    from nag.config import params_from_dict
    from nag.latency.model import LatencyModel
    from nag.platforms import Feasibility, read_latency_table, table_platform
    from nag.spaces import MBV3Space, NB201Space
    from nag.supernet.data import make_macro

    cfg = json.loads(Path(artifacts["bundle"]).read_text())
    params = params_from_dict(cfg["params"], "bundled params")
    plat = params.platform(cfg["platform"])
    space = (NB201Space() if plat.group == "table_platforms"
             else MBV3Space(make_macro(params.supernet, cfg["meta"])))
    table = read_latency_table(Path(artifacts["latency"]), plat.name)
    return params, table_platform(plat, space, table, LatencyModel.load(artifacts["latency_model"]),
                                  feasibility=Feasibility.of(params))


class GeneratorModel(mlflow.pyfunc.PythonModel):
    """``predict(frame with budget_ms)`` → the best architecture per budget, zero-query: ranked by the
    bundled predictor (or evaluator, per ``infer.rank_by``), timed by the bundled latency model."""

    def load_context(self, context) -> None:
        from nag.generated import Generated

        params, platform = load_bundle(context.artifacts)
        self.generated = Generated(
            params, platform, context.artifacts["evaluator"], context.artifacts["generator"]
        )

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        if "budget_ms" not in model_input:
            raise ValueError("input needs a budget_ms column (latency budgets in milliseconds)")
        g = self.generated
        choices, _ = g.choose(model_input["budget_ms"].astype(float).tolist(), zero_query=True)
        rows = []
        for c in choices:
            d = g.describe(c)
            rows.append(
                {
                    "budget_ms": c.budget,
                    "arch_id": c.arch.arch_id,
                    "tokens": json.dumps(d["tokens"]),
                    "arch": json.dumps(d["arch"]),
                    "latency_ms": d["latency_ms"],  # the estimate; the bound at latency.confidence:
                    "latency_bound_ms": d["latency_bound_ms"],
                    "predicted_accuracy": d["predicted_accuracy"],
                    "satisfied": bool(c.latency <= c.budget),  # by the latency infer.feasibility names
                }
            )
        return pd.DataFrame(rows, columns=list(GENERATOR_OUTPUT))


class EvaluatorModel(mlflow.pyfunc.PythonModel):
    """``predict(frame with tokens (JSON list) and budget_ms)`` → the evaluator's R(α | B) and the
    bundled accuracy predictor's estimate."""

    def load_context(self, context) -> None:
        from nag.checkpoint import load_evaluator

        _, self.platform = load_bundle(context.artifacts)
        self.evaluator, self.predictor, _ = load_evaluator(
            context.artifacts["evaluator"], self.platform.space
        )

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        import torch

        space = self.platform.space
        archs = [space.from_tokens(json.loads(t) if isinstance(t, str) else t) for t in model_input["tokens"]]
        feats = space.features_batch(archs)
        with torch.no_grad():
            score = self.evaluator(
                torch.as_tensor(feats),
                torch.as_tensor(model_input["budget_ms"].to_numpy(), dtype=torch.float32),
            ).numpy()
        pred = self.predictor.predict(feats) if self.predictor is not None else np.full(len(archs), np.nan)
        return pd.DataFrame(
            {
                "arch_id": [a.arch_id for a in archs],
                "score": score,
                "predicted_accuracy": pred,
                "latency_ms": self.platform.latency(archs),
            }
        )
