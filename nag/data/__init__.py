"""Datasets: Fashion-MNIST / image folders and the benchmark tables."""
