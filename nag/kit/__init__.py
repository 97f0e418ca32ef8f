"""The measurement kit: the networks a plan chose, as files a device can run, and one script that times them.

* :mod:`nag.kit.nb201_net` — a NAS-Bench-201 cell as a real network (the benchmark's CIFAR macro);
* :mod:`nag.kit.build` — ``nag measure-plan --kit DIR``: ONNX models, ``plan.csv``, ``measure.py``, README;
* :mod:`nag.kit.measure` — the standalone timing script copied into every kit (numpy + onnxruntime only;
  never imported by ``nag``);
* :mod:`nag.kit.logs` — ``nag kit import-logs``: LiteRT ``benchmark_model`` logs into the kit's CSV.

May import :mod:`nag.spaces`, :mod:`nag.supernet` and :mod:`nag.latency`; nothing imports it but the CLI.
"""
