"""Address geocoding: offline from the BAN, or online (Géoplateforme / addok).

See :mod:`cq_geo.geocode.base` for the interface.
"""

from .base import QUALITIES, AddressQuery, Candidate, GeocodeResult, Geocoder, QualityThresholds

__all__ = ["QUALITIES", "AddressQuery", "Candidate", "GeocodeResult", "Geocoder", "QualityThresholds"]
