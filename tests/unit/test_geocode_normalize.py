"""Normalisation of French addresses: accents, case, abbreviations, bis/ter, Saint, ligatures, postcode vs commune."""

import pytest

from cq_geo.geocode.normalize import city_key, fold, normalize_rep, parse_address, street_key

CITIES = {city_key(n) for n in ("Denain", "Saint-Amand-les-Eaux", "Rœulx", "La Sentinelle", "Douchy-les-Mines",
                                "Château-l'Abbaye", "Émerchicourt")}


@pytest.mark.parametrize("a, b", [
    ("Rue Jean-Jaurès", "RUE JEAN JAURES"),
    ("r. Jean Jaurès", "rue jean jaures"),
    ("Av. du Gal de Gaulle", "Avenue du Général de Gaulle"),
    ("bd Saint-Fictif", "Boulevard St Fictif"),
    ("Pl. de l'Église", "place de l eglise"),
    ("Imp. des Lilas", "Impasse des Lilas"),
    ("Chem. des Près", "chemin des pres"),
    ("Rte de Testville", "route de testville"),
    ("All. du Cœur", "allée du coeur"),
    ("Sq. du Mal Fictif", "Square du Maréchal Fictif"),
    ("Rue Ste-Barbe", "rue sainte barbe"),
])
def test_street_keys_agree(a, b):
    assert street_key(a) == street_key(b)


@pytest.mark.parametrize("a, b", [
    ("Avenue Foch", "Rue Foch"),
    ("Rue Haute", "Rue Basse"),
    ("Rue du 8 Mai 1945", "Rue du 11 Novembre"),
])
def test_different_streets_stay_different(a, b):
    assert street_key(a) != street_key(b)


def test_ligatures_and_accents():
    assert fold("Rœulx") == "roeulx"
    assert fold("ÆSOP Émerchicourt") == "aesop emerchicourt"
    assert city_key("ROEULX") == city_key("Rœulx")
    assert city_key("St-Amand-les-Eaux") == city_key("Saint Amand les Eaux")
    assert city_key("Chateau l'Abbaye") == city_key("Château-l'Abbaye")


@pytest.mark.parametrize("text, number, rep, street", [
    ("12 bis rue des Essais", "12", "bis", "rue essais"),
    ("12bis rue des Essais", "12", "bis", "rue essais"),
    ("12 B rue des Essais", "12", "b", "rue essais"),
    ("12b rue des Essais", "12", "b", "rue essais"),
    ("12 ter, rue des Essais", "12", "ter", "rue essais"),
    ("12 T rue des Essais", "12", "ter", "rue essais"),
    ("012 rue des Essais", "12", "", "rue essais"),
    ("rue des Essais", "", "", "rue essais"),
    ("12-14 rue des Essais", "12", "", "rue essais"),
    ("Bât A, 12 rue des Essais", "12", "", "rue essais"),
    ("appt 3 12 bis rue des Essais", "12", "bis", "rue essais"),
    ("Résidence Les Fleurs, 12 rue des Essais", "12", "", "rue essais"),
])
def test_numbers_and_suffixes(text, number, rep, street):
    p = parse_address(text)
    assert (p.housenumber, p.rep, p.street) == (number, rep, street)


@pytest.mark.parametrize("text, postcode, city, street", [
    ("12 rue des Essais 59220 Denain", "59220", "denain", "rue essais"),
    ("12 rue des Essais Denain 59220", "59220", "denain", "rue essais"),
    ("12 rue des Essais, 59220 Denain", "59220", "denain", "rue essais"),
    ("12 rue des Essais, Denain", "", "denain", "rue essais"),
    ("12 rue des Essais Denain", "", "denain", "rue essais"),
    ("12 rue des Essais St Amand les Eaux", "", "st amand les eaux", "rue essais"),
    ("12 rue des Essais ROEULX", "", "roeulx", "rue essais"),
    ("1 rue du 8 Mai 1945 Douchy les Mines", "", "douchy les mines", "rue 8 mai 1945"),
    ("12 rue de Denain", "", "", "rue denain"),  # a street named after a commune stays a street
    ("59220 Denain", "59220", "denain", ""),
    ("12 rue des Essais 59 220 Denain", "59220", "denain", "rue essais"),
    ("12 rue des Essais, Denain, France", "", "denain", "rue essais"),
])
def test_postcode_and_commune(text, postcode, city, street):
    p = parse_address(text, CITIES)
    assert (p.postcode, p.city, p.street) == (postcode, city, street)


def test_normalize_rep():
    assert [normalize_rep(r) for r in ("BIS", "Ter", "t", "A", "", None, "quater")] == [
        "bis", "ter", "ter", "a", "", "", "quater"]
