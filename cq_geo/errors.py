"""Errors raised by cq-geo.

Every error carries a message for the user, in French (``str(err)``); the
command line prints it and exits with code 2. Catch :class:`CqGeoError` to
catch them all.

Examples
--------
>>> try:
...     raise InvalidCoordinates("longitude manquante")
... except CqGeoError as err:
...     print(err)
longitude manquante
"""

from __future__ import annotations

__all__ = [
    "CqGeoError",
    "InvalidCoordinates",
    "TerritoryFileError",
    "DataError",
    "MissingDependency",
]


class CqGeoError(Exception):
    """Base class of cq-geo's errors; ``str(err)`` is a French message for the user."""


class InvalidCoordinates(CqGeoError, ValueError):
    """A point cannot be used: missing, not finite, swapped, or outside metropolitan France."""


class TerritoryFileError(CqGeoError, ValueError):
    """The territory definition file is unreadable or inconsistent."""


class DataError(CqGeoError):
    """A geometry layer or data store is missing, unreadable or inconsistent."""


class MissingDependency(CqGeoError, ImportError):
    """An optional dependency is not installed; the message gives the command to install it."""
