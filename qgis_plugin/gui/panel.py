"""The dock panel « Contrat Quartiers 2030 »: search, click, answer, layer status."""

from __future__ import annotations

import html

from qgis.core import Qgis, QgsGeometry, QgsPointXY, QgsRectangle, QgsSettings
from qgis.gui import QgsRubberBand, QgsVertexMarker
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import adapter, compat, search
from ..core.log import bar, guarded, plugin_words
from ..core.translation import tr

STATUS_COLOURS = {
    "inside": "#1a9641", "boundary": "#e66101", "near": "#b8860b", "outside": "#777777", "unknown": "#7b3294",
}
LAYER_COLOURS = {
    "official": "#1a9641", "validated": "#1a9641", "provisional": "#e66101", "simplified": "#b8860b",
    "approximate": "#b8860b", "missing": "#c0392b",
}
TEAM_BADGE = {"nord": "#3a7dc9", "sud": "#e0892b"}


def esc(value) -> str:
    """*value* as HTML text (None gives "")."""
    return html.escape(str(value if value is not None else ""))


def status_words() -> dict[str, str]:
    return {
        "inside": tr("dedans"), "boundary": tr("sur la limite"), "near": tr("tout près (dehors)"),
        "outside": tr("dehors"), "unknown": tr("inconnu (périmètre non installé)"),
    }


def short_status_words() -> dict[str, str]:
    """Statuses in the answer's table (the tier's geometry status says why one is unknown)."""
    return {
        "inside": tr("dedans"), "boundary": tr("sur la limite"), "near": tr("tout près"),
        "outside": tr("dehors"), "unknown": tr("inconnu"),
    }


def layer_status_words() -> dict[str, str]:
    return {
        "official": tr("officielle"), "validated": tr("validée"), "provisional": tr("provisoire"),
        "simplified": tr("simplifiée"), "approximate": tr("approximative"), "missing": tr("absente"),
    }


#: The territory definition whose tier words the panel shows (set at every (re)load by the dock).
_DEFINITION = {"current": None}


def tier_words() -> dict[str, str]:
    """Tier titles; a tier of another territory file the plugin does not know takes its file's heading."""
    words = {"qpv": tr("QPV 2024"), "poche": tr("Poche de pauvreté"), "qva": tr("Ancien QVA")}
    d = _DEFINITION["current"]
    for tier_id, tier in (d.tiers.items() if d is not None else ()):
        words.setdefault(tier_id, tier.heading or tier.short_label)
    return words


def layer_words() -> dict[str, str]:
    words = {"communes": tr("communes"), "qpv": tr("QPV"), "poche": tr("poches"), "qva": tr("anciens QVA")}
    d = _DEFINITION["current"]
    for tier_id, tier in (d.tiers.items() if d is not None else ()):
        words.setdefault(tier_id, tier.plural or tier.short_label)
    return words


def metres(value) -> str:
    if value is None:
        return ""
    return f"{value:,.0f} m".replace(",", "\u202f") if value >= 10 else f"{value:.1f} m".replace(".", ",")


