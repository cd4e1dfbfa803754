"""Changing the store's layers: official and local imports (files or records), zone validation, network update.

Writing needs only the standard library and numpy (:func:`import_records`, used by the QGIS plugin);
reading files needs the ``geo`` extra (pyogrio).
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from ..errors import DataError
from ..files import file_sha256
from .common import LAYER_COLUMNS, LOCAL_TIERS, geometry_changes, now_iso, worst_status
from .gpkg_store import Store, StoreChange
from .polygons import points_in_polygons, polygons_area, polygons_wkb, shapely_or_none


# -- operations: imports, validation, update, status -------------------------------------------
@dataclass
class ImportReport:
    """What an import or update did (``changed`` is False when the same file was already installed)."""

    layer: str
    described: str
    source: str
    sha256: str
    feature_count: int
    status: str
    changed: bool = True
    features_read: int = 0
    notes: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    official: bool = False
    origin: str = "file"

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out["described"] = str(self.described)
        return out

    def to_text(self) -> str:
        """A French summary (what the CLI prints)."""
        from ..report import LAYER_STATUS_FR

        if not self.changed:
            return f"{self.layer} : déjà à jour ({self.described}, sha256 {self.sha256[:12]}…) — aucun changement"
        lines = [
            f"{self.layer} : {self.feature_count} entité(s) installée(s), couche "
            f"{LAYER_STATUS_FR.get(self.status, self.status)} — {self.described}",
            f"  sha256 de la source : {self.sha256}",
        ]
        if self.layer in ("qpv", "qpv2015", "communes"):
            lines.append("  origine : source officielle" if self.official else
                         "  origine : fichier importé (ni téléchargé à la source officielle par cq-geo data update, "
                         "ni publication officielle connue par sa somme de contrôle)")
        if self.features_read:
            lines.append(f"  {self.features_read} entité(s) lue(s) dans le fichier")
        for label, codes in (("ajoutées", self.added), ("remplacées", self.replaced), ("retirées", self.removed)):
            if codes:
                lines.append(f"  zones {label} : {', '.join(codes)}")
        lines.extend(f"  ! {n}" for n in self.notes)
        return "\n".join(lines)


@dataclass
class _Plan:
    """A checked layer, ready to be written in a change."""

    layer: str
    rows: list[dict[str, Any]]
    metadata: dict[str, Any]
    history: list[dict[str, Any]]
    report: ImportReport

    def apply(self, work: StoreChange) -> None:
        work.write_features(self.layer, self.rows)
        work.set_metadata(self.layer, **self.metadata)
        work.append_history(self.history)


def _file_date(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d")


def _http_date(value: str) -> str:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).strftime("%Y-%m-%d") if value else ""
    except (TypeError, ValueError):
        return ""


def _records_sha256(records) -> str:
    """A checksum of records (properties + WKB) when no file checksum is given."""
    import hashlib

    h = hashlib.sha256()
    for props, wkb in records:
        h.update(json.dumps(props, sort_keys=True, default=str).encode())
        h.update(bytes(wkb or b""))
    return h.hexdigest()


def _with_progress(records, progress) -> list:
    out = []
    total = len(records) if hasattr(records, "__len__") else None
    for i, rec in enumerate(records, 1):
        out.append(rec)
        if progress is not None and (i % 200 == 0 or i == total):
            progress(i, total)
    return out


def _kind_and_layer(kind: str, tier: str | None, local_tiers=LOCAL_TIERS) -> tuple[str, str]:
    from ..model import suggest

    local_tiers = tuple(local_tiers)
    if kind in local_tiers:
        return "local", kind
    if kind == "local":
        if tier not in local_tiers:
            names = ", ".join(local_tiers[:-1]) + (" ou " if len(local_tiers) > 1 else "") + local_tiers[-1]
            raise DataError(f"niveau {tier!r} non importable localement{suggest(str(tier), local_tiers)} ({names})")
        return "local", tier
    if kind not in ("qpv", "qpv2015", "communes"):
        raise DataError(f"type d'import inconnu : {kind!r} (qpv, qpv2015, communes ou local)")
    return kind, kind


def import_records(store: Store, kind: str, records: Iterable[tuple[dict, bytes]], *, source_name: str,
                   source_sha256: str | None = None, origin: str = "file", url: str | None = None,
                   tier: str | None = None, name_field: str | None = None, progress=None,
                   described: str | None = None, territory_file=None, force: bool = False,
                   accept_overlap: bool = False, author: str = "", vintage: str | None = None) -> ImportReport:
    """Import *records* — ``(properties, WKB)`` pairs with geometries **already in EPSG:2154** — into *store*.

    The write path needs only the standard library and numpy (the QGIS plugin
    reads files with QGIS and calls this). *kind*: ``qpv``, ``qpv2015``,
    ``communes``, or ``local`` with *tier* ``poche``/``qva``. The checks are
    those of the file imports (which go through this function): codes of the
    rows kept for the territory, perimeters that touch the communes they list,
    zones attached by name… A layer is labelled official only when *origin* is
    ``"download"`` from the official *url* of :mod:`cq_geo.data.sources`, or when
    *source_sha256* is a known official release; otherwise it is a « fichier
    importé ». Under the writer lock, atomic; a store created here is removed
    again if the import fails. Geometry repairs, unions and overlap tests use
    shapely when it is installed, and are otherwise skipped with a note.

    Examples
    --------
    >>> import tempfile, pathlib, struct
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "cq-geo.gpkg")
    >>> ring = [(715000, 7020000), (716000, 7020000), (716000, 7021000), (715000, 7020000)]
    >>> wkb = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", 4) + struct.pack("<8d", *sum(ring, ()))
    >>> try:
    ...     import_records(store, "qpv", [({"code_qp": "QN05950M", "lib_qp": "Denain", "insee_com": "59172"}, wkb)],
    ...                    source_name="essai.gpkg")
    ... except DataError as err:
    ...     print(str(err)[:60])
    essai.gpkg : le périmètre QPV QN05950M (Denain) ne touche pa
    """
    from ..model import load_definition

    definition = load_definition(territory_file)
    kind, layer = _kind_and_layer(kind, tier, definition.local_tier_ids)
    with store.writing():
        created = store.create(territory_file=territory_file) if not store.exists() else False
        try:
            plan = _plan_import(store, kind, layer, _with_progress(records, progress), source_name=source_name,
                                source_sha256=source_sha256, origin=origin, url=url, name_field=name_field,
                                described=described or source_name, definition=definition, force=force,
                                accept_overlap=accept_overlap, author=author, vintage=vintage)
            if plan.report.changed:
                with store.change(f"import {layer}") as work:
                    plan.apply(work)
            return plan.report
        except BaseException:
            if created:
                store.remove()
            raise


def _officialness(layer: str, digest: str, origin: str, url: str | None, siren: str) -> tuple[bool, str]:
    """(official?, why) — official only from the official URL by download, or a known official checksum."""
    from . import sources

    known = sources.OFFICIAL_RELEASES.get((digest or "").lower())
    if known:
        return True, f"publication officielle reconnue par sa somme de contrôle : {known}"
    src_layer = "qpv" if layer in ("qpv", "qpv2015") else layer
    if origin == "download" and url and src_layer in sources.SOURCES and layer != "qpv2015":
        if url == sources.source_url(src_layer, siren=siren):
            return True, f"téléchargé à la source officielle : {url}"
    return False, ""


def _plan_import(store: Store, kind: str, layer: str, records: list, *, source_name: str, source_sha256, origin,
                 url, name_field, described, definition, force, accept_overlap, author, vintage,
                 commune_rows: list | None = None) -> _Plan:
    from . import sources

    digest = (source_sha256 or _records_sha256(records)).lower()
    meta_all = store.metadata()
    meta = meta_all.get(layer) or {}
    if commune_rows is None:
        commune_rows = store.polygon_rows("communes")
    commune_polys = {r["insee"]: r["polys"] for r in commune_rows}
    now = now_iso()
    date = vintage or now[:10]
    if kind == "local":
        return _plan_local(store, layer, records, definition, commune_polys, source_name=source_name, digest=digest,
                           name_field=name_field, described=described, accept_overlap=accept_overlap, author=author,
                           now=now, commune_edge=(meta_all.get("communes") or {}).get("edge_m"))
    official, why = _officialness(layer, digest, origin, url, definition.siren)
    status = "official" if official else "provisional"
    if (not force and meta.get("sha256") == digest and meta.get("status") not in (None, "missing")
            and meta.get("status") == status):
        rep = ImportReport(layer, described, meta.get("source") or "", digest, int(meta.get("feature_count") or 0),
                           meta.get("status") or "", changed=False, official=official, origin=origin)
        return _Plan(layer, [], {}, [], rep)
    shown_source = (url or source_name) if official else f"fichier importé : {source_name}"
    if kind == "communes":
        read = sources.select_communes(records, definition, described)
        src = sources.SOURCES["communes"]
        is_api = read.flavour == "geo.api" or (url is not None and "/epcis/" in url)
        values = dict(
            source=shown_source,
            publisher=(src.publisher if is_api else "IGN (ADMIN EXPRESS)") if official else "origine non vérifiée",
            licence=src.licence if official else "",
            vintage=(f"geo.api.gouv.fr, téléchargé le {date}" if is_api and official else
                     f"fichier du {date}" if official else f"fichier importé le {now[:10]} (sha256 {digest[:12]}…)"),
            status=status, edge_m=5.0, near_m=10.0,
        )
        code_col = "insee"
    else:
        generation = "2015" if kind == "qpv2015" else "2024"
        read = sources.select_qpv(records, definition, commune_polys, generation=generation, described=described)
        src = sources.SOURCES["qpv"]
        label = ("QPV 2024 (décret n° 2023-1314)" if generation == "2024"
                 else "QPV 2015 (décret n° 2014-1750, remplacé en 2024)")
        values = dict(source=shown_source, publisher=src.publisher if official else "origine non vérifiée",
                      licence=src.licence if official else "",
                      vintage=(f"{label}, fichier du {date}" if official
                               else f"{label}, fichier importé le {now[:10]} (sha256 {digest[:12]}…)"),
                      status=status, edge_m=None, near_m=None)
        code_col = "code_qp"
        if read.shared:
            read.notes.append(f"QPV partagés avec des communes hors du territoire : {', '.join(read.shared)}")
    notes = list(read.notes)
    if official:
        notes.insert(0, why)
    else:
        notes.insert(0, f"fichier importé : {source_name} (sha256 {digest}) — statut « provisoire » : seule une couche "
                        "téléchargée à la source officielle (cq-geo data update) ou dont la somme de contrôle est celle "
                        "d'une publication officielle connue est dite « officielle »")
    added, replaced, removed = geometry_changes(store.polygon_rows(layer), read.rows, code_col)
    by_code = {r[code_col]: r for r in read.rows}
    hist = [{"layer": layer, "code": c, "action": "add", "polys": by_code[c]["polys"]} for c in added]
    hist += [{"layer": layer, "code": c, "action": "replace", "polys": by_code[c]["polys"]} for c in replaced]
    hist += [{"layer": layer, "code": c, "action": "remove", "polys": []} for c in removed]
    for h in hist:
        h.update(status=status, author=author or "cq-geo", source=values["source"], sha256=digest, at=now)
    metadata = dict(sha256=digest, imported_at=now, feature_count=len(read.rows),
                    note="; ".join(notes + [f"{read.features_read} entité(s) lue(s) dans {read.described}"]), **values)
    rep = ImportReport(layer, read.described, values["source"], digest, len(read.rows), status,
                       features_read=read.features_read, notes=notes, added=added, replaced=replaced, removed=removed,
                       official=official, origin=origin)
    return _Plan(layer, read.rows, metadata, hist, rep)


def import_official(store: Store, kind: str, path, *, source: str | None = None, vintage: str | None = None,
                    territory_file=None, layer: str | None = None, force: bool = False, origin: str = "file",
                    url: str | None = None, progress=None) -> ImportReport:
    """Import an official file into *store*: *kind* ``qpv``, ``qpv2015`` or ``communes``.

    The file is read (GeoJSON, GeoPackage, shapefile, zip — see
    :mod:`cq_geo.data.sources`) and its features go through :func:`import_records`.
    On any problem a :class:`~cq_geo.errors.DataError` is raised and the store
    is unchanged. The same file (same sha256) already installed is not
    imported again unless *force*.
    """
    from . import sources

    kind, _ = _kind_and_layer(kind, None)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"fichier introuvable : {path}")
    digest = file_sha256(path)
    records, described = sources.read_records(path, kind, layer=layer)
    return import_records(store, kind, records, source_name=path.name, source_sha256=digest, origin=origin,
                          url=url or source, described=described, territory_file=territory_file, force=force,
                          vintage=vintage or _file_date(path), progress=progress)


def import_local(store: Store, path, tier: str, *, name_field: str | None = None, accept_overlap: bool = False,
                 author: str = "", territory_file=None, layer: str | None = None, progress=None) -> ImportReport:
    """Import zones drawn by the agglomeration (*tier* ``poche`` or ``qva``); they become ``provisional``.

    Checks: each feature attached to a zone of the tier (suggestions for
    unknown names), valid polygons, inside the zone's commune(s) within the
    commune layer's tolerance, no overlap with another zone of the tier unless
    *accept_overlap*. All problems are listed in one :class:`DataError`.
    """
    from ..model import load_definition
    from . import sources

    _kind_and_layer("local", tier, load_definition(territory_file).local_tier_ids)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"fichier introuvable : {path}")
    digest = file_sha256(path)
    records, described = sources.read_records(path, "local", layer=layer)
    return import_records(store, "local", records, tier=tier, source_name=path.name, source_sha256=digest,
                          name_field=name_field, described=described, territory_file=territory_file,
                          accept_overlap=accept_overlap, author=author, progress=progress)


def _local_layer_status(rows) -> str:
    return worst_status(r["status"] for r in rows)


def _plan_local(store, tier, records, definition, commune_polys, *, source_name, digest, name_field, described,
                accept_overlap, author, now, commune_edge) -> _Plan:
    from ..report import fr_int
    from . import sources

    read = sources.select_local(records, definition, tier, name_field=name_field, described=described,
                                commune_polys=commune_polys)
    tol = max(float(commune_edge or 0.0), 10.0)
    shapely = shapely_or_none()
    problems, notes = [], []
    for r in read.rows:
        cpolys = [p for c in r["communes"].split(";") for p in commune_polys.get(c, [])]
        if not cpolys:
            problems.append(f"{r['name']} : contour de commune absent du magasin")
            continue
        cnames = ", ".join(definition.commune_name(c) for c in r["communes"].split(";"))
        if shapely is not None:
            geom = shapely.from_wkb(polygons_wkb(r["polys"]))
            allowed = shapely.from_wkb(polygons_wkb(cpolys)).buffer(tol)
            outside = geom.difference(allowed).area
        else:
            import numpy as np

            pts = np.concatenate([ring for p in r["polys"] for ring in p])
            share_out = 1.0 - points_in_polygons(pts[:, 0], pts[:, 1], cpolys).mean()
            outside = polygons_area(r["polys"]) * share_out if share_out > 0.5 else 0.0
        if outside > 1.0:
            problems.append(
                f"{r['name']} ({r['code']}) : {fr_int(outside, sep=' ')} m² hors de sa commune ({cnames}), au-delà de "
                f"la tolérance de {tol:g} m — périmètre mal placé ou mauvais système de coordonnées ?"
            )
    if shapely is None:
        notes.append("shapely absent : position dans la commune contrôlée sur les sommets, chevauchements non "
                     "contrôlés")
    old_rows = store.polygon_rows(tier)
    new_codes = {r["code"] for r in read.rows}
    kept = [r for r in old_rows if r["code"] not in new_codes]
    overlaps: dict[str, list[str]] = {}
    if shapely is not None:
        cands = [(r["code"], shapely.from_wkb(polygons_wkb(r["polys"]))) for r in kept + read.rows]
        for i, (code_a, ga) in enumerate(cands):
            for code_b, gb in cands[i + 1:]:
                if code_a not in new_codes and code_b not in new_codes:
                    continue
                if ga.intersects(gb):
                    area = ga.intersection(gb).area
                    if area > 1.0:
                        overlaps.setdefault(code_a, []).append(code_b)
                        overlaps.setdefault(code_b, []).append(code_a)
                        if not accept_overlap:
                            problems.append(f"{code_a} et {code_b} se chevauchent sur {fr_int(area, sep=' ')} m² "
                                            f"(acceptez-le avec --accept-overlap si c'est voulu)")
    if problems:
        raise DataError(f"{read.described} : import refusé, {len(problems)} problème(s) :\n"
                        + "\n".join(f"  - {p}" for p in problems))
    new_rows = [{"code": r["code"], "name": r["name"], "status": "provisional", "communes": r["communes"],
                 "source": source_name, "sha256": digest, "imported_at": now, "validated_by": "", "validated_at": "",
                 "overlap_accepted": int(r["code"] in overlaps), "polys": r["polys"]} for r in read.rows]
    rows = [{k: r.get(k) for k in list(LAYER_COLUMNS[tier]) + ["polys"]} for r in kept] + new_rows
    old_codes = {r["code"] for r in old_rows}
    replaced = sorted(new_codes & old_codes)
    added = sorted(new_codes - old_codes)
    sources_used = sorted({str(r["source"]) for r in rows if r.get("source")})
    metadata = dict(source="import local : " + ", ".join(sources_used), publisher=definition.name, licence="",
                    vintage=f"dessin importé le {now[:10]}", sha256=digest, imported_at=now,
                    status=_local_layer_status(rows), feature_count=len(rows), edge_m=None, near_m=None,
                    note=f"{len(rows)} zone(s), dernier import : {read.described}")
    hist = [{"layer": tier, "code": r["code"], "action": "replace" if r["code"] in replaced else "add",
             "status": "provisional", "author": author or "", "source": source_name, "sha256": digest, "at": now,
             "polys": r["polys"]} for r in new_rows]
    notes += [f"chevauchement accepté : {c} ↔ {', '.join(o)}" for c, o in sorted(overlaps.items()) if c in new_codes]
    notes.append("zones provisoires : à valider avec cq-geo data validate-zone CODE --by NOM")
    rep = ImportReport(tier, read.described, source_name, digest, len(rows), _local_layer_status(rows),
                       features_read=read.features_read, notes=notes, added=added, replaced=replaced)
    return _Plan(tier, rows, metadata, hist, rep)


def validate_zone(store: Store, code: str, by: str, territory_file=None) -> dict[str, Any]:
    """Mark a locally drawn zone ``validated``, recording who and when. Returns the updated row (no geometry)."""
    from ..model import load_definition, suggest

    by = (by or "").strip()
    if not by:
        raise DataError("indiquez qui valide avec --by (service ou fonction)")
    definition = load_definition(territory_file)
    with store.writing():
        qpv_codes = {r["code_qp"] for r in store.polygon_rows("qpv")}
        if code in qpv_codes:
            raise DataError(f"{code} est un QPV : son périmètre est officiel (ANCT), il ne se valide pas localement")
        all_codes = []
        for tier in definition.local_tier_ids:
            rows = store.polygon_rows(tier)
            all_codes += [r["code"] for r in rows]
            match = [r for r in rows if r["code"] == code]
            if not match:
                continue
            now = now_iso()
            for r in match:
                r.update(status="validated", validated_by=by, validated_at=now)
            with store.change(f"validation {code}") as work:
                work.write_features(tier, rows)
                work.set_metadata(tier, status=_local_layer_status(rows), feature_count=len(rows))
                work.append_history([{"layer": tier, "code": code, "action": "validate", "status": "validated",
                                      "author": by, "source": match[0].get("source"), "sha256": match[0].get("sha256"),
                                      "at": now, "polys": match[0]["polys"]}])
            out = dict(match[0])
            out.pop("polys", None)
            out.pop("fid", None)
            return out
    zone = next((z for z in definition.zones if z.code == code), None)
    if zone is not None:
        raise DataError(f"la zone {code} ({zone.name}) n'a pas encore de périmètre importé : "
                        f"cq-geo data import local FICHIER --tier {zone.tier}")
    choices = all_codes + [z.code for z in definition.zones if z.tier in definition.local_tier_ids]
    raise DataError(f"zone inconnue : {code!r}{suggest(code, choices)}")


def update_from_network(store: Store, only: str | None = None, *, base_urls: dict[str, str] | None = None,
                        urls: dict[str, str] | None = None, progress_factory=None, timeout: float = 60.0,
                        retries: int = 3, backoff: float = 2.0, territory_file=None,
                        force: bool = False, sha256: dict[str, str] | None = None) -> list[ImportReport]:
    """Download the official layers (``communes`` and ``qpv``, or *only* one) and install them, all or nothing.

    Every file is downloaded and checked before anything is installed; the
    layers are then installed in **one** atomic change (the QPV checks use the
    new commune outlines). *progress_factory(label)* returns a
    ``progress(done, total)`` callback (the CLI gives a tqdm bar). *sha256*:
    expected checksums by layer (a different file is refused). A layer is
    official when it comes from its official URL (see :mod:`cq_geo.data.sources`);
    a layer downloaded from another address (*urls*) is a « fichier importé ».
    """
    from ..model import load_definition
    from . import sources

    layers = [only] if only else ["communes", "qpv"]
    for layer in layers:
        if layer not in sources.SOURCES:
            raise DataError(f"couche inconnue pour la mise à jour : {layer!r} (qpv ou communes)")
    definition = load_definition(territory_file)
    siren = definition.siren
    with store.writing():
        created = store.create(territory_file=territory_file) if not store.exists() else False
        tmp = store.path.with_name(f".{store.path.name}.download-{uuid.uuid4().hex[:8]}")
        try:
            got = {}
            for layer in layers:
                url = (urls or {}).get(layer) or sources.source_url(layer, base_urls, siren=siren)
                progress = progress_factory(layer) if progress_factory else None
                try:
                    got[layer] = (url, sources.download(url, tmp, timeout=timeout, retries=retries, backoff=backoff,
                                                        progress=progress, expected_sha256=(sha256 or {}).get(layer)))
                except sources.NetworkError as exc:
                    raise DataError(f"{exc}\n{sources.manual_install_hint(layer)}") from exc
                finally:
                    if progress is not None and hasattr(progress, "close"):
                        progress.close()
            plans = []
            commune_rows = None
            for layer in ("communes", "qpv"):
                if layer not in got:
                    continue
                url, d = got[layer]
                records, described = sources.read_records(d.path, layer)
                described = described.replace(d.path.name, Path(url.split("?")[0]).name or layer, 1)
                plan = _plan_import(store, layer, layer, records, source_name=d.path.name, source_sha256=d.sha256,
                                    origin="download", url=url, name_field=None, described=described,
                                    definition=definition, force=force, accept_overlap=False, author="cq-geo",
                                    vintage=_http_date(d.last_modified) or now_iso()[:10], commune_rows=commune_rows)
                if layer == "communes" and plan.report.changed:
                    commune_rows = plan.rows
                plans.append(plan)
            todo = [p for p in plans if p.report.changed]
            if todo:
                with store.change("mise à jour " + ", ".join(p.layer for p in todo)) as work:
                    for p in todo:
                        p.apply(work)
            return [p.report for p in plans]
        except BaseException:
            if created:
                store.remove()
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
