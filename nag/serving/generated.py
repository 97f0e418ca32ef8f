"""A platform's trained evaluator + generator, loaded and checked, answering budgets: what the frontier@
stage, ``nag export``, the finetune stage and the delivery checks serve from. It answers through the
platform's :class:`~nag.serving.engine.Engine` (numpy), built here from the checkpoints; ``nag generate``
and the MLflow model load the engine file the frontier@ stage writes instead."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nag.config import Params
from nag.method.infer import Choice
from nag.platforms import Platform


class Generated:
    """A loaded generator bundle, ready to answer budgets for one platform."""

    def __init__(self, params: Params, platform: Platform, evaluator_path: str | Path,
                 generator_path: str | Path) -> None:
        from nag.serving.build import build_engine

        self.params, self.platform = params, platform
        self.engine = build_engine(params, platform, evaluator_path, generator_path)
        self.budgets = self.engine.budgets

    def choose(self, budgets, zero_query: bool = False) -> tuple[list[Choice], int]:
        """Best architecture per budget and the number of new accuracy queries spent."""
        return self.engine.choose(budgets, zero_query)

    def predicted_accuracy(self, archs) -> np.ndarray:
        """The bundled accuracy predictor's estimate (%) for ``archs``."""
        return self.engine.predicted_accuracy(archs)

    def describe(self, c: Choice) -> dict:
        """A pick as the reports show it (:meth:`nag.serving.engine.Engine.describe`)."""
        return self.engine.describe(c)