def answer_html(result: dict) -> str:
    """The answer (``LookupResult.to_dict()``) as HTML for the panel."""
    sw, tw, lw, lsw = status_words(), tier_words(), layer_words(), layer_status_words()
    ssw = short_status_words()
    out = []
    c = result.get("commune")
    team = result.get("team")
    if c:
        extra = "" if c["status"] == "inside" else f" <small>({esc(sw.get(c['status'], c['status']))})</small>"
        out.append(f"<h3 style='margin:0'>{esc(c['name'])} <small>({esc(c['insee'])})</small>{extra}</h3>")
    else:
        out.append(f"<h3 style='margin:0'>{esc(tr('Hors du territoire'))}</h3>"
                   f"<p>{esc(result['territory']['name'])}</p>")
    if team:
        colour = TEAM_BADGE.get(team["id"], "#555555")
        out.append(f"<p><span style='background:{colour};color:white;font-weight:bold'>&nbsp;{esc(team['name'])}&nbsp;</span></p>")
    elif c:
        out.append(f"<p><i>{esc(tr('Aucune équipe désignée par le contrat pour cette commune'))}</i></p>")

    primary = result.get("primary")
    if primary:
        zone = next((z for z in result["zones"] if z["code"] == primary["code"]), None)
        name = zone["name"] if zone else primary["code"]
        out.append(f"<p><b>{esc(tr('Géographie principale'))} :</b> {esc(tw.get(primary['tier'], primary['tier']))} — "
                   f"{esc(name)} <small>({esc(primary['code'])})</small></p>")
    else:
        out.append(f"<p><b>{esc(tr('Géographie principale'))} :</b> {esc(tr('aucune'))}</p>")

    if result["zones"]:
        rows = [f"<tr><th align='left'>{esc(tr('Niveau'))}</th><th align='left'>{esc(tr('Zone'))}</th>"
                f"<th align='left'>{esc(tr('Statut'))}</th><th align='right'>{esc(tr('Limite à'))}</th></tr>"]
        for z in result["zones"]:
            colour = STATUS_COLOURS.get(z["status"], "#000000")
            geom = "" if z["geometry_status"] in ("official", "validated") else \
                f" <small>[{esc(tr('couche'))} {esc(lsw.get(z['geometry_status'], z['geometry_status']))}]</small>"
            rows.append(
                f"<tr><td>{esc(tw.get(z['tier'], z['tier']))}</td><td>{esc(z['name'])} <small>{esc(z['code'])}</small>{geom}</td>"
                f"<td style='color:{colour}'><b>{esc(ssw.get(z['status'], z['status']))}</b></td>"
                f"<td align='right'>{esc(metres(z['distance_m']))}</td></tr>"
            )
        out.append("<table cellspacing='0' cellpadding='2' width='100%'>" + "".join(rows) + "</table>")
    else:
        out.append(f"<p>{esc(tr('Aucune zone du contrat à proximité.'))}</p>")

    if team and team.get("leads"):
        out.append(f"<p><b>{esc(tr('Chefs de projet de l’équipe'))} :</b></p><ul style='margin-top:0'>")
        for lead in team["leads"]:
            out.append(f"<li>{esc(lead['title'])} — {esc(lead['orientation_detail'])}"
                       f"{' / ' + esc(lead['axis_detail']) if lead['axis_detail'] else ''}</li>")
        out.append("</ul>")
    for lead in result.get("qpv_leads", []):
        out.append(f"<p><b>{esc(tr('Pour les QPV'))} :</b> {esc(lead['title'])} ({esc(lead['axis_detail'])})</p>")

    if result["warnings"]:
        out.append(f"<p style='color:#b35806'><b>{esc(tr('À vérifier'))} :</b></p><ul style='margin-top:0;color:#b35806'>")
        out.extend(f"<li>{esc(w)}</li>" for w in result["warnings"])
        out.append("</ul>")

    src = []
    for name, info in result["layers"].items():
        colour = LAYER_COLOURS.get(info["status"], "#000")
        vintage = f" {info['vintage']}" if info.get("vintage") else ""
        src.append(f"{esc(lw.get(name, name))} : <span style='color:{colour}'>"
                   f"{esc(lsw.get(info['status'], info['status']))}</span>{esc(vintage)}")
    p = result["point"]
    out.append(f"<p style='color:#555'><small>{esc(tr('Sources'))} : {' · '.join(src)}<br>"
               f"lon {p['lon']:.6f}, lat {p['lat']:.6f} — Lambert-93 x {p['x']:.1f}, y {p['y']:.1f}</small></p>")
    return "\n".join(out)


SETTINGS_GEOCODER = "cq_geo/geocoder"


def geocoder_mode() -> str:
    """The geocoder chosen in the panel: ``offline`` (default) or ``online``."""
    mode = str(QgsSettings().value(SETTINGS_GEOCODER, "offline") or "offline")
    return mode if mode in ("offline", "online") else "offline"


def set_geocoder_mode(mode: str) -> None:
    QgsSettings().setValue(SETTINGS_GEOCODER, mode)


