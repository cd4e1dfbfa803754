"""The territory's layers in the project: one group, styled (team colours, tier styles, labels).

When the store GeoPackage exists its layers are opened directly (so planners
can edit local perimeters in QGIS, then « Actualiser » in the panel); with a
shared store (PostgreSQL) they are opened through QGIS's own ``postgres``
provider with the user's connection, editable for the editors' role; else the
embedded baseline is shown as in-memory layers.
"""

from __future__ import annotations

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFillSymbol,
    QgsPalLayerSettings,
    QgsProject,
    QgsRendererCategory,
    QgsSingleSymbolRenderer,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor, QFont

from . import adapter
from .translation import tr

GROUP_NAME = "Contrat Quartiers 2030"
#: Team colours (fill), and the colour of communes without a team.
TEAM_COLOURS = {"nord": "#3a7dc9", "sud": "#e0892b", "": "#bdbdbd"}
TIER_STYLES = {
    # fill colour, fill alpha, outline colour, outline width (mm), outline style, brush
    "qpv": ("#d7301f", 90, "#990000", 0.7, "solid", "solid"),
    "poche": ("#fd8d3c", 110, "#a63603", 0.5, "solid", "b_diagonal"),
    "qva": ("#756bb1", 40, "#54278f", 0.5, "dash", "solid"),
}


def layer_titles(definition=None) -> dict[str, str]:
    """Layer titles; a tier the plugin does not know (another territory file) takes its file's layer name."""
    titles = {
        "communes": tr("Communes et équipes"),
        "qpv": tr("QPV 2024"),
        "poche": tr("Poches de pauvreté"),
        "qva": tr("Anciens quartiers de veille active"),
    }
    if definition is not None:
        for tier_id, tier in definition.tiers.items():
            if tier_id not in titles:
                titles[tier_id] = tier.layer_name or (tier.plural or tier.short_label)[:1].upper() + \
                    (tier.plural or tier.short_label)[1:]
    return titles


def tier_style(tier: str, definition=None) -> tuple:
    """The style of *tier*: the plugin's own for the CAPH's three, else from its colour in the territory file."""
    if tier in TIER_STYLES:
        return TIER_STYLES[tier]
    colour = "#666666"
    if definition is not None and tier in definition.tiers and definition.tiers[tier].colour:
        colour = definition.tiers[tier].colour
    return (colour, 70, QColor(colour).darker(140).name(), 0.5, "solid", "solid")


def _first_field(layer: QgsVectorLayer, names) -> str | None:
    present = {f.name().lower(): f.name() for f in layer.fields()}
    for n in names:
        if n in present:
            return present[n]
    return None


def team_expression(layer: QgsVectorLayer, definition) -> str:
    """An expression giving the team id of a commune feature, from its INSEE code."""
    field = _first_field(layer, ("insee", "code_insee", "insee_com", "code"))
    if field is None:
        return "''"
    parts = []
    for team in definition.teams.values():
        codes = ",".join(f"'{c}'" for c in team.communes)
        parts.append(f"WHEN \"{field}\" IN ({codes}) THEN '{team.id}'")
    return "CASE " + " ".join(parts) + " ELSE '' END"


def _text_format(size: float, colour: str, bold: bool = False) -> QgsTextFormat:
    fmt = QgsTextFormat()
    font = QFont("Sans Serif")
    font.setBold(bold)
    fmt.setFont(font)
    fmt.setSize(size)
    fmt.setColor(QColor(colour))
    buffer = QgsTextBufferSettings()
    buffer.setEnabled(True)
    buffer.setSize(0.8)
    buffer.setColor(QColor("white"))
    fmt.setBuffer(buffer)
    return fmt


def _labels(layer: QgsVectorLayer, field: str | None, size: float, colour: str, bold: bool = False) -> None:
    if field is None:
        return
    settings = QgsPalLayerSettings()
    settings.fieldName = field
    settings.enabled = True
    settings.setFormat(_text_format(size, colour, bold))
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def style_communes(layer: QgsVectorLayer, definition) -> None:
    """Communes coloured by team (the territory file's teams, then none), labelled with their name."""
    categories = []
    names = {t.id: t.name for t in definition.teams.values()}
    palette = ("#3a7dc9", "#e0892b", "#4daf4a", "#984ea3", "#a65628", "#f781bf")
    colours = {tid: TEAM_COLOURS.get(tid, palette[i % len(palette)]) for i, tid in enumerate(names)}
    colours[""] = TEAM_COLOURS[""]  # the territory's teams, then the communes without a team
    for team_id, colour in colours.items():
        symbol = QgsFillSymbol.createSimple({
            "color": QColor(colour).name() + "", "outline_color": "#ffffff", "outline_width": "0.4",
        })
        c = QColor(colour)
        c.setAlpha(120 if team_id else 70)
        symbol.setColor(c)
        symbol.symbolLayer(0).setStrokeColor(QColor("#4d4d4d"))
        symbol.symbolLayer(0).setStrokeWidth(0.25)
        label = names.get(team_id, tr("Sans équipe"))
        categories.append(QgsRendererCategory(team_id, symbol, label))
    layer.setRenderer(QgsCategorizedSymbolRenderer(team_expression(layer, definition), categories))
    _labels(layer, _first_field(layer, ("nom", "name", "nom_commune", "insee")), 7.5, "#333333")


