"""Devices known from a few measurements: the latency transfer model and the measurement plan
(:mod:`nag.fewshot.transfer`), imported NAS-Bench-201 devices (:mod:`nag.fewshot.table_device`)."""
