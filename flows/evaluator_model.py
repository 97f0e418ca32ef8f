"""MLflow model from code: a platform's evaluator R(α | B) and accuracy predictor, served from its engine
file like the generator (flows/generator_model.py): ``predict(frame with tokens (JSON list) and
budget_ms)`` → ``arch_id, score, predicted_accuracy, latency_ms``."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE


class EvaluatorModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from nag.serving.engine import Engine

        self.engine = Engine.load(context.artifacts["engine"])
        # scoring a row costs no sampling: 100 rows per budget a generator call may ask for
        self.max_rows = 100 * int((getattr(context, "model_config", None) or {}).get("max_budgets", 1000))

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        from nag.errors import NagError

        e = self.engine
        if not isinstance(model_input, pd.DataFrame) or {"tokens", "budget_ms"} - set(model_input):
            raise MlflowException("input needs tokens (a JSON list per row) and budget_ms columns",
                                  INVALID_PARAMETER_VALUE)
        if len(model_input) > self.max_rows:
            raise MlflowException(f"{len(model_input)} rows in one request; at most {self.max_rows} (100 x "
                                  f"serve.max_budgets): split the request", INVALID_PARAMETER_VALUE)
        try:
            archs = [e.space.from_tokens(json.loads(t) if isinstance(t, str) else t)
                     for t in model_input["tokens"]]
        except (NagError, ValueError, TypeError) as exc:
            raise MlflowException(f"bad tokens: {exc}", INVALID_PARAMETER_VALUE) from None
        budgets = model_input["budget_ms"].to_numpy(dtype=np.float64)
        return pd.DataFrame({"arch_id": [a.arch_id for a in archs], "score": e.evaluator(archs, budgets),
                             "predicted_accuracy": e.predicted_accuracy(archs),
                             "latency_ms": e.latency(archs)})


mlflow.models.set_model(EvaluatorModel())
