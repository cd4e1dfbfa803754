"""Address geocoding: offline from the BAN (default, private), or online (Géoplateforme / addok).

See :mod:`cq_geo.geocode.base` for the interface and the quality model,
:mod:`cq_geo.geocode.ban` for the offline geocoder, :mod:`cq_geo.geocode.online`
for the online client and :mod:`cq_geo.geocode.lookup` for address lookups.
Heavy parts are imported on use: ``import cq_geo.geocode`` stays light.
"""

from .base import (
    QUALITIES,
    AddressNotFound,
    AddressQuery,
    AmbiguousAddress,
    BanIndexMissing,
    Candidate,
    Geocoder,
    GeocodeResult,
    GeocodingError,
    OnlineGeocoderError,
    QualityThresholds,
    assess,
)

__all__ = [
    "QUALITIES",
    "AddressQuery",
    "Candidate",
    "GeocodeResult",
    "Geocoder",
    "QualityThresholds",
    "assess",
    "GeocodingError",
    "AddressNotFound",
    "AmbiguousAddress",
    "OnlineGeocoderError",
    "BanIndexMissing",
    "get_geocoder",
]


def get_geocoder(kind=None, store=None, base_url=None, thresholds=None, **online_options):
    """The geocoder to use (``offline`` by default, ``online``, or ``none`` → None); see
    :func:`cq_geo.geocode.lookup.get_geocoder`."""
    from .lookup import get_geocoder as _get

    return _get(kind, store=store, base_url=base_url, thresholds=thresholds, **online_options)
