"""cq-geo: the geography of La Porte du Hainaut's Contrat Quartiers 2030.

For a place: which geography covers it (QPV 2024, poche de pauvreté, former
quartier de veille active), how sure that answer is, and which team and
project leads are in charge.

>>> import cq_geo
>>> territory = cq_geo.load_territory()
>>> territory.lookup(lon=3.3957, lat=50.3290).team["name"]
'Équipe Sud'

The package imports nothing heavy at start-up: shapely, pandas and the rest
are imported by the functions that need them.
"""

from __future__ import annotations

from ._version import __version__
from .errors import CqGeoError, DataError, InvalidCoordinates, MissingDependency, TerritoryFileError

__all__ = [
    "__version__",
    "load_territory",
    "load_definition",
    "batch",
    "CqGeoError",
    "DataError",
    "InvalidCoordinates",
    "MissingDependency",
    "TerritoryFileError",
]


def load_territory(store=None, territory_file=None, *, territory=None):
    """Load the territory and its geometries; see :func:`cq_geo.territory.load_territory`."""
    from .territory import load_territory as _load

    return _load(store=store, territory_file=territory_file, territory=territory)


def load_definition(path=None):
    """Read and validate a territory file; see :func:`cq_geo.model.load_definition`."""
    from .model import load_definition as _load

    return _load(path)


def batch(data, **options):
    """Eligibility of every row of a DataFrame: ``(enriched DataFrame, summary)``; see :func:`cq_geo.bulk.run.batch`."""
    from .bulk.run import batch as _batch

    return _batch(data, **options)
