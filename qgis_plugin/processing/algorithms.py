"""Processing algorithms of the provider ``cq_geo``.

They run headless (``qgis_process``), report progress and honour cancellation
through ``feedback``, and raise ``QgsProcessingException`` with a French
message (the Processing framework shows it; nothing reaches QGIS unhandled).
"""

from __future__ import annotations

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputBoolean,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QCoreApplication, QVariant

from ..core import adapter, compat

CHUNK = 2000


def _tr(text: str) -> str:
    return QCoreApplication.translate("CqGeo", text)


def _territory():
    from ..core.service import TerritoryService

    service = TerritoryService()
    territory = service.reload()
    if territory is None:
        raise QgsProcessingException(service.load_error.text())
    return territory


def _fail(exc: BaseException) -> QgsProcessingException:
    from ..core.log import french

    return QgsProcessingException(french(exc))


def _need_pandas():
    try:
        import pandas  # noqa: F401
    except ImportError as exc:
        raise QgsProcessingException(_tr(
            "Ce traitement a besoin du module Python pandas, absent de ce QGIS "
            "(Windows/OSGeo4W : installer le paquet python3-pandas avec l'installateur OSGeo4W)."
        )) from exc


def output_fields(source_fields: QgsFields, extra: QgsFields) -> tuple[QgsFields, list[int]]:
    """Source fields without those *extra* replaces, then *extra*; and the kept source indexes."""
    names = set(extra.names())
    out = QgsFields()
    kept = []
    for i, f in enumerate(source_fields):
        if f.name() not in names:
            out.append(f)
            kept.append(i)
    for f in extra:
        out.append(f)
    return out, kept


def help_url(anchor: str = "") -> str:
    """The plugin's documentation (``homepage`` of metadata.txt), at *anchor*."""
    from pathlib import Path

    meta = Path(__file__).resolve().parents[1] / "metadata.txt"
    if not meta.is_file():
        meta = Path(__file__).resolve().parents[2] / "metadata.txt"
    home = ""
    try:
        for line in meta.read_text(encoding="utf-8").splitlines():
            if line.startswith("homepage="):
                home = line.split("=", 1)[1].strip()
    except OSError:
        pass
    return f"{home.rstrip('/')}/blob/main/docs/qgis.md" + (f"#{anchor}" if anchor else "") if home else ""


class CqAlgorithm(QgsProcessingAlgorithm):
    """Shared parts: translation, group, instance creation, help.

    The provider is named « Contrat Quartiers 2030 »; the algorithms sit in
    groups named by what they do (not the provider's name again).
    """

    GROUP = ("territoire", "Territoire")
    ANCHOR = "traitements"

    def tr(self, text: str) -> str:
        return _tr(text)

    def createInstance(self):  # noqa: N802
        return type(self)()

    def group(self):
        return self.tr(self.GROUP[1])

    def groupId(self):  # noqa: N802
        return self.GROUP[0]

    def shortHelpString(self):  # noqa: N802
        return self.tr(self.HELP)

    def shortDescription(self):  # noqa: N802
        return self.tr(self.HELP).split(". ")[0].rstrip(".") + "."

    def helpUrl(self):  # noqa: N802
        return help_url(self.ANCHOR)

    def displayName(self):  # noqa: N802
        return self.tr(self.TITLE)

    def name(self):
        return self.NAME


class _Canceled(Exception):
    """Raised from a progress callback to stop the library's work when the user cancels."""


def _run_batch(frame, feedback, **kwargs):
    """``cq_geo.bulk.run.batch`` on *frame*; French errors become QgsProcessingException."""
    from cq_geo.bulk.run import batch
    from cq_geo.errors import CqGeoError

    def progress(done, total):
        if feedback.isCanceled():
            raise _Canceled()

    try:
        out, _summary = batch(frame, progress=progress, **kwargs)
    except CqGeoError as exc:
        raise _fail(exc) from exc
    except ImportError as exc:
        from ..core.search import missing_module

        raise QgsProcessingException(str(missing_module(exc))) from exc
    return out


