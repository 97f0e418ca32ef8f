"""NAG: Pareto-frontier-aware neural architecture generation for diverse latency budgets.

The library is pure (torch, numpy, pandas, scikit-learn); orchestration, tracking and validation
live in ``flows/``.
"""

__version__ = "0.1.0"
