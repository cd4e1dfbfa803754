"""The layers of the package (issue 16, item 3): a module imports only from its own layer or the layers below.

From the bottom up: the basics (errors, paths, version, progress), ``geo`` (coordinates, rings, engine), the
territory's words (model, vocabulary, report), ``data`` (the stores and sources), ``territory`` (the answers), ``status`` (what the store holds and what the answers rest on),
``geocode``, ``bulk`` (files of rows), ``maps`` (what people print), ``cli`` (the command). The package's
``__init__`` is the public face and may reach anything (lazily). Every import counts, function-local ones too;
type-only ones do not. The graph is the one ``tests/unit/test_layout.py`` reads.
"""

from __future__ import annotations

from tests.unit.test_layout import _imports

LAYERS = [
    ("cq_geo._version", "cq_geo.errors", "cq_geo.files", "cq_geo.paths", "cq_geo.progress"),
    ("cq_geo.geo",),
    ("cq_geo.model", "cq_geo.vocabulary", "cq_geo.report"),
    ("cq_geo.data",),
    ("cq_geo.territory",),
    ("cq_geo.status",),
    ("cq_geo.geocode",),
    ("cq_geo.bulk",),
    ("cq_geo.maps",),
    ("cq_geo.cli",),
]

def layer_of(module: str) -> int | None:
    """The layer's rank of *module* (None for the package's ``__init__``)."""
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def test_every_module_has_a_layer():
    edges, _ = _imports()
    unplaced = sorted(m for m in edges if m != "cq_geo" and layer_of(m) is None)
    assert not unplaced, f"modules sans couche (à ranger dans LAYERS) : {unplaced}"


def test_no_import_reaches_up():
    edges, _ = _imports()
    up = sorted((a, b) for a, targets in edges.items() for b in targets
                if layer_of(a) is not None and layer_of(b) is not None and layer_of(b) > layer_of(a))
    assert not up, "imports vers une couche supérieure : " + ", ".join(f"{a} → {b}" for a, b in up)


def test_the_rule_can_fail():
    assert layer_of("cq_geo.geo.engine") < layer_of("cq_geo.data.store") < layer_of("cq_geo.cli.main")
    assert layer_of("cq_geo") is None
