"""The import direction between nag's packages (pyproject's import-linter contracts: layers, no module
circle in any package), no circle in benchmarks/ or flows/, and nag/'s top floor holding only its face."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from conftest import ROOT

FACE = {"__init__.py", "__main__.py", "errors.py", "atomic.py", "artifacts.py"}


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


@pytest.mark.parametrize("package", ["benchmarks", "flows"])
def test_no_import_circles(package, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    graph = grimp.build_graph(package, cache_dir=None)
    assert graph.nominate_cycle_breakers(package) == set()


def test_nag_top_floor_is_its_face():
    loose = {p.name for p in (ROOT / "nag").glob("*.py")} - FACE
    assert not loose, f"modules directly in nag/ belong in a package: {sorted(loose)}"
    for pkg in (ROOT / "nag").iterdir():
        if pkg.is_dir() and pkg.name != "__pycache__":
            init = pkg / "__init__.py"
            assert init.is_file() and init.read_text().startswith('"""'), f"{pkg} needs an __init__ docstring"
