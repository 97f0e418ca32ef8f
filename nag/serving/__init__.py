"""The serving path: a platform's trained generator, latency and ranking as plain numpy arrays (plus the
scikit-learn predictors an mbv3 platform ranks and times with), answering budgets without torch.

* :mod:`nag.serving.sampler` — π(α | B), the generator's LSTM, sampled in numpy;
* :mod:`nag.serving.tokens` — latency and scores of canonical token rows, vectorised;
* :mod:`nag.serving.engine` — everything a budget needs, in one file (``models/engine/<p>.skops``);
* :mod:`nag.serving.build` — the engine made from the trained checkpoints (imports torch).
"""
