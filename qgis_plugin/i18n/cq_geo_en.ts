<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="fr">
<context>
    <name>CqGeo</name>
    <message>
        <source>Territoire</source>
        <translation>Territory</translation>
    </message>
    <message>
        <source>Géographie d'une couche de points</source>
        <translation>Geography of a point layer</translation>
    </message>
    <message>
        <source>Analyse</source>
        <translation>Analysis</translation>
    </message>
    <message>
        <source>Ajoute à chaque point sa géographie du Contrat Quartiers 2030 : commune et statut, équipe, QPV 2024 (statut et distance à la limite), poche de pauvreté, ancien quartier de veille active, géographie principale et avertissements en français (champs cq_). Tout système de coordonnées est accepté ; les entités sans géométrie sont gardées, avec cq_valid faux.</source>
        <translation>Adds to every point its Contrat Quartiers 2030 geography: commune and status, team, QPV 2024 (status and distance to the limit), poverty pocket, former active-watch neighbourhood, primary geography and warnings (cq_ fields). Any coordinate reference system is accepted; features without geometry are kept, with cq_valid false.</translation>
    </message>
    <message>
        <source>Éligibilité d'une table d'adresses</source>
        <translation>Eligibility of an address table</translation>
    </message>
    <message>
        <source>Géocode les adresses (hors ligne avec l'index BAN installé depuis le panneau, Données › Installer l'index d'adresses BAN, ou en ligne), puis ajoute statut, raison, position, qualité du géocodage et géographie (commune, équipe, QPV, poche, ancien QVA). Les adresses non trouvées sont gardées, sans géométrie. Plusieurs champs d'adresse (numéro, voie…) sont joints dans l'ordre choisi.</source>
        <translation>Geocodes the addresses (offline with the BAN index installed from the panel, Data › Install the BAN address index, or online), then adds status, reason, position, geocoding quality and geography (commune, team, QPV, pocket, former QVA). Addresses not found are kept, without geometry. Several address fields (number, street…) are joined in the chosen order.</translation>
    </message>
    <message>
        <source>Charger les couches du territoire</source>
        <translation>Load the territory layers</translation>
    </message>
    <message>
        <source>Écrit les couches du territoire (communes et équipes, QPV 2024, poches de pauvreté, anciens quartiers de veille active) dans un GeoPackage en Lambert-93, depuis le magasin de données s'il existe ou les données embarquées, et les charge stylées dans le projet.</source>
        <translation>Writes the territory layers (communes and teams, QPV 2024, poches de pauvreté, former quartiers de veille active) to a GeoPackage in Lambert-93, from the data store when it exists or from the embedded data, and loads them, styled, into the project.</translation>
    </message>
    <message>
        <source>Contrôler le territoire</source>
        <translation>Check the territory</translation>
    </message>
    <message>
        <source>Vérifie la cohérence du territoire : zones sans périmètre, communes sans équipe, nombre de QPV, état de chaque couche (officielle, provisoire, absente) et questions ouvertes du contrat.</source>
        <translation>Checks the territory's consistency: zones without a perimeter, communes without a team, number of QPV, state of each layer (official, provisional, missing) and the contract's open questions.</translation>
    </message>
    <message>
        <source>Exporter la carte pour le conseil</source>
        <translation>Export the council map</translation>
    </message>
    <message>
        <source>Écrit la carte HTML du Contrat Quartiers 2030, qui s'ouvre dans un navigateur sans connexion. Proposé seulement quand ce QGIS a shapely 2.1 (sur le GEOS de QGIS) et pandas.</source>
        <translation>Writes the Contrat Quartiers 2030 HTML map, which opens in a browser without a connection. Offered only when this QGIS has shapely 2.1 (on QGIS's GEOS) and pandas.</translation>
    </message>
    <message>
        <source>Importer des périmètres</source>
        <translation>Import perimeters</translation>
    </message>
    <message>
        <source>Données</source>
        <translation>Data</translation>
    </message>
    <message>
        <source>Installe un fichier de périmètres dans le magasin de données (GeoPackage) : QPV 2024 de l'ANCT, contours des communes de l'IGN, ou périmètres dessinés par la CAPH (poches, anciens QVA, « provisoires »). QGIS lit le fichier (GeoJSON, GeoPackage, shapefile, zip) et le reprojette en Lambert-93 ; il est contrôlé avant l'installation, et en cas de problème le magasin n'est pas modifié. Sans magasin indiqué, celui de l'utilisateur est utilisé (créé au besoin).</source>
        <translation>Installs a perimeter file into the data store (GeoPackage): ANCT QPV 2024, IGN commune outlines, or perimeters drawn by the CAPH (pockets, former QVA, "provisional"). QGIS reads the file (GeoJSON, GeoPackage, shapefile, zip) and reprojects it to Lambert-93; it is checked before installation, and on any problem the store is left unchanged. Without a store given, the user's store is used (created if needed).</translation>
    </message>
    <message>
        <source>Ce traitement a besoin du module Python pandas, absent de ce QGIS (Windows/OSGeo4W : installer le paquet python3-pandas avec l'installateur OSGeo4W).</source>
        <translation>This algorithm needs the Python module pandas, which this QGIS lacks (Windows/OSGeo4W: install the python3-pandas package with the OSGeo4W installer).</translation>
    </message>
    <message>
        <source>Couche de points</source>
        <translation>Point layer</translation>
    </message>
    <message>
        <source>Points avec leur géographie</source>
        <translation>Points with their geography</translation>
    </message>
    <message>
        <source>Table d'adresses</source>
        <translation>Address table</translation>
    </message>
    <message>
        <source>Champ(s) adresse</source>
        <translation>Address field(s)</translation>
    </message>
    <message>
        <source>Champ code postal</source>
        <translation>Postcode field</translation>
    </message>
    <message>
        <source>Champ commune</source>
        <translation>Commune field</translation>
    </message>
    <message>
        <source>Géocodeur</source>
        <translation>Geocoder</translation>
    </message>
    <message>
        <source>Adresses avec leur géographie</source>
        <translation>Addresses with their geography</translation>
    </message>
    <message>
        <source>GeoPackage</source>
        <translation>GeoPackage</translation>
    </message>
    <message>
        <source>GeoPackage (*.gpkg)</source>
        <translation>GeoPackage (*.gpkg)</translation>
    </message>
    <message>
        <source>Nombre de couches écrites</source>
        <translation>Number of layers written</translation>
    </message>
    <message>
        <source>Rapport (texte)</source>
        <translation>Report (text)</translation>
    </message>
    <message>
        <source>Texte (*.txt)</source>
        <translation>Text (*.txt)</translation>
    </message>
    <message>
        <source>Rapport</source>
        <translation>Report</translation>
    </message>
    <message>
        <source>Territoire cohérent</source>
        <translation>Territory consistent</translation>
    </message>
    <message>
        <source>Carte HTML</source>
        <translation>HTML map</translation>
    </message>
    <message>
        <source>Page HTML (*.html)</source>
        <translation>HTML page (*.html)</translation>
    </message>
    <message>
        <source>Fichier de périmètres</source>
        <translation>Perimeter file</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Type</translation>
    </message>
    <message>
        <source>Magasin de données (GeoPackage ; vide : celui de l'utilisateur)</source>
        <translation>Data store (GeoPackage; empty: the user's)</translation>
    </message>
    <message>
        <source>Compte rendu</source>
        <translation>Report</translation>
    </message>
    <message>
        <source>Entités installées</source>
        <translation>Features installed</translation>
    </message>
    <message>
        <source>Magasin de données</source>
        <translation>Data store</translation>
    </message>
    <message>
        <source>{kind} : {n} entité(s) installée(s) dans {store}</source>
        <translation>{kind}: {n} feature(s) installed in {store}</translation>
    </message>
    <message>
        <source>{n} entité(s) traitée(s)</source>
        <translation>{n} feature(s) processed</translation>
    </message>
    <message>
        <source>hors ligne (BAN installée)</source>
        <translation>offline (installed BAN)</translation>
    </message>
    <message>
        <source>en ligne</source>
        <translation>online</translation>
    </message>
    <message>
        <source>{n} adresse(s) traitée(s)</source>
        <translation>{n} address(es) processed</translation>
    </message>
    <message>
        <source>Import : {label}</source>
        <translation>Import: {label}</translation>
    </message>
    <message>
        <source>{kind} : fichier déjà installé, rien à faire</source>
        <translation>{kind}: file already installed, nothing to do</translation>
    </message>
    <message>
        <source>écriture de {name} impossible : {msg}</source>
        <translation>cannot write {name}: {msg}</translation>
    </message>
    <message>
        <source>Périmètres QPV 2024 (fichier officiel ANCT)</source>
        <translation>QPV 2024 perimeters (official ANCT file)</translation>
    </message>
    <message>
        <source>Contours des communes (IGN ADMIN EXPRESS)</source>
        <translation>Commune outlines (IGN ADMIN EXPRESS)</translation>
    </message>
    <message>
        <source>Périmètres QPV 2015 (pour comparer)</source>
        <translation>QPV 2015 perimeters (for comparison)</translation>
    </message>
    <message>
        <source>Poches de pauvreté (périmètres dessinés par la CAPH)</source>
        <translation>Poches de pauvreté (perimeters drawn by the CAPH)</translation>
    </message>
    <message>
        <source>Anciens quartiers de veille active (périmètres dessinés)</source>
        <translation>Former quartiers de veille active (drawn perimeters)</translation>
    </message>
    <message>
        <source>Téléchargement des données officielles</source>
        <translation>Download of the official data</translation>
    </message>
    <message>
        <source>Installation de l'index d'adresses BAN</source>
        <translation>Installing the BAN address index</translation>
    </message>
    <message>
        <source>Type de fichier :</source>
        <translation>Kind of file:</translation>
    </message>
    <message>
        <source>Données géographiques (*.gpkg *.geojson *.json *.shp *.zip *.kml);;Tous les fichiers (*)</source>
        <translation>Geographic data (*.gpkg *.geojson *.json *.shp *.zip *.kml);;All files (*)</translation>
    </message>
    <message>
        <source>Fichier d'adresses de la BAN (adresses-59.csv.gz)</source>
        <translation>BAN address file (adresses-59.csv.gz)</translation>
    </message>
    <message>
        <source>Adresses BAN (*.csv.gz *.csv);;Tous les fichiers (*)</source>
        <translation>BAN addresses (*.csv.gz *.csv);;All files (*)</translation>
    </message>
    <message>
        <source>entité(s)</source>
        <translation>feature(s)</translation>
    </message>
    <message>
        <source>déjà à jour</source>
        <translation>already up to date</translation>
    </message>
    <message>
        <source>{n} adresses de {c} communes installées</source>
        <translation>{n} addresses of {c} communes installed</translation>
    </message>
    <message>
        <source>{label} : annulé.</source>
        <translation>{label}: cancelled.</translation>
    </message>
    <message>
        <source>Communes et équipes</source>
        <translation>Communes and teams</translation>
    </message>
    <message>
        <source>QPV 2024</source>
        <translation>QPV 2024</translation>
    </message>
    <message>
        <source>Poches de pauvreté</source>
        <translation>Poches de pauvreté</translation>
    </message>
    <message>
        <source>Anciens quartiers de veille active</source>
        <translation>Former quartiers de veille active</translation>
    </message>
    <message>
        <source>Sans équipe</source>
        <translation>No team</translation>
    </message>
    <message>
        <source>Contrat Quartiers 2030</source>
        <translation>Contrat Quartiers 2030</translation>
    </message>
    <message>
        <source>Recherche</source>
        <translation>Search</translation>
    </message>
    <message>
        <source>Communes</source>
        <translation>Communes</translation>
    </message>
    <message>
        <source>Zones du contrat</source>
        <translation>Contract zones</translation>
    </message>
    <message>
        <source>Adresses</source>
        <translation>Addresses</translation>
    </message>
    <message>
        <source>Coordonnées</source>
        <translation>Coordinates</translation>
    </message>
    <message>
        <source>Actualisation</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <source>Clic sur la carte</source>
        <translation>Map click</translation>
    </message>
    <message>
        <source>Copie</source>
        <translation>Copy</translation>
    </message>
    <message>
        <source>Fiche d'éligibilité</source>
        <translation>Eligibility sheet</translation>
    </message>
    <message>
        <source>Zoom</source>
        <translation>Zoom</translation>
    </message>
    <message>
        <source>dedans</source>
        <translation>inside</translation>
    </message>
    <message>
        <source>sur la limite</source>
        <translation>on the boundary</translation>
    </message>
    <message>
        <source>tout près (dehors)</source>
        <translation>near (outside)</translation>
    </message>
    <message>
        <source>dehors</source>
        <translation>outside</translation>
    </message>
    <message>
        <source>inconnu (périmètre non installé)</source>
        <translation>unknown (perimeter not installed)</translation>
    </message>
    <message>
        <source>tout près</source>
        <translation>near</translation>
    </message>
    <message>
        <source>inconnu</source>
        <translation>unknown</translation>
    </message>
    <message>
        <source>officielle</source>
        <translation>official</translation>
    </message>
    <message>
        <source>validée</source>
        <translation>validated</translation>
    </message>
    <message>
        <source>provisoire</source>
        <translation>provisional</translation>
    </message>
    <message>
        <source>simplifiée</source>
        <translation>simplified</translation>
    </message>
    <message>
        <source>approximative</source>
        <translation>approximate</translation>
    </message>
    <message>
        <source>absente</source>
        <translation>missing</translation>
    </message>
    <message>
        <source>Poche de pauvreté</source>
        <translation>Poche de pauvreté</translation>
    </message>
    <message>
        <source>Ancien QVA</source>
        <translation>Former QVA</translation>
    </message>
    <message>
        <source>communes</source>
        <translation>communes</translation>
    </message>
    <message>
        <source>QPV</source>
        <translation>QPV</translation>
    </message>
    <message>
        <source>poches</source>
        <translation>poches</translation>
    </message>
    <message>
        <source>anciens QVA</source>
        <translation>former QVA</translation>
    </message>
    <message>
        <source>Adresse, commune, QPV ou coordonnées…</source>
        <translation>Address, commune, QPV or coordinates…</translation>
    </message>
    <message>
        <source>Chercher</source>
        <translation>Search</translation>
    </message>
    <message>
        <source>BAN hors ligne</source>
        <translation>Offline BAN</translation>
    </message>
    <message>
        <source>en ligne (Géoplateforme)</source>
        <translation>online (Géoplateforme)</translation>
    </message>
    <message>
        <source>Les adresses sont cherchées dans l'index BAN installé sur ce poste (Données › Installer l'index d'adresses BAN…), ou envoyées au service en ligne de la Géoplateforme</source>
        <translation>Addresses are searched in the BAN index installed on this computer (Data › Install the BAN address index…), or sent to the Géoplateforme online service</translation>
    </message>
    <message>
        <source>Cliquer sur la carte</source>
        <translation>Click on the map</translation>
    </message>
    <message>
        <source>Cliquez un point de la carte pour savoir quelle géographie le couvre</source>
        <translation>Click a point of the map to know which geography covers it</translation>
    </message>
    <message>
        <source>Copier</source>
        <translation>Copy</translation>
    </message>
    <message>
        <source>Copier la réponse en texte</source>
        <translation>Copy the answer as text</translation>
    </message>
    <message>
        <source>Zoomer sur la zone</source>
        <translation>Zoom to the zone</translation>
    </message>
    <message>
        <source>Fiche…</source>
        <translation>Sheet…</translation>
    </message>
    <message>
        <source>Enregistrer la fiche d'éligibilité de ce point (page A4 à imprimer, hors ligne)</source>
        <translation>Save the eligibility sheet of this point (printable A4 page, offline)</translation>
    </message>
    <message>
        <source>Télécharger les données officielles (communes IGN, QPV ANCT)</source>
        <translation>Download the official data (IGN communes, ANCT QPV)</translation>
    </message>
    <message>
        <source>Importer un fichier de périmètres…</source>
        <translation>Import a perimeter file…</translation>
    </message>
    <message>
        <source>Installer l'index d'adresses BAN…</source>
        <translation>Install the BAN address index…</translation>
    </message>
    <message>
        <source>Contrôler</source>
        <translation>Check</translation>
    </message>
    <message>
        <source>Contrôler la cohérence du territoire</source>
        <translation>Check the territory's consistency</translation>
    </message>
    <message>
        <source>Couches</source>
        <translation>Layers</translation>
    </message>
    <message>
        <source>Charger les couches du territoire, stylées, dans le projet</source>
        <translation>Load the territory layers, styled, into the project</translation>
    </message>
    <message>
        <source>Actualiser</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <source>Relire le magasin de données (après un import ou une modification)</source>
        <translation>Read the data store again (after an import or an edit)</translation>
    </message>
    <message>
        <source>Télécharge les contours des communes (IGN) et les périmètres QPV 2024 (ANCT) et les installe dans le magasin de données</source>
        <translation>Downloads the commune outlines (IGN) and the QPV 2024 perimeters (ANCT) and installs them in the data store</translation>
    </message>
    <message>
        <source>Installe un fichier de périmètres (QPV, communes, poches, anciens QVA)</source>
        <translation>Installs a perimeter file (QPV, communes, pockets, former QVA)</translation>
    </message>
    <message>
        <source>Installe l'index d'adresses pour la recherche hors ligne, depuis le fichier adresses-59.csv.gz téléchargé sur adresse.data.gouv.fr</source>
        <translation>Installs the address index for offline search, from the file adresses-59.csv.gz downloaded from adresse.data.gouv.fr</translation>
    </message>
    <message>
        <source>données embarquées</source>
        <translation>embedded data</translation>
    </message>
    <message>
        <source>Réponse copiée dans le presse-papiers.</source>
        <translation>Answer copied to the clipboard.</translation>
    </message>
    <message>
        <source>Recherche d'adresse</source>
        <translation>Address search</translation>
    </message>
    <message>
        <source>Géocodeur :</source>
        <translation>Geocoder:</translation>
    </message>
    <message>
        <source>magasin</source>
        <translation>store</translation>
    </message>
    <message>
        <source>Territoire relu.</source>
        <translation>Territory read again.</translation>
    </message>
    <message>
        <source>Enregistrer la fiche d'éligibilité</source>
        <translation>Save the eligibility sheet</translation>
    </message>
    <message>
        <source>Page web (*.html)</source>
        <translation>Web page (*.html)</translation>
    </message>
    <message>
        <source>recherche annulée</source>
        <translation>search cancelled</translation>
    </message>
    <message>
        <source>Sources</source>
        <translation>Sources</translation>
    </message>
    <message>
        <source>Fiche d'éligibilité enregistrée : {path} (ouvrez-la dans le navigateur pour l'imprimer)</source>
        <translation>Eligibility sheet saved: {path} (open it in a browser to print it)</translation>
    </message>
    <message>
        <source>Recherche de l'adresse « {text} »…</source>
        <translation>Searching the address "{text}"…</translation>
    </message>
    <message>
        <source>Hors du territoire</source>
        <translation>Outside the territory</translation>
    </message>
    <message>
        <source>Géographie principale</source>
        <translation>Main geography</translation>
    </message>
    <message>
        <source>aucune</source>
        <translation>none</translation>
    </message>
    <message>
        <source>Niveau</source>
        <translation>Tier</translation>
    </message>
    <message>
        <source>Zone</source>
        <translation>Zone</translation>
    </message>
    <message>
        <source>Statut</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Limite à</source>
        <translation>Boundary at</translation>
    </message>
    <message>
        <source>Aucune zone du contrat à proximité.</source>
        <translation>No zone of the contract nearby.</translation>
    </message>
    <message>
        <source>Chefs de projet de l’équipe</source>
        <translation>The team's project leads</translation>
    </message>
    <message>
        <source>Pour les QPV</source>
        <translation>For the QPV</translation>
    </message>
    <message>
        <source>À vérifier</source>
        <translation>To check</translation>
    </message>
    <message>
        <source>Cherchez une adresse ou cliquez sur la carte.</source>
        <translation>Search an address or click on the map.</translation>
    </message>
    <message>
        <source>Indisponible : {reason}</source>
        <translation>Unavailable: {reason}</translation>
    </message>
    <message>
        <source>index BAN non installé</source>
        <translation>BAN index not installed</translation>
    </message>
    <message>
        <source>Le territoire n’est pas chargé</source>
        <translation>The territory is not loaded</translation>
    </message>
    <message>
        <source>Détail technique</source>
        <translation>Technical detail</translation>
    </message>
    <message>
        <source>Rien trouvé pour « {text} ».</source>
        <translation>Nothing found for "{text}".</translation>
    </message>
    <message>
        <source>Aucune équipe désignée par le contrat pour cette commune</source>
        <translation>The contract names no team for this commune</translation>
    </message>
    <message>
        <source>couche</source>
        <translation>layer</translation>
    </message>
    <message>
        <source>Territoire non chargé</source>
        <translation>Territory not loaded</translation>
    </message>
    <message>
        <source>Adresses non cherchées : {reason}</source>
        <translation>Addresses not searched: {reason}</translation>
    </message>
    <message>
        <source>Adresse non trouvée : {reason}</source>
        <translation>Address not found: {reason}</translation>
    </message>
    <message>
        <source>Recherche « {text} » : {reason}</source>
        <translation>Search "{text}": {reason}</translation>
    </message>
    <message>
        <source>Panneau</source>
        <translation>Panel</translation>
    </message>
    <message>
        <source>Outil d'identification</source>
        <translation>Identify tool</translation>
    </message>
    <message>
        <source>Quelle géographie du Contrat Quartiers 2030 couvre ce lieu ?</source>
        <translation>Which Contrat Quartiers 2030 geography covers this place?</translation>
    </message>
    <message>
        <source>Identifier la géographie du contrat (clic sur la carte)</source>
        <translation>Identify the contract's geography (map click)</translation>
    </message>
    <message>
        <source>magasin de données</source>
        <translation>data store</translation>
    </message>
    <message>
        <source>données embarquées (en mémoire)</source>
        <translation>embedded data (in memory)</translation>
    </message>
    <message>
        <source>Traitements Contrat Quartiers 2030 indisponibles</source>
        <translation>Contrat Quartiers 2030 algorithms unavailable</translation>
    </message>
    <message>
        <source>Extension Contrat Quartiers 2030</source>
        <translation>Contrat Quartiers 2030 plugin</translation>
    </message>
    <message>
        <source>Couches du territoire chargées : {where}.</source>
        <translation>Territory layers loaded: {where}.</translation>
    </message>
    <message>
        <source>Déchargement de l'extension</source>
        <translation>Unloading the plugin</translation>
    </message>
    <message>
        <source>Historique des modifications</source>
        <translation>Change history</translation>
    </message>
    <message>
        <source>Magasin partagé</source>
        <translation>Shared store</translation>
    </message>
    <message>
        <source>Validation du périmètre</source>
        <translation>Perimeter validation</translation>
    </message>
    <message>
        <source>Magasin partagé (PostgreSQL)…</source>
        <translation>Shared store (PostgreSQL)…</translation>
    </message>
    <message>
        <source>Valider le périmètre…</source>
        <translation>Validate the perimeter…</translation>
    </message>
    <message>
        <source>Territoire…</source>
        <translation>Territory…</translation>
    </message>
    <message>
        <source>Choisir le dossier du territoire (territory.toml et communes_baseline.geojson, préparés par le géomaticien)</source>
        <translation>Choose the territory folder (territory.toml and communes_baseline.geojson, prepared by the GIS officer)</translation>
    </message>
    <message>
        <source>Choisir le dossier d'un territoire…</source>
        <translation>Choose a territory folder…</translation>
    </message>
    <message>
        <source>Revenir au territoire par défaut</source>
        <translation>Back to the default territory</translation>
    </message>
    <message>
        <source>Aucun (magasin local de ce poste)</source>
        <translation>None (local store of this computer)</translation>
    </message>
    <message>
        <source>Un service de pg_service.conf…</source>
        <translation>A service from pg_service.conf…</translation>
    </message>
    <message>
        <source>non chargé</source>
        <translation>not loaded</translation>
    </message>
    <message>
        <source>territoire par défaut (variable CQ_GEO_TERRITORY, sinon celui de l'extension)</source>
        <translation>default territory (CQ_GEO_TERRITORY variable, else the plugin's own)</translation>
    </message>
    <message>
        <source>Dossier du territoire</source>
        <translation>Territory folder</translation>
    </message>
    <message>
        <source>Connexion PostgreSQL de QGIS (Explorateur › PostgreSQL) où le géomaticien a créé le magasin partagé :</source>
        <translation>QGIS PostgreSQL connection (Browser › PostgreSQL) where the GIS officer created the shared store:</translation>
    </message>
    <message>
        <source>Magasin partagé quitté : magasin local de ce poste.</source>
        <translation>Shared store left: local store of this computer.</translation>
    </message>
    <message>
        <source>Nom du service (pg_service.conf) :</source>
        <translation>Service name (pg_service.conf):</translation>
    </message>
    <message>
        <source>Valider le périmètre</source>
        <translation>Validate the perimeter</translation>
    </message>
    <message>
        <source>Zone :</source>
        <translation>Zone:</translation>
    </message>
    <message>
        <source>Lire et dessiner les périmètres dans le magasin partagé de l'équipe (PostgreSQL/PostGIS), avec une connexion PostgreSQL de QGIS</source>
        <translation>Read and draw the perimeters in the team's shared store (PostgreSQL/PostGIS), with a QGIS PostgreSQL connection</translation>
    </message>
    <message>
        <source>Valider le périmètre de la zone sélectionnée (ou de la réponse) : il passe de « provisoire » à « validé », avec votre nom et la date, dans l'historique</source>
        <translation>Validate the perimeter of the selected zone (or of the answer): it goes from “provisional” to “validated”, with your name and the date, in the history</translation>
    </message>
    <message>
        <source>Indisponible : aucun magasin de données (rien n'est dessiné à valider)</source>
        <translation>Unavailable: no data store (nothing drawn to validate)</translation>
    </message>
    <message>
        <source>Territoire : {name}.</source>
        <translation>Territory: {name}.</translation>
    </message>
    <message>
        <source>Magasin partagé : {label}.</source>
        <translation>Shared store: {label}.</translation>
    </message>
    <message>
        <source>Aucune zone à valider dans ce territoire.</source>
        <translation>No zone to validate in this territory.</translation>
    </message>
    <message>
        <source>Périmètre {code} validé par {by}.</source>
        <translation>Perimeter {code} validated by {by}.</translation>
    </message>
    <message>
        <source>magasin partagé</source>
        <translation>shared store</translation>
    </message>
    <message>
        <source>Dossier : {folder}</source>
        <translation>Folder: {folder}</translation>
    </message>
    <message>
        <source>Ce dossier ne contient pas de territory.toml : {folder}. Choisissez le dossier du territoire préparé par le géomaticien (territory.toml et communes_baseline.geojson).</source>
        <translation>This folder holds no territory.toml: {folder}. Choose the territory folder prepared by the GIS officer (territory.toml and communes_baseline.geojson).</translation>
    </message>
    <message>
        <source>Magasin partagé indisponible : {reason}.</source>
        <translation>Shared store unavailable: {reason}.</translation>
    </message>
    <message>
        <source>Périmètre {code} : validé par (service ou fonction) :</source>
        <translation>Perimeter {code}: validated by (department or role):</translation>
    </message>
    <message>
        <source>Enregistrez d'abord les modifications de la couche « {layer} » (Couche › Enregistrer les modifications) : seul un périmètre enregistré se valide.</source>
        <translation>First save the edits of the layer “{layer}” (Layer › Save Layer Edits): only a saved perimeter can be validated.</translation>
    </message>
    <message>
        <source>Connexion PostgreSQL inconnue dans QGIS : {name}.</source>
        <translation>Unknown PostgreSQL connection in QGIS: {name}.</translation>
    </message>
    <message>
        <source>magasin partagé PostgreSQL (modifiable avec le rôle éditeur)</source>
        <translation>shared PostgreSQL store (editable with the editor role)</translation>
    </message>
</context>
</TS>
