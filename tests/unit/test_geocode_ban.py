"""The offline BAN geocoder on the synthetic BAN file: import, matching, quality, lookup, CLI.

Expected positions are read from the fixture file itself, never typed here.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from cq_geo.errors import DataError
from cq_geo.geocode.base import AddressQuery, AmbiguousAddress, BanIndexMissing, QualityThresholds
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "ban_synthetic" / "adresses-synthetic.csv"


def _rows() -> list[dict[str, str]]:
    with open(FIXTURE, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def _position(insee: str, street: str, number: int, rep: str = "", anc: str = "") -> tuple[float, float]:
    for r in _rows():
        if (r["code_insee"], r["nom_voie"], int(r["numero"]), r["rep"], r["code_insee_ancienne_commune"]) == (
                insee, street, number, rep, anc):
            return float(r["lon"]), float(r["lat"])
    raise KeyError((insee, street, number, rep))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ban_gz(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ban") / "adresses-59.csv.gz"
    with open(FIXTURE, "rb") as src, gzip.open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


@pytest.fixture(scope="module")
def index_db(tmp_path_factory, ban_gz) -> Path:
    from cq_geo.geocode.ban_index import import_ban

    db = tmp_path_factory.mktemp("idx") / "ban.sqlite"
    import_ban(ban_gz, db)
    return db


@pytest.fixture(scope="module")
def geocoder(index_db):
    from cq_geo.geocode.ban import BanGeocoder

    return BanGeocoder.from_store(index_db, thresholds=QualityThresholds())


# -- import -------------------------------------------------------------------------------------------
def test_import_keeps_the_territory_and_leaves_the_file_alone(tmp_path, ban_gz):
    from cq_geo.geocode.ban_index import import_ban, load_ban_index

    before = _sha(ban_gz)
    calls = []
    stats = import_ban(ban_gz, tmp_path / "i.sqlite", progress=lambda d, t: calls.append((d, t)))
    assert _sha(ban_gz) == before
    rows = _rows()
    territory_rows = [r for r in rows if r["code_insee"] != "59606"]
    assert stats["rows_read"] == len(rows)
    assert stats["rows_kept"] == len(territory_rows)
    assert "59606" not in {s[3] for s in load_ban_index(tmp_path / "i.sqlite").streets}
    assert calls and calls[-1][0] == calls[-1][1] == ban_gz.stat().st_size
    # numbers (99999 = lieu-dit excluded) all stored
    assert stats["numbers"] == sum(1 for r in territory_rows if r["numero"] != "99999")


def test_columns_are_read_by_name(tmp_path):
    from cq_geo.geocode.ban_index import import_ban, load_ban_index

    rows = _rows()
    cols = list(rows[0].keys())[::-1]  # reversed order, plus an unknown column
    shuffled = tmp_path / "shuffled.csv"
    with open(shuffled, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols + ["colonne_en_plus"], delimiter=";")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "colonne_en_plus": "x"})
    import_ban(FIXTURE, tmp_path / "a.sqlite")
    import_ban(shuffled, tmp_path / "b.sqlite")
    a, b = load_ban_index(tmp_path / "a.sqlite"), load_ban_index(tmp_path / "b.sqlite")
    assert a.streets == b.streets
    assert list(a.numero) == list(b.numero) and list(a.lon) == list(b.lon)


@pytest.mark.parametrize("content, message", [
    ("", "vide"),
    ("id,numero,rep\n1,2,3\n", "séparateur"),
    ("id;numero;rep\n1;2;3\n", "colonnes manquantes : nom_voie"),
])
def test_bad_files_are_refused_in_french(tmp_path, content, message):
    from cq_geo.geocode.ban_index import import_ban

    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        import_ban(bad, tmp_path / "x.sqlite")
    assert not (tmp_path / "x.sqlite").exists()


def test_a_file_of_another_departement_is_refused(tmp_path):
    from cq_geo.geocode.ban_index import import_ban

    rows = [r for r in _rows() if r["code_insee"] == "59606"]
    other = tmp_path / "adresses-62.csv"
    with open(other, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=";")
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(DataError, match="aucune adresse des communes du territoire"):
        import_ban(other, tmp_path / "x.sqlite")


def test_truncated_gzip_is_refused(tmp_path, ban_gz):
    from cq_geo.geocode.ban_index import import_ban

    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(ban_gz.read_bytes()[: ban_gz.stat().st_size // 2])
    with pytest.raises(DataError, match="tronqué|illisible"):
        import_ban(cut, tmp_path / "x.sqlite")


def test_missing_index_says_how_to_get_it(tmp_path):
    from cq_geo.geocode.ban import BanGeocoder

    with pytest.raises(BanIndexMissing, match="cq-geo data import ban"):
        BanGeocoder.from_store(tmp_path / "absent.gpkg")


# -- matching -----------------------------------------------------------------------------------------
PRECISE = [
    ("12 rue des Essais 59220 Denain", ("59172", "Rue des Essais", 12, "")),
    ("12 RUE DES ESSAIS DENAIN", ("59172", "Rue des Essais", 12, "")),
    ("12 bis r. des Essais, Denain", ("59172", "Rue des Essais", 12, "bis")),
    ("12ter rue des essais 59220", ("59172", "Rue des Essais", 12, "ter")),
    ("5 A rue des Essais Denain", ("59172", "Rue des Essais", 5, "a")),
    ("7 rue des Essais, La Sentinelle", ("59564", "Rue des Essais", 7, "")),
    ("7 rue des Essais 59174", ("59564", "Rue des Essais", 7, "")),
    ("30 av. du Gal Fictif Denain", ("59172", "Avenue du Général Fictif", 30, "")),
    ("3 bd de la synthese 59220", ("59172", "Boulevard de la Synthèse", 3, "")),
    ("4 imp des donnees denain", ("59172", "Impasse des Données", 4, "")),
    ("10 r St-Fictif St Amand", ("59526", "Rue Saint-Fictif", 10, "")),
    ("10 rue saint fictif 59230 saint-amand-les-eaux", ("59526", "Rue Saint-Fictif", 10, "")),
    ("2 pl de l'echantillon st amand les eaux", ("59526", "Place de l'Échantillon", 2, "")),
    ("5 allee du coeur fictif roeulx", ("59504", "Allée du Cœur-Fictif", 5, "")),
    ("5 Allée du Cœur-Fictif 59172 Rœulx", ("59504", "Allée du Cœur-Fictif", 5, "")),
    ("3 chem. des prés synthétiques", ("59504", "Chemin des Près Synthétiques", 3, "")),
    ("12 rte de Testville Chateau l'Abbaye", ("59144", "Route de Testville", 12, "")),
    ("2 sq du mal fictif emerchicourt", ("59192", "Square du Maréchal Fictif", 2, "")),
    ("4 rue du 8 mai fictif douchy les mines", ("59179", "Rue du 8 Mai Fictif", 4, "")),
    ("8 rue jean essai wavrechain sous denain", ("59651", "Rue Jean-Essai", 8, "")),
    # typos
    ("12 rue des Esais Denain", ("59172", "Rue des Essais", 12, "")),
    ("30 avenue du general fictf denain", ("59172", "Avenue du Général Fictif", 30, "")),
    ("5 allée du coeur fictiff roeulx", ("59504", "Allée du Cœur-Fictif", 5, "")),
]


@pytest.mark.parametrize("text, where", PRECISE)
def test_precise_addresses(geocoder, text, where):
    r = geocoder.geocode(text)
    assert r.quality == "precise", (r.reason, [c.label for c in r.candidates])
    insee, street, number, rep = where
    best = r.best
    assert (best.citycode, best.street, best.type) == (insee, street, "housenumber")
    assert (best.lon, best.lat) == pytest.approx(_position(insee, street, number, rep))
    assert best.housenumber == f"{number} {rep}".strip()


def test_same_street_in_several_communes_is_ambiguous(geocoder):
    r = geocoder.geocode("7 rue des Essais")
    assert r.quality == "ambiguous"
    assert {c.citycode for c in r.candidates[:3]} == {"59172", "59564", "59491"}
    assert "précisez la commune" in r.reason
    # the filters resolve it
    assert geocoder.geocode(AddressQuery("7 rue des Essais", citycode="59491")).best.citycode == "59491"
    assert geocoder.geocode(AddressQuery("7 rue des Essais", postcode="59174")).best.citycode == "59564"


def test_a_number_the_street_lacks_gives_the_nearest_known_number(geocoder):
    r = geocoder.geocode("13 rue des Essais 59220 Denain")
    assert r.quality == "approximate"
    assert r.best.approximate_number and r.best.housenumber in ("11", "15")
    assert (r.best.lon, r.best.lat) == pytest.approx(_position("59172", "Rue des Essais", int(r.best.housenumber)))
    assert "numéro" in r.reason
    r = geocoder.geocode("20 chemin du bois fictif raismes")  # knows 1, 2, 9, 25, 30: nearest even is 30
    assert r.quality == "approximate" and r.best.housenumber == "30"


def test_a_suffix_the_street_lacks_gives_the_number(geocoder):
    r = geocoder.geocode("7 ter rue des Essais Denain")
    assert r.quality == "approximate"
    assert r.best.housenumber == "7" and r.best.approximate_number


def test_no_number_gives_the_street(geocoder):
    r = geocoder.geocode("Rue Longue de l'Essai, Denain")
    assert r.quality == "approximate" and r.best.type == "street"
    assert len(r.best.support) >= 2 and r.best.radius_m > 100


def test_merged_commune(geocoder):
    former = geocoder.geocode("3 rue de la Mairie Fictive, Ancien-Hameau-Fictif")
    assert former.quality == "precise"
    assert (former.best.citycode, former.best.oldcitycode) == ("59651", "59991")
    assert (former.best.lon, former.best.lat) == pytest.approx(
        _position("59651", "Rue de la Mairie Fictive", 3, anc="59991"))
    both = geocoder.geocode("3 rue de la Mairie Fictive 59220 Wavrechain-sous-Denain")
    assert both.quality == "ambiguous"
    assert {c.oldcitycode for c in both.candidates[:2]} == {"", "59991"}


def test_homonymous_streets_in_one_commune(geocoder):
    both = geocoder.geocode("3 rue du Calvaire Fictif, Émerchicourt")  # 3 exists on both streets
    assert both.quality == "ambiguous"
    assert len({(c.lon, c.lat) for c in both.candidates[:2]}) == 2
    only_one = geocoder.geocode("8 rue du Calvaire Fictif, Émerchicourt")  # 8 only on one
    assert only_one.quality == "precise" and only_one.best.housenumber == "8"


def test_locality_and_commune(geocoder):
    r = geocoder.geocode("Le Champ Fictif, Émerchicourt")
    assert (r.quality, r.best.type, r.best.citycode) == ("approximate", "locality", "59192")
    r = geocoder.geocode("59220 Denain")
    assert (r.quality, r.best.type, r.best.citycode) == ("approximate", "municipality", "59172")
    for text, insee in (("Douchy", "59179"), ("Saint-Amand-les-Eaux", "59526"), ("ROEULX", "59504")):
        r = geocoder.geocode(text)
        assert (r.quality, r.best.type, r.best.citycode) == ("approximate", "municipality", insee), text
    assert geocoder.geocode("59220").quality == "ambiguous"  # Denain and Wavrechain-sous-Denain


@pytest.mark.parametrize("text", ["rue inexistante denain", "12 rue des Essais 59300 Valenciennes", "", "zz"])
def test_not_found(geocoder, text):
    r = geocoder.geocode(text)
    assert r.quality == "not_found" and not r.candidates and r.reason


@pytest.mark.parametrize("text", ["12 rue des Essais Valenciennes", "12 rue des Essais, 59300",
                                  "12 rue des Essais 59300 Valenciennes"])
def test_communes_outside_the_territory_are_recognised(geocoder, text):
    """The BAN file's other communes are known by name and postcode: never matched to a CAPH street."""
    r = geocoder.geocode(text)
    assert r.quality == "not_found" and "Valenciennes" in r.reason and "hors du territoire" in r.reason


