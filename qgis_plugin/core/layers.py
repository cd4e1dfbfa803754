"""The territory's layers in the project: one group, styled (team colours, tier styles, labels).

When the store GeoPackage exists its layers are opened directly (so planners
can edit local perimeters in QGIS, then « Actualiser » in the panel); else the
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


def layer_titles() -> dict[str, str]:
    return {
        "communes": tr("Communes et équipes"),
        "qpv": tr("QPV 2024"),
        "poche": tr("Poches de pauvreté"),
        "qva": tr("Anciens quartiers de veille active"),
    }


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
    """Communes coloured by team (Nord, Sud, none), labelled with their name."""
    categories = []
    names = {t.id: t.name for t in definition.teams.values()}
    for team_id, colour in TEAM_COLOURS.items():
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


def style_tier(layer: QgsVectorLayer, tier: str) -> None:
    """A tier's zones: QPV red, poches orange hatched, former QVA purple dashed; labels."""
    fill, alpha, outline, width, line_style, brush = TIER_STYLES[tier]
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
        style_tier(layer, name)
    layer.triggerRepaint()
    layer.emitStyleChanged()
    try:
        from qgis.utils import iface

        if iface is not None and iface.layerTreeView() is not None:
            iface.layerTreeView().refreshLayerSymbology(layer.id())
    except Exception:  # noqa: BLE001 - headless (qgis_process)
        pass


def open_store_layers(path) -> dict[str, QgsVectorLayer]:
    """The store GeoPackage's layers that exist and are valid."""
    titles = layer_titles()
    out = {}
    for name in adapter.LAYER_NAMES:
        layer = QgsVectorLayer(f"{path}|layername={name}", titles[name], "ogr")
        if layer.isValid():
            layer.setCustomProperty("cq_geo/layer", name)
            out[name] = layer
    return out


def build_layers(service) -> tuple[dict[str, QgsVectorLayer], str]:
    """Styled layers and where they come from ("store" or "baseline")."""
    territory = service.territory
    path = service.store_path()
    layers, origin = {}, "baseline"
    if path is not None:
        layers = open_store_layers(path)
        origin = "store"
    if not layers:
        from .geometry import load_outlines

        outlines = getattr(service, "outlines", None) or load_outlines(territory.definition, None)
        layers = adapter.territory_memory_layers(territory, outlines, layer_titles())
        origin = "baseline"
    for name, layer in layers.items():
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
    # zones above communes, QPV on top
    for name in ("qpv", "poche", "qva", "communes"):
        layer = layers.get(name)
        if layer is None:
            continue
        project.addMapLayer(layer, False)
        group.addLayer(layer)
    return group
