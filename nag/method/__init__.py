"""The paper's method: Pareto dominance, budgets, the evaluator and the generator, inference over budgets.

Lives here: ``pareto``, ``budget``, ``archdata`` (architectures with accuracy and latency), ``acc_predictor``,
``evaluator``, ``generator``, ``checkpoint``, ``infer`` (one budget → its pick), ``generated``, ``plots``.
May import ``spaces``, ``config`` and the face (``errors``, ``atomic``, ``artifacts``): no platform kind.
"""
