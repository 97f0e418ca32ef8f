"""Baselines against NAG (issue 9), each over the SearchSpace contract: per-budget REINFORCE with the
MnasNet and TuNAS rewards and with NAG's evaluator (repeated independent search), per-budget random
search and regularised evolution, NSGA-II once over both objectives, and NAG with the dominance rule's
accuracy term removed (paper Remark 1). :mod:`nag.search.runner` runs them all under equal budgets."""
