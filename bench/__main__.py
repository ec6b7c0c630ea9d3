"""``python -m bench`` (``make bench``): list the benchmarks; ``python -m bench NAME [ARGS]`` runs one.

Each benchmark builds its own data at scale on PostgreSQL and takes minutes, so nothing runs
them all by default: pick the one that measures what you changed.
"""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__", "__main__", "common"}


def benchmarks() -> dict[str, str]:
    """Benchmark module name -> the first line of its docstring."""
    found = {}
    for path in sorted(HERE.glob("*.py")):
        if path.stem in NOT_BENCHMARKS:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        found[path.stem] = doc.splitlines()[0] if doc else ""
    return found


def main(argv: list[str]) -> int:
    known = benchmarks()
    if not argv or argv[0] in {"-h", "--help"}:
        print("usage: python -m bench NAME [ARGS]   (or python -m bench.NAME [ARGS])\n")
        for name, summary in known.items():
            print(f"  {name:<16} {summary}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in known:
        print(f"unknown benchmark {name!r}; one of: {', '.join(known)}", file=sys.stderr)
        return 2
    sys.argv = [f"bench.{name}", *rest]
    runpy.run_module(f"bench.{name}", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