@pytest.mark.parametrize("text, insee", [
    ("10 rue Saint-Fictif, St Amand", "59526"),     # short commune name after a comma
    ("4 rue du 8 Mai Fictif, Douchy", "59179"),
    ("4 rue du 8 Mai Fictif Douchy", "59179"),      # at the end, a distinctive short name
    ("12 route de Testville, Château", "59144"),
])
def test_short_commune_names(geocoder, text, insee):
    r = geocoder.geocode(text)
    assert r.quality == "precise" and r.best.citycode == insee


def test_common_words_at_the_end_are_not_communes(geocoder):
    from cq_geo.geocode.normalize import parse_address

    # "château" starts Château-l'Abbaye, but at the end of a bare address it is part of the street
    assert "chateau" in geocoder._aliases and "chateau" not in geocoder._parse_keys
    assert parse_address("12 rue du vieux chateau", geocoder._parse_keys).city == ""
    assert parse_address("12 rue du vieux chateau douchy", geocoder._parse_keys).city == "douchy"


def test_typos_in_the_commune(geocoder):
    r = geocoder.geocode("12 rue des Essais, Denian")
    assert r.quality == "precise" and r.best.citycode == "59172"


def test_reverse(geocoder):
    for insee, street, number, rep in (("59564", "Rue des Essais", 7, ""), ("59172", "Rue des Essais", 12, "bis"),
                                       ("59651", "Rue de la Mairie Fictive", 3, "")):
        lon, lat = _position(insee, street, number, rep)
        best = geocoder.reverse(lon + 0.00001, lat)[0]
        assert (best.citycode, best.street, best.housenumber) == (insee, street, f"{number} {rep}".strip())
        assert best.score > 0.9
    three = geocoder.reverse(*_position("59172", "Rue des Essais", 20), limit=3)
    assert len(three) == 3 and three[0].score >= three[1].score >= three[2].score


