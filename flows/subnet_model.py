"""MLflow model from code: one finetuned subnet, over its ONNX file and model card (flows/subnets.py logs
it). ``predict(images)`` takes raw pixel values ``(N, H, W)`` or ``(N, C, H, W)`` in 0..255 (or a frame of
flattened images) and returns each image's class, label and probability. Needs onnxruntime, numpy,
pandas and mlflow only."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd


class SubnetModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        import onnxruntime as ort

        self.card = json.loads(Path(context.artifacts["card"]).read_text())
        self.session = ort.InferenceSession(context.artifacts["onnx"], providers=["CPUExecutionProvider"])

    def predict(self, context, model_input: np.ndarray, params: dict | None = None) -> pd.DataFrame:
        spec = self.card["input"]
        _, c, h, w = spec["shape"]
        x = np.asarray(model_input.to_numpy() if isinstance(model_input, pd.DataFrame) else model_input,
                       dtype=np.float32)
        if x.ndim == 2 and x.shape[1] == c * h * w:  # a frame / matrix of flattened images
            x = x.reshape(-1, c, h, w)
        if x.ndim == 3:
            x = x[:, None]
        if x.shape[1:] != (c, h, w):
            raise ValueError(
                f"expected images of shape (N, {c}, {h}, {w}) or (N, {h}, {w}) (pixel values 0..255), "
                f"got {tuple(x.shape)}"
            )
        norm = spec["normalize"]
        x = (x / 255.0 - norm["mean"]) / norm["std"]
        logits = self.session.run(None, {"input": x.astype(np.float32)})[0]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        cls = p.argmax(1)
        labels = spec.get("classes") or [str(i) for i in range(p.shape[1])]
        return pd.DataFrame({"class": cls, "label": [labels[i] for i in cls], "probability": p.max(1)})


mlflow.models.set_model(SubnetModel())
