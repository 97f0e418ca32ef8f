"""Devices known from a few measurements: the latency transfer model and which networks to measure.

Lives here: ``transfer`` (a device's latency from reference devices' columns), ``plan`` (what to measure).
May import ``method`` (Pareto fronts) and ``errors``; the device builders that use it live in ``platforms``.
"""
