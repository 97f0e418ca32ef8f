"""Latency: a meter for one model, per-block lookup tables for local runtimes, predictors and their bounds.

Lives here: ``meter``, ``lut``, ``machine``, ``drift``, ``model`` (a platform's latency model), ``predictor``,
``bound`` (the error model), ``normalise``. May import ``supernet`` (what it times), ``data``, ``spaces``.
"""
