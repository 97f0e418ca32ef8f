"""The library stays free of glue packages: importing every nag module pulls in none of them."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

GLUE = ("prefect", "mlflow", "great_expectations", "dvc")


def test_nag_imports_no_glue_package():
    code = (
        "import importlib, pkgutil, sys, nag\n"
        "for m in pkgutil.walk_packages(nag.__path__, 'nag.'):\n"
        "    if not m.name.endswith('__main__'):  # those run the command\n"
        "        importlib.import_module(m.name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {GLUE!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"nag imports glue packages: {out.stdout}"


def test_no_glue_import_statements():
    pattern = r"^\s*(import|from)\s+(" + "|".join(GLUE) + r")\b"
    hits = subprocess.run(
        ["grep", "-rnE", pattern, "nag", "--include=*.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert hits.stdout == ""
