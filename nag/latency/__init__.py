"""Latency per platform: a meter for one model, per-block lookup tables for local runtimes, and
predictors for devices known only from their own measurement files."""
