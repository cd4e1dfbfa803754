"""Batch API: statuses and reasons, columns untouched, geocoded rows, resume, pseudonymisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cq_geo
from cq_geo.bulk.run import STATUSES, BatchError, GeocodeCache, batch
from cq_geo.geo.crs import l93_to_lonlat, lonlat_to_l93
from cq_geo.territory import LOOKUP_COLUMNS

from . import synthetic as s
from .batch_support import TableGeocoder, commune_points, communes_without_zones


@pytest.fixture(scope="module")
def terr():
    return cq_geo.load_territory()


@pytest.fixture(scope="module")
def points(terr):
    return commune_points(terr)


def _coords(rows):
    return pd.DataFrame({"nom": [r[0] for r in rows], "lon": [r[1] for r in rows], "lat": [r[2] for r in rows]})


def test_ok_in_a_commune_without_zones_and_outside(terr, points):
    free = communes_without_zones(terr)
    assert free, "the territory has communes that no zone touches"
    code = free[0]
    lon, lat = points[code]
    paris = (2.3522, 48.8566)
    out, summary = batch(_coords([("a", str(lon), str(lat)), ("paris", *map(str, paris))]), territory=terr,
                         lon_col="lon", lat_col="lat")
    assert list(out["cq_status"]) == ["ok", "outside_territory"]
    name = terr.definition.commune_name(code)
    assert out.loc[0, "cq_reason"] == f"{name} : hors QPV, poche de pauvreté et ancien quartier de veille active"
    assert out.loc[0, "cq_commune_insee"] == code
    assert out.loc[0, "cq_lon"] == pytest.approx(lon, abs=1e-7)
    assert out.loc[1, "cq_reason"] == "hors du territoire de la CAPH"
    assert summary.counts["ok"] == 1 and summary.counts["outside_territory"] == 1


def test_commune_with_qpv_but_no_perimeter_is_to_check(terr, points):
    lon, lat = points["59172"]  # Denain: QPV perimeters are not in the embedded data
    out, _ = batch(_coords([("denain", lon, lat)]), territory=terr, lon_col="lon", lat_col="lat")
    assert out.loc[0, "cq_status"] == "to_check"
    assert "appartenance à un QPV inconnue" in out.loc[0, "cq_reason"]
    assert out.loc[0, "cq_reason"].startswith("Denain : ")


@pytest.mark.parametrize(
    "dx, dy, status, fragment",
    [
        (400, 400, "ok", "dans le QPV QPV synthétique (QN09901S)"),  # deep in QPV A
        (200, 400, "to_check", "sur la limite du QPV QPV synthétique"),  # on QPV A's edge
        (195, 400, "to_check", "à moins de 10 m d'un QPV"),  # just outside: near
        (1200, 200, "ok", "dans l'ancien quartier de veille active QVA synthétique B"),  # commune B, whole-commune QVA
        (50, 500, "to_check", "poche de pauvreté non dessiné"),  # commune A outside QPV: poche unknown
        (999, 500, "to_check", "près d'une limite communale"),  # between A and B
    ],
)
def test_rules_on_the_synthetic_territory(dx, dy, status, fragment):
    t = s.territory()
    out, _ = batch(pd.DataFrame({"x": [s.X0 + dx], "y": [s.Y0 + dy]}), territory=t, x_col="x", y_col="y")
    assert out.loc[0, "cq_status"] == status
    assert fragment in out.loc[0, "cq_reason"]


def test_invalid_rows_and_their_reasons(terr, points):
    lon, lat = points["59172"]
    x, y = lonlat_to_l93(lon, lat)
    rows = [
        ("virgules", f"{lon:.6f}".replace(".", ","), f"{lat:.6f}".replace(".", ",")),
        ("vide", "", ""),
        ("moitié", str(lon), ""),
        ("texte", "abc", str(lat)),
        ("inversé", str(lat), str(lon)),
        ("lambert", f"{x:.2f}", f"{y:.2f}"),
        ("lambert virgule", f"{x:.2f}".replace(".", ","), f"{y:.2f}".replace(".", ",")),
        ("océan", "-30", "45"),
    ]
    out, summary = batch(_coords(rows), territory=terr, lon_col="lon", lat_col="lat")
    assert list(out["cq_status"]) == ["to_check"] + ["invalid"] * 7
    reasons = list(out["cq_reason"])
    assert reasons[1] == "coordonnées manquantes"
    assert reasons[2] == "une des deux coordonnées manque"
    assert reasons[3] == "valeur non numérique dans la colonne « lon »"
    assert reasons[4] == "latitude et longitude semblent inversées"
    assert "Lambert-93" in reasons[5] and "--x-col" in reasons[5]
    assert reasons[6] == reasons[5]
    assert reasons[7].startswith("point hors de la France métropolitaine")
    assert out["cq_lon"].isna().tolist() == [False] + [True] * 7
    assert summary.counts["invalid"] == 7
    assert len(summary.to_check) == 8


def test_lambert_columns_used_with_x_y_and_degrees_refused_there(terr, points):
    lon, lat = points["59172"]
    x, y = lonlat_to_l93(lon, lat)
    df = pd.DataFrame({"X": [f"{x:.1f}", str(lon)], "Y": [f"{y:.1f}", str(lat)]})
    out, _ = batch(df, territory=terr, x_col="X", y_col="Y")
    assert out.loc[0, "cq_commune"] == "Denain"
    assert out.loc[0, "cq_lon"] == pytest.approx(lon, abs=1e-6)
    assert out.loc[1, "cq_status"] == "invalid" and "degrés" in out.loc[1, "cq_reason"]


def test_columns_untouched_in_order_with_duplicates_and_blank_names(terr, points):
    lon, lat = points["59172"]
    df = pd.DataFrame([["a", " 007 ", str(lon), str(lat), "x"]], columns=["nom", "", "lon", "lat", "nom"])
    out, _ = batch(df, territory=terr, lon_col="lon", lat_col="lat")
    assert list(out.columns[:5]) == ["nom", "", "lon", "lat", "nom"]
    assert out.iloc[0, :5].tolist() == ["a", " 007 ", str(lon), str(lat), "x"]
    assert list(df.columns) == ["nom", "", "lon", "lat", "nom"] and df.shape == (1, 5)  # the input is not changed
    assert list(out.columns[5:]) == [
        "cq_status", "cq_reason", "cq_lon", "cq_lat", "cq_geocode_score", "cq_geocode_type", "cq_geocode_quality",
        "cq_geocode_candidates",
    ] + LOOKUP_COLUMNS
    assert set(out["cq_status"].cat.categories) == set(STATUSES)


def test_clear_errors_for_bad_options(terr):
    df = pd.DataFrame({"nom": ["a"], "lon": ["3"], "lat": ["50"], "dup": ["1"]})
    with pytest.raises(BatchError, match="« longitude » .*absente.*vouliez-vous dire « lon »|absente"):
        batch(df, territory=terr, lon_col="longitude", lat_col="lat")
    with pytest.raises(BatchError, match="indiquez où sont les lieux"):
        batch(df, territory=terr)
    with pytest.raises(BatchError, match="les deux colonnes"):
        batch(df, territory=terr, lon_col="lon")
    dup = pd.DataFrame([["1", "2", "3"]], columns=["lon", "lon", "lat"])
    with pytest.raises(BatchError, match="présente 2 fois"):
        batch(dup, territory=terr, lon_col="lon", lat_col="lat")
    done, _ = batch(df, territory=terr, lon_col="lon", lat_col="lat")
    with pytest.raises(BatchError, match="traitement précédent"):
        batch(done, territory=terr, lon_col="lon", lat_col="lat")


def test_empty_dataframe(terr):
    out, summary = batch(pd.DataFrame({"lon": [], "lat": []}, dtype=object), territory=terr,
                         lon_col="lon", lat_col="lat")
    assert len(out) == 0 and summary.total == 0
    assert "0 lignes lues" in summary.to_text()


def _address_table(points):
    lon, lat = points["59172"]
    lon2, lat2 = (2.3522, 48.8566)
    return {
        "12 rue des essais 59220 Denain": (lon, lat, "precise", "housenumber", 0.95),
        "rue des essais 59220 Denain": (lon, lat, "approximate", "street", 0.7),
        "1 place de la gare Paris": (lon2, lat2, "precise", "housenumber", 0.9),
        "7 rue des essais": (lon, lat, "ambiguous", "housenumber", 0.8),
    }


def test_address_rows(terr, points):
    gc = TableGeocoder(_address_table(points))
    df = pd.DataFrame({
        "num": ["12", "", "1", "7", "3", "", "12"],
        "voie": ["rue des Essais", "rue des Essais", "place de la Gare", "rue des essais", "rue Inconnue", "", "rue des Essais"],
        "cp": ["59220", "59220", "", "", "59220", "", "59220"],
        "ville": ["Denain", "Denain", "Paris", "", "Denain", "", "Denain"],
    })
    out, summary = batch(df, territory=terr, address_cols="num,voie", postcode_col="cp", city_col="ville", geocoder=gc)
    assert list(out["cq_status"]) == ["to_check", "to_check", "outside_territory", "to_check", "not_found", "invalid", "to_check"]
    assert list(out["cq_geocode_quality"]) == ["precise", "approximate", "precise", "ambiguous", "not_found", "", "precise"]
    assert out.loc[1, "cq_reason"].count("géocodage approximatif (numéro absent : voie seule)") == 1
    assert "adresse ambiguë" in out.loc[3, "cq_reason"]
    assert out.loc[4, "cq_reason"] == "adresse introuvable : aucune adresse de la table ne correspond"
    assert out.loc[5, "cq_reason"] == "adresse vide"
    assert out.loc[0, "cq_geocode_type"] == "housenumber" and out.loc[0, "cq_geocode_score"] == 0.95
    assert gc.calls == 5  # the duplicate address (rows 0 and 6) is geocoded once
    assert summary.counts["not_found"] == 1
    quality = dict(summary.by_geocoding[["Qualité du géocodage", "Lignes"]].values.tolist())
    assert quality == {"précise": 3, "approximative": 1, "ambiguë": 1, "introuvable": 1,
                       "non géocodée (coordonnées, ligne vide…)": 1}
    assert "Par qualité du géocodage" in summary.to_text()


def test_address_fills_rows_without_coordinates(terr, points):
    lon, lat = points["59172"]
    gc = TableGeocoder(_address_table(points))
    df = pd.DataFrame({"adresse": ["1 place de la gare Paris", "12 rue des essais 59220 Denain"],
                       "lon": [str(lon), ""], "lat": [str(lat), ""]})
    out, _ = batch(df, territory=terr, lon_col="lon", lat_col="lat", address_cols=["adresse"], geocoder=gc)
    assert list(out["cq_commune"]) == ["Denain", "Denain"]  # row 0 keeps its coordinates, row 1 is geocoded
    assert list(out["cq_geocode_quality"]) == ["", "precise"]
    assert gc.calls == 1


def test_geocoder_none_needs_coordinates(terr):
    with pytest.raises(BatchError, match="--geocoder none"):
        batch(pd.DataFrame({"a": ["x"]}), territory=terr, address_cols="a", geocoder="none")


def test_resume_after_an_interrupted_geocoding(terr, points, tmp_path):
    table = {f"{i} rue des essais 59220 denain": (*points["59172"], "precise", "housenumber", 0.9) for i in range(1, 1001)}
    df = pd.DataFrame({"adresse": [f"{i} rue des Essais 59220 Denain" for i in range(1, 1001)]})
    cache_path = tmp_path / "cache.jsonl"
    failing = TableGeocoder(table, fail_after=450)
    cache = GeocodeCache(cache_path, failing.name, resume=False)
    with pytest.raises(RuntimeError, match="indisponible"):
        batch(df, territory=terr, address_cols="adresse", geocoder=failing, cache=cache)
    cache.close()
    kept = len(GeocodeCache(cache_path, failing.name, resume=True).entries)
    assert kept == 400  # two whole chunks of 200 were written before the failure
    again = TableGeocoder(table)
    cache = GeocodeCache(cache_path, again.name, resume=True)
    out, summary = batch(df, territory=terr, address_cols="adresse", geocoder=again, cache=cache)
    assert again.calls == 600  # only what was not geocoded before
    assert len(out) == 1000 and summary.counts["not_found"] == 0
    assert "rue" not in cache_path.read_text()  # the cache holds hashes, not addresses


def test_pseudonymise(terr, points):
    gc = TableGeocoder(_address_table(points))
    df = pd.DataFrame({"id_interne": ["A1", "A2", "A3"], "num": ["12", "12", "1"],
                       "voie": ["rue des Essais", "rue des  essais", "place de la Gare"],
                       "cp": ["59220", "59220", ""], "ville": ["Denain", "Denain", "Paris"]})
    out, summary = batch(df, territory=terr, address_cols=["num", "voie"], postcode_col="cp", city_col="ville",
                         geocoder=gc, pseudonymise=True, salt="sel-de-test")
    assert list(out.columns[:2]) == ["id_interne", "cq_id"]
    assert not {"num", "voie", "cp", "ville", "cq_lon", "cq_lat"} & set(map(str, out.columns))
    ids = list(out["cq_id"])
    assert ids[0] == ids[1] != ids[2] and all(len(i) == 16 for i in ids)
    out2, _ = batch(df, territory=terr, address_cols=["num", "voie"], postcode_col="cp", city_col="ville",
                    geocoder=gc, pseudonymise=True, salt="autre-sel")
    assert out2.loc[0, "cq_id"] != ids[0]
    assert "Identifiant (cq_id)" in summary.to_check.columns
    assert "rue" not in summary.to_text().lower()
    with pytest.raises(BatchError, match="sel"):
        batch(df, territory=terr, address_cols="voie", geocoder=gc, pseudonymise=True)


def test_many_rows_statuses_agree_with_lookup(terr):
    from .batch_support import random_points_in

    lon, lat = random_points_in(terr, 20_000, seed=3)
    df = pd.DataFrame({"lon": lon.astype(str), "lat": lat.astype(str)})
    out, summary = batch(df, territory=terr, lon_col="lon", lat_col="lat")
    look = terr.lookup_many(lon=lon, lat=lat)
    inside = look["cq_commune"].astype(str).to_numpy() != ""
    status = out["cq_status"].astype(str).to_numpy()
    assert set(status[~inside]) <= {"outside_territory", "to_check"}
    assert set(status[inside]) <= {"ok", "to_check"}
    assert (status[inside] == "ok").any() and (status[~inside] == "outside_territory").any()
    # ok rows have nothing to check in their lookup answer; rows with such a warning are never ok
    warnings = look["cq_warnings"].astype(str).to_numpy()
    doubtful = np.array(["vérifier" in w or "inconnue" in w for w in warnings])
    assert not (doubtful & (status == "ok")).any()
    assert (doubtful & (status == "to_check")).any()
    assert sum(summary.counts.values()) == len(df)


def test_commune_of_the_address_disagreeing_with_the_position(terr, points):
    lon, lat = points["59172"]  # a point in Denain
    paris = (2.3522, 48.8566)

    class CityGeocoder(TableGeocoder):
        def geocode(self, query, limit=5):
            result = super().geocode(query, limit)
            for cand in result.candidates:
                cand.citycode = self.cities.get(query.text.casefold(), "")
            return result

    gc = CityGeocoder({"a": (lon, lat, "precise", "housenumber", 0.95), "b": (lon, lat, "precise", "housenumber", 0.95),
                       "c": (*paris, "precise", "housenumber", 0.95)})
    gc.cities = {"a": "59172", "b": "59491", "c": "59172"}
    out, _ = batch(pd.DataFrame({"adresse": ["a", "b", "c"]}), territory=terr, address_cols="adresse", geocoder=gc)
    assert "base d'adresses" not in out.loc[0, "cq_reason"]
    assert out.loc[1, "cq_status"] == "to_check"
    assert "l'adresse est à Raismes selon la base d'adresses, la position tombe à Denain" in out.loc[1, "cq_reason"]
    assert out.loc[2, "cq_status"] == "to_check" and "hors du territoire" in out.loc[2, "cq_reason"]


def test_street_crossing_a_perimeter_is_said():
    from cq_geo.geocode.base import Candidate, GeocodeResult

    t = s.territory()

    def lonlat(dx, dy):
        lo, la = l93_to_lonlat(s.X0 + dx, s.Y0 + dy)
        return float(lo), float(la)

    class StreetGeocoder(TableGeocoder):
        """Street-level answers with known positions along the street, like the BAN geocoder."""

        def geocode(self, query, limit=5):
            self.calls += 1
            text = query.text.casefold()
            xs = range(100, 560, 40) if "traverse" in text else range(1100, 1300, 40)  # QPV A: 200..600
            support = tuple(lonlat(x, 400) for x in xs)
            lon, lat = lonlat(800 if "traverse" in text else 1200, 400)
            cand = Candidate(lon=lon, lat=lat, label=query.text, score=0.7, type="street", support=support)
            return GeocodeResult(query.text, "approximate", [cand], reason="numéro absent : voie seule")

    gc = StreetGeocoder({})
    out, _ = batch(pd.DataFrame({"a": ["rue qui traverse", "rue tranquille"]}), territory=t, address_cols="a",
                   geocoder=gc)
    assert "la voie traverse le périmètre du QPV QPV synthétique (position de la voie, pas du numéro)" in out.loc[0, "cq_reason"]
    assert "traverse" not in out.loc[1, "cq_reason"]
    assert list(out["cq_status"]) == ["to_check", "to_check"]