def test_thresholds_are_configurable(index_db):
    from cq_geo.geocode.ban import BanGeocoder

    strict = BanGeocoder.from_store(index_db, thresholds=QualityThresholds(precise_score=0.99))
    assert strict.geocode("12 rue des Esais Denain").quality == "approximate"  # typo: score < 0.99
    assert strict.geocode("12 rue des Essais Denain").quality == "precise"


def test_geocode_many_reports_progress_and_agrees_with_geocode(geocoder):
    texts = [t for t, _ in PRECISE] + ["7 rue des Essais", "rue inexistante denain"]
    seen = []
    many = geocoder.geocode_many([AddressQuery(t) for t in texts], progress=lambda d, t: seen.append((d, t)))
    assert [m.quality for m in many] == [geocoder.geocode(t).quality for t in texts]
    assert seen[-1] == (len(texts), len(texts))


# -- the store ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store_with_ban(tmp_path_factory, ban_gz):
    pytest.importorskip("geopandas")
    from cq_geo.geocode.ban_index import import_ban

    path = tmp_path_factory.mktemp("store") / "cq-geo.gpkg"
    stats = import_ban(ban_gz, path)
    assert Path(stats["store"]) == path
    return path


def test_index_lives_in_the_store(store_with_ban):
    from cq_geo.data.gpkg_store import validate_store_file
    from cq_geo.geocode.ban_index import index_info
    from cq_geo.territory import load_territory

    validate_store_file(store_with_ban)
    info = index_info(store_with_ban)
    assert info["source"] == "adresses-59.csv.gz" and info["rows_kept"] > 0
    assert load_territory(store=store_with_ban).layers["communes"].feature_count == 47


