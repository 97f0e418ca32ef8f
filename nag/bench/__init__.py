"""The ``nag benchmark`` commands: few-shot device transfer and NAS-Bench-201 device figures.

Lives here: ``fewshot`` and ``nb201``, each a benchmark that prints figures and writes JSON.
May import everything below the CLI (``platforms``, ``method``, ``fewshot``, ``latency``, …), never ``cli``.
"""
