"""Text → places, for the panel's search box and the locator bar.

No QGIS here and nothing that is not thread-safe: the locator runs
:meth:`PlaceIndex.search` in a worker thread. Every result is a plain dict that
JSON can carry (``label``, ``description``, ``kind``, ``lon``, ``lat``,
``code``, ``score``); turning it into an answer (a lookup) happens later in
the main thread.

Understood queries: coordinates (``3.3957 50.3290``, ``50.3290, 3.3957``,
Lambert-93 ``728213 7025762``), a commune or zone name or code
(``Denain``, ``QN05950M``), else an address through the library's geocoder.
"""

from __future__ import annotations

import re
import unicodedata

_NUMBER = r"[-+]?\d+(?:[.,]\d+)?"
_COORDS = re.compile(rf"^\s*({_NUMBER})\s*[,;/ ]\s*({_NUMBER})\s*$")
_COORDS_SPACE = re.compile(rf"^\s*({_NUMBER})\s+({_NUMBER})\s*$")


def normalize(text: str) -> str:
    """Lower case, no accents, no punctuation: ``"Château-l'Abbaye"`` → ``"chateau l abbaye"``."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def parse_coordinates(text: str):
    """``(lon, lat, note)`` from a typed pair of numbers, or None.

    >>> parse_coordinates("3.3957 50.3290")[:2]
    (3.3957, 50.329)
    >>> parse_coordinates("50,3290 ; 3,3957")[:2]
    (3.3957, 50.329)
    >>> round(parse_coordinates("728213 7025762")[0], 3)
    3.396
    """
    m = _COORDS_SPACE.match(text) or _COORDS.match(text)
    if not m:
        # "3,3957, 50,3290": decimal commas and a comma separator
        parts = re.findall(r"[-+]?\d+,\d+", text)
        if len(parts) != 2 or not re.fullmatch(r"\s*[-+]?\d+,\d+\s*,\s*[-+]?\d+,\d+\s*", text):
            return None
        a, b = parts
    else:
        a, b = m.group(1), m.group(2)
    a, b = float(a.replace(",", ".")), float(b.replace(",", "."))
    if -5.6 <= a <= 10.0 and 41.2 <= b <= 51.2:
        return a, b, "WGS84"
    if -5.6 <= b <= 10.0 and 41.2 <= a <= 51.2:
        return b, a, "WGS84 (latitude en premier)"
    if 50_000 <= a <= 1_250_000 and 6_030_000 <= b <= 7_130_000:
        from cq_geo.geo.crs import l93_to_lonlat

        lon, lat = l93_to_lonlat(a, b)
        return float(lon), float(lat), "Lambert-93"
    return None


class PlaceIndex:
    """Communes and zones of the territory, searchable by name or code.

    Built in the main thread from a Territory; afterwards it is read-only.
    """

    def __init__(self, entries: list[dict]):
        self.entries = entries
        self._keys = [(normalize(e["label"]), normalize(e.get("code", ""))) for e in entries]

    @classmethod
    def build(cls, definition, centres: dict) -> "PlaceIndex":
        """The index for *definition*, placed with *centres* (``{("commune"|"zone", code): (lon, lat)}``).

        A zone without a perimeter is still found, placed in its first commune.

        >>> from cq_geo.model import load_definition
        >>> d = load_definition()
        >>> idx = PlaceIndex.build(d, {("commune", "59172"): (3.39, 50.33)})
        >>> idx.search("denain")[0]["label"], idx.search("denain")[0]["kind"]
        ('Denain', 'commune')
        """
        entries = []
        for insee in definition.communes:
            where = centres.get(("commune", insee))
            if where is None:
                continue
            team = definition.team_of(insee)
            entries.append({
                "kind": "commune", "code": insee, "label": definition.commune_name(insee),
                "lon": where[0], "lat": where[1],
                "description": f"Commune {insee}" + (f" — {team.name}" if team else ""),
            })
        for tier in definition.tiers:
            short = definition.tiers[tier].short_label
            for zone in definition.zones_of(tier):
                where = centres.get(("zone", zone.code))
                description = f"{short} {zone.code}"
                if zone.geometry == "commune" and where is not None:
                    continue  # same place as the commune
                if where is None:  # no perimeter yet: found anyway, placed in its (first) commune
                    first = zone.communes[0] if zone.communes else None
                    where = centres.get(("commune", first)) if first else None
                    if where is None:
                        continue
                    description += f" — périmètre non installé, commune de {definition.commune_name(first)}"
                entries.append({"kind": "zone", "code": zone.code, "label": zone.name, "lon": where[0],
                                "lat": where[1], "description": description})
        return cls(entries)

    def search(self, text: str, limit: int = 8) -> list[dict]:
        """Communes and zones matching *text* (every word a prefix of a word of the name, or the code)."""
        query = normalize(text)
        if not query:
            return []
        words = query.split()
        found = []
        for entry, (name, code) in zip(self.entries, self._keys):
            name_words = name.split()
            if query == name or (code and query == code):
                score = 1.0
            elif name.startswith(query) or (code and code.startswith(query)):
                score = 0.9
            elif all(any(w2.startswith(w) for w2 in name_words) for w in words):
                score = 0.7
            else:
                continue
            found.append(dict(entry, score=score))
        found.sort(key=lambda e: (-e["score"], e["kind"] != "commune", e["label"]))
        return found[:limit]


def coordinate_result(text: str) -> dict | None:
    """A result for typed coordinates, or None."""
    parsed = parse_coordinates(text)
    if parsed is None:
        return None
    lon, lat, note = parsed
    return {
        "kind": "point", "code": "", "label": f"{lon:.5f}, {lat:.5f}", "lon": lon, "lat": lat,
        "description": f"Coordonnées {note}", "score": 1.0,
    }


def missing_module(exc: ImportError):
    """A French MissingDependency for a module the geocoder needs (rapidfuzz is not shipped with QGIS)."""
    from cq_geo.errors import MissingDependency

    name = getattr(exc, "name", None) or str(exc)
    return MissingDependency(
        f"le géocodage hors ligne a besoin du module Python « {name} », absent de ce QGIS : "
        "choisissez le géocodeur « en ligne » dans le panneau"
    )


def address_results(geocoder, text: str, limit: int = 5) -> list[dict]:
    """Candidates of the library's geocoder as result dicts (label, quality …)."""
    try:
        result = geocoder.geocode(text, limit=limit)
    except ImportError as exc:
        raise missing_module(exc) from exc
    out = []
    for c in result.candidates[:limit]:
        out.append({
            "kind": "address", "code": c.citycode, "label": c.label, "lon": float(c.lon), "lat": float(c.lat),
            "description": f"Adresse ({result.quality}, score {c.score:.2f})", "score": float(c.score),
            "quality": result.quality,
        })
    return out
