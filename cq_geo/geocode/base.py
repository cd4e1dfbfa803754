"""The geocoder interface shared by the offline (BAN) and online (Géoplateforme/addok) geocoders.

Everything that turns an address into a position (``cq-geo lookup "…"``, batch
files, the QGIS plugin) goes through :class:`Geocoder` and gets a
:class:`GeocodeResult` whose ``quality`` says how far the position can be trusted.

Qualities (thresholds in :class:`QualityThresholds`, documented in docs/geocodage.md;
the rules are in :func:`assess`, shared by every geocoder):

``precise``      a house number, high score, clear margin over the next candidate
``approximate``  a street or locality, an interpolated/nearest number, or a small margin
``ambiguous``    several candidates as good as each other (e.g. the same street in two communes)
``not_found``    nothing usable
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Protocol

from ..errors import CqGeoError, DataError

__all__ = [
    "QUALITIES",
    "RESULT_TYPES",
    "Candidate",
    "GeocodeResult",
    "AddressQuery",
    "QualityThresholds",
    "Geocoder",
    "assess",
    "distance_m",
    "DEFAULT_RADIUS_M",
    "GeocodingError",
    "AddressNotFound",
    "AmbiguousAddress",
    "OnlineGeocoderError",
    "BanIndexMissing",
]

QUALITIES = ("precise", "approximate", "ambiguous", "not_found")
RESULT_TYPES = ("housenumber", "street", "locality", "municipality")


@dataclass
class Candidate:
    """One candidate position for an address (WGS84)."""

    lon: float
    lat: float
    label: str
    score: float
    type: str  # one of RESULT_TYPES
    citycode: str = ""  # INSEE code of the commune
    postcode: str = ""
    city: str = ""
    street: str = ""
    housenumber: str = ""
    approximate_number: bool = False  # the number was not found: street or nearest number used
    oldcitycode: str = ""  # former (merged) commune, if any
    oldcity: str = ""
    radius_m: float = 0.0  # how far the real place may be from the position (street extent, commune…)
    #: Known positions (lon, lat) along the street of a street-level answer, for
    #: the "does the street cross a perimeter?" check; not part of ``to_dict()``.
    support: tuple = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("support", None)
        return d


@dataclass
class AddressQuery:
    """An address to geocode: free text plus optional filters."""

    text: str
    postcode: str = ""
    citycode: str = ""
    city: str = ""


@dataclass
class GeocodeResult:
    """The answer of a geocoder for one query."""

    query: str
    quality: str  # one of QUALITIES
    candidates: list[Candidate] = field(default_factory=list)
    reason: str = ""  # a French sentence explaining the quality
    source: str = ""  # "offline-ban", "online:<base url>", …
    score_next: float | None = None  # the second score when only the best candidate is known (CSV batch)

    @property
    def best(self) -> Candidate | None:
        """The first candidate, or None."""
        return self.candidates[0] if self.candidates else None

    @property
    def next_score(self) -> float | None:
        """Score of the second candidate (None if there is only one)."""
        if len(self.candidates) > 1:
            return self.candidates[1].score
        return self.score_next

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "quality": self.quality,
            "reason": self.reason,
            "source": self.source,
            "next_score": self.next_score,
            "candidates": [c.to_dict() for c in self.candidates],
        }


@dataclass
class QualityThresholds:
    """Thresholds of the quality model (configurable)."""

    precise_score: float = 0.80  # minimum score of a precise answer
    margin: float = 0.10  # minimum lead over the next candidate (different place)
    ambiguous_margin: float = 0.02  # below this lead, two different places are ambiguous
    min_score: float = 0.40  # below this, not_found
    same_place_m: float = 150.0  # two candidates of one commune closer than this are the same place
    qpv_check_m: float = 100.0  # an approximate position this close to a perimeter edge is "à vérifier"

    @classmethod
    def from_env(cls) -> "QualityThresholds":
        """Thresholds with overrides from ``CQ_GEO_QUALITY`` (``"precise_score=0.85,margin=0.05"``).

        >>> import os
        >>> os.environ["CQ_GEO_QUALITY"] = "precise_score=0.9, margin=0.2"
        >>> t = QualityThresholds.from_env(); del os.environ["CQ_GEO_QUALITY"]
        >>> t.precise_score, t.margin, t.min_score
        (0.9, 0.2, 0.4)
        """
        import os

        return cls.parse(os.environ.get("CQ_GEO_QUALITY", ""))

    @classmethod
    def parse(cls, text: str) -> "QualityThresholds":
        """Thresholds from ``"name=value,…"``; unknown names or bad values raise a French error."""
        out = cls()
        for part in (text or "").replace(";", ",").split(","):
            if not part.strip():
                continue
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in cls.__dataclass_fields__:
                names = ", ".join(cls.__dataclass_fields__)
                raise GeocodingError(f"seuil de qualité inconnu : {name!r} (seuils : {names})")
            try:
                setattr(out, name, float(value.replace(",", ".").strip()))
            except ValueError:
                raise GeocodingError(f"seuil de qualité {name} : nombre attendu (reçu : {value.strip()!r})") from None
        return out


class Geocoder(Protocol):
    """What every geocoder provides."""

    name: str

    def geocode(self, query: AddressQuery | str, limit: int = 5) -> GeocodeResult:
        """Geocode one address."""
        ...

    def geocode_many(self, queries: Iterable[AddressQuery], progress=None) -> list[GeocodeResult]:
        """Geocode many addresses (``progress(done, total)`` called as it goes)."""
        ...


# -- errors ---------------------------------------------------------------------


class GeocodingError(CqGeoError):
    """Geocoding failed or was misconfigured (French message)."""


class AddressNotFound(GeocodingError):
    """No usable position for an address."""


class AmbiguousAddress(GeocodingError):
    """Several places match an address equally well; ``result`` holds the candidates."""

    def __init__(self, message: str, result: "GeocodeResult | None" = None):
        super().__init__(message)
        self.result = result


class OnlineGeocoderError(GeocodingError):
    """The online geocoder could not be reached or answered badly."""


class BanIndexMissing(GeocodingError, DataError):
    """The offline BAN index is not in the data store."""


# -- the quality model ----------------------------------------------------------


def distance_m(a: Candidate, b: Candidate) -> float:
    """Approximate ground distance between two candidates in metres (equirectangular).

    >>> a = Candidate(3.39, 50.33, "a", 1.0, "street"); b = Candidate(3.39, 50.331, "b", 1.0, "street")
    >>> round(distance_m(a, b))
    111
    """
    import math

    k = math.cos(math.radians((a.lat + b.lat) / 2.0))
    dx = (a.lon - b.lon) * k * 111_320.0
    dy = (a.lat - b.lat) * 110_574.0
    return math.hypot(dx, dy)


def _same_place(a: Candidate, b: Candidate, t: QualityThresholds) -> bool:
    if a.citycode and b.citycode and a.citycode != b.citycode:
        return False
    if a.street and b.street and a.street != b.street and a.type != "municipality" and b.type != "municipality":
        return distance_m(a, b) <= t.same_place_m / 3.0
    return distance_m(a, b) <= max(t.same_place_m, a.radius_m, b.radius_m)


#: Uncertainty (m) given to a position when the geocoder does not know the extent of what it found
#: (online answers): a street, a lieu-dit or a commune is not a point.
DEFAULT_RADIUS_M = {"housenumber": 0.0, "street": 250.0, "locality": 400.0, "municipality": 1500.0}

_TYPE_FR = {"housenumber": "du numéro", "street": "de la voie", "locality": "du lieu-dit", "municipality": "de la commune"}


def assess(
    query: str,
    candidates: list[Candidate],
    thresholds: QualityThresholds | None = None,
    source: str = "",
    score_next: float | None = None,
) -> GeocodeResult:
    """Apply the quality model to sorted *candidates* (best first).

    Rules, in order:

    1. no candidate, or the best scores under ``min_score`` → ``not_found``;
    2. another candidate at a *different place* (another commune, or further
       than ``same_place_m``) scores within ``ambiguous_margin`` of the best →
       ``ambiguous`` (those candidates come first; never resolved silently);
    3. a house number found as typed, score ≥ ``precise_score`` and a lead of
       at least ``margin`` over any different place → ``precise``;
    4. anything else (street, locality, commune, nearest number, low score,
       small lead) → ``approximate``.

    *score_next* stands for the second candidate when only the best is known
    (CSV batch answers); it cannot tell the place, so it only counts for the
    margin rule (3).

    Examples
    --------
    >>> hn = Candidate(3.39, 50.33, "12 Rue Synthé 59220 Denain", 0.95, "housenumber", citycode="59172")
    >>> assess("12 rue synthé denain", [hn]).quality
    'precise'
    >>> other = Candidate(3.45, 50.36, "12 Rue Synthé 59174 La Sentinelle", 0.94, "housenumber", citycode="59564")
    >>> assess("12 rue synthé", [hn, other]).quality
    'ambiguous'
    >>> assess("rue synthé", [Candidate(3.39, 50.33, "Rue Synthé", 0.9, "street", citycode="59172")]).quality
    'approximate'
    >>> assess("zzz", []).quality
    'not_found'
    """
    t = thresholds or QualityThresholds()
    cands = sorted(candidates, key=lambda c: -c.score)
    if not cands or cands[0].score < t.min_score:
        reason = "aucune adresse trouvée" if not cands else (
            f"meilleur candidat trop incertain (score {cands[0].score:.2f} < {t.min_score:.2f})"
        )
        return GeocodeResult(query, "not_found", cands, reason, source, score_next)
    best = cands[0]
    rivals = [c for c in cands[1:] if not _same_place(best, c, t)]
    close = [c for c in rivals if best.score - c.score < t.ambiguous_margin]
    if close:
        communes = sorted({(c.city or c.citycode) + (f" ({c.oldcity})" if c.oldcity else "")
                           for c in [best] + close if c.city or c.citycode})
        where = f" ({', '.join(communes)})" if len(communes) > 1 else ""
        reason = f"adresse ambiguë : {len(close) + 1} lieux possibles{where} ; précisez la commune ou le code postal"
        seen = {id(c) for c in close}  # identity, not dataclass equality (O(n²) with many homonyms)
        ordered = [best] + close + [c for c in cands[1:] if id(c) not in seen]
        return GeocodeResult(query, "ambiguous", ordered, reason, source, score_next)
    rival_score = max([c.score for c in rivals] + ([score_next] if score_next is not None and len(cands) == 1 else []),
                      default=None)
    lead = None if rival_score is None else best.score - rival_score
    if best.type == "housenumber" and not best.approximate_number and best.score >= t.precise_score and (
        lead is None or lead >= t.margin
    ):
        return GeocodeResult(query, "precise", cands, "numéro trouvé", source, score_next)
    if best.type == "housenumber" and best.approximate_number:
        reason = f"numéro absent de la base : position du numéro connu le plus proche ({best.housenumber})"
    elif best.type != "housenumber":
        reason = f"position {_TYPE_FR.get(best.type, best.type)}, pas d'un numéro"
    elif best.score < t.precise_score:
        reason = f"correspondance partielle (score {best.score:.2f} < {t.precise_score:.2f})"
    else:
        reason = f"un autre lieu est presque aussi probable (écart {lead:.2f} < {t.margin:.2f})"
    return GeocodeResult(query, "approximate", cands, reason, source, score_next)
