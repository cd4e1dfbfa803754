"""The territory with its geometries: point lookup, one point or millions.

:func:`load_territory` gives a :class:`Territory`; :meth:`Territory.lookup`
answers for one point, :meth:`Territory.lookup_many` for arrays of points
(vectorised, see :mod:`cq_geo.geo.engine`). Both rest on the same classification,
so they always agree.

Examples
--------
>>> t = load_territory()
>>> r = t.lookup(lon=3.3957, lat=50.3290)          # central Denain
>>> r.commune["name"], r.team["id"], r.primary
('Denain', 'sud', {'tier': 'qva', 'code': 'QVA-59172'})
>>> [z["status"] for z in r.zones if z["tier"] == "qpv"][:1]   # QPV perimeters not installed
['unknown']
>>> df = t.lookup_many(lon=[3.3957, 2.35], lat=[50.3290, 48.85])
>>> list(df["cq_commune"]), list(df["cq_team"])
(['Denain', ''], ['sud', ''])
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .data.common import CODE_COLUMN, StoreRows, info_from_row, worst_status
from .errors import DataError, InvalidCoordinates
from .geo.crs import METRO_L93_BOUNDS, METRO_LONLAT_BOUNDS, l93_to_lonlat, lonlat_to_l93
from .geo.engine import (
    BOUNDARY,
    INSIDE,
    NEAR,
    OUTSIDE,
    SMALL_BATCH,
    STATUS_NAMES,
    UNKNOWN,
    GridSpec,
    SortedPoints,
    ZoneIndex,
    outline_edges,
)
from .geo.gpkg import Polygons, as_polygons
from .geo.layers import DEFAULT_TOLERANCES, LayerInfo
from .model import GEOMETRY_STATUSES, REGULATORY_TIER, TIERS, Definition, Zone
from .vocabulary import Vocabulary, lookup_columns

__all__ = ["Territory", "LookupResult", "load_territory", "LOOKUP_COLUMNS"]

#: Columns added by :meth:`Territory.lookup_many` for the embedded CAPH tiers (and by the batch
#: files); a territory with other tiers has its own list in :attr:`Territory.lookup_columns`.
LOOKUP_COLUMNS = lookup_columns(TIERS)

# Warning flags: bit positions of the flags every territory has (the first twelve, fixed);
# each local tier adds ``{tier}_unknown`` and ``{tier}_edge`` after them (see
# :meth:`cq_geo.vocabulary.Vocabulary.warning_names`). The French texts are the vocabulary's.
_BASE_FLAGS = ("invalid", "not_france", "swapped", "outside", "territory_edge", "commune_edge", "no_team",
               "qpv_unknown", "qpv_boundary", "qpv_near", "qpv_shared", "qpv_not_official")
_FLAG = {name: 1 << i for i, name in enumerate(_BASE_FLAGS)}


class _OutlineIndex(ZoneIndex):
    """The territory outline: its lookups run on the outline edges, its :attr:`geoms` is the union (shapely)."""

    @property
    def geoms(self) -> np.ndarray:
        if self._shapely is None:
            import shapely

            parts = [shapely.from_wkb(Polygons([p]).wkb) for p in self.polygons[0].polygons]
            self._shapely = np.array([shapely.union_all(parts)], dtype=object)
        return self._shapely


def _with_whole_zones(pairs, commune_pairs, to_zone: np.ndarray):
    """*pairs* of a tier plus its whole-commune zones, from the commune layer's pairs (grouped by zone)."""
    from .geo.engine import Pairs

    zone = to_zone[commune_pairs.zone]
    sel = zone >= 0
    parts = [(pairs.point, pairs.zone, pairs.status, pairs.in_zone, pairs.distance),
             (commune_pairs.point[sel], zone[sel], commune_pairs.status[sel], commune_pairs.in_zone[sel],
              commune_pairs.distance[sel])]
    point, zone, status, in_zone, dist = (np.concatenate([p[i] for p in parts]) for i in range(5))
    order = np.argsort(zone.astype("int16" if len(to_zone) < 2**15 else "int32"), kind="stable")
    return Pairs(point[order], zone[order], status[order], in_zone[order], dist[order])


def _set(flags: np.ndarray, mask: np.ndarray, bit: int) -> None:
    """``flags[mask] |= bit`` without building the index of *mask* (``where=`` is slower)."""
    np.bitwise_or(flags, mask * np.int64(bit), out=flags)


def _zone_status_rank(status: str) -> int:
    return GEOMETRY_STATUSES.index(status) if status in GEOMETRY_STATUSES else len(GEOMETRY_STATUSES)


@dataclass
class _TierData:
    tier: str
    zones: list[Zone]  # zones with geometry, aligned with index
    statuses: list[str]  # geometry status per zone
    missing: list[Zone]  # zones without geometry
    index: ZoneIndex | None
    info: LayerInfo


