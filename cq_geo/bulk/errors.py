"""The batch's errors: a run that cannot start (:class:`BatchError`), a file that cannot be read or written
(:class:`BatchFileError`). Both carry a French message and are :class:`ValueError`."""

from __future__ import annotations

from ..errors import CqGeoError

__all__ = ["BatchError", "BatchFileError"]


class BatchError(CqGeoError, ValueError):
    """A batch cannot start: missing or ambiguous columns, incompatible options."""


class BatchFileError(CqGeoError, ValueError):
    """An input file cannot be read, or an output cannot be written."""
