"""The locator filter (Ctrl+K, prefix ``cq``): an address, a commune, a QPV or coordinates → its geography.

The filter is not flagged fast: ``fetchResults`` runs in a worker thread on a :meth:`clone` that holds no
``iface`` and no Qt widget: only the read-only :class:`~.search.PlaceIndex` and
the service (whose geocoder is guarded by a lock). QGIS 3.22 calls ``clone()``
in the main thread at every keystroke and dereferences what it returns: a
``clone()`` that raises makes QGIS die (signal 11). So :meth:`clone` touches no
disk and cannot fail: the index is built by the plugin when the territory
(re)loads (:meth:`set_places`), the clone only copies references; with no
territory the clone simply finds nothing (the panel says why). Each result's ``userData``
is the place as a JSON string (a Python object in a
QVariant does not survive the copies between threads); :meth:`triggerResult` (main thread) hands it to
the panel, which looks the point up, fills the answer and zooms there.

A ``QgsGeocoderInterface`` would fit an address-only geocoder; this filter
also understands communes, zone codes and coordinates, so it is a plain
``QgsLocatorFilter`` using the library's geocoder for addresses.
"""

from __future__ import annotations

import json

from qgis.core import Qgis, QgsLocatorFilter, QgsLocatorResult

from ..core import search
from ..core.log import error, log
from ..core.translation import tr

MIN_LENGTH = 2
#: The prefix users type. QGIS ignores a plugin's own prefix shorter than three
#: characters unless the user customised it, so the filter declares
#: :data:`NATIVE_PREFIX` and :func:`preset_prefix` records ``cq`` as the user's
#: choice (only when the user has not chosen one; Options › Locator changes it).
PREFIX = "cq"
NATIVE_PREFIX = "cqg"
FILTER_NAME = "cq_geo"


def preset_prefix() -> str:
    """Make ``cq`` the active prefix unless the user set another one; returns the prefix in use."""
    from qgis.core import QgsSettings

    settings = QgsSettings()
    key = f"locator_filters/prefix_{FILTER_NAME}"
    current = settings.value(key, "", section=QgsSettings.Section.Gui)
    if not current:
        settings.setValue(key, PREFIX, section=QgsSettings.Section.Gui)
        current = PREFIX
    return str(current)


class CqGeoLocatorFilter(QgsLocatorFilter):
    """Locator filter « Contrat Quartiers 2030 »."""

    def __init__(self, service, places=None, on_trigger=None, geocoder_mode="offline", transport=None):
        super().__init__()
        self.service = service
        self.places = places  # PlaceIndex (built in the main thread by the plugin), or None
        self.on_trigger = on_trigger  # callable(dict), main thread only
        self.geocoder_mode = geocoder_mode  # set by the panel when the user changes it
        self.transport = transport  # QGIS's network stack for the online geocoder

    def set_places(self, places) -> None:
        """The search index of the (re)loaded territory (main thread), or None when it did not load."""
        self.places = places

    def clone(self):
        """A copy for the worker thread (main thread): references only, no disk, cannot fail."""
        try:
            return CqGeoLocatorFilter(self.service, self.places, None, self.geocoder_mode, self.transport)
        except Exception:  # noqa: BLE001 - QGIS would use a null clone and crash
            return CqGeoLocatorFilter(None)

    def name(self):
        return FILTER_NAME

    def displayName(self):  # noqa: N802
        return tr("Contrat Quartiers 2030")

    def prefix(self):
        return NATIVE_PREFIX

    def priority(self):
        return QgsLocatorFilter.Priority.High

    def fetchResults(self, string, context, feedback):  # noqa: N802
        try:
            text = (string or "").strip()
            if len(text) < MIN_LENGTH or feedback.isCanceled() or self.service is None or self.places is None:
                return
            point = search.coordinate_result(text)
            found = [point] if point is not None else self.places.search(text)
            if point is None and not any(f["score"] >= 0.9 for f in found) and self._can_geocode():
                if feedback.isCanceled():
                    return
                try:
                    geocoder = self.service.geocoder(self.geocoder_mode, transport=self.transport)
                    found += search.address_results(geocoder, text)
                except Exception as exc:  # noqa: BLE001 - a geocoder failure is not the locator's
                    log(f"géocodage « {text} » : {exc}")
            for place in found:
                if feedback.isCanceled():
                    return
                result = QgsLocatorResult()
                result.filter = self
                result.displayString = place["label"]
                result.description = place["description"]
                result.userData = json.dumps(place)  # a string: safe to copy across threads
                result.score = float(place.get("score", 0.5))
                result.group = {
                    "commune": tr("Communes"), "zone": tr("Zones du contrat"), "address": tr("Adresses"),
                    "point": tr("Coordonnées"),
                }.get(place["kind"], "")
                self.resultFetched.emit(result)
        except Exception as exc:  # noqa: BLE001 - never raise into QGIS (worker thread: log only)
            log(f"recherche « {string} » : {type(exc).__name__} : {exc}", Qgis.MessageLevel.Warning)

    def _can_geocode(self) -> bool:
        if not self.service.has_geocoder():
            return False
        return self.geocoder_mode == "online" or self.service.can("ban")

    def triggerResult(self, result):  # noqa: N802
        try:
            place = result.userData
            if callable(place):  # QGIS >= 3.34 exposes userData() as a method
                place = place()
            if self.on_trigger is not None:
                self.on_trigger(json.loads(place))
        except Exception as exc:  # noqa: BLE001
            error(exc, tr("Recherche"))
