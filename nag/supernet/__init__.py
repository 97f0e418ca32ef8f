"""The OFA-style MobileNetV3 supernet: training with progressive shrinking, subnets, their accuracy.

Lives here: the elastic ops, ``supernet``, ``train``, ``sampling``, ``static`` (a subnet as a plain network),
``evaluate``/``oracle`` (accuracy through the supernet), ``finetune``, ``archs``, ``data``, ``checkpoint``.
May import ``data``, ``method`` (checkpoint and data errors), ``spaces``, ``config`` and the face.
"""