def style_tier(layer: QgsVectorLayer, tier: str, definition=None) -> None:
    """A tier's zones: QPV red, poches orange hatched, former QVA purple dashed, another tier in its file's
    colour; labels."""
    fill, alpha, outline, width, line_style, brush = tier_style(tier, definition)
    symbol = QgsFillSymbol.createSimple({
        "color": fill, "style": brush, "outline_color": outline, "outline_width": str(width),
        "outline_style": line_style,
    })
    c = QColor(fill)
    c.setAlpha(alpha)
    symbol.symbolLayer(0).setFillColor(c)
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))  # a new renderer: the legend follows
    _labels(layer, _first_field(layer, ("nom", "name", "lib_qp", "code", "code_qp")), 8 if tier == "qpv" else 7, outline, tier == "qpv")


def style(layer: QgsVectorLayer, name: str, definition) -> None:
    """Style *layer*; the Layers panel's legend is refreshed to match the map."""
    if name == "communes":
        style_communes(layer, definition)
    else:
        style_tier(layer, name, definition)
    layer.triggerRepaint()
    layer.emitStyleChanged()
    try:
        from qgis.utils import iface

        if iface is not None and iface.layerTreeView() is not None:
            iface.layerTreeView().refreshLayerSymbology(layer.id())
    except Exception:  # noqa: BLE001 - headless (qgis_process)
        pass


def open_store_layers(path, definition=None) -> dict[str, QgsVectorLayer]:
    """The store GeoPackage's layers that exist and are valid."""
    titles = layer_titles(definition)
    out = {}
    names = ("communes",) + tuple(definition.tier_ids) if definition is not None else adapter.LAYER_NAMES
    for name in names:
        layer = QgsVectorLayer(f"{path}|layername={name}", titles[name], "ogr")
        if layer.isValid():
            layer.setCustomProperty("cq_geo/layer", name)
            out[name] = layer
    return out


#: Custom property of a layer opened from the shared store: its layer name (communes, qpv, poche…).
SHARED_PROPERTY = "cq_geo/shared"


def open_shared_layers(url: str, definition=None) -> dict[str, QgsVectorLayer]:
    """The shared store's layers through QGIS's ``postgres`` provider (``cq_geo.data.pgstore.qgis_layer_sources``):
    the user's connection as given (``service=``, libpq files, QGIS's authentication database), never a password.
    Editable when the user's role may edit (editors' role); read only otherwise."""
    from cq_geo.data.pgstore import qgis_layer_sources

    titles = layer_titles(definition)
    wanted = ("communes",) + tuple(definition.tier_ids) if definition is not None else adapter.LAYER_NAMES
    out = {}
    titles["history"] = tr("Historique des modifications")
    for name, source in qgis_layer_sources(url):
        if name not in wanted and name != "history":
            continue
        layer = QgsVectorLayer(source, titles.get(name, name), "postgres")
        if layer.isValid():
            layer.setCustomProperty("cq_geo/layer", name)
            layer.setCustomProperty(SHARED_PROPERTY, name)
            out[name] = layer
    if not out:
        from cq_geo.data.pgstore import safe_label
        from cq_geo.errors import DataError

        raise DataError(f"les couches du magasin partagé {safe_label(url)} ne s'ouvrent pas dans QGIS : vérifiez la "
                        "connexion PostgreSQL, vos droits, et que le géomaticien a créé le magasin partagé de ce "
                        "territoire")
    return out


def build_layers(service) -> tuple[dict[str, QgsVectorLayer], str]:
    """Styled layers and where they come from ("shared", "store" or "baseline")."""
    territory = service.territory
    path = service.store_path()
    layers, origin = {}, "baseline"
    shared = service.shared_url()
    if shared:
        layers, origin = open_shared_layers(shared, territory.definition), "shared"
    elif path is not None:
        layers = open_store_layers(path, territory.definition)
        origin = "store"
    if not layers:
        from .geometry import load_outlines

        outlines = getattr(service, "outlines", None) or load_outlines(territory.definition, None)
        layers = adapter.territory_memory_layers(territory, outlines, layer_titles(territory.definition))
        origin = "baseline"
    for name, layer in layers.items():
        if name != "history":  # the history table keeps QGIS's default style (hidden in the group)
            style(layer, name, territory.definition)
    return layers, origin


def add_to_project(layers: dict[str, QgsVectorLayer], project: QgsProject | None = None):
    """Put *layers* in the group « Contrat Quartiers 2030 » (replacing the previous ones), below the user's layers.

    The group goes where the previous one was, else at the bottom of the Layers panel: the user's own
    layers (sites, addresses) stay drawn above the territory's polygons.
    """
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.findGroup(GROUP_NAME)
    position = len(root.children())
    if group is not None:
        position = root.children().index(group)
        ids = [node.layerId() for node in group.findLayers()]
        root.removeChildNode(group)
        project.removeMapLayers(ids)
    group = root.insertGroup(min(position, len(root.children())), GROUP_NAME)
    # zones above communes, the first tier (QPV) on top; the shared store's history last, unticked
    for name in [n for n in layers if n not in ("communes", "history")] + ["communes", "history"]:
        layer = layers.get(name)
        if layer is None:
            continue
        project.addMapLayer(layer, False)
        node = group.addLayer(layer)
        if name == "history":
            node.setItemVisibilityChecked(False)
    return group