# -- lookups --------------------------------------------------------------------------------------------
def _territory_with_qpv_on_long_street():
    """The baseline territory plus a SYNTHETIC QPV covering the first half of « Rue Longue de l'Essai »."""
    import shapely

    from cq_geo.geo.layers import load_baseline_communes
    from cq_geo.model import load_definition
    from cq_geo.territory import Territory

    pts = [(float(r["x"]), float(r["y"])) for r in _rows()
           if r["nom_voie"] == "Rue Longue de l'Essai" and int(r["numero"]) <= 50]
    qpv = shapely.buffer(shapely.convex_hull(shapely.multipoints(pts)), 40.0)
    geoms, info = load_baseline_communes()
    return Territory(load_definition(), geoms, info, zone_geoms={"QN05950M": (qpv, "official")})


def test_street_crossing_a_perimeter_is_flagged(geocoder):
    from cq_geo.geocode.lookup import lookup_address

    territory = _territory_with_qpv_on_long_street()
    answer = lookup_address(territory, "Rue Longue de l'Essai, Denain", geocoder)
    assert answer.geocoding.quality == "approximate"
    assert any("la voie traverse le périmètre du QPV" in w for w in answer.warnings), answer.warnings
    # a precise number inside the perimeter: no such warning, and the QPV answers
    inside = lookup_address(territory, "10 Rue Longue de l'Essai, Denain", geocoder)
    assert inside.geocoding.quality == "precise"
    assert not any("traverse" in w for w in inside.warnings)
    assert any(z["code"] == "QN05950M" and z["status"] == "inside" for z in inside.lookup.zones)
    # a street far from any perimeter: approximate, but nothing to check
    far = lookup_address(territory, "Rue Saint-Fictif, Saint-Amand-les-Eaux", geocoder)
    assert not any("traverse" in w for w in far.warnings)


