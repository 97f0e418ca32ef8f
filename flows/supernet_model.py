"""``nag-supernet`` as an MLflow model from code (no pickle: this file is the model, ``nag`` travels as code):
the checkpoint plus what fixes its space.

``predict`` takes architectures in the OFA notation (columns ``ks``, ``e``, ``d``: space-separated
lists, as in imported measurement files) and returns each extracted subnet's arch_id, MAdds and
parameter count; ``model.unwrap_python_model().supernet`` is the loaded :class:`Supernet` whose
``extract(arch)`` gives the static subnet (what finetuning starts from).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import pandas as pd


class SupernetModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        import json

        from nag.config import params_from_dict
        from nag.spaces import MBV3Space
        from nag.supernet.checkpoint import load_supernet
        from nag.supernet.data import make_macro

        cfg = json.loads(Path(context.artifacts["bundle"]).read_text())
        params = params_from_dict(cfg["params"], "bundled params")
        self.space = MBV3Space(make_macro(params.supernet, cfg["meta"]))
        self.supernet, self.norm = load_supernet(context.artifacts["supernet"], self.space)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        from nag.supernet.static import arch_madds, arch_params

        archs = [self.space.from_ofa(*(list(map(int, str(r[c]).split())) for c in ("ks", "e", "d")))
                 for _, r in model_input.iterrows()]
        return pd.DataFrame({"arch_id": [a.arch_id for a in archs],
                             "madds": [arch_madds(self.space, a) for a in archs],
                             "params": [arch_params(self.space, a) for a in archs]})


def log_supernet(root: Path, params, run_id: str, requirements: list[str]):
    """Log ``models/supernet.pt`` as a pyfunc model (from this file's code) in run ``run_id``; returns the
    ModelInfo."""
    import json

    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    import nag
    from flows.models import write_bundle_config
    from nag.spaces import MBV3Space
    from nag.supernet.data import make_macro

    meta = json.loads((root / "data/prepared/meta.json").read_text())
    n = MBV3Space(make_macro(params.supernet, meta)).num_stages
    smallest = {"ks": " ".join(["3"] * 4 * n), "e": " ".join(["3"] * 4 * n), "d": " ".join(["2"] * n)}
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(run_id=run_id):
        write_bundle_config(Path(tmp) / "bundle.json", params, "", meta)
        return mlflow.pyfunc.log_model(
            name="supernet",
            python_model=str(Path(__file__).resolve()),
            artifacts={
                "supernet": str(root / "models/supernet.pt"),
                "bundle": str(Path(tmp) / "bundle.json"),
            },
            code_paths=[str(Path(nag.__file__).parent)],
            pip_requirements=requirements,
            input_example=pd.DataFrame([smallest]),
            signature=ModelSignature(
                Schema([ColSpec("string", c) for c in ("ks", "e", "d")]),
                Schema([ColSpec("string", "arch_id"), ColSpec("long", "madds"), ColSpec("long", "params")])),
        )


mlflow.models.set_model(SupernetModel())
