"""A small SYNTHETIC territory for unit tests: made-up communes and zones (squares).

Nothing here is real: codes 99001/99002 and every name say « synthétique ».
Coordinates are Lambert-93 metres near the projection's origin (centre of France).
"""

from __future__ import annotations

import copy

from shapely import box

from cq_geo.geo.layers import LayerInfo
from cq_geo.model import parse_definition
from cq_geo.territory import Territory

X0, Y0 = 700_000.0, 6_600_000.0

DEFINITION = {
    "schema_version": 1,
    "territory": {
        "id": "synth", "name": "Territoire synthétique", "short_name": "SYN", "siren": "999999999",
        "communes": [
            {"insee": "99001", "name": "Synthétique-A", "postcodes": ["99100"], "population": 1000},
            {"insee": "99002", "name": "Synthétique-B", "postcodes": ["99200"], "population": 2000},
        ],
    },
    "tiers": {
        "qpv": {"label": "QPV synthétique", "short_label": "QPV", "name": "QPV", "plural": "QPV", "priority": 1,
                "contract_count": 1, "contract_communes": 1},
        "poche": {"label": "Poche synthétique", "short_label": "Poche de pauvreté", "name": "poche de pauvreté",
                  "plural": "poches de pauvreté", "feminine": True, "priority": 2},
        "qva": {"label": "QVA synthétique", "short_label": "Ancien QVA", "name": "ancien quartier de veille active",
                "plural": "anciens quartiers de veille active", "priority": 3},
    },
    "zones": [
        {"tier": "qpv", "code": "QN09901S", "name": "QPV synthétique", "communes": ["99001"], "geometry": "perimeter"},
        {"tier": "qpv", "code": "QN09902S", "name": "QPV synthétique partagé", "communes": ["99002"],
         "other_communes": [{"insee": "99003", "name": "Voisine synthétique"}], "geometry": "perimeter"},
        {"tier": "poche", "code": "POCHE-SYN-A", "name": "Poche synthétique A", "communes": ["99001"], "geometry": "perimeter"},
        {"tier": "qva", "code": "QVA-99002", "name": "QVA synthétique B (commune entière)", "communes": ["99002"], "geometry": "commune"},
        {"tier": "qva", "code": "QVA-SYN-A", "name": "QVA synthétique A", "communes": ["99001"], "geometry": "perimeter"},
    ],
    "orientations": [{"id": "o1", "label": "Orientation synthétique"}],
    "axes": [{"id": "a1", "label": "Axe synthétique"}],
    "teams": [{"id": "nord", "name": "Équipe synthétique", "communes": ["99001"]}],
    "leads": [
        {"id": "cp1", "title": "Chef de projet synthétique", "team": "nord", "orientation": "o1", "axis": "a1"},
        {"id": "ce", "title": "Cité de l'Emploi synthétique", "team": "", "tiers": ["qpv"], "axis": "a1", "scope": "qpv"},
    ],
}

# Commune A: 1 km square; commune B: the next square east.
COMMUNE_A = box(X0, Y0, X0 + 1000, Y0 + 1000)
COMMUNE_B = box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)
# The synthetic QPV of A: a 400 m square in A's middle. QPV of B: a 200 m square in B.
QPV_A = box(X0 + 200, Y0 + 200, X0 + 600, Y0 + 600)
QPV_B = box(X0 + 1400, Y0 + 400, X0 + 1600, Y0 + 600)
QVA_A = box(X0 + 100, Y0 + 100, X0 + 900, Y0 + 900)


def definition(**changes):
    d = copy.deepcopy(DEFINITION)
    d.update(changes)
    return parse_definition(d, where="synthétique")


def territory(zone_geoms=None, commune_status="official", **kwargs) -> Territory:
    """The synthetic territory; by default QPV perimeters official, poche missing, QVA A provisional."""
    if zone_geoms is None:
        zone_geoms = {"QN09901S": (QPV_A, "official"), "QN09902S": (QPV_B, "official"), "QVA-SYN-A": (QVA_A, "provisional")}
    info = LayerInfo("communes", status=commune_status, source="synthétique", vintage="test")
    return Territory(definition(), {"99001": COMMUNE_A, "99002": COMMUNE_B}, info, zone_geoms=zone_geoms, **kwargs)