def test_nearest_number_close_to_an_edge_is_flagged(index_db):
    from cq_geo.geocode.ban import BanGeocoder
    from cq_geo.geocode.lookup import lookup_address

    geocoder = BanGeocoder.from_store(index_db, thresholds=QualityThresholds(qpv_check_m=200.0))
    territory = _territory_with_qpv_on_long_street()
    answer = lookup_address(territory, "51 Rue Longue de l'Essai, Denain", geocoder)  # 51 exists: precise
    assert answer.geocoding.quality == "precise"
    assert not any("position approximative" in w for w in answer.warnings)
    answer = lookup_address(territory, "119 bis Rue Longue de l'Essai, Denain", geocoder)  # 119 without bis
    assert answer.geocoding.best.approximate_number and answer.geocoding.quality == "approximate"
    assert not any("limite du QPV" in w for w in answer.warnings)  # 119 is far from the QPV (> 200 m)
    answer = lookup_address(territory, "250 Rue Longue de l'Essai, Denain", geocoder)  # nearest known: 120
    assert answer.geocoding.best.housenumber == "120"
    assert any("limite du QPV" in w for w in answer.warnings)  # so far from the number typed: anywhere on the street
    answer = lookup_address(territory, "52 bis Rue Longue de l'Essai, Denain", geocoder)  # 52 without bis
    assert answer.geocoding.quality == "approximate"
    assert any("limite du QPV" in w for w in answer.warnings), answer.warnings


def test_commune_comes_from_the_insee_code(tmp_path):
    """A BAN position that the simplified outlines put in the neighbouring commune keeps its INSEE commune."""
    from cq_geo.geocode.ban import BanGeocoder
    from cq_geo.geocode.ban_index import import_ban
    from cq_geo.geocode.lookup import lookup_address
    from cq_geo.territory import load_territory

    territory = load_territory()
    sentinelle = [r for r in _rows() if r["code_insee"] == "59564"][0]
    rows = [dict(r) for r in _rows() if r["code_insee"] == "59172"]
    moved = dict(rows[0], nom_voie="Rue de la Frontière Fictive", numero="1", rep="",
                 lon=sentinelle["lon"], lat=sentinelle["lat"])  # Denain's code, a point inside La Sentinelle
    path = tmp_path / "moved.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=";")
        w.writeheader()
        w.writerows(rows + [moved])
    import_ban(path, tmp_path / "m.sqlite")
    geocoder = BanGeocoder.from_store(tmp_path / "m.sqlite")
    answer = lookup_address(territory, "1 rue de la Frontière Fictive Denain", geocoder)
    assert territory.lookup(lon=float(moved["lon"]), lat=float(moved["lat"])).commune["insee"] == "59564"
    assert answer.lookup.commune["insee"] == "59172"
    assert answer.lookup.team["id"] == territory.definition.team_of("59172").id
    assert any("code INSEE" in w for w in answer.warnings)


def test_ambiguous_lookup_is_never_resolved(geocoder, baseline_territory):
    from cq_geo.geocode.lookup import lookup_address

    with pytest.raises(AmbiguousAddress) as err:
        lookup_address(baseline_territory, "7 rue des Essais", geocoder)
    assert "Denain" in str(err.value) and "Raismes" in str(err.value) and "ambiguë" in str(err.value)
    assert err.value.result.quality == "ambiguous"


