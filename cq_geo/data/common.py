"""What both stores use (the GeoPackage store and the shared PostGIS store): layer names and columns,
statuses, provenance rows, the embedded commune outlines, change lists, the crash points of the tests.

>>> CODE_COLUMN["qpv"], worst_status(["official", "provisional"])
('code_qp', 'provisional')
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..geo.layers import LayerInfo
from ..model import GEOMETRY_STATUSES

#: Spatial layers a store may hold, in display order.
LAYERS = ("communes", "qpv", "qpv2015", "poche", "qva")
#: Tiers whose zones are drawn locally (imported with ``data import local``).
LOCAL_TIERS = ("poche", "qva")
METADATA_TABLE = "cq_layers"
HISTORY_LAYER = "history"
CRS = "EPSG:2154"
SRS_ID = 2154
#: Environment variable naming a commit step at which the process kills itself (crash tests only).
CRASH_ENV = "CQ_GEO_TEST_CRASH_AT"
LOCK_TIMEOUT_ENV = "CQ_GEO_LOCK_TIMEOUT"

METADATA_COLUMNS = (
    "layer", "source", "publisher", "licence", "vintage", "sha256", "imported_at", "status",
    "feature_count", "edge_m", "near_m", "note",
)

#: Columns of each spatial layer (geometry aside), with their pandas dtype.
LAYER_COLUMNS: dict[str, dict[str, str]] = {
    "communes": {"insee": "str", "name": "str"},
    "qpv": {"code_qp": "str", "lib_qp": "str", "insee_com": "str", "insee_territory": "str",
            "shared": "int32", "repaired": "int32"},
    "qpv2015": {"code_qp": "str", "lib_qp": "str", "insee_com": "str", "insee_territory": "str",
                "shared": "int32", "repaired": "int32"},
    "poche": {"code": "str", "name": "str", "status": "str", "communes": "str", "source": "str", "sha256": "str",
              "imported_at": "str", "validated_by": "str", "validated_at": "str", "overlap_accepted": "int32"},
    "history": {"at": "str", "layer": "str", "code": "str", "action": "str", "status": "str", "author": "str",
                "source": "str", "sha256": "str"},
}
LAYER_COLUMNS["qva"] = dict(LAYER_COLUMNS["poche"])
#: The column holding each layer's zone code.
CODE_COLUMN = {"communes": "insee", "qpv": "code_qp", "qpv2015": "code_qp", "poche": "code", "qva": "code"}


class _LocalTierDefault(dict):
    """A per-layer table whose missing key is a local tier of a territory file (same columns as ``poche``)."""

    def __init__(self, data, default):
        super().__init__(data)
        self._default = default

    def __missing__(self, layer):
        if isinstance(layer, str) and re.match(r"^[a-z][a-z0-9_]{0,19}$", layer) and layer != HISTORY_LAYER:
            return copy.deepcopy(self._default)
        raise KeyError(layer)


# a tier added in the territory file has the columns of the locally drawn tiers
LAYER_COLUMNS = _LocalTierDefault(LAYER_COLUMNS, LAYER_COLUMNS["poche"])
CODE_COLUMN = _LocalTierDefault(CODE_COLUMN, "code")


def store_layers(definition) -> tuple[str, ...]:
    """:data:`LAYERS` and the locally drawn tiers the territory file adds (in priority order)."""
    return LAYERS + tuple(t for t in definition.local_tier_ids if t not in LAYERS)


def now_iso() -> str:
    """Current UTC time, ISO 8601 to the second (``2024-04-10T09:00:00Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def worst_status(statuses) -> str:
    """The least reliable of geometry *statuses* (``missing`` when empty).

    >>> worst_status(["official", "provisional", "validated"])
    'provisional'
    >>> worst_status([])
    'missing'
    """
    statuses = list(statuses)
    if not statuses:
        return "missing"
    return max(statuses, key=lambda s: GEOMETRY_STATUSES.index(s) if s in GEOMETRY_STATUSES else len(GEOMETRY_STATUSES))


def crash_point(step: str) -> None:
    """Crash tests: the process kills itself (SIGKILL) at *step* when ``CQ_GEO_TEST_CRASH_AT`` names it."""
    if os.environ.get(CRASH_ENV) == step:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        time.sleep(10)


def connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)


def table_names(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def column_value(layer: str, column: str, value):
    if LAYER_COLUMNS[layer][column] == "str":
        return "" if value is None else str(value)
    return int(value or 0)


def baseline_polygons() -> tuple[dict[str, list], dict]:
    """The embedded commune outlines as numpy rings in Lambert-93 (json + numpy: no shapely) and their metadata."""
    import numpy as np

    from ..geo.crs import lonlat_to_l93
    from ..paths import baseline_communes_file

    path = baseline_communes_file()
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for feat in data["features"]:
        g = feat["geometry"]
        parts = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        polys = []
        for part in parts:
            rings = []
            for ring in part:
                a = np.asarray(ring, dtype=float)[:, :2]
                x, y = lonlat_to_l93(a[:, 0], a[:, 1])
                rings.append(np.column_stack([x, y]))
            polys.append(rings)
        out[str(feat["properties"]["insee"])] = polys
    meta = dict(data.get("cq_geo", {}))
    meta.setdefault("source", str(path))
    return out, meta


def info_from_row(layer: str, row: dict[str, Any] | None) -> LayerInfo:
    if not row:
        return LayerInfo(layer, status="missing")
    return LayerInfo(
        name=layer, status=row["status"] or "missing", source=row["source"] or "", vintage=row["vintage"] or "",
        publisher=row["publisher"] or "", licence=row["licence"] or "", sha256=row["sha256"] or "",
        feature_count=int(row["feature_count"] or 0), edge_m=row["edge_m"], near_m=row["near_m"],
    )


def same_polys(a, b) -> bool:
    import numpy as np

    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        if len(ra) != len(rb) or any(x.shape != y.shape or not np.allclose(x, y, atol=0.01) for x, y in zip(ra, rb)):
            return False
    return True


def geometry_changes(old_rows, new_rows, code_col):
    """(added, replaced, removed) codes between old rows and new rows (``polys``)."""
    old = {r[code_col]: r["polys"] for r in old_rows}
    new = {r[code_col]: r["polys"] for r in new_rows}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    replaced = [c for c in sorted(set(new) & set(old)) if not same_polys(old[c], new[c])]
    return added, replaced, removed


@dataclass
class StoreRows:
    """A store's territory layers as read (GeoPackage or shared store): the store returns geometries and
    :func:`cq_geo.territory.territory_from_rows` builds the :class:`~cq_geo.territory.Territory` from them.

    *meta*: layer -> metadata row; *communes*: rows with ``insee`` and ``geometry`` (polygons);
    *tiers*: tier -> rows with the layer's code column, ``status`` and ``geometry``; *label*: where they come from.
    """

    meta: dict[str, dict[str, Any]]
    communes: list[dict[str, Any]]
    tiers: dict[str, list[dict[str, Any]]]
    definition: Any
    label: Any
