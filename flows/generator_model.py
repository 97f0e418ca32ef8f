"""MLflow model from code: a platform's generator — budgets (ms) in, architectures out — served from its
engine file (:mod:`nag.serving.engine`). Logged by flows/register.py with ``nag`` bundled as code and only
numpy, pandas, scikit-learn, pyyaml and mlflow as requirements: it loads in any environment that has those
(no torch, no checkout of this project), and ``mlflow models serve`` answers ``POST /invocations`` with it.

    >>> m = mlflow.pyfunc.load_model("models:/nag-generator-nb201-pixel3@champion")      # doctest: +SKIP
    >>> m.predict(pd.DataFrame({"budget_ms": [5.0, 8.0]}))                               # doctest: +SKIP
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

OUTPUT = ("budget_ms", "arch_id", "tokens", "arch", "latency_ms", "latency_bound_ms", "accuracy",
          "predicted_accuracy", "satisfied")


class GeneratorModel(mlflow.pyfunc.PythonModel):
    """``predict(frame with budget_ms)`` → the best architecture per budget, with its latency estimate and
    bound: the same answer as ``nag generate`` gives from the same engine file. A table platform's accuracy
    column travels in the engine, so its candidates are ranked by their table accuracy (``accuracy``), as
    the CLI does; a supernet platform's are ranked by prediction (``accuracy`` is null there)."""

    def load_context(self, context) -> None:
        from nag.serving.engine import Engine

        self.engine = Engine.load(context.artifacts["engine"])
        self.max_budgets = int((getattr(context, "model_config", None) or {}).get("max_budgets", 1000))

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        from nag.errors import NagError

        if not isinstance(model_input, pd.DataFrame) or "budget_ms" not in model_input:
            raise MlflowException("input needs a budget_ms column (latency budgets in milliseconds)",
                                  INVALID_PARAMETER_VALUE)
        if len(model_input) > self.max_budgets:  # bounded work per request (serve.max_budgets)
            raise MlflowException(f"{len(model_input)} budgets in one request; at most {self.max_budgets} "
                                  f"(serve.max_budgets): split the request", INVALID_PARAMETER_VALUE)
        e = self.engine
        try:
            choices, _ = e.choose(model_input["budget_ms"].tolist())
        except NagError as exc:  # a budget below the cheapest network, not a number, ...
            raise MlflowException(str(exc), INVALID_PARAMETER_VALUE) from None
        rows = []
        for c in choices:
            d = e.describe(c)
            acc = d["accuracy"] if e.accuracy is not None else None
            rows.append({"budget_ms": c.budget, "arch_id": c.arch.arch_id, "tokens": d["tokens"],
                         "arch": d["arch"], "latency_ms": d["latency_ms"],
                         "latency_bound_ms": d["latency_bound_ms"], "accuracy": acc,
                         "predicted_accuracy": d["predicted_accuracy"],
                         "satisfied": bool(c.latency <= c.budget)})  # by the latency infer.feasibility names
        return pd.DataFrame(rows, columns=list(OUTPUT))


mlflow.models.set_model(GeneratorModel())
