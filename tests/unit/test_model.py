"""The territory file: the embedded one is complete and faithful; bad files get French messages."""

import copy

import pytest

from cq_geo.errors import TerritoryFileError
from cq_geo.model import load_definition, parse_definition

from . import synthetic as s


@pytest.fixture(scope="module")
def d():
    return load_definition()


def test_embedded_territory_facts(d):
    assert d.siren == "200042190"
    assert len(d.communes) == 47
    assert sum(c.population for c in d.communes.values()) == 158_351
    assert d.communes["59504"].name == "Rœulx"
    assert len(d.zones_of("qpv")) == 13 and d.tiers["qpv"].contract_count == 12
    assert d.tiers["qpv"].population == 36_794 and d.tiers["qva"].population == 47_510
    assert len(d.zones_of("poche")) == 11
    whole = [z.communes[0] for z in d.zones_of("qva") if z.geometry == "commune"]
    assert len(whole) == 11
    drawn = [z.name for z in d.zones_of("qva") if z.geometry == "perimeter"]
    assert all("Saint-Amand" in n for n in drawn) and len(drawn) == 2
    assert {t: len(team.communes) for t, team in d.teams.items()} == {"nord": 7, "sud": 6}
    assert [lead.id for lead in d.team_leads("nord")] == ["cp1", "cp2", "cp3"]
    assert [lead.id for lead in d.tier_leads("qpv")] == ["cite_emploi"]
    assert len(d.orientations) == 6 and len(d.axes) == 6
    assert d.team_of("59002") is None and d.team_of("59302") is None  # Abscon, Hérin


def test_embedded_territory_matches_reference_csv(d, shared_data):
    import csv

    rows = list(csv.DictReader(open(shared_data / "caph_communes.csv", encoding="utf-8")))
    assert {r["insee"]: (r["nom"], int(r["population_municipale"])) for r in rows} == {
        c.insee: (c.name, c.population) for c in d.communes.values()
    }
    qpv = list(csv.DictReader(open(shared_data / "qpv2024_caph.csv", encoding="utf-8")))
    assert {r["code_qp"]: (r["lib_qp"], tuple(r["insee_com_in_caph"].split("|"))) for r in qpv} == {
        z.code: (z.name, z.communes) for z in d.zones_of("qpv")
    }


def test_toml_syntax_error_names_the_file(tmp_path):
    bad = tmp_path / "t.toml"
    bad.write_text('schema_version = 1\n[territory\nname = "x"\n', encoding="utf-8")
    with pytest.raises(TerritoryFileError, match="syntaxe TOML invalide"):
        load_definition(bad)


def test_all_problems_reported_at_once_with_suggestions():
    data = copy.deepcopy(s.DEFINITION)
    data["teams"][0]["communes"] = ["99011"]  # typo of 99001
    data["zones"][0]["tier"] = "qvp"
    data["zones"].append(dict(data["zones"][1]))  # duplicate code
    data["leads"][0]["orientation"] = "o2"
    with pytest.raises(TerritoryFileError) as err:
        parse_definition(data, where="test.toml")
    text = str(err.value)
    assert "4 problème(s)" in text
    assert "commune '99011' absente" in text and "vouliez-vous dire : 99001" in text
    assert "niveau 'qvp' inconnu (vouliez-vous dire : " in text and "qpv ?)" in text
    assert "code de zone en double" in text
    assert "orientation 'o2' inconnue" in text


def test_bad_codes_and_types():
    data = copy.deepcopy(s.DEFINITION)
    data["territory"]["communes"][0]["insee"] = "9901"
    data["territory"]["communes"][1]["population"] = "beaucoup"
    data["zones"][0]["code"] = "QPV-1"
    with pytest.raises(TerritoryFileError) as err:
        parse_definition(data)
    text = str(err.value)
    assert "code INSEE invalide '9901'" in text
    assert "« population » doit être un entier" in text
    assert "code QPV invalide" in text


def test_commune_in_two_teams_is_refused():
    data = copy.deepcopy(s.DEFINITION)
    data["teams"].append({"id": "sud", "name": "Sud", "communes": ["99001"]})
    with pytest.raises(TerritoryFileError, match="déjà dans l'équipe 'nord'"):
        parse_definition(data)
