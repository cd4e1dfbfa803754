"""From an address to the territory's answer, saying how far the position can be trusted.

:func:`get_geocoder` picks the geocoder (offline by default: addresses never
leave the machine unless ``online`` is asked for). :func:`lookup_address`
geocodes, then asks the territory, then adds what the position changes to
the answer:

* the commune comes from the address' INSEE code, not from the (simplified)
  commune outlines; a disagreement is said;
* an approximate position (street, commune, nearest number) whose street
  crosses a perimeter, or that lies close to a perimeter's edge, gets
  « à vérifier : la voie traverse le périmètre … ».

Examples
--------
>>> QUALITY_FR["approximate"]
'approximative'
>>> get_geocoder("none") is None
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .base import (
    AddressNotFound,
    AddressQuery,
    AmbiguousAddress,
    GeocodeResult,
    GeocodingError,
    QualityThresholds,
)

__all__ = [
    "GEOCODER_ENV",
    "GEOCODERS",
    "QUALITY_FR",
    "TYPE_FR",
    "get_geocoder",
    "AddressAnswer",
    "lookup_address",
    "position_warnings",
    "result_text",
    "street_crossings",
    "street_crossing_texts",
]

GEOCODER_ENV = "CQ_GEO_GEOCODER"
GEOCODERS = ("offline", "online", "none")
QUALITY_FR = {"precise": "précise", "approximate": "approximative", "ambiguous": "ambiguë", "not_found": "introuvable"}
TYPE_FR = {"housenumber": "numéro", "street": "voie", "locality": "lieu-dit", "municipality": "commune"}
#: Where an approximate position comes from, in « (position …, pas du numéro) ».
POSITION_OF = {"housenumber": "du numéro le plus proche", "street": "de la voie", "locality": "du lieu-dit",
               "municipality": "de la commune"}


def get_geocoder(kind: str | None = None, store=None, base_url: str | None = None,
                 thresholds: QualityThresholds | None = None, **online_options):
    """The geocoder to use: ``offline`` (default), ``online`` or ``none`` (returns None).

    *kind* defaults to ``CQ_GEO_GEOCODER``, then ``offline``. ``online`` sends
    the addresses to *base_url* (default ``CQ_GEO_GEOCODER_URL``, then the
    Géoplateforme).
    """
    kind = (kind or os.environ.get(GEOCODER_ENV, "").strip() or "offline").lower()
    if kind not in GEOCODERS:
        raise GeocodingError(f"géocodeur inconnu : {kind!r} (offline, online ou none)")
    if kind == "none":
        return None
    if kind == "online":
        from .online import OnlineGeocoder

        return OnlineGeocoder(base_url, thresholds=thresholds, **online_options)
    return _offline(store, thresholds)


_OFFLINE: dict[tuple, Any] = {}


def _offline(store, thresholds: QualityThresholds | None):
    """The offline geocoder of *store*, kept while the store file is unchanged (the QGIS locator asks often)."""
    from ..paths import resolve_store
    from .ban import BanGeocoder

    path, _ = resolve_store(store)
    try:
        st = path.stat() if path is not None else None
    except OSError:
        st = None
    if st is None:
        return BanGeocoder.from_store(store, thresholds=thresholds)  # raises the French "index absent" error
    t = thresholds or QualityThresholds.from_env()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, repr(t))
    geocoder = _OFFLINE.get(key)
    if geocoder is None:
        geocoder = BanGeocoder.from_store(path, thresholds=t)
        _OFFLINE.clear()
        _OFFLINE[key] = geocoder
    return geocoder


@dataclass
class AddressAnswer:
    """An address lookup: the geocoding result, the territory's answer, the added warnings."""

    geocoding: GeocodeResult
    lookup: Any  # cq_geo.territory.LookupResult
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The lookup JSON with a ``geocoding`` member (query, quality, reason, source, candidates)."""
        out = self.lookup.to_dict()
        out["geocoding"] = self.geocoding.to_dict()
        return out

    def to_text(self) -> str:
        """French text: the address found, its quality, then the lookup answer."""
        return result_text(self.geocoding, limit=1) + "\n" + self.lookup.to_text()


def _distance_text(d: float) -> str:
    from ..report import fr_int

    return f"{fr_int(d, sep=' ')} m"


def position_warnings(territory, geocoding: GeocodeResult, lookup, thresholds: QualityThresholds | None = None
                      ) -> list[str]:
    """French warnings about what an approximate position means for the answer.

    For a street-level answer with known positions along the street, each is
    looked up: when they do not all fall in the same zones, « la voie traverse
    le périmètre ». Otherwise a perimeter edge closer than the position's
    uncertainty (``radius_m``) plus ``qpv_check_m`` is reported.
    """
    t = thresholds or QualityThresholds()
    best = geocoding.best
    out: list[str] = []
    if best is None or geocoding.quality == "precise":
        return out
    if len(best.support) >= 2:
        return [f"à vérifier : {text}" for text in street_crossing_texts(territory, [geocoding])[0]]
    kind = TYPE_FR.get(best.type, best.type)
    radius = float(best.radius_m or 0.0) + t.qpv_check_m
    for tier, code, name, d in _edges_within(territory, lookup.point["x"], lookup.point["y"], radius):
        out.append(f"à vérifier : position approximative ({kind}) à {_distance_text(d)} de la limite "
                   f"{territory.vocabulary.crossing(tier)} {name} ({code}) : la réponse peut changer au vrai numéro")
    if best.type == "municipality":
        out.append("position de la commune seulement : l'appartenance à une zone ne peut pas être décidée")
    return out


def street_crossings(territory, results) -> list[list[tuple[str, list[str]]]]:
    """Per geocoding result, the perimeters its street crosses: ``[(tier, zone names), …]`` in tier order.

    An approximate answer (street, lieu-dit, nearest number) that carries known
    positions along its street (``Candidate.support``) is checked: its positions
    are looked up, and a tier whose zones (inside or on the boundary) are not the
    same for all of them is crossed. Precise answers, answers without a position
    and answers with fewer than two known positions give ``[]``. All the results'
    positions are looked up in one numpy call (:meth:`~cq_geo.territory.Territory.lookup_arrays`:
    no pandas, as in stock QGIS). The one implementation of the check, for
    ``cq-geo lookup "adresse"``, the QGIS locator and the batch.
    """
    import numpy as np

    from ..geo.engine import BOUNDARY, INSIDE

    owner: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    for i, r in enumerate(results):
        best = r.best
        if best is None or r.quality in ("precise", "not_found") or len(getattr(best, "support", ()) or ()) < 2:
            continue
        pts = list(best.support) + [(best.lon, best.lat)]
        owner += [i] * len(pts)
        lons += [float(p[0]) for p in pts]
        lats += [float(p[1]) for p in pts]
    out: list[list[tuple[str, list[str]]]] = [[] for _ in results]
    if not owner:
        return out
    arr = territory.lookup_arrays(lon=np.array(lons), lat=np.array(lats))
    own = np.array(owner)
    starts = np.flatnonzero(np.r_[True, own[1:] != own[:-1]])
    for tier in territory.tier_ids:
        if tier not in arr:
            continue
        status = arr[f"{tier}_status"]
        kept = np.where((status == INSIDE) | (status == BOUNDARY), arr[tier], -1)
        crossed = np.minimum.reduceat(kept, starts) != np.maximum.reduceat(kept, starts)  # not one zone (or none) for all
        if not crossed.any():
            continue
        names = territory.labels(f"{tier}_name")
        ends = np.r_[starts[1:], len(own)]
        for a, b in zip(starts[crossed].tolist(), ends[crossed].tolist()):
            zones = sorted({str(names[z]) for z in kept[a:b].tolist() if z >= 0})
            out[int(own[a])].append((tier, zones))
    return out


def street_crossing_texts(territory, results) -> list[list[str]]:
    """Per geocoding result, the French texts of :func:`street_crossings` (one per crossed tier).

    E.g. « la voie traverse le périmètre du QPV <nom> (position de la voie, pas du numéro) ».
    """
    out = []
    for result, crossings in zip(results, street_crossings(territory, results)):
        kind = POSITION_OF.get(getattr(result.best, "type", ""), "de la voie")
        out.append([f"la voie traverse le périmètre {territory.vocabulary.crossing(tier)} {', '.join(zones)} "
                    f"(position {kind}, pas du numéro)" for tier, zones in crossings])
    return out


def _edges_within(territory, x: float, y: float, radius: float) -> list[tuple[str, str, str, float]]:
    """Drawn perimeters (not whole communes) whose edge is within *radius* m of (x, y) in Lambert-93."""
    import numpy as np

    out = []
    for tier, data in territory.tiers.items():
        if data.index is None or not len(data.zones):
            continue
        n = len(data.zones)
        dist = data.index.distance(np.full(n, float(x)), np.full(n, float(y)), np.arange(n))  # NaN: no geometry
        for zi in np.flatnonzero(np.nan_to_num(dist, nan=np.inf) <= radius):
            zone = data.zones[int(zi)]
            if zone.geometry == "commune":  # a whole commune: its edge is the commune's (see the commune check)
                continue
            out.append((tier, zone.code, zone.name, float(dist[zi])))
    return out


def lookup_address(territory, address: AddressQuery | str, geocoder, limit: int = 5,
                   thresholds: QualityThresholds | None = None) -> AddressAnswer:
    """Geocode *address*, look the position up, and say how sure the answer is.

    Raises :class:`AddressNotFound` (nothing usable) or
    :class:`AmbiguousAddress` (several places, listed in the message and in
    ``err.result``): an ambiguous address is never resolved silently.
    """
    result = geocoder.geocode(address, limit=limit)
    t = thresholds or getattr(geocoder, "thresholds", None) or QualityThresholds()
    if result.quality == "not_found" or result.best is None:
        raise AddressNotFound(f"adresse introuvable : {result.query!r} ({result.reason or 'aucun résultat'})")
    if result.quality == "ambiguous":
        raise AmbiguousAddress(result_text(result, limit=limit), result)
    best = result.best
    lookup = territory.lookup(lon=best.lon, lat=best.lat)
    warnings: list[str] = []
    if result.quality != "precise":
        warnings.append(f"adresse géocodée de façon approximative : {result.reason}")
    definition = territory.definition
    insee = best.citycode
    got = (lookup.commune or {}).get("insee")
    if insee and insee in definition.communes and insee != got:
        lookup.commune = {
            "insee": insee, "name": definition.commune_name(insee), "status": "boundary",
            "population": definition.communes[insee].population, "from": "code INSEE de l'adresse",
        }
        team = definition.team_of(insee)
        lookup.team = None if team is None else {
            "id": team.id, "name": team.name, "leads": [lead.to_dict(definition) for lead in definition.team_leads(team.id)]
        }
        where = f"dans {definition.commune_name(got)}" if got else "hors du territoire"
        warnings.append(f"commune d'après le code INSEE de l'adresse ({insee}) ; les contours simplifiés placent "
                        f"le point {where} : zones à vérifier")
    elif insee and insee not in definition.communes and got:
        warnings.append(f"l'adresse est dans la commune {best.city or insee} ({insee}), hors du territoire ; "
                        "les contours simplifiés la placent dans le territoire : à vérifier")
    warnings.extend(position_warnings(territory, result, lookup, t))
    lookup.warnings = warnings + list(lookup.warnings)
    return AddressAnswer(result, lookup, warnings)


def result_text(result: GeocodeResult, limit: int = 5) -> str:
    """French text listing the candidates with their quality.

    >>> from cq_geo.geocode.base import Candidate
    >>> r = GeocodeResult("12 rue x", "approximate", [Candidate(3.39, 50.33, "Rue X 59220 Denain", 0.9, "street",
    ...                   citycode="59172")], "position de la voie, pas d'un numéro", "offline-ban")
    >>> print(result_text(r))
    Adresse : « 12 rue x » — qualité approximative (position de la voie, pas d'un numéro)
      1. Rue X 59220 Denain — voie, score 0,90, INSEE 59172, lon 3.390000, lat 50.330000
    """
    lines = [f"Adresse : « {result.query} » — qualité {QUALITY_FR.get(result.quality, result.quality)}"
             + (f" ({result.reason})" if result.reason else "")]
    for i, c in enumerate(result.candidates[:limit], 1):
        score = f"{c.score:.2f}".replace(".", ",")
        approx = " (numéro le plus proche)" if c.approximate_number and c.type == "housenumber" else ""
        lines.append(
            f"  {i}. {c.label} — {TYPE_FR.get(c.type, c.type)}{approx}, score {score}"
            + (f", INSEE {c.citycode}" if c.citycode else "") + f", lon {c.lon:.6f}, lat {c.lat:.6f}"
        )
    return "\n".join(lines)
