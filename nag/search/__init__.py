"""Baselines against NAG, each over the SearchSpace contract (:mod:`nag.search.runner` runs them all).

Per-budget REINFORCE (MnasNet/TuNAS rewards, NAG's evaluator), random search, regularised evolution, NSGA-II,
and NAG without the dominance rule's accuracy term (Remark 1). May import ``method``, ``spaces``, ``config``.
"""
