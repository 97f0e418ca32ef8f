"""Delivery of supernet picks: extract and finetune each subnet, check it fits when measured, export it.

Lives here: ``subnets`` (the finetune stage's work), ``check`` (the delivery check beside probes),
``export`` (ONNX and the model card), ``report`` (what was delivered, with plots).
May import ``method``, ``platforms``, ``supernet``, ``latency``, ``spaces``, ``config`` and the face.
"""
