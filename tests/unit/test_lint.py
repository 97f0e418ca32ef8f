"""The lint and line-length rules pyproject.toml declares ([tool.ruff]) hold for every Python file."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_ruff_check_passes():
    res = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