@dataclass
class LookupResult:
    """The answer for one point. ``to_dict()`` gives the JSON documented in the README."""

    point: dict[str, float]
    territory: dict[str, Any]
    commune: dict[str, Any] | None
    team: dict[str, Any] | None
    zones: list[dict[str, Any]]
    primary: dict[str, str] | None
    warnings: list[str]
    layers: dict[str, dict[str, Any]]
    thematic_leads: list[dict[str, Any]] = field(default_factory=list)
    qpv_leads: list[dict[str, Any]] = field(default_factory=list)
    #: the territory's words (not in the JSON): the faces render text with it
    vocabulary: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (keys: point, territory, commune, team, zones, primary, warnings, layers, …)."""
        return {
            "point": self.point,
            "territory": self.territory,
            "commune": self.commune,
            "team": self.team,
            "zones": self.zones,
            "primary": self.primary,
            "warnings": self.warnings,
            "layers": self.layers,
            "thematic_leads": self.thematic_leads,
            "qpv_leads": self.qpv_leads,
        }

    def to_text(self) -> str:
        """A readable French answer (what ``cq-geo lookup`` prints)."""
        from .report import lookup_text

        return lookup_text(self)


class Territory:
    """A territory definition with its geometries, ready to answer lookups.

    Build it with :func:`load_territory`; the constructor is for tests and for
    the data store, which bring their own geometries.

    Parameters
    ----------
    definition : the validated territory file.
    commune_geoms : ``{insee: geometry}`` in Lambert-93.
    commune_info : provenance/precision of the commune outlines.
    zone_geoms : ``{zone code: (geometry, status)}`` for zones with a drawn or
        imported perimeter (Lambert-93).
    layer_infos : provenance of the tier layers (``qpv``, ``poche``, ``qva``).
    qpv_search_m : outside points within this distance get the nearest QPV
        and its distance.
    neighbour_m : points outside the territory within this distance may still
        be in a QPV shared with a neighbouring commune.
    """

    def __init__(
        self,
        definition: Definition,
        commune_geoms: dict[str, Any],
        commune_info: LayerInfo,
        zone_geoms: dict[str, tuple[Any, str]] | None = None,
        layer_infos: dict[str, LayerInfo] | None = None,
        qpv_search_m: float = 500.0,
        neighbour_m: float = 3000.0,
    ):
        self.definition = definition
        self.commune_info = commune_info
        self.qpv_search_m = float(qpv_search_m)
        self.neighbour_m = float(neighbour_m)
        zone_geoms = dict(zone_geoms or {})
        layer_infos = dict(layer_infos or {})

        cgeoms = self._init_communes(commune_geoms)

        unknown = set(zone_geoms) - {z.code for z in definition.zones}
        if unknown:
            raise DataError(f"géométries pour des zones inconnues du territoire : {', '.join(sorted(unknown))}")

        self.tiers: dict[str, _TierData] = {}
        self._whole_zones: dict[str, np.ndarray] = {}  # per tier: commune -> its whole-commune zone (-1)
        self.tier_ids = definition.tier_ids
        self.lookup_columns = lookup_columns(self.tier_ids)
        for tier in self.tier_ids:
            self._init_tier(tier, zone_geoms, layer_infos, cgeoms)
        self._init_missing()
        self._init_search()

    # -- construction (parts of __init__) ----------------------------------------
    def _init_communes(self, commune_geoms: dict[str, Any]) -> list[Polygons]:
        """The commune index, the territory's outline and the teams; the communes' polygons."""
        definition, commune_info = self.definition, self.commune_info
        self.commune_codes = [c for c in definition.communes if c in commune_geoms]
        if not self.commune_codes:
            raise DataError("aucun contour de commune du territoire n'est disponible")
        self._commune_pos = {c: i for i, c in enumerate(self.commune_codes)}
        cgeoms = [as_polygons(commune_geoms[c]) or Polygons([]) for c in self.commune_codes]
        self.communes = ZoneIndex(cgeoms, commune_info.edge_m, commune_info.near_m, whole_near=True)
        # the territory's outline: the commune edges not shared by two communes (for points
        # outside every commune, the distance to them is the distance to the territory)
        self.outline = _OutlineIndex([Polygons([p for c in cgeoms for p in c.polygons])], 0.0, self.neighbour_m,
                                     whole_near=True, edges=[outline_edges(cgeoms)])
        teams = [definition.team_of(c) for c in self.commune_codes]
        self._team_of_commune = np.array([t.id if t else "" for t in teams] + [""], dtype=object)
        self._no_team = self._team_of_commune == ""
        return cgeoms

    def _init_tier(self, tier: str, zone_geoms, layer_infos, cgeoms: list[Polygons]) -> None:
        """The zones of *tier* with a geometry (drawn, imported or whole communes), their index and provenance."""
        definition, commune_info = self.definition, self.commune_info
        zones, geoms, statuses, edges, nears, missing, whole = [], [], [], [], [], [], []
        for z in definition.zones_of(tier):
            if z.geometry == "commune" and z.code not in zone_geoms:
                pos = self._commune_pos.get(z.communes[0])
                if pos is None:
                    missing.append(z)
                    continue
                geom, status = cgeoms[pos], commune_info.status
                edge, near = commune_info.edge_m, commune_info.near_m
                whole.append((len(zones), pos))
            elif z.code in zone_geoms:
                geom, status = zone_geoms[z.code]
                geom = as_polygons(geom)
                edge, near = DEFAULT_TOLERANCES.get(status, DEFAULT_TOLERANCES["approximate"])
                tdef = definition.tiers[tier]
                edge = tdef.edge_m if tdef.edge_m is not None else edge
                near = tdef.near_m if tdef.near_m is not None else max(near, edge)  # as LayerInfo
                info = layer_infos.get(tier)
                if info is not None and info.status == status:
                    edge, near = info.edge_m, info.near_m
            else:
                missing.append(z)
                continue
            zones.append(z)
            geoms.append(geom)
            statuses.append(status)
            edges.append(edge)
            nears.append(near)
        info = layer_infos.get(tier) or self._derive_info(tier, statuses, zones)
        info.missing_zones = [z.code for z in missing]
        info.feature_count = len(zones)
        index = ZoneIndex(geoms, edges, nears, distances=tier == REGULATORY_TIER) if zones else None
        self.tiers[tier] = _TierData(tier, zones, statuses, missing, index, info)
        # whole-commune zones (same edges, same tolerances as their commune): on the grid their
        # statuses are the commune layer's, not computed a second time
        if whole and index is not None and not index.distances:
            zi, ci = np.array(whole).T
            if len(set(ci.tolist())) == len(ci):
                index.in_grid[zi] = False
                to_zone = np.full(len(self.commune_codes), -1, dtype="int32")
                to_zone[ci] = zi
                self._whole_zones[tier] = to_zone

    def _init_missing(self) -> None:
        """Per tier: the communes listed by a zone without perimeter, and whether one of them is shared."""
        self._needs_outline = any(mz.shared for t in self.tiers.values() for mz in t.missing)
        self._missing = {}
        for tier, t in self.tiers.items():
            listed = np.zeros(len(self.commune_codes), dtype=bool)
            for mz in t.missing:
                listed[[self._commune_pos[c] for c in mz.communes if c in self._commune_pos]] = True
            self._missing[tier] = (listed, any(mz.shared for mz in t.missing))

    def _init_search(self) -> None:
        """The nearest-QPV search, the grids, the vocabulary and the warning flags."""
        definition, commune_info = self.definition, self.commune_info
        qpv = self.tiers["qpv"]
        # every QPV grown by the search radius: finds the nearest QPV of outside points
        self._qpv_search = (ZoneIndex(qpv.index.polygons, 0.0, self.qpv_search_m, sides=False)
                            if qpv.index is not None else None)
        bounds = np.concatenate([index.outer_bounds for index in self._indexes() + [self.outline]])
        box = (np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1]), np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3]))
        self.grid = GridSpec(box, GRID_CELLS)  # for large batches (cell covers built on first use)
        self._one_cell = GridSpec(box, 1)  # for a few points
        self.vocabulary = Vocabulary(definition, commune_edge_m=commune_info.edge_m,
                                     qpv_near_m=self.tiers[REGULATORY_TIER].info.near_m or 10)
        #: flag name -> bit (the base flags, then two per local tier)
        self.flags = {name: 1 << i for i, name in enumerate(self.vocabulary.warning_names())}
        assert tuple(self.flags)[:len(_BASE_FLAGS)] == _BASE_FLAGS
        if len(self.flags) > 62:
            raise DataError(f"trop de niveaux de géographie ({len(self.tier_ids)}) : 25 au plus")
        self._texts = self.vocabulary.warning_texts()
        self._primary_labels = np.array(list(self.tier_ids) + [""], dtype=object)

    # -- construction helpers ---------------------------------------------------
    def _derive_info(self, tier: str, statuses: list[str], zones: list[Zone]) -> LayerInfo:
        if not statuses:
            return LayerInfo(tier, status="missing", source="aucun périmètre installé")
        worst = max(statuses, key=_zone_status_rank)
        derived = all(z.geometry == "commune" for z in zones)
        source = (
            f"dérivé des contours communaux ({self.commune_info.source})" if derived else "périmètres importés"
        )
        return LayerInfo(tier, status=worst, source=source, vintage=self.commune_info.vintage if derived else "",
                         edge_m=self.commune_info.edge_m if derived else None,
                         near_m=self.commune_info.near_m if derived else None)

    @property
    def layers(self) -> dict[str, LayerInfo]:
        """Provenance of every layer: ``communes``, ``qpv``, ``poche``, ``qva``."""
        out = {"communes": self.commune_info}
        out.update({tier: data.info for tier, data in self.tiers.items()})
        return out

    def _layer_dicts(self) -> dict[str, dict[str, Any]]:
        """``to_dict()`` of every layer, made once (a fresh copy for each answer)."""
        cached = getattr(self, "_layers_cache", None)
        if cached is None:
            cached = self._layers_cache = {name: info.to_dict() for name, info in self.layers.items()}
        return {name: {**d, "missing_zones": list(d["missing_zones"])} for name, d in cached.items()}

    # -- input ------------------------------------------------------------------
    @staticmethod
    def _pair(lon=None, lat=None, x=None, y=None) -> tuple[np.ndarray, np.ndarray]:
        """The two coordinate arrays given (lon/lat or x/y) as floats, checked (French errors)."""
        if (lon is None) != (lat is None) or (x is None) != (y is None) or (lon is None) == (x is None):
            raise InvalidCoordinates("donnez soit lon et lat (WGS84), soit x et y (Lambert-93)")
        a, b = (lon, lat) if lon is not None else (x, y)
        a = _as_float_array(a)
        b = _as_float_array(b)
        if a.shape != b.shape:
            raise InvalidCoordinates(f"les deux coordonnées n'ont pas la même longueur ({a.size} et {b.size})")
        return a, b

    @staticmethod
    def _coords(lon=None, lat=None, x=None, y=None, lonlat: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (x, y, lon, lat, flags) as float arrays; flags mark invalid rows.

        Without *lonlat*, lon/lat are not worked out from x/y (``None``)."""
        a, b = Territory._pair(lon, lat, x, y)
        flags = np.zeros(a.shape, dtype="int64")
        finite = np.isfinite(a) & np.isfinite(b)
        flags[~finite] |= _FLAG["invalid"]
        bounds = METRO_LONLAT_BOUNDS if lon is not None else METRO_L93_BOUNDS
        x0, y0, x1, y1 = bounds
        with np.errstate(invalid="ignore"):
            in_fr = (a >= x0) & (a <= x1) & (b >= y0) & (b <= y1)
            swapped = ~in_fr & (b >= x0) & (b <= x1) & (a >= y0) & (a <= y1)
        bad = finite & ~in_fr
        flags[bad & swapped] |= _FLAG["swapped"]
        flags[bad & ~swapped] |= _FLAG["not_france"]
        ok = flags == 0
        lo = la = None
        every = bool(ok.all())
        if every and lon is not None:
            xx, yy = lonlat_to_l93(a, b)
        elif every:
            xx, yy = a, b
        else:
            xx, yy = (np.full(a.shape, np.nan) for _ in range(2))
            if lon is not None:
                xx[ok], yy[ok] = lonlat_to_l93(a[ok], b[ok])
            else:
                xx[ok], yy[ok] = a[ok], b[ok]
        if lonlat:
            lo, la = (np.full(a.shape, np.nan) for _ in range(2))
            if lon is not None:
                lo[ok], la[ok] = a[ok], b[ok]
            else:
                lo[ok], la[ok] = l93_to_lonlat(a[ok], b[ok])
        return xx, yy, lo, la, flags

    # -- the classification shared by lookup and lookup_many ---------------------
    def _classify(self, x: np.ndarray, y: np.ndarray, flags: np.ndarray) -> dict[str, Any]:
        """Classify the points (Lambert-93 *x*, *y*) against every layer; sets the warning bits in *flags*.

        The hot path of every lookup, in named steps of whole-array work: communes, then each
        tier, then the QPV distances and warnings, then the primary tier. Each step is called once
        per chunk of points, so the split costs a few calls per chunk (measured: nothing,
        benchmarks/results/lookup.txt, i16-long)."""
        n = len(x)
        pts = SortedPoints(x, y, self.grid if n >= SMALL_BATCH else self._one_cell)
        cpairs, com, in_territory, commune, valid = self._classify_communes(pts, n, flags)
        tiers, found, qbest = self._classify_tiers(pts, n, flags, cpairs, com, in_territory, commune, valid)
        tiers["qpv"]["distance"] = self._qpv_distances(x, y, pts, tiers["qpv"], qbest, valid, flags)
        for tier in self.definition.local_tier_ids:
            t = tiers[tier]
            _set(flags, (t["status"] == BOUNDARY) | (t["status"] == NEAR), self.flags[f"{tier}_edge"])
        return {
            "valid": valid, "commune": commune, "commune_status": np.where(valid, com.status, OUTSIDE),
            "commune_in_zone": com.in_zone, "tiers": tiers, "primary": self._primary(tiers, n), "flags": flags,
            **({"pairs": found} if n == 1 else {}),
        }

    def _classify_communes(self, pts: SortedPoints, n: int, flags: np.ndarray):
        """Step 1 of :meth:`_classify`: each point's commune and the territory warnings.

        Returns ``(commune pairs, best commune, in territory, commune index or -1, valid)``."""
        cpairs = self.communes.pairs(pts=pts)
        com = self.communes.best(pairs=cpairs, n=n)
        in_territory = com.status >= BOUNDARY
        commune = np.where(in_territory, com.zone, -1)
        _set(flags, (com.status == NEAR) | ((com.status == BOUNDARY) & ~com.in_zone), _FLAG["territory_edge"])
        _set(flags, in_territory & (com.status == BOUNDARY) & com.in_zone, _FLAG["commune_edge"])
        valid = (flags & (_FLAG["invalid"] | _FLAG["not_france"] | _FLAG["swapped"])) == 0
        _set(flags, valid & ~in_territory, _FLAG["outside"])
        _set(flags, in_territory & self._no_team[commune], _FLAG["no_team"])
        return cpairs, com, in_territory, commune, valid

    def _classify_tiers(self, pts: SortedPoints, n: int, flags: np.ndarray, cpairs, com, in_territory, commune,
                        valid):
        """Step 2 of :meth:`_classify`: zone and status of each point in each tier, « unknown » where
        a zone without geometry may hold it. Returns ``(tiers, pairs found per tier, best QPV or None)``."""
        # Communes a point may be in, for zones without geometry: its commune,
        # plus the neighbours within tolerance when it is near a limit.
        possible_p = possible_c = None
        if any(t.missing for t in self.tiers.values()):
            edge = valid & (com.status >= NEAR) & (com.status < INSIDE)
            ok = edge[cpairs.point] & (cpairs.status >= BOUNDARY)
            possible_p = np.concatenate((np.flatnonzero(in_territory), cpairs.point[ok]))
            possible_c = np.concatenate((commune[in_territory], cpairs.zone[ok]))
        neighbour = None

        tiers: dict[str, dict[str, np.ndarray]] = {}
        qbest = None
        found = {"communes": cpairs}  # every pair, for the detailed answer of a single point
        for tier, data in self.tiers.items():
            zone = np.full(n, -1, dtype="int32")
            status = np.zeros(n, dtype="int8")
            if data.index is not None:
                tpairs = data.index.pairs(pts=pts)
                to_zone = self._whole_zones.get(tier)
                if to_zone is not None and pts.grid.n > 1:
                    tpairs = _with_whole_zones(tpairs, cpairs, to_zone)
                found[tier] = tpairs
                best = data.index.best(pairs=tpairs, n=n)
                zone, status = best.zone, best.status
                if tier == "qpv":
                    qbest = best
            unknown = np.zeros(n, dtype=bool)
            if data.missing:
                missing_in, shared = self._missing[tier]
                unknown[possible_p[missing_in[possible_c]]] = True
                if shared:
                    if neighbour is None:
                        neighbour = (self.outline.best(pts=pts).status >= NEAR) & ~in_territory
                    unknown |= neighbour
            if tier == REGULATORY_TIER and not data.zones and not data.missing:
                # a territory file that lists no QPV yet (cq-geo territory init): never « hors QPV »
                unknown |= in_territory
            unknown &= status < BOUNDARY
            zone = np.where(unknown, -1, zone)
            status = np.where(unknown, UNKNOWN, status).astype("int8")
            status[~valid] = OUTSIDE
            zone[~valid] = -1
            tiers[tier] = {"zone": zone, "status": status}
            if unknown.any():
                _set(flags, unknown, self.flags[f"{tier}_unknown"])
        return tiers, found, qbest

    def _qpv_distances(self, x: np.ndarray, y: np.ndarray, pts: SortedPoints, q: dict[str, np.ndarray], qbest,
                       valid: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """Step 3 of :meth:`_classify`: distance to the QPV (the nearest one within the search radius
        when outside: *q*'s zone is set to it) and the QPV warnings. NaN where no QPV is known."""
        qdata = self.tiers["qpv"]
        dist = np.full(len(x), np.nan)
        if qdata.index is None:
            return dist
        near = q["zone"] >= 0
        dist[near] = np.where(q["zone"][near] == qbest.zone[near], qbest.distance[near], np.nan)
        todo = np.flatnonzero(near & np.isnan(dist))  # decided with their whole grid cell: inside, far from the edge
        dist[todo] = qdata.index.distance(x[todo], y[todo], q["zone"][todo])
        if self._qpv_search is not None:
            # outside points within the search radius of some QPV: exact distance
            # to each candidate, keep the nearest
            cand = self._qpv_search.pairs(pts=pts, only=(q["status"] == OUTSIDE) & valid)
            keep = (q["status"][cand.point] == OUTSIDE) & valid[cand.point]
            cp, cz = cand.point[keep], cand.zone[keep]
            if len(cp):
                cd = cand.distance[keep]
                redo = np.flatnonzero(np.isnan(cd))
                cd[redo] = qdata.index.distance(x[cp[redo]], y[cp[redo]], cz[redo])
                order = np.lexsort((cd, cp))
                cp, cz, cd = cp[order], cz[order], cd[order]
                first = np.ones(len(cp), dtype=bool)
                first[1:] = cp[1:] != cp[:-1]
                within = first & (cd <= self.qpv_search_m)
                q["zone"][cp[within]] = cz[within]
                dist[cp[within]] = cd[within]
        _set(flags, q["status"] == BOUNDARY, _FLAG["qpv_boundary"])
        _set(flags, q["status"] == NEAR, _FLAG["qpv_near"])
        in_q = (q["status"] == INSIDE) | (q["status"] == BOUNDARY)
        zs = q["zone"]
        shared = np.array([z.shared for z in qdata.zones] + [False])
        _set(flags, in_q & shared[zs], _FLAG["qpv_shared"])
        not_official = np.array([s != "official" for s in qdata.statuses] + [False])
        _set(flags, in_q & not_official[zs], _FLAG["qpv_not_official"])
        return dist

    def _primary(self, tiers: dict[str, dict[str, np.ndarray]], n: int) -> np.ndarray:
        """Step 4 of :meth:`_classify`: the highest-priority tier a point is in (position in tier_ids), -1 for none."""
        primary = np.full(n, -1, dtype="int8")
        for i in reversed(range(len(self.tier_ids))):  # lowest priority first, overwritten by higher ones
            s = tiers[self.tier_ids[i]]["status"]
            primary[(s == INSIDE) | (s == BOUNDARY)] = i
        return primary

    def warm_up(self) -> None:
        """Build what a large batch needs: the cell covers of each layer (:meth:`ZoneIndex.cover`).

        Done once, on the first large :meth:`lookup_many`, before its threads
        start; call it beforehand (e.g. in a thread while a file is read) to
        take that cost (about 0.1 s) out of the first batch. Safe from any thread.
        """
        for index in self._indexes():
            index.cover(self.grid)

    def _indexes(self) -> list[ZoneIndex]:
        """The indexes a classification uses (the outline only when a zone without perimeter is shared)."""
        outline = [self.outline] if self._needs_outline else []
        out = [self.communes] + outline + [t.index for t in self.tiers.values() if t.index is not None]
        return out + ([self._qpv_search] if self._qpv_search is not None else [])

    def _classify_many(self, lon, lat, x, y) -> dict[str, Any]:
        """:meth:`_classify` of flat arrays of points; large batches in several threads.

        numpy releases the GIL in its loops: chunks of points are
        classified side by side, on structures built beforehand by
        :meth:`warm_up` (after which they are only read).
        """
        a, b = (v.ravel() for v in self._pair(lon, lat, x, y))
        names = ("lon", "lat") if lon is not None else ("x", "y")
        n = len(a)
        k = _thread_count(n)

        def part(s: slice) -> dict[str, Any]:
            xx, yy, _, _, flags = self._coords(**{names[0]: a[s], names[1]: b[s]}, lonlat=False)
            return self._classify(xx, yy, flags)

        if k == 1:
            return part(slice(None))
        from concurrent.futures import ThreadPoolExecutor

        self.warm_up()
        cuts = np.linspace(0, n, k + 1).astype("int64")
        with ThreadPoolExecutor(k, thread_name_prefix="cq-geo-lookup") as pool:
            parts = list(pool.map(part, [slice(int(i), int(j)) for i, j in zip(cuts[:-1], cuts[1:])]))
        return _concat_parts(parts)

    # -- public API ----------------------------------------------------------------
    def lookup_arrays(self, lon=None, lat=None, *, x=None, y=None, codes: bool = False) -> dict[str, np.ndarray]:
        """Classify many points at once; returns a dict of numpy arrays (numpy only: no pandas, no text).

        Give ``lon``/``lat`` (WGS84 degrees) or ``x``/``y`` (Lambert-93 metres) as
        sequences of equal length. Every array has one value per point:

        - ``valid`` (bool): usable coordinates in metropolitan France;
        - ``commune`` (int32): the commune, an index into ``labels("commune")``
          (INSEE codes; also ``labels("commune_name")`` and ``labels("team")``, the
          team id of each commune); -1 for none, which indexes the final ``''``;
        - ``commune_status`` (int8);
        - per tier (``qpv``, ``poche``, ``qva``): ``{tier}`` (int32, index into
          ``labels(tier)``, the zone codes, -1 for none) and ``{tier}_status`` (int8);
        - ``qpv_distance_m`` (float64): distance to the limit of the QPV of
          ``qpv`` (the nearest one within ``qpv_search_m`` for points outside), NaN for none;
        - ``primary_tier`` (int8): index into :attr:`tier_ids`, -1 for none;
        - ``flags`` (int64): warning bits, read with :meth:`warning_names` /
          :meth:`warning_texts`.

        With *codes*, also the codes as text arrays (objects): ``commune_insee``,
        ``team``, ``qpv_code``, ``poche_code``, ``qva_code`` (``''`` for none) and
        ``primary_tier_name`` (about 15 ms more per million points each).

        Status codes index :data:`~cq_geo.geo.engine.STATUS_NAMES` (``outside``,
        ``near``, ``boundary``, ``inside``, ``unknown``). A poche or QVA is given
        only when the point is ``inside`` or on the ``boundary`` of the zone; a QPV
        also when it is ``near`` (and the nearest QPV of an outside point).

        >>> t = load_territory()
        >>> r = t.lookup_arrays(lon=[3.3957, 2.35], lat=[50.3290, 48.85])
        >>> t.labels("commune")[r["commune"]].tolist(), t.labels("team")[r["commune"]].tolist()
        (['59172', ''], ['sud', ''])
        >>> [STATUS_NAMES[s] for s in r["commune_status"]], t.warning_names(r["flags"][1])
        (['inside', 'outside'], ['outside'])
        >>> t.lookup_arrays(x=[728212.77], y=[7025762.07], codes=True)["commune_insee"].tolist()
        ['59172']
        """
        r = self._classify_many(lon, lat, x, y)
        out: dict[str, np.ndarray] = {
            "valid": r["valid"],
            "commune": r["commune"].astype("int32"),
            "commune_status": r["commune_status"].astype("int8"),
        }
        for tier in self.tier_ids:
            t = r["tiers"][tier]
            zone = t["zone"]
            if tier != REGULATORY_TIER:
                zone = np.where((t["status"] == INSIDE) | (t["status"] == BOUNDARY), zone, -1)
            out[tier] = zone.astype("int32")
            out[f"{tier}_status"] = t["status"].astype("int8")
        out["qpv_distance_m"] = r["tiers"]["qpv"]["distance"]
        out["primary_tier"] = r["primary"]
        out["flags"] = r["flags"]
        if codes:
            out["commune_insee"] = self.labels("commune")[out["commune"]]
            out["team"] = self.labels("team")[out["commune"]]
            for tier in self.tier_ids:
                out[f"{tier}_code"] = self.labels(tier)[out[tier]]
            out["primary_tier_name"] = self.labels("primary_tier")[out["primary_tier"]]
        return out

    def labels(self, kind: str) -> np.ndarray:
        """Codes to index with the arrays of :meth:`lookup_arrays`, ending with ``''`` (index -1).

        *kind*: ``commune`` (INSEE codes), ``commune_name``, ``team`` (team id per
        commune, to index with ``commune``), ``qpv``, ``poche``, ``qva`` (zone codes),
        ``{tier}_name`` (zone names) or ``primary_tier``.

        >>> load_territory().labels("primary_tier").tolist()
        ['qpv', 'poche', 'qva', '']
        """
        if kind == "commune":
            return np.array(self.commune_codes + [""], dtype=object)
        if kind == "commune_name":
            return np.array([self.definition.commune_name(c) for c in self.commune_codes] + [""], dtype=object)
        if kind == "team":
            return self._team_of_commune.copy()
        if kind == "primary_tier":
            return self._primary_labels.copy()
        tier, _, name = kind.partition("_")
        if tier in self.tiers and name in ("", "name"):
            return np.array([z.name if name else z.code for z in self.tiers[tier].zones] + [""], dtype=object)
        raise ValueError(f"étiquettes inconnues : {kind!r}")

    def warning_names(self, mask) -> list[str]:
        """Names of the warning bits set in *mask* (a ``flags`` value of :meth:`lookup_arrays`)."""
        return [name for name, bit in self.flags.items() if int(mask) & bit]

    def warning_texts(self, mask) -> list[str]:
        """French texts of the warning bits set in *mask* (as in ``cq_warnings``)."""
        return self._warning_texts(int(mask))

    def lookup_many(self, lon=None, lat=None, *, x=None, y=None, flags: bool = False):
        """Classify many points at once; returns a pandas DataFrame of :attr:`lookup_columns`.

        With *flags*, also ``cq_flags`` (int64): the warning bits (names with
        :meth:`warning_names`), for faces that render their own texts.

        Give ``lon``/``lat`` (WGS84 degrees) or ``x``/``y`` (Lambert-93 metres)
        as sequences of equal length. Invalid rows are not an error: they come
        out with ``cq_valid`` False and the reason in ``cq_warnings``.
        Columns of text are pandas categoricals (cheap on millions of rows).
        Given pandas Series (e.g. columns of a filtered DataFrame), the result
        keeps their index, so it aligns with them. Built on the numpy
        classification of :meth:`lookup_arrays`; pandas is imported here only.

        >>> import pandas as pd
        >>> df = pd.DataFrame({"lon": [2.35, 3.3957], "lat": [48.85, 50.3290]}, index=[10, 20])
        >>> sub = df[df["lon"] > 3]
        >>> list(load_territory().lookup_many(lon=sub["lon"], lat=sub["lat"]).index)
        [20]
        """
        import pandas as pd

        index = next((v.index for v in (lon, lat, x, y) if isinstance(v, (pd.Series, pd.DataFrame))), None)
        r = self._classify_many(lon, lat, x, y)
        names = np.array([self.definition.commune_name(c) for c in self.commune_codes] + [""], dtype=object)
        codes = np.array(self.commune_codes + [""], dtype=object)

        def status_col(status, valid):
            return _categorical(np.array(list(STATUS_NAMES) + [""], dtype=object), np.where(valid, status, len(STATUS_NAMES)))

        valid = r["valid"]
        cols: dict[str, Any] = {
            "cq_valid": valid,
            "cq_commune_insee": _categorical(codes, r["commune"]),
            "cq_commune": _categorical(names, r["commune"]),
            "cq_commune_status": status_col(r["commune_status"], valid),
            "cq_team": _categorical(self._team_of_commune, r["commune"], present_only=True),
        }
        q = r["tiers"]["qpv"]
        qz = self.tiers["qpv"].zones
        cols["cq_qpv_code"] = _categorical(np.array([z.code for z in qz] + [""], dtype=object), q["zone"])
        cols["cq_qpv_name"] = _categorical(np.array([z.name for z in qz] + [""], dtype=object), q["zone"])
        cols["cq_qpv_status"] = status_col(q["status"], valid)
        cols["cq_qpv_distance_m"] = np.round(q["distance"], 1)
        for tier in self.definition.local_tier_ids:
            t = r["tiers"][tier]
            zs = self.tiers[tier].zones
            shown = np.where((t["status"] == INSIDE) | (t["status"] == BOUNDARY), t["zone"], -1)
            cols[f"cq_{tier}"] = _categorical(np.array([z.name for z in zs] + [""], dtype=object), shown)
            cols[f"cq_{tier}_status"] = status_col(t["status"], valid)
        cols["cq_primary_tier"] = _categorical(self._primary_labels, r["primary"], present_only=True)
        cols["cq_warnings"] = self._warning_column(r["flags"])
        if flags:
            cols["cq_flags"] = r["flags"]
        if index is not None and len(index) != len(valid):
            index = None
        return pd.DataFrame(cols, index=index)

    def _warning_texts(self, mask: int) -> list[str]:
        return [self._texts[name] for name, bit in self.flags.items() if mask & bit]

    def _warning_column(self, flags: np.ndarray):
        import pandas as pd

        codes, uniq = pd.factorize(flags.ravel())  # hashing: cheaper than np.unique's sort
        order = np.argsort(uniq)
        rank = np.empty(len(uniq), dtype="int64")
        rank[order] = np.arange(len(uniq))
        # each flag has its own text, so distinct masks give distinct texts (in order of the masks)
        texts = ["; ".join(self._warning_texts(int(m))) for m in uniq[order]]
        return pd.Categorical.from_codes(rank[codes], categories=pd.Index(texts))

    def lookup(self, lon=None, lat=None, *, x=None, y=None) -> LookupResult:
        """Answer for one point: which geography covers it, how sure, who is in charge.

        Raises :class:`~cq_geo.errors.InvalidCoordinates` (French message) for a
        missing, non-finite, swapped or non-metropolitan point. A point outside
        the territory is a valid answer that says so.
        """
        for value in (lon, lat, x, y):
            if value is not None and np.ndim(value) != 0:
                raise InvalidCoordinates("lookup() attend un seul point ; utilisez lookup_many() pour des tableaux")
        xx, yy, lo, la, flags = self._coords(lon, lat, x, y)
        xx, yy, lo, la, flags = (np.atleast_1d(v) for v in (xx, yy, lo, la, flags))
        f = int(flags[0])
        if f & _FLAG["invalid"]:
            raise InvalidCoordinates("coordonnées manquantes ou non numériques (NaN ou infini)")
        if f & _FLAG["swapped"]:
            raise InvalidCoordinates(
                "latitude et longitude semblent inversées : en France métropolitaine la longitude va de -5,6 à 10 "
                "et la latitude de 41,2 à 51,2 (ou x de 50 000 à 1 250 000 et y de 6 030 000 à 7 130 000 en Lambert-93)"
            )
        if f & _FLAG["not_france"]:
            raise InvalidCoordinates(
                "point hors de la France métropolitaine : vérifiez les coordonnées "
                "(lon/lat en degrés WGS84, ou x/y en mètres Lambert-93 avec --x/--y)"
            )
        r = self._classify(xx, yy, flags)
        return self._result(float(xx[0]), float(yy[0]), float(lo[0]), float(la[0]), r)

    def _result(self, x: float, y: float, lon: float, lat: float, r: dict[str, Any]) -> LookupResult:
        d = self.definition
        c = int(r["commune"][0])
        cstatus = int(r["commune_status"][0])
        commune = None
        if c >= 0:
            insee = self.commune_codes[c]
            commune = {
                "insee": insee, "name": d.commune_name(insee), "status": STATUS_NAMES[cstatus],
                "population": d.communes[insee].population,
            }
        team = None
        team_id = self._team_of_commune[c]
        if team_id:
            t = d.teams[team_id]
            team = {"id": t.id, "name": t.name, "leads": [lead.to_dict(d) for lead in d.team_leads(t.id)]}

        # communes the point may be in (its own, and neighbours within tolerance)
        found = r.get("pairs") or {}
        cpairs = found.get("communes") or self.communes.pairs([x], [y])
        possible = {self.commune_codes[i] for i, st in zip(cpairs.zone, cpairs.status) if st >= BOUNDARY}
        zones: list[dict[str, Any]] = []
        for tier, data in self.tiers.items():
            chosen = int(r["tiers"][tier]["zone"][0])
            if data.index is not None:
                pairs = found.get(tier) or data.index.pairs([x], [y])
                seen = set()
                for zi, st in zip(pairs.zone, pairs.status):
                    seen.add(int(zi))
                    zones.append(self._zone_entry(data, int(zi), int(st), x, y))
                if tier == "qpv" and chosen >= 0 and chosen not in seen:  # nearest QPV, outside
                    zones.append(self._zone_entry(data, chosen, OUTSIDE, x, y))
            if r["tiers"][tier]["status"][0] == UNKNOWN or any(
                z["status"] == "boundary" for z in zones if z["tier"] == tier
            ):
                for mz in data.missing:
                    if possible.intersection(mz.communes) or (mz.shared and c < 0):
                        zones.append({
                            "tier": tier, "code": mz.code, "name": mz.name, "status": "unknown",
                            "distance_m": None, "geometry_status": "missing",
                            "communes": list(mz.communes), "other_communes": [o[0] for o in mz.other_communes],
                        })
        zones.sort(key=lambda z: (self.tier_ids.index(z["tier"]), -_STATUS_ORDER[z["status"]], z["distance_m"] or 0.0))

        primary = None
        ptier = self._primary_labels[r["primary"][0]]
        if ptier:
            zi = int(r["tiers"][ptier]["zone"][0])
            primary = {"tier": ptier, "code": self.tiers[ptier].zones[zi].code}
        qpv_status = int(r["tiers"]["qpv"]["status"][0])
        qpv_leads = [lead.to_dict(d) for lead in d.tier_leads("qpv")] if qpv_status in (INSIDE, BOUNDARY, UNKNOWN) else []
        return LookupResult(
            point={"lon": round(lon, 7), "lat": round(lat, 7), "x": round(x, 2), "y": round(y, 2)},
            territory={
                "inside": bool(c >= 0), "siren": d.siren, "name": d.name, "status": STATUS_NAMES[cstatus],
            },
            commune=commune,
            team=team,
            zones=zones,
            primary=primary,
            warnings=self._warning_texts(int(r["flags"][0])),
            layers=self._layer_dicts(),
            thematic_leads=[lead.to_dict(d) for lead in d.thematic_leads()] if c >= 0 else [],
            qpv_leads=qpv_leads,
            vocabulary=self.vocabulary,
        )

    def _zone_entry(self, data: _TierData, zi: int, status: int, x: float, y: float) -> dict[str, Any]:
        zone = data.zones[zi]
        dist = float(data.index.distance([x], [y], [zi])[0])
        return {
            "tier": data.tier, "code": zone.code, "name": zone.name, "status": STATUS_NAMES[status],
            "distance_m": round(dist, 1), "geometry_status": data.statuses[zi],
            "communes": list(zone.communes), "other_communes": [o[0] for o in zone.other_communes],
        }

    # -- consistency ---------------------------------------------------------------
    def check(self) -> dict[str, Any]:
        """The territory's consistency report (what ``cq-geo check`` prints)."""
        from .report import territory_check

        return territory_check(self)


_STATUS_ORDER = {"inside": 4, "boundary": 3, "unknown": 2, "near": 1, "outside": 0}


def _as_float_array(values) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        arr = np.array([to_float(v) for v in np.ravel(np.asarray(values, dtype=object))], dtype="float64")
        arr = arr.reshape(np.shape(values))
    return arr



#: Cells per side of the grid over the territory (large batches): about 100 m cells.
GRID_CELLS = int(__import__("os").environ.get("CQ_GEO_GRID", "320"))

#: Batches of at least this many points are classified in several threads.
PARALLEL_MIN = 200_000


def _thread_count(n: int) -> int:
    """Threads for classifying *n* points: one per core (at most 4), each with at
    least half of :data:`PARALLEL_MIN` points; ``CQ_GEO_THREADS`` sets the most.

    >>> _thread_count(1000)
    1
    """
    if n < PARALLEL_MIN:
        return 1
    most = min(os.cpu_count() or 1, 4)
    wanted = os.environ.get("CQ_GEO_THREADS", "").strip()
    if wanted.isdigit() and int(wanted) >= 1:
        most = int(wanted)
    return max(1, min(most, n // (PARALLEL_MIN // 2)))


def _concat_parts(parts: list[dict]) -> dict:
    """Join the results of :meth:`Territory._classify` on consecutive chunks of points."""
    first = parts[0]
    return {
        key: _concat_parts([p[key] for p in parts]) if isinstance(value, dict)
        else np.concatenate([p[key] for p in parts])
        for key, value in first.items()
    }


def to_float(value) -> float:
    try:
        return float(str(value).replace(",", ".").strip())
    except (TypeError, ValueError):
        return float("nan")


def _categorical(labels: np.ndarray, index: np.ndarray, present_only: bool = False):
    """Categorical of ``labels[index]`` where index -1 means the last label ('').

    Categories are the sorted distinct labels; with *present_only*, only
    those that occur (as ``pd.Categorical(values)`` would give).

    >>> list(_categorical(np.array(["b", "a", "b", ""], dtype=object), np.array([0, -1, 2])))
    ['b', '', 'b']
    >>> list(_categorical(np.array(["b", "a", ""], dtype=object), np.array([0, 0]), present_only=True).categories)
    ['b']
    """
    import pandas as pd

    uniq = np.unique(labels)
    remap = np.searchsorted(uniq, labels).astype("int8" if len(uniq) < 127 else "int32")
    codes = remap[index]  # index -1: the last label
    if present_only:
        used = np.bincount(codes, minlength=len(uniq)) > 0
        uniq = uniq[used]
        codes = (np.cumsum(used) - 1).astype(codes.dtype)[codes]
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniq))


def territory_from_rows(rows: StoreRows) -> Territory:
    """The :class:`Territory` from a store's geometries and metadata (GeoPackage or shared store).

    Each layer's provenance (:class:`~cq_geo.geo.layers.LayerInfo`) comes from its
    metadata row, so an answer says which version it rests on. Zones the
    territory definition does not know are ignored (``cq-geo data status``
    lists them).
    """
    meta, commune_rows, tier_rows, definition, path = rows.meta, rows.communes, rows.tiers, rows.definition, rows.label
    known = {z.code: z for z in definition.zones}
    commune_geoms = {r["insee"]: r["geometry"] for r in commune_rows if r["geometry"] is not None}
    commune_info = info_from_row("communes", meta.get("communes"))
    if not commune_geoms:
        raise DataError(f"magasin de données {path} : aucun contour de commune")
    commune_info.feature_count = len(commune_geoms)

    zone_geoms: dict[str, tuple[Any, str]] = {}
    layer_infos: dict[str, LayerInfo] = {}
    for tier in definition.tier_ids:
        row = meta.get(tier)
        tdef = definition.tiers[tier]
        if row:  # tolerances: the layer's, else the territory file's for the tier, else the status'
            row = {**row, **{k: getattr(tdef, k) for k in ("edge_m", "near_m") if row.get(k) is None}}
        info = info_from_row(tier, row)
        code_col = CODE_COLUMN[tier]
        statuses = []
        local = tier != REGULATORY_TIER
        for r in tier_rows.get(tier, []):
            code = r.get(code_col)
            zone = known.get(code)
            if zone is None or zone.tier != tier or r["geometry"] is None:
                continue
            status = r.get("status") if local else info.status
            status = status if status in GEOMETRY_STATUSES else "provisional"
            zone_geoms[code] = (r["geometry"], status)
            statuses.append(status)
        if not statuses:
            continue  # let the territory derive it (missing, or whole communes)
        if local:
            whole = [z for z in definition.zones_of(tier) if z.geometry == "commune" and z.code not in zone_geoms]
            if whole:
                statuses.append(commune_info.status)
                info.source = f"{info.source} ; communes entières : {commune_info.source}"
            info.status = worst_status(statuses)
            info.edge_m, info.near_m = tdef.edge_m, tdef.near_m  # the file's tolerances, else the status'
            info.__post_init__()
        layer_infos[tier] = info
    return Territory(definition, commune_geoms, commune_info, zone_geoms=zone_geoms, layer_infos=layer_infos)


def load_store_territory(path, territory_file=None) -> Territory:
    """The :class:`Territory` from a store file (GeoPackage, see ``cq-geo data``).

    >>> import tempfile, pathlib
    >>> from cq_geo.data.gpkg_store import open_local_store
    >>> store = open_local_store(pathlib.Path(tempfile.mkdtemp()) / "cq-geo.gpkg")
    >>> load_store_territory(store.path).layers["communes"].feature_count
    47
    """
    from .data.gpkg_store import read_store_rows

    return territory_from_rows(read_store_rows(path, territory_file=territory_file))


def load_territory(store=None, territory_file=None, *, territory=None) -> Territory:
    """Load the territory: its definition and the best geometries available.

    Parameters
    ----------
    store : path of a data store (GeoPackage, see ``cq-geo data``); by default
        ``CQ_GEO_STORE``, then the user's store, then the embedded baseline.
    territory_file : another territory definition (TOML) than the embedded one,
        paired with the selected territory's commune outlines.
    territory : a territory folder (``territory.toml`` + ``communes_baseline.geojson``,
        written by ``cq-geo territory init``); by default ``--territory`` /
        ``CQ_GEO_TERRITORY``, then the embedded CAPH. Its user store is its own
        (``cq-geo-<id>.gpkg``).

    Examples
    --------
    >>> t = load_territory()
    >>> t.layers["communes"].status, t.layers["qpv"].status
    ('simplified', 'missing')
    """
    from .geo.layers import load_baseline_communes
    from .model import load_definition
    from .paths import baseline_communes_file, resolve_store
    from .paths import territory_file as _territory_file

    if territory is not None and territory_file is None:
        territory_file = _territory_file(territory)
    elif territory is None and territory_file is not None:
        from pathlib import Path

        beside = Path(territory_file).parent
        if (beside / "communes_baseline.geojson").is_file():  # a territory folder's file: its own outlines
            territory = beside
    from .data.pgstore import shared_url

    if shared_url(store):  # the shared store (PostGIS): its committed state
        from .data.pgstore import shared_store_rows

        return territory_from_rows(shared_store_rows(shared_url(store), territory_file=territory_file))
    path, origin = resolve_store(store, territory)
    if path is not None and origin == "environment" and not path.is_file():
        path = None  # CQ_GEO_STORE names the store to create: embedded data until the first import (data status)
    if path is not None:
        if not path.is_file():
            raise DataError(
                f"magasin de données introuvable : {path} "
                f"({'option --store' if origin == 'argument' else 'variable CQ_GEO_STORE'})"
            )
        return load_store_territory(path, territory_file=territory_file)
    definition = load_definition(territory_file)
    geoms, info = load_baseline_communes(baseline_communes_file(territory), polygons=True)
    return Territory(definition, geoms, info)
