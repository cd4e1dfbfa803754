"""The package's layering (issue 16, item 3): no private name reached across modules, no new import cycle.

Every import counts, function-local ones included (they hide cycles, they do not remove them).
The cycles and private names still there are listed below as known debt: the test fails on any
new one, and on a listed one that has gone (so the list only shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cq_geo"

#: Import cycles still there (each a pair of modules importing one another). Gone: batch↔batch_summary (status
#: words in cq_geo.vocabulary), batch_io↔xlsx (cell safety in cq_geo.bulk.cells), cli↔cli_geocode (shared options
#: in cq_geo.cli.common), report↔territory (a type-only import), sources↔store, store↔territory and pgstore↔store
#: (store.py split by job: what both stores use in cq_geo.data.common and .polygons, the store returns geometries
#: and cq_geo.territory builds the Territory).
KNOWN_CYCLES: set[frozenset] = set()
#: Private names still imported across modules.
KNOWN_PRIVATE: set[tuple[str, str]] = set()


def _modules(package: Path | None = None) -> dict[str, Path]:
    out = {}
    for path in (package or PACKAGE).rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__") if hasattr(str, "removesuffix") else name] = path
    return out


def _imports(package: Path | None = None):
    """(edges module -> modules it imports, private names imported across modules) of *package* (cq_geo)."""
    mods = _modules(package)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    private = set()
    for name, path in mods.items():
        pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and getattr(block.test, "id", getattr(block.test, "attr", "")) == "TYPE_CHECKING"
                       for stmt in block.body for n in ast.walk(stmt)}  # annotations only: no import at run time
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = pkg
                for _ in range(max(node.level - 1, 0)):
                    base = base.rsplit(".", 1)[0]
                target = (base + ("." + node.module if node.module else "")) if node.level else (node.module or "")
                names = [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                target, names = "", [a.name for a in node.names]
            else:
                continue
            for n in names:
                full = f"{target}.{n}" if target else n
                dest = full if full in mods else target if target in mods else None
                if dest and dest != name:
                    edges[name].add(dest)
                if target in mods and target != name and n.startswith("_") and not n.startswith("__") \
                        and full not in mods:
                    private.add((name, full))
    return edges, private


def _cycles(edges) -> set[frozenset]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), set()
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.add(frozenset(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_no_new_import_cycle():
    edges, _ = _imports()
    found = _cycles(edges)
    # a component may merge several known two-module cycles: each of its pairs must be known
    for comp in found:
        pairs = {frozenset({a, b}) for a in comp for b in edges[a] if b in comp and a in edges[b]}
        assert pairs <= KNOWN_CYCLES, f"nouveau cycle d'imports : {sorted(comp)} ({sorted(map(sorted, pairs - KNOWN_CYCLES))})"
    still = {c for c in KNOWN_CYCLES if all(b in edges[a] for a in c for b in c if a != b)}
    assert still == KNOWN_CYCLES, f"cycles supprimés, à retirer de KNOWN_CYCLES : {sorted(map(sorted, KNOWN_CYCLES - still))}"


def test_no_private_name_across_modules():
    _, private = _imports()
    assert private == KNOWN_PRIVATE, (
        f"noms privés importés d'un autre module : {sorted(private - KNOWN_PRIVATE)} ; "
        f"disparus (à retirer de la liste) : {sorted(KNOWN_PRIVATE - private)}")



def test_the_plugin_has_no_cycle_and_no_private_name_across_modules():
    """The plugin (core, gui, processing) under the same rules as the library."""
    edges, private = _imports(ROOT / "qgis_plugin")
    assert not _cycles(edges), f"cycles d'imports dans l'extension : {sorted(map(sorted, _cycles(edges)))}"
    assert not private, f"noms privés importés d'un autre module de l'extension : {sorted(private)}"
