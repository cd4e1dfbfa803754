#!/usr/bin/env python3
"""Lines per module and the largest functions of cq_geo/ and qgis_plugin/ (issue 16: layout).

    python benchmarks/module_sizes.py              # table on stdout
    python benchmarks/module_sizes.py --top 15 --out benchmarks/results/module_sizes.txt

Standard library only (ast). A function's size is its line span, decorators and docstring included.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__import__("os").environ.get("CQ_GEO_ROOT") or Path(__file__).resolve().parent.parent)


def measure(packages=("cq_geo", "qgis_plugin")):
    modules, functions = [], []
    for pkg in packages:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(ROOT).as_posix()
            modules.append((len(text.splitlines()), rel))
            tree = ast.parse(text)
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                    functions.append((node.end_lineno - start + 1, f"{rel}:{node.lineno} {node.name}"))
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    modules, functions = measure()
    lines = [f"{sum(n for n, _ in modules)} lines in {len(modules)} modules", "", "Largest modules (lines):"]
    lines += [f"  {n:5d}  {name}" for n, name in modules[:args.top]]
    over = [f for f in functions if f[0] > 80]
    lines += ["", f"Largest functions (lines; {len(over)} over 80):"]
    lines += [f"  {n:5d}  {name}" for n, name in functions[:args.top]]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