class CqGeoDock(QDockWidget):
    """The panel. ``answered`` is emitted with the answer's dict after every lookup."""

    answered = pyqtSignal(dict)
    OBJECT_NAME = "CqGeoDock"

    def __init__(self, iface, service, parent=None):
        super().__init__(tr("Contrat Quartiers 2030"), parent)
        self.setObjectName(self.OBJECT_NAME)
        self.iface = iface
        self.service = service
        self.canvas = iface.mapCanvas() if iface is not None else None
        self.result = None  # the last LookupResult
        self.map_tool = None  # set by the plugin
        self.actions_handler = None  # set by the plugin: download/import/ban/check/load layers
        self.on_geocoder_mode = None  # set by the plugin: the locator follows the panel's choice
        self._rubber = None
        self._marker = None
        self._search_job = None

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self._territory_row(body))
        layout.addLayout(self._build_search_row(body))
        layout.addLayout(self._build_geocoder_row(body))
        layout.addWidget(self._build_choices(body))
        layout.addLayout(self._build_answer_actions(body))
        self._build_answer_area(body, layout)
        layout.addLayout(self._build_data_row(body))
        self.setWidget(body)
        self._connect_data_actions()

    def _build_search_row(self, body) -> QHBoxLayout:
        """The address field and « Chercher »."""
        row = QHBoxLayout()
        self.search_edit = QLineEdit(body)
        self.search_edit.setPlaceholderText(tr("Adresse, commune, QPV ou coordonnées…"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.returnPressed.connect(self.run_search)
        self.search_button = QPushButton(tr("Chercher"), body)
        self.search_button.clicked.connect(self.run_search)
        row.addWidget(self.search_edit, 1)
        row.addWidget(self.search_button)
        return row

    def _build_geocoder_row(self, body) -> QHBoxLayout:
        """« Géocodeur : » BAN offline or the online service (remembered in QgsSettings)."""
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Géocodeur :"), body))
        self.geocoder_combo = QComboBox(body)
        self.geocoder_combo.addItem(tr("BAN hors ligne"), "offline")
        self.geocoder_combo.addItem(tr("en ligne (Géoplateforme)"), "online")
        self.geocoder_combo.setToolTip(tr("Les adresses sont cherchées dans l'index BAN installé sur ce poste "
                                          "(Données › Installer l'index d'adresses BAN…), ou envoyées au "
                                          "service en ligne de la Géoplateforme"))
        self.geocoder_combo.setCurrentIndex(max(0, self.geocoder_combo.findData(geocoder_mode())))
        self.geocoder_combo.currentIndexChanged.connect(self._geocoder_changed)
        row.addWidget(self.geocoder_combo, 1)
        return row

    def _build_choices(self, body) -> QListWidget:
        """The list of candidates when a search has several answers (hidden until then)."""
        self.choices = QListWidget(body)
        self.choices.setVisible(False)
        self.choices.setMaximumHeight(120)
        self.choices.itemActivated.connect(self._choose)
        self.choices.itemClicked.connect(self._choose)
        return self.choices

    def _build_answer_actions(self, body) -> QHBoxLayout:
        """« Cliquer sur la carte », « Copier », « Zoomer sur la zone », « Fiche… » (enabled by an answer)."""
        row = QHBoxLayout()
        self.click_button = QPushButton(tr("Cliquer sur la carte"), body)
        self.click_button.setCheckable(True)
        self.click_button.setToolTip(tr("Cliquez un point de la carte pour savoir quelle géographie le couvre"))
        self.click_button.toggled.connect(self._toggle_tool)
        row.addWidget(self.click_button)
        self.copy_button = QPushButton(tr("Copier"), body)
        self.copy_button.setToolTip(tr("Copier la réponse en texte"))
        self.copy_button.clicked.connect(self.copy_text)
        self.zoom_button = QPushButton(tr("Zoomer sur la zone"), body)
        self.zoom_button.clicked.connect(self.zoom_to_zone)
        self.fiche_button = QPushButton(tr("Fiche…"), body)
        self.fiche_button.setToolTip(tr("Enregistrer la fiche d'éligibilité de ce point (page A4 à imprimer, hors ligne)"))
        self.fiche_button.clicked.connect(self.save_fiche)
        for b in (self.copy_button, self.zoom_button, self.fiche_button):
            b.setEnabled(False)
            row.addWidget(b)
        return row

    def _build_answer_area(self, body, layout: QVBoxLayout) -> None:
        """The answer (stretches) and the status line under it."""
        self.answer = QTextBrowser(body)
        self.answer.setOpenExternalLinks(False)
        self.answer.setHtml(f"<p style='color:#555'>{esc(tr('Cherchez une adresse ou cliquez sur la carte.'))}</p>")
        layout.addWidget(self.answer, 1)

        self.status_label = QLabel(body)
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.status_label)

    def _data_menu(self) -> QMenu:
        """« Données ▾ »: official download, import, BAN index, shared store, perimeter check."""
        menu = QMenu(self.data_button)
        menu.setToolTipsVisible(True)
        self.download_action = menu.addAction(tr("Télécharger les données officielles (communes IGN, QPV ANCT)"))
        self.import_action = menu.addAction(tr("Importer un fichier de périmètres…"))
        self.ban_action = menu.addAction(tr("Installer l'index d'adresses BAN…"))
        menu.addSeparator()
        self.shared_action = menu.addAction(tr("Magasin partagé (PostgreSQL)…"))
        self.validate_action = menu.addAction(tr("Valider le périmètre…"))
        return menu

    def _build_data_row(self, body) -> QHBoxLayout:
        """« Données ▾ », « Contrôler », « Couches », « Actualiser »."""
        row = QHBoxLayout()
        self.data_button = QToolButton(body)
        self.data_button.setText(tr("Données"))
        self.data_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.data_button.setMenu(self._data_menu())
        self.check_button = QPushButton(tr("Contrôler"), body)
        self.check_button.setToolTip(tr("Contrôler la cohérence du territoire"))
        self.layers_button = QPushButton(tr("Couches"), body)
        self.layers_button.setToolTip(tr("Charger les couches du territoire, stylées, dans le projet"))
        self.refresh_button = QPushButton(tr("Actualiser"), body)
        self.refresh_button.setToolTip(tr("Relire le magasin de données (après un import ou une modification)"))
        for w in (self.data_button, self.check_button, self.layers_button, self.refresh_button):
            row.addWidget(w)
        return row

    def _connect_data_actions(self) -> None:
        """The data row's actions go to the plugin's handler (see :meth:`_act`) or to the panel."""
        self.download_action.triggered.connect(lambda: self._act("download"))
        self.import_action.triggered.connect(lambda: self._act("import"))
        self.ban_action.triggered.connect(lambda: self._act("ban"))
        self.shared_action.triggered.connect(self.choose_shared_store)
        self.validate_action.triggered.connect(self.validate_perimeter)
        self.check_button.clicked.connect(lambda: self._act("check"))
        self.layers_button.clicked.connect(lambda: self._act("layers"))
        self.refresh_button.clicked.connect(self.refresh)

    def _territory_row(self, body) -> QHBoxLayout:
        """« Territoire : Valenciennes Métropole  [Territoire… ▾] » (the folder written by cq-geo territory init)."""
        row = QHBoxLayout()
        self.territory_label = QLabel(body)
        self.territory_label.setTextFormat(Qt.TextFormat.RichText)
        self.territory_label.setWordWrap(True)
        self.territory_button = QToolButton(body)
        self.territory_button.setText(tr("Territoire…"))
        self.territory_button.setToolTip(tr("Choisir le dossier du territoire (territory.toml et "
                                            "communes_baseline.geojson, préparés par le géomaticien)"))
        self.territory_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(self.territory_button)
        self.territory_choose_action = menu.addAction(tr("Choisir le dossier d'un territoire…"))
        self.territory_default_action = menu.addAction(tr("Revenir au territoire par défaut"))
        self.territory_button.setMenu(menu)
        self.territory_button.clicked.connect(self.choose_territory)
        self.territory_choose_action.triggered.connect(self.choose_territory)
        self.territory_default_action.triggered.connect(self.default_territory)
        row.addWidget(self.territory_label, 1)
        row.addWidget(self.territory_button)
        return row

    # -- territory and store choices ------------------------------------------------------
    @guarded("Territoire")
    def choose_territory(self, *_args, path: str | None = None) -> bool:
        """Choose the territory folder (dialog unless *path*), save it (QgsSettings), load it; True when loaded."""
        from pathlib import Path

        from ..core.service import SETTINGS_TERRITORY, save_setting

        if path is None:
            start = self.service.chosen_territory() or str(Path.home())
            path = QFileDialog.getExistingDirectory(self, tr("Dossier du territoire"),
                                                    start)
        if not path:
            return False
        folder = Path(path)
        if folder.suffix.lower() == ".toml":
            folder = folder.parent
        if not (folder / "territory.toml").is_file():
            bar(tr("Ce dossier ne contient pas de territory.toml : {folder}. Choisissez le dossier du territoire "
                   "préparé par le géomaticien (territory.toml et communes_baseline.geojson).").format(folder=folder),
                Qgis.MessageLevel.Warning, 10)
            return False
        save_setting(SETTINGS_TERRITORY, str(folder))
        return self._territory_changed()

    @guarded("Territoire")
    def default_territory(self, *_args) -> bool:
        """Back to the default territory (``CQ_GEO_TERRITORY``, else the embedded one)."""
        from ..core.service import SETTINGS_TERRITORY, save_setting

        save_setting(SETTINGS_TERRITORY, "")
        return self._territory_changed()

    def _territory_changed(self) -> bool:
        self.clear_answer(tr("Cherchez une adresse ou cliquez sur la carte."))
        self.result = None
        self.service.territory_dir = None  # the saved choice
        self.service.reload()  # the plugin's listener updates the status, outlines, search index and locator
        if not self.service.loaded:
            return False
        bar(tr("Territoire : {name}.").format(name=self.service.territory_label()), Qgis.MessageLevel.Success, 4)
        return True

    @guarded("Magasin partagé")
    def choose_shared_store(self, *_args, name: str | None = None, conninfo: str | None = None) -> bool:
        """Use a shared store (PostgreSQL): one of the user's QGIS connections (dialog unless *name* or
        *conninfo*), or « Aucun » to go back to the local store. Loads its layers when it reads."""
        from ..core import shared
        from ..core.service import SETTINGS_SHARED, save_setting

        none, other = tr("Aucun (magasin local de ce poste)"), tr("Un service de pg_service.conf…")
        connections = shared.qgis_connections()
        if name is None and conninfo is None:
            items = [none] + list(connections) + [other]
            name, ok = QInputDialog.getItem(self, tr("Magasin partagé"), tr(
                "Connexion PostgreSQL de QGIS (Explorateur › PostgreSQL) où le géomaticien a créé le magasin "
                "partagé :"), items, 0, False)
            if not ok:
                return False
        if name == none:
            save_setting(SETTINGS_SHARED, "")
            self.service.reload()
            bar(tr("Magasin partagé quitté : magasin local de ce poste."), Qgis.MessageLevel.Info, 4)
            return True
        if conninfo is None and name == other:
            service_name, ok = QInputDialog.getText(self, tr("Magasin partagé"),
                                                    tr("Nom du service (pg_service.conf) :"))
            if not ok or not service_name.strip():
                return False
            conninfo = shared.conninfo_from_parts({"service": service_name.strip()})
        elif conninfo is None:
            if name not in connections:
                bar(tr("Connexion PostgreSQL inconnue dans QGIS : {name}.").format(name=name),
                    Qgis.MessageLevel.Warning, 8)
                return False
            conninfo = connections[name][0]
        missing = shared.psycopg2_missing()
        if missing:
            bar(tr("Magasin partagé indisponible : {reason}.").format(reason=missing), Qgis.MessageLevel.Critical, 0)
            return False
        save_setting(SETTINGS_SHARED, conninfo)
        self.service.reload()
        if not self.service.loaded:
            return False  # the listener shows why, and the panel says how to go back
        from cq_geo.data.pgstore import safe_label

        bar(tr("Magasin partagé : {label}.").format(label=safe_label(conninfo)), Qgis.MessageLevel.Success, 4)
        self._act("layers")
        return True

    def selected_zone_code(self) -> str:
        """The zone code of the feature selected in the active cq-geo layer, else of the answer's primary zone."""
        layer = self.iface.activeLayer() if self.iface is not None else None
        territory = self.service.try_territory()
        local = set(territory.definition.local_tier_ids) if territory is not None else set()
        if layer is not None and layer.customProperty("cq_geo/layer", "") in local \
                and layer.fields().indexOf("code") >= 0:
            feats = list(layer.getSelectedFeatures())
            if len(feats) == 1:
                return str(feats[0]["code"] or "")
        if self.result is not None and self.result.primary and self.result.primary["tier"] in local:
            return self.result.primary["code"]
        return ""

    @guarded("Validation du périmètre")
    def validate_perimeter(self, *_args, code: str | None = None, by: str | None = None) -> dict | None:
        """« Valider le périmètre… »: the selected zone (else the answer's, else asked), validated by *by* (asked,
        the QGIS user's name proposed) with the library's ``validate_zone`` — as ``cq-geo data validate-zone``."""
        from qgis.core import QgsProject

        from ..core import shared

        for layer in QgsProject.instance().mapLayers().values():
            if layer.customProperty("cq_geo/layer", "") and getattr(layer, "isModified", lambda: False)():
                bar(tr("Enregistrez d'abord les modifications de la couche « {layer} » (Couche › Enregistrer "
                       "les modifications) : seul un périmètre enregistré se valide.").format(layer=layer.name()),
                    Qgis.MessageLevel.Warning, 10)
                return None
        code = code or self.selected_zone_code()
        if not code:
            codes = shared.zone_codes(self.service)
            if not codes:
                bar(tr("Aucune zone à valider dans ce territoire."), Qgis.MessageLevel.Warning, 6)
                return None
            code, ok = QInputDialog.getItem(self, tr("Valider le périmètre"), tr("Zone :"), codes, 0, False)
            if not ok or not code:
                return None
        if by is None:
            by, ok = QInputDialog.getText(self, tr("Valider le périmètre"),
                                          tr("Périmètre {code} : validé par (service ou fonction) :").format(code=code),
                                          QLineEdit.EchoMode.Normal, shared.user_name())
            if not ok:
                return None
        row = shared.validate(self.service, code, by)
        self.service.reload()
        for layer in QgsProject.instance().mapLayers().values():
            if layer.customProperty("cq_geo/layer", ""):
                layer.dataProvider().reloadData()
                layer.triggerRepaint()
        self.refresh_answer()
        bar(tr("Périmètre {code} validé par {by}.").format(code=code, by=row.get("validated_by") or by),
            Qgis.MessageLevel.Success, 6)
        return row

    # -- status ---------------------------------------------------------------------
    def _set_available(self, widget, cap_name: str, tooltip: str) -> None:
        """Enable *widget* when the capability is there, else grey it with the French reason as tooltip."""
        ok = self.service.can(cap_name)
        widget.setEnabled(ok)
        widget.setToolTip(tooltip if ok else tr("Indisponible : {reason}").format(reason=self.service.why_not(cap_name)))

    @guarded("Contrat Quartiers 2030")
    def update_status(self) -> None:
        """The status line (each layer official, provisional or missing) and what is available here."""
        service = self.service
        territory = service.try_territory()
        loaded = territory is not None
        for w in (self.click_button, self.search_button, self.search_edit, self.check_button, self.layers_button):
            w.setEnabled(loaded)
        self._set_available(self.download_action, "download",
                            tr("Télécharge les contours des communes (IGN) et les périmètres QPV 2024 (ANCT) "
                               "et les installe dans le magasin de données"))
        self._set_available(self.import_action, "import",
                            tr("Installe un fichier de périmètres (QPV, communes, poches, anciens QVA)"))
        self._set_available(self.ban_action, "ban_import",
                            tr("Installe l'index d'adresses pour la recherche hors ligne, depuis le fichier "
                               "adresses-59.csv.gz téléchargé sur adresse.data.gouv.fr"))
        self._update_territory(territory)
        self._update_store_actions(loaded)
        offline = self.geocoder_combo.model().item(0)
        if offline is not None:
            offline.setToolTip("" if service.can("ban") else plugin_words(service.why_not("ban")))
        if not loaded:
            self.status_label.setText(f"<b style='color:#c0392b'>{esc(tr('Territoire non chargé'))}</b>")
            self.show_load_error()
            return
        lw, lsw = layer_words(), layer_status_words()
        parts = []
        for name, info in territory.layers.items():
            colour = LAYER_COLOURS.get(info.status, "#000")
            parts.append(f"{esc(lw.get(name, name))} <b style='color:{colour}'>{esc(lsw.get(info.status, info.status))}</b>")
        path = service.store_path()
        shared_url = service.shared_url()
        if shared_url:
            from cq_geo.data.pgstore import safe_label

            origin = esc(tr("magasin partagé")) + f" {esc(safe_label(shared_url))}"
        else:
            origin = tr("magasin") + f" {esc(path.name)}" if path else tr("données embarquées")
        ban = "" if service.can("ban") else f" · <span style='color:#777'>{esc(tr('index BAN non installé'))}</span>"
        self.status_label.setText(f"<small>{esc(tr('Couches'))} ({origin}) : " + " · ".join(parts) + ban + "</small>")

    def _update_territory(self, territory) -> None:
        """« Territoire : <name> » (tooltip: its folder) and the tier words of its file."""
        _DEFINITION["current"] = territory.definition if territory is not None else None
        chosen = self.service.chosen_territory()
        name = self.service.territory_label() if territory is not None else tr("non chargé")
        self.territory_label.setText(f"{esc(tr('Territoire'))} : <b>{esc(name)}</b>")
        where = chosen or tr("territoire par défaut (variable CQ_GEO_TERRITORY, sinon celui de l'extension)")
        self.territory_label.setToolTip(tr("Dossier : {folder}").format(folder=where))
        self.territory_default_action.setEnabled(bool(chosen))

    def _update_store_actions(self, loaded: bool) -> None:
        from ..core import shared

        missing = shared.psycopg2_missing()
        self.shared_action.setEnabled(not missing)
        self.shared_action.setToolTip(tr("Indisponible : {reason}").format(reason=missing) if missing else tr(
            "Lire et dessiner les périmètres dans le magasin partagé de l'équipe (PostgreSQL/PostGIS), "
            "avec une connexion PostgreSQL de QGIS"))
        has_store = loaded and (self.service.shared_url() is not None or self.service.store_path() is not None)
        self.validate_action.setEnabled(has_store)
        self.validate_action.setToolTip(tr(
            "Valider le périmètre de la zone sélectionnée (ou de la réponse) : il passe de « provisoire » à "
            "« validé », avec votre nom et la date, dans l'historique") if has_store else tr(
            "Indisponible : aucun magasin de données (rien n'est dessiné à valider)"))

    def show_load_error(self) -> None:
        """The panel says what is wrong and what to do (the territory did not load)."""
        error = self.service.load_error
        if error is None:
            return
        self.clear_answer(keep_text=True)
        self.answer.setHtml(
            f"<h3 style='color:#c0392b;margin:0'>{esc(tr('Le territoire n’est pas chargé'))}</h3>"
            f"<p>{esc(error.what)}</p><p><b>{esc(error.todo)}</b></p>"
            f"<p style='color:#777'><small>{esc(tr('Détail technique'))} : {esc(error.detail)}</small></p>")

    @guarded("Actualisation")
    def refresh(self, *_args) -> None:
        """Read the store again and answer again for the current point."""
        self.service.reload()  # the plugin's listener updates the status, outlines and search index
        if self.service.loaded:
            self.refresh_answer()
            bar(tr("Territoire relu."), Qgis.MessageLevel.Success, 3)

    def refresh_answer(self) -> None:
        """Answer again for the current point (after an import or a reload)."""
        if self.result is not None and self.service.loaded:
            self.show_l93(self.result.point["x"], self.result.point["y"])

    def _act(self, what: str) -> None:
        if self.actions_handler is not None:
            self.actions_handler(what)

    def _geocoder_changed(self, _index) -> None:
        mode = self.geocoder_combo.currentData()
        set_geocoder_mode(mode)
        if self.on_geocoder_mode is not None:
            self.on_geocoder_mode(mode)

    # -- map tool ---------------------------------------------------------------------
    def _toggle_tool(self, checked: bool) -> None:
        if self.canvas is None or self.map_tool is None:
            return
        if checked:
            self.canvas.setMapTool(self.map_tool)
        elif self.canvas.mapTool() is self.map_tool:
            self.canvas.unsetMapTool(self.map_tool)

    def tool_deactivated(self) -> None:
        self.click_button.blockSignals(True)
        self.click_button.setChecked(False)
        self.click_button.blockSignals(False)

    # -- answers ------------------------------------------------------------------------
    @guarded("Clic sur la carte")
    def show_canvas_point(self, point: QgsPointXY, *_args) -> None:
        """Answer for *point* in the canvas CRS (the map tool's click)."""
        crs = self.canvas.mapSettings().destinationCrs()
        x, y = adapter.to_l93(point, crs)
        self.show_l93(x, y)

    def _territory_or_explain(self):
        territory = self.service.try_territory()
        if territory is None:
            self.show_load_error()
        return territory

    def show_l93(self, x: float, y: float, label: str = "") -> dict | None:
        territory = self._territory_or_explain()
        if territory is None:
            return None
        try:
            result = territory.lookup(x=x, y=y)
        except Exception:
            self.clear_answer()
            raise
        return self._show(result, label)

    def show_lonlat(self, lon: float, lat: float, label: str = "") -> dict | None:
        territory = self._territory_or_explain()
        if territory is None:
            return None
        try:
            result = territory.lookup(lon=lon, lat=lat)
        except Exception:
            self.clear_answer()
            raise
        return self._show(result, label)

    def _show(self, result, label: str = "") -> dict:
        self.result = result
        self.result_label = label
        data = result.to_dict()
        data["warnings"] = [plugin_words(w) for w in data.get("warnings", [])]
        head = f"<p style='color:#555;margin:0'><small>{esc(label)}</small></p>" if label else ""
        self.answer.setHtml(head + answer_html(data))
        self.copy_button.setEnabled(True)
        self.zoom_button.setEnabled(True)
        self.fiche_button.setEnabled(True)
        self._mark(result.point["x"], result.point["y"])
        self.highlight()
        self.answered.emit(data)
        return data

    def clear_answer(self, message: str = "", keep_text: bool = False) -> None:
        """Forget the last answer (a new search failed: the old one must not stay on screen)."""
        self.result = None
        self.copy_button.setEnabled(False)
        self.zoom_button.setEnabled(False)
        self.fiche_button.setEnabled(False)
        self.clear_highlight()
        if not keep_text:
            self.answer.setHtml(f"<p>{esc(message)}</p>" if message else "")

    def answer_text(self) -> str:
        return plugin_words(self.result.to_text()) if self.result is not None else ""

    @guarded("Copie")
    def copy_text(self, *_args) -> None:
        QApplication.clipboard().setText(self.answer_text())
        bar(tr("Réponse copiée dans le presse-papiers."), Qgis.MessageLevel.Info, 3)

    @guarded("Fiche d'éligibilité")
    def save_fiche(self, *_args, path: str | None = None):
        """Write the eligibility sheet of the answer shown (``cq_geo.maps.fiche``, numpy only) to an HTML file
        the user chooses; returns its path (None when cancelled)."""
        from cq_geo.maps.fiche import write_fiche

        territory = self.service.try_territory()
        if self.result is None or territory is None:
            return None
        if path is None:
            path, _filter = QFileDialog.getSaveFileName(self, tr("Enregistrer la fiche d'éligibilité"),
                                                        "fiche-eligibilite.html", tr("Page web (*.html)"))
        if not path:
            return None
        if not path.lower().endswith((".html", ".htm")):
            path += ".html"
        written = write_fiche(path, territory, self.result.to_dict(), typed=getattr(self, "result_label", "") or None)
        bar(tr("Fiche d'éligibilité enregistrée : {path} (ouvrez-la dans le navigateur pour l'imprimer)")
            .format(path=written), Qgis.MessageLevel.Success, 8)
        return written

    # -- highlight and zoom --------------------------------------------------------------
    def _zone_geometry(self):
        """Lambert-93 QgsGeometry of the primary zone, else of the commune (None if neither)."""
        outlines = getattr(self.service, "outlines", None)
        r = self.result
        if r is None or outlines is None:
            return None
        if r.primary:
            g = outlines.zone(r.primary["code"])
            if g is not None:
                return g
        if r.commune:
            return outlines.commune(r.commune["insee"])
        return None

    def _mark(self, x: float, y: float) -> None:
        if self.canvas is None:
            return
        if self._marker is None:
            self._marker = QgsVertexMarker(self.canvas)
            self._marker.setIconType(QgsVertexMarker.IconType.ICON_CROSS)
            self._marker.setColor(QColor("#000000"))
            self._marker.setIconSize(14)
            self._marker.setPenWidth(3)
        self._marker.setCenter(adapter.from_l93(x, y, self.canvas.mapSettings().destinationCrs()))

    def highlight(self) -> QgsGeometry | None:
        """Outline the primary zone (or the commune) on the map; returns its geometry (canvas CRS)."""
        if self.canvas is None:
            return None
        geom = self._zone_geometry()
        if geom is None:
            self.clear_highlight(marker=False)
            return None
        crs = self.canvas.mapSettings().destinationCrs()
        key = (id(geom), crs.authid(), self.service.generation)
        if getattr(self, "_outline_key", None) != key:  # the same zone clicked again: no new transform
            self._outline_key, self._outline = key, adapter.geometry_in(geom, crs)
        g = self._outline
        if self._rubber is None:
            self._rubber = QgsRubberBand(self.canvas, compat.polygon_geometry_type())
            self._rubber.setStrokeColor(QColor(255, 230, 0, 230))
            self._rubber.setFillColor(QColor(255, 230, 0, 50))
            self._rubber.setWidth(3)
        if getattr(self, "_rubber_key", None) != key:
            self._rubber.setToGeometry(g, None)
            self._rubber_key = key
        return g

    @guarded("Zoom")
    def zoom_to_zone(self, *_args) -> None:
        g = self.highlight()
        if g is None:
            return
        box = QgsRectangle(g.boundingBox())
        box.scale(1.15)
        self.canvas.setExtent(box)
        self.canvas.refresh()

    def clear_highlight(self, marker: bool = True) -> None:
        if self.canvas is None:
            return
        if self._rubber is not None:
            self.canvas.scene().removeItem(self._rubber)
            self._rubber = None
            self._rubber_key = None
        if marker and self._marker is not None:
            self.canvas.scene().removeItem(self._marker)
            self._marker = None

    # -- search ---------------------------------------------------------------------------
    def places(self) -> search.PlaceIndex:
        return getattr(self.service, "places", None) or search.PlaceIndex([])

    def can_geocode(self, mode: str) -> bool:
        return self.service.has_geocoder() and (mode == "online" or self.service.can("ban"))

    def find_places(self, text: str) -> list[dict]:
        """Coordinates, communes and zones for *text* (instant, main thread)."""
        point = search.coordinate_result(text)
        if point is not None:
            return [point]
        return self.places().search(text)

    @guarded("Recherche")
    def run_search(self, *_args) -> None:
        """Places at once; addresses through the geocoder in a QgsTask (the window never waits)."""
        text = self.search_edit.text().strip()
        self.choices.clear()
        self.choices.setVisible(False)
        if not text:
            return
        found = self.find_places(text)
        strong = any(f["score"] >= 0.9 for f in found)
        mode = geocoder_mode()
        if strong or found and found[0]["kind"] == "point":
            self._present(text, found)
            return
        if not self.can_geocode(mode):
            if found:
                self._present(text, found)
            else:
                self.clear_answer(tr("Rien trouvé pour « {text} ».").format(text=text))
            if mode == "offline" and self.service.has_geocoder():
                bar(tr("Adresses non cherchées : {reason}").format(reason=plugin_words(self.service.why_not("ban"))),
                    Qgis.MessageLevel.Warning)
            return
        self.clear_answer(tr("Recherche de l'adresse « {text} »…").format(text=text))
        self.search_button.setEnabled(False)
        self._search_job = self.geocode_in_task(text, mode, found)

    def geocode_in_task(self, text: str, mode: str, found: list[dict]):
        from ..core import data_actions, net

        service = self.service

        def work(task):
            transport = (lambda *a: net.transport(*a, feedback=task)) if mode == "online" else None
            geocoder = service.geocoder(mode, transport=transport)
            return search.address_results(geocoder, text)

        def done(job, ok):
            self.search_button.setEnabled(True)
            self._search_job = None
            if ok:
                self._present(text, found + list(job.result or []))
                return
            exc = job.exception
            message = plugin_words(str(exc)) if exc is not None else tr("recherche annulée")
            if found:
                self._present(text, found)
                bar(tr("Adresses non cherchées : {reason}").format(reason=message), Qgis.MessageLevel.Warning)
            else:
                self.clear_answer(tr("Adresse non trouvée : {reason}").format(reason=message))
                bar(tr("Recherche « {text} » : {reason}").format(text=text, reason=message), Qgis.MessageLevel.Warning)

        return data_actions.start(tr("Recherche d'adresse"), work, done)

    def _present(self, text: str, found: list[dict]) -> None:
        if not found:
            self.clear_answer(tr("Rien trouvé pour « {text} ».").format(text=text))
            return
        top = found[0]
        clear = top["score"] >= 0.9 and (len(found) == 1 or found[1]["score"] < top["score"])
        if len(found) == 1 or (clear and top.get("quality", "precise") == "precise"):
            self.show_place(top)
            if len(found) == 1:
                return
        for place in found:
            item = QListWidgetItem(f"{place['label']} — {place['description']}")
            item.setData(Qt.ItemDataRole.UserRole, place)
            self.choices.addItem(item)
        self.choices.setVisible(True)

    def _choose(self, item) -> None:
        self.show_place(item.data(Qt.ItemDataRole.UserRole))

    @guarded("Recherche")
    def show_place(self, place: dict) -> dict | None:
        """Answer for a search/locator result (a JSON dict with lon/lat) and zoom there."""
        data = self.show_lonlat(place["lon"], place["lat"], f"{place['label']} — {place['description']}")
        if data is not None and self.canvas is not None:
            if place.get("kind") in ("commune", "zone"):
                self.zoom_to_zone()
            else:
                centre = adapter.from_l93(data["point"]["x"], data["point"]["y"],
                                          self.canvas.mapSettings().destinationCrs())
                self.canvas.setCenter(centre)
                self.canvas.refresh()
        return data

    def closeEvent(self, event):  # noqa: N802
        self.clear_highlight()
        super().closeEvent(event)