class BatchPointsAlgorithm(CqAlgorithm):
    """A point layer → the same layer with the ``cq_`` lookup fields (numpy only: ``Territory.lookup_arrays``)."""

    NAME = "batch_points"
    TITLE = "Géographie d'une couche de points"
    GROUP = ("analyse", "Analyse")
    HELP = (
        "Ajoute à chaque point sa géographie du Contrat Quartiers 2030 : commune et statut, équipe, QPV 2024 (statut "
        "et distance à la limite), poche de pauvreté, ancien quartier de veille active, géographie principale et "
        "avertissements en français (champs cq_). Tout système de coordonnées est accepté ; les entités sans "
        "géométrie sont gardées, avec cq_valid faux."
    )
    INPUT, OUTPUT = "INPUT", "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Couche de points"), [compat.source_type("VectorPoint")]))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Points avec leur géographie"), compat.source_type("VectorPoint")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        import numpy as np

        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        territory = _territory()
        columns = adapter.lookup_columns(territory)
        fields, kept = output_fields(source.fields(), adapter.fields_for(columns))
        sink, dest_id = self.parameterAsSink(
            parameters, self.OUTPUT, context, fields, source.wkbType(), source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        to_l93 = adapter.transform(source.sourceCrs(), adapter.crs(adapter.LAMBERT93), context.transformContext())
        total = source.featureCount() or 0
        done = 0
        chunk = []
        arrays_api = hasattr(territory, "lookup_arrays")

        def flush():
            xs = np.full(len(chunk), np.nan)
            ys = np.full(len(chunk), np.nan)
            for i, f in enumerate(chunk):
                g = f.geometry()
                if g is None or g.isEmpty():
                    continue
                p = g.centroid().asPoint() if g.isMultipart() else g.asPoint()
                try:
                    q = to_l93.transform(QgsPointXY(p))
                except Exception:  # noqa: BLE001 - a point the transform cannot handle stays invalid
                    continue
                xs[i], ys[i] = q.x(), q.y()
            if arrays_api:
                rows = adapter.column_rows(adapter.array_columns(territory, territory.lookup_arrays(x=xs, y=ys)),
                                           columns)
            else:  # a cq_geo before lookup_arrays: pandas
                rows = adapter.dataframe_rows(territory.lookup_many(x=xs, y=ys), columns)
            out = []
            for f, row in zip(chunk, rows):
                attrs = f.attributes()
                nf = QgsFeature(fields)
                nf.setGeometry(f.geometry())
                nf.setAttributes([attrs[i] for i in kept] + row)
                out.append(nf)
            sink.addFeatures(out, QgsFeatureSink.Flag.FastInsert)

        for f in source.getFeatures(QgsFeatureRequest()):
            if feedback.isCanceled():
                break
            chunk.append(f)
            if len(chunk) >= CHUNK:
                flush()
                done += len(chunk)
                chunk = []
                if total:
                    feedback.setProgress(100.0 * done / total)
        if chunk and not feedback.isCanceled():
            flush()
            done += len(chunk)
        feedback.setProgress(100.0)
        feedback.pushInfo(self.tr("{n} entité(s) traitée(s)").format(n=done))
        return {self.OUTPUT: dest_id}


class BatchAddressesAlgorithm(CqAlgorithm):
    """A table with addresses → points (WGS84) with status, reason, geocoding quality and ``cq_`` fields."""

    NAME = "batch_addresses"
    TITLE = "Éligibilité d'une table d'adresses"
    GROUP = ("analyse", "Analyse")
    HELP = (
        "Géocode les adresses (hors ligne avec l'index BAN installé depuis le panneau, Données › Installer "
        "l'index d'adresses BAN, ou en ligne), puis ajoute statut, raison, position, qualité du géocodage et "
        "géographie (commune, équipe, QPV, poche, ancien QVA). Les adresses non trouvées sont gardées, sans "
        "géométrie. Plusieurs champs d'adresse (numéro, voie…) sont joints dans l'ordre choisi."
    )
    INPUT, ADDRESS, POSTCODE, CITY, MODE, OUTPUT = "INPUT", "ADDRESS", "POSTCODE", "CITY", "MODE", "OUTPUT"
    MODES = ("offline", "online")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Table d'adresses"), [compat.source_type("Vector")]))
        self.addParameter(QgsProcessingParameterField(
            self.ADDRESS, self.tr("Champ(s) adresse"), parentLayerParameterName=self.INPUT, allowMultiple=True))
        self.addParameter(QgsProcessingParameterField(
            self.POSTCODE, self.tr("Champ code postal"), parentLayerParameterName=self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.CITY, self.tr("Champ commune"), parentLayerParameterName=self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.MODE, self.tr("Géocodeur"), [self.tr("hors ligne (BAN installée)"), self.tr("en ligne")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Adresses avec leur géographie"), compat.source_type("VectorPoint")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        _need_pandas()
        import pandas as pd

        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        address = self.parameterAsFields(parameters, self.ADDRESS, context)
        postcode = self.parameterAsString(parameters, self.POSTCODE, context) or None
        city = self.parameterAsString(parameters, self.CITY, context) or None
        mode = self.MODES[self.parameterAsEnum(parameters, self.MODE, context)]
        territory = _territory()
        columns = adapter.batch_columns(territory)
        fields, kept = output_fields(source.fields(), adapter.fields_for(columns))
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, compat.wkb_point(),
                                             QgsCoordinateReferenceSystem(adapter.WGS84))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        from cq_geo.errors import CqGeoError
        from cq_geo.geocode import get_geocoder

        try:
            if mode == "online":
                from ..core import net

                geocoder = get_geocoder(mode, transport=lambda *a: net.transport(*a, feedback=feedback))
            else:
                geocoder = get_geocoder(mode)
        except (CqGeoError, TypeError) as exc:
            raise _fail(exc) from exc
        wanted = [n for n in address + [postcode, city] if n]
        feats = list(source.getFeatures())
        total = len(feats) or 1
        step = 500
        done = 0
        for start in range(0, len(feats), step):
            if feedback.isCanceled():
                break
            part = feats[start:start + step]
            frame = pd.DataFrame({
                f"__cq_{i}": ["" if f[name] is None or f[name] == QVariant() else str(f[name]) for f in part]
                for i, name in enumerate(wanted)
            })
            alias = {name: f"__cq_{i}" for i, name in enumerate(wanted)}
            try:
                out = _run_batch(frame, feedback, territory=territory, address_cols=[alias[n] for n in address],
                                 postcode_col=alias.get(postcode), city_col=alias.get(city), geocoder=geocoder)
            except _Canceled:
                break
            rows = adapter.dataframe_rows(out, columns)
            lon_i, lat_i = columns.index("cq_lon"), columns.index("cq_lat")
            new = []
            for f, row in zip(part, rows):
                nf = QgsFeature(fields)
                if row[lon_i] is not None and row[lat_i] is not None:
                    nf.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(row[lon_i], row[lat_i])))
                attrs = f.attributes()
                nf.setAttributes([attrs[i] for i in kept] + row)
                new.append(nf)
            sink.addFeatures(new, QgsFeatureSink.Flag.FastInsert)
            done += len(part)
            feedback.setProgress(100.0 * done / total)
        feedback.pushInfo(self.tr("{n} adresse(s) traitée(s)").format(n=done))
        return {self.OUTPUT: dest_id}


class _StyleLayer(QgsProcessingLayerPostProcessorInterface):
    """Styles a loaded territory layer (kept alive by :data:`_POST_PROCESSORS`)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        from cq_geo.model import load_definition

        from ..core.layers import style

        if isinstance(layer, QgsVectorLayer):
            style(layer, self.name, load_definition())


_POST_PROCESSORS: list = []


class LoadLayersAlgorithm(CqAlgorithm):
    """The territory's layers (communes, QPV, poches, anciens QVA) in a GeoPackage, loaded styled."""

    NAME = "load_layers"
    TITLE = "Charger les couches du territoire"
    GROUP = ("territoire", "Territoire")
    HELP = (
        "Écrit les couches du territoire (communes et équipes, QPV 2024, poches de pauvreté, anciens quartiers "
        "de veille active) dans un GeoPackage en Lambert-93, depuis le magasin de données s'il existe ou les "
        "données embarquées, et les charge stylées dans le projet."
    )
    OUTPUT, LAYERS = "OUTPUT", "LAYERS"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("GeoPackage"), self.tr("GeoPackage (*.gpkg)")))
        self.addOutput(QgsProcessingOutputNumber(self.LAYERS, self.tr("Nombre de couches écrites")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from ..core.layers import layer_titles

        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if not path.lower().endswith(".gpkg"):
            path += ".gpkg"
        from ..core.geometry import load_outlines
        from ..core.service import TerritoryService

        territory = _territory()
        outlines = load_outlines(territory.definition, TerritoryService().store_path())
        titles = layer_titles()
        written = 0
        features = adapter.territory_features(territory, outlines)
        for i, (name, (fields, feats)) in enumerate(features.items()):
            if feedback.isCanceled():
                break
            layer = QgsVectorLayer(f"MultiPolygon?crs={adapter.LAMBERT93}", name, "memory")
            layer.dataProvider().addAttributes(fields.toList())
            layer.updateFields()
            layer.dataProvider().addFeatures(feats)
            options = QgsVectorFileWriter.SaveVectorOptions()
            options.driverName = "GPKG"
            options.layerName = name
            options.actionOnExistingFile = (
                QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile if written == 0
                else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer
            )
            err = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, context.transformContext(), options)
            if err[0] != QgsVectorFileWriter.WriterError.NoError:
                raise QgsProcessingException(self.tr("écriture de {name} impossible : {msg}").format(
                    name=name, msg=err[1]))
            written += 1
            details = QgsProcessingContext.LayerDetails(titles[name], QgsProject.instance(), name)
            post = _StyleLayer(name)
            _POST_PROCESSORS.append(post)
            details.setPostProcessor(post)
            context.addLayerToLoadOnCompletion(f"{path}|layername={name}", details)
            feedback.setProgress(100.0 * (i + 1) / len(features))
        return {self.OUTPUT: path, self.LAYERS: written}


class CheckAlgorithm(CqAlgorithm):
    """The territory's consistency report (what ``cq-geo check`` prints)."""

    GROUP = ("territoire", "Territoire")
    NAME = "check_territory"
    TITLE = "Contrôler le territoire"
    HELP = (
        "Vérifie la cohérence du territoire : zones sans périmètre, communes sans équipe, nombre de QPV, état de "
        "chaque couche (officielle, provisoire, absente) et questions ouvertes du contrat."
    )
    OUTPUT, REPORT, OK = "OUTPUT", "REPORT", "OK"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Rapport (texte)"), self.tr("Texte (*.txt)"), optional=True,
            createByDefault=False))
        self.addOutput(QgsProcessingOutputString(self.REPORT, self.tr("Rapport")))
        self.addOutput(QgsProcessingOutputBoolean(self.OK, self.tr("Territoire cohérent")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from cq_geo.report import check_text

        from ..core.log import plugin_words

        report = _territory().check()
        text = plugin_words(check_text(report))
        for line in text.splitlines():
            feedback.pushInfo(line)
        out = {self.REPORT: text, self.OK: bool(report["ok"])}
        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            out[self.OUTPUT] = path
        return out


class ExportMapAlgorithm(CqAlgorithm):
    """The council map (HTML page that works offline)."""

    NAME = "export_map"
    TITLE = "Exporter la carte pour le conseil"
    GROUP = ("territoire", "Territoire")
    HELP = ("Écrit la carte HTML du Contrat Quartiers 2030, qui s'ouvre dans un navigateur sans connexion. "
            "Proposé seulement quand ce QGIS a shapely 2.1 (sur le GEOS de QGIS) et pandas.")
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Carte HTML"), self.tr("Page HTML (*.html)")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from cq_geo.errors import CqGeoError
        from cq_geo.maps.webmap import export_map

        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        feedback.setProgress(10)
        try:
            export_map(path, territory=_territory())
        except (CqGeoError, ImportError) as exc:
            raise _fail(exc) from exc
        feedback.setProgress(100)
        return {self.OUTPUT: path}


class ImportDataAlgorithm(CqAlgorithm):
    """An official (or locally drawn) perimeter file into the data store, read by QGIS."""

    NAME = "import_official"
    TITLE = "Importer des périmètres"
    GROUP = ("donnees", "Données")
    HELP = (
        "Installe un fichier de périmètres dans le magasin de données (GeoPackage) : QPV 2024 de l'ANCT, "
        "contours des communes de l'IGN, ou périmètres dessinés par la CAPH (poches, anciens QVA, « provisoires »). "
        "QGIS lit le fichier (GeoJSON, GeoPackage, shapefile, zip) et le reprojette en Lambert-93 ; il est contrôlé "
        "avant l'installation, et en cas de problème le magasin n'est pas modifié. Sans magasin indiqué, celui de "
        "l'utilisateur est utilisé (créé au besoin)."
    )
    INPUT, KIND, STORE, REPORT, COUNT, STORE_PATH = "INPUT", "KIND", "STORE", "REPORT", "COUNT", "STORE_PATH"

    def initAlgorithm(self, config=None):  # noqa: N802
        from ..core.data_actions import IMPORT_KINDS

        self.addParameter(QgsProcessingParameterFile(self.INPUT, self.tr("Fichier de périmètres")))
        self.addParameter(QgsProcessingParameterEnum(
            self.KIND, self.tr("Type"), [self.tr(k[2]) for k in IMPORT_KINDS], defaultValue=0))
        self.addParameter(QgsProcessingParameterFile(
            self.STORE, self.tr("Magasin de données (GeoPackage ; vide : celui de l'utilisateur)"),
            extension="gpkg", optional=True))
        self.addOutput(QgsProcessingOutputString(self.REPORT, self.tr("Compte rendu")))
        self.addOutput(QgsProcessingOutputNumber(self.COUNT, self.tr("Entités installées")))
        self.addOutput(QgsProcessingOutputString(self.STORE_PATH, self.tr("Magasin de données")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from pathlib import Path

        from ..core.data_actions import IMPORT_KINDS, import_path
        from ..core.log import plugin_words
        from ..core.reader import ReadError
        from ..core.service import TerritoryService

        path = self.parameterAsFile(parameters, self.INPUT, context)
        kind, tier, label = IMPORT_KINDS[self.parameterAsEnum(parameters, self.KIND, context)]
        store_path = self.parameterAsFile(parameters, self.STORE, context) or None
        target = Path(store_path) if store_path else TerritoryService().target_store()
        feedback.pushInfo(self.tr("Import : {label}").format(label=self.tr(label)))
        feedback.setProgress(5)
        try:
            report = import_path(path, kind, tier, target, feedback=feedback)
        except ReadError as exc:
            raise QgsProcessingException(str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - French message, never a raw traceback
            raise _fail(exc) from exc
        count = int(getattr(report, "feature_count", 0) or 0)
        name = tier or kind
        text = self.tr("{kind} : {n} entité(s) installée(s) dans {store}").format(kind=name, n=count, store=target)
        if not getattr(report, "changed", True):
            text = self.tr("{kind} : fichier déjà installé, rien à faire").format(kind=name)
        for note in getattr(report, "notes", []) or []:
            feedback.pushInfo(plugin_words(str(note)))
        feedback.pushInfo(text)
        feedback.setProgress(100)
        return {self.REPORT: text, self.COUNT: count, self.STORE_PATH: str(target)}


def available_algorithms(caps=None) -> list[type]:
    """Algorithm classes this QGIS can run (capabilities checked at start): the others are not offered."""
    from ..core.service import capabilities

    caps = caps or capabilities()
    algs = [LoadLayersAlgorithm, CheckAlgorithm]
    if caps["batch_points"].available:
        algs.append(BatchPointsAlgorithm)
    if caps["batch_addresses"].available:
        algs.append(BatchAddressesAlgorithm)
    if caps["webmap"].available:
        algs.append(ExportMapAlgorithm)
    if caps["import"].available:
        algs.append(ImportDataAlgorithm)
    return algs


def unavailable_algorithms(caps=None) -> dict[str, str]:
    """``{title: French reason}`` of the algorithms not offered here (logged at start)."""
    from ..core.service import capabilities

    caps = caps or capabilities()
    out = {}
    for cls, cap in ((BatchPointsAlgorithm, "batch_points"), (BatchAddressesAlgorithm, "batch_addresses"),
                     (ExportMapAlgorithm, "webmap"), (ImportDataAlgorithm, "import")):
        if not caps[cap].available:
            out[cls.TITLE] = caps[cap].reason
    return out
