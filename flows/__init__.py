"""Orchestration and tracking glue (Prefect, MLflow, Great Expectations) around the pure ``nag``
library. The flows land with their issues; ``nag`` never imports from here."""
