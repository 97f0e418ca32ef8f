"""Datasets: Fashion-MNIST / image folders for the supernet, and the benchmark tables (NB201, OFA GPU).

Lives here: ``fashion_mnist`` (idx files and image folders, split), ``benchmarks`` (reading the tables).
May import ``spaces``, ``config`` and the face (``errors``, ``atomic``).
"""
