"""The serving path: a platform's trained generator, latency and ranking as plain numpy arrays (plus the
scikit-learn predictors an mbv3 platform ranks and times with), answering budgets without torch.

* :mod:`nag.serving.engine` — everything a budget needs, in one file (``models/engine/<p>.skops``), answering
  through the method's numpy forms (:mod:`nag.method.sampler`, :mod:`nag.method.tokens`);
* :mod:`nag.serving.build` — the engine made from the trained checkpoints (imports torch);
* :mod:`nag.serving.generated` — a platform's checkpoints loaded and answering (stages, ``nag export``).
May import ``method``, ``platforms``, ``latency``, ``supernet``, ``spaces``, ``config``; never ``stages``.
"""
