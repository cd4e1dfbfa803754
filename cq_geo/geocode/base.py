"""The geocoder interface shared by the offline (BAN) and online (Géoplateforme/addok) geocoders.

Everything that turns an address into a position (``cq-geo lookup "…"``, batch
files, the QGIS plugin) goes through :class:`Geocoder` and gets a
:class:`GeocodeResult` whose ``quality`` says how far the position can be trusted.

Qualities (thresholds in :class:`QualityThresholds`, documented in docs/geocoding.md):

``precise``      a house number, high score, clear margin over the next candidate
``approximate``  a street or locality, an interpolated/nearest number, or a small margin
``ambiguous``    several candidates as good as each other (e.g. the same street in two communes)
``not_found``    nothing usable
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Protocol

__all__ = [
    "QUALITIES",
    "RESULT_TYPES",
    "Candidate",
    "GeocodeResult",
    "AddressQuery",
    "QualityThresholds",
    "Geocoder",
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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

    @property
    def best(self) -> Candidate | None:
        """The first candidate, or None."""
        return self.candidates[0] if self.candidates else None

    @property
    def next_score(self) -> float | None:
        """Score of the second candidate (None if there is only one)."""
        return self.candidates[1].score if len(self.candidates) > 1 else None

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


class Geocoder(Protocol):
    """What every geocoder provides."""

    name: str

    def geocode(self, query: AddressQuery | str, limit: int = 5) -> GeocodeResult:
        """Geocode one address."""
        ...

    def geocode_many(self, queries: Iterable[AddressQuery], progress=None) -> list[GeocodeResult]:
        """Geocode many addresses (``progress(done, total)`` called as it goes)."""
        ...
