"""Draw which of nag's packages import which (the picture docs/ARCHITECTURE.md describes).

    python scripts/import_graph.py            # Mermaid text (paste into any Markdown viewer that draws it)
    python scripts/import_graph.py --dot      # Graphviz DOT (`| dot -Tpng > imports.png` where dot exists)

Built with grimp, the graph import-linter checks (pyproject.toml's contracts).
"""

from __future__ import annotations

import sys

import grimp


def edges(package: str = "nag") -> list[tuple[str, str]]:
    graph = grimp.build_graph(package, cache_dir=None)
    parts = sorted(m for m in graph.modules if m.count(".") == 1 and m != f"{package}.__main__")
    return [(a.split(".")[1], b.split(".")[1]) for a in parts for b in parts
            if a != b and graph.direct_import_exists(importer=a, imported=b, as_packages=True)]


def main() -> None:
    pairs = edges()
    if "--dot" in sys.argv[1:]:
        print("digraph nag {\n  rankdir=TB;\n" + "".join(f'  "{a}" -> "{b}";\n' for a, b in pairs) + "}")
    else:
        print("graph TD\n" + "".join(f"  {a} --> {b}\n" for a, b in pairs), end="")


if __name__ == "__main__":
    main()