# -- command line ------------------------------------------------------------------------------------------
def test_cli_import_geocode_lookup(tmp_path, ban_gz, capsys):
    pytest.importorskip("geopandas")
    from cq_geo.cli.main import main

    store = tmp_path / "s.gpkg"
    assert main(["ban-import", str(ban_gz), "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "Index BAN installé" in out and str(store) in out and "Abscon (59002)" in out
    assert main(["data", "import", "ban", str(ban_gz), "--store", str(tmp_path / "d.gpkg"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_kept"] == len([r for r in _rows() if r["code_insee"] != "59606"])

    assert main(["geocode", "12 bis rue des essais denain", "--store", str(store), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["quality"] == "precise" and d["candidates"][0]["citycode"] == "59172"
    assert "support" not in d["candidates"][0]

    assert main(["geocode", "7 rue des essais", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "qualité ambiguë" in out and "Raismes" in out
    assert main(["geocode", "rue inexistante denain", "--store", str(store)]) == 2
    assert "qualité introuvable" in capsys.readouterr().out

    assert main(["lookup", "12 rue des Essais 59220 Denain", "--store", str(store), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["geocoding"]["quality"] == "precise" and d["commune"]["insee"] == "59172"
    assert (d["point"]["lon"], d["point"]["lat"]) == pytest.approx(_position("59172", "Rue des Essais", 12), abs=1e-6)

    assert main(["lookup", "Rue Longue de l'Essai Denain", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "qualité approximative" in out and "Commune : Denain" in out

    assert main(["lookup", "7 rue des essais", "--store", str(store)]) == 2
    assert "ambiguë" in capsys.readouterr().err
    assert main(["lookup", "rue inexistante denain", "--store", str(store)]) == 2
    assert "introuvable" in capsys.readouterr().err
    assert main(["lookup", "12 rue des essais denain", "--lon", "3.3", "--store", str(store)]) == 2
    assert main(["lookup", "12 rue des essais denain", "--geocoder", "none", "--store", str(store)]) == 2
    assert "coordonnées" in capsys.readouterr().err


def test_cli_without_index(tmp_path, capsys):
    from cq_geo.cli.main import main

    assert main(["geocode", "12 rue des essais denain", "--store", str(tmp_path / "none.gpkg")]) == 2
    assert "cq-geo data import ban" in capsys.readouterr().err


def test_offline_geocoder_is_reused_until_the_store_changes(tmp_path, ban_gz):
    import os

    from cq_geo.geocode import get_geocoder
    from cq_geo.geocode.ban_index import import_ban

    db = tmp_path / "r.sqlite"
    import_ban(ban_gz, db)
    a, b = get_geocoder("offline", store=db), get_geocoder("offline", store=db)
    assert a is b
    assert get_geocoder("offline", store=db, thresholds=QualityThresholds(margin=0.2)) is not a
    import_ban(FIXTURE, db)  # a new import: a new geocoder
    st = db.stat()
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    c = get_geocoder("offline", store=db)
    assert c is not a and c.index.meta["source"] == FIXTURE.name


def test_without_rapidfuzz_the_stand_in_gives_the_same_answers(index_db, monkeypatch):
    """QGIS on Windows has no rapidfuzz: the pure-Python stand-in must give the same answers (slower)."""
    from cq_geo.geocode import _fuzzy
    from cq_geo.geocode.ban import BanGeocoder

    pytest.importorskip("rapidfuzz")
    fast = BanGeocoder.from_store(index_db, thresholds=QualityThresholds())
    slow = BanGeocoder.from_store(index_db, thresholds=QualityThresholds())
    texts = [t for t, _ in PRECISE] + ["7 rue des Essais", "rue inexistante denain", "12 rue des Essais, Denian",
                                       "Rue Longue, Denain", "25 rue longue", "12 rue des Esasi Denain",
                                       "12 rue des Essais Saint-Amand"]
    answers = [fast.geocode(t).to_dict() for t in texts]
    assert _fuzzy.backend() == "rapidfuzz"
    monkeypatch.setattr(_fuzzy, "_enabled", False)
    assert _fuzzy.backend() == "python"
    assert [slow.geocode(t).to_dict() for t in texts] == answers
