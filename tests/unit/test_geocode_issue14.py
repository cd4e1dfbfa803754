"""Issue 14: the offline geocoder as accurate as addok, never confidently wrong — one test per cause found.

The BAN files here are SYNTHETIC (invented streets and positions, real commune
names and codes), written in the official formats by the tests themselves.
"""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from cq_geo.errors import DataError
from cq_geo.geocode import _fuzzy
from cq_geo.geocode.ban import BanGeocoder
from cq_geo.geocode.ban_index import BAN_COLUMNS, import_ban
from cq_geo.geocode.base import QualityThresholds
from cq_geo.geocode.normalize import parse_address
from cq_geo.model import load_definition

ROOT = Path(__file__).resolve().parents[2]
CODES = {c.name: (c.insee, (c.postcodes or ("",))[0]) for c in load_definition().communes.values()}
LD_COLUMNS = ("id", "nom_lieu_dit", "code_postal", "code_insee", "nom_commune", "code_insee_ancienne_commune",
              "nom_ancienne_commune", "x", "y", "lon", "lat", "source_position", "source_nom_voie")

#: (commune, street, numbers) — synthetic streets; every commune gets its own place on a grid
STREETS = [
    ("Denain", "Route de Douai", range(1, 30)),
    ("Denain", "Avenue de la Scarpe", [80, 81, 82, "82 b", 83]),
    ("Denain", "Avenue du Terril", range(1, 20)),
    ("Denain", "Rue Arthur Lamendin", range(1, 40)),
    ("Douchy-les-Mines", "Rue Irène Joliot-Curie", range(1, 30)),
    ("Escaudain", "Rue Irène Joliot-Curie", range(1, 30)),
    ("Escaudain", "Rue des Essais Communs", range(1, 10)),
    ("Escautpont", "Rue Haute", range(1, 12)),
    ("Haveluy", "Chemin de Denain", range(1, 10)),
    ("Bruille-Saint-Amand", "Rue du Centre", range(1, 5)),
    ("Thun-Saint-Amand", "Rue du Centre", range(1, 5)),
    ("Lieu-Saint-Amand", "Rue du Centre", range(1, 5)),
    ("Flines-lès-Mortagne", "Rue du Centre", range(1, 5)),
    ("Wavrechain-sous-Denain", "Rue du Centre", range(1, 5)),
    ("Saint-Amand-les-Eaux", "Rue du Centre", range(1, 5)),
    ("Haulchin", "Rue du Moulin", range(1, 5)),
    ("Haulchin", "Le Moulin", range(1, 4)),  # a lieu-dit with numbers, also in the lieux-dits file
    ("Denain", "Rue de la Gare", [100, 102, 108]),
    ("Haveluy", "Rue de Wavrechain-sous-Denain", range(1, 20)),
    ("Hérin", "Rue de Wavrechain-sous-Denain", range(1, 20)),
    ("Denain", "Rue de Wavrechain-sous-Faulx", range(1, 20)),
]
# the same street in ten communes; number 14 only in the last two (by INSEE code): cause 5
HOMONYM_COMMUNES = sorted(["Abscon", "Avesnes-le-Sec", "Bellaing", "Bouchain", "Brillon", "Denain", "Escaudain",
                           "Haveluy", "Hérin", "Raismes"], key=lambda n: CODES[n][0])
for k, name in enumerate(HOMONYM_COMMUNES):
    STREETS.append((name, "Rue Pasteur", list(range(1, 10)) + ([14] if k >= 8 else [])))


def _position(commune: str) -> tuple[float, float]:
    k = sorted(CODES).index(commune)
    return 3.25 + (k % 8) * 0.05, 50.25 + (k // 8) * 0.03


def write_ban(folder: Path) -> Path:
    path = folder / "adresses-59.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(BAN_COLUMNS)
        for s, (commune, street, numbers) in enumerate(STREETS):
            insee, cp = CODES[commune]
            lon0, lat0 = _position(commune)
            lon0 += (s % 5) * 0.002
            for num in numbers:
                n, _, rep = str(num).partition(" ")
                lon, lat = lon0 + int(n) * 0.0001 + (0.00003 if rep else 0), lat0 + (int(n) % 2) * 0.0001
                w.writerow([f"{insee}_{s:04d}_{int(n):05d}{'_' + rep if rep else ''}", f"{insee}_{s:04d}", n, rep,
                            street, cp, insee, commune, "", "", "700000", "7000000", f"{lon:.6f}", f"{lat:.6f}",
                            "entrée", "", "", commune.upper(), street.upper(), "commune", "commune", "1", ""])
    return path


def write_lieux_dits(path: Path) -> Path:
    rows = [("Haulchin", "Le Bois Brûlé", 0.004), ("Haulchin", "Le Moulin", 0.001), ("Denain", "La Croix Jacquet", 0.006)]
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(LD_COLUMNS)
        for k, (commune, name, d) in enumerate(rows):
            insee, cp = CODES[commune]
            lon, lat = _position(commune)
            w.writerow([f"{insee}_b{k:03d}", name, cp, insee, commune, "", "", "700000", "7000000",
                        f"{lon + d:.6f}", f"{lat + d:.6f}", "commune", "bal"])
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("issue14")
    ban = write_ban(folder)
    write_lieux_dits(folder / "lieux-dits-59-beta.csv.gz")  # next to the addresses: read by default
    stats = import_ban(ban, folder / "ban.sqlite")
    return folder, stats


@pytest.fixture(scope="module", params=["rapidfuzz", "python"])
def g(world, request):
    """The geocoder, with rapidfuzz and with the pure-Python scores: every test runs with both."""
    if request.param == "rapidfuzz":
        pytest.importorskip("rapidfuzz")
    _fuzzy.use_rapidfuzz(request.param == "rapidfuzz")
    try:
        yield BanGeocoder.from_store(world[0] / "ban.sqlite", thresholds=QualityThresholds())
    finally:
        _fuzzy.use_rapidfuzz(True)


# -- cause 1: street types written in full ------------------------------------------------------------------------
FULL_TYPES = ["Avenue", "Route", "Place", "Chemin", "Impasse", "Allée", "Boulevard", "Résidence", "Square", "Quai",
              "Sentier", "Hameau", "Lotissement", "Passage", "Faubourg", "Cité", "Rue"]


@pytest.mark.parametrize("typ", FULL_TYPES)
def test_full_street_types_are_parsed(typ):
    p = parse_address(f"Bâtiment B 9 {typ} des Essais 59220 Denain")
    assert (p.housenumber, p.rep, p.postcode, p.city) == ("9", "", "59220", "denain")
    assert p.street.split()[0] != "batiment" and p.street.endswith("essais")
    p = parse_address(f"82 B {typ} de la Scarpe")
    assert (p.housenumber, p.rep) == ("82", "b")
    p = parse_address(f"3 {typ} de Douai Denain", city_keys={"denain", "douai"})
    assert p.city == "denain" and p.street.endswith("douai")


def test_full_street_types_are_found(g):
    r = g.geocode("Bâtiment B 9 Route de Douai 59220 Denain")
    assert (r.quality, r.best.label) == ("precise", "9 Route de Douai 59220 Denain")
    r = g.geocode("82 B Avenue de la Scarpe 59220 Denain")
    assert (r.quality, r.best.housenumber) == ("precise", "82 b")
    r = g.geocode("5 Route de Douai")  # "Douai" is the street's name here, not the commune
    assert (r.quality, r.best.citycode) == ("precise", CODES["Denain"][0])


def test_france_ending_a_street_name_is_kept():
    assert parse_address("34 Rue Anatole France").street == "rue anatole france"
    assert parse_address("34 Rue Anatole France 59220 Denain, France").city == "denain"


def test_complement_numbers_are_not_a_split_postcode(g):
    r = g.geocode("Escalier 14 102 Rue de la Gare 59220 Denain")  # "14 102" is not "14102"
    assert (r.quality, r.best.housenumber) == ("precise", "102")


def test_commune_names_inside_street_names(g):
    r = g.geocode("14 Rue de Wavrechain-sous-Denain")  # not "Denain", and not the street of Denain
    assert r.quality == "ambiguous"
    assert {c.citycode for c in r.candidates[:2]} == {CODES["Haveluy"][0], CODES["Hérin"][0]}
    r = g.geocode("14 Rue de Wavrechain-sous-Denain Hérin")
    assert (r.quality, r.best.citycode) == ("precise", CODES["Hérin"][0])


# -- cause 2: a postcode that contradicts the commune --------------------------------------------------------------
def test_wrong_postcode_does_not_beat_the_commune(g):
    r = g.geocode("14 Rue Irène Joliot-Curie 59124 Douchy-les-Mines")  # 59124 is Escaudain's postcode
    assert r.best.citycode == CODES["Douchy-les-Mines"][0]
    assert r.quality == "approximate" and "59124" in r.reason and "Escaudain" in r.reason


def test_postcode_outside_with_a_territory_commune(g):
    r = g.geocode("5 Rue des Essais Communs 59300 Escaudain")  # 59300: Valenciennes
    assert r.best.citycode == CODES["Escaudain"][0] and r.best.housenumber == "5"
    assert r.quality == "approximate"


def test_postcode_alone_still_decides_when_no_commune(g):
    r = g.geocode("14 Rue Irène Joliot-Curie 59124")
    assert (r.quality, r.best.citycode) == ("precise", CODES["Escaudain"][0])


# -- cause 3: commune first -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,commune,street", [
    ("Denain, 11 Avenue du Terril", "Denain", "Avenue du Terril"),
    ("Escautpont 59278 5 rue Haute", "Escautpont", "Rue Haute"),
    ("59278 Escautpont, 5 rue Haute", "Escautpont", "Rue Haute"),
    ("Douchy-les-Mines 14 rue Irène Joliot-Curie", "Douchy-les-Mines", "Rue Irène Joliot-Curie"),
])
def test_commune_first(g, text, commune, street):
    r = g.geocode(text)
    assert (r.quality, r.best.citycode, r.best.street) == ("precise", CODES[commune][0], street)


# -- cause 4: a commune name alone ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,commune", [
    ("Bruille-Saint-Amand", "Bruille-Saint-Amand"), ("Thun-Saint-Amand", "Thun-Saint-Amand"),
    ("Lieu-Saint-Amand", "Lieu-Saint-Amand"), ("Flines-lès-Mortagne", "Flines-lès-Mortagne"),
    ("Wavrechain-sous-Denain", "Wavrechain-sous-Denain"), ("flines les mortagne", "Flines-lès-Mortagne"),
    ("Denain 59220", "Denain"), ("59220 Denain", "Denain"), ("DENAIN", "Denain"),
])
def test_commune_alone(g, text, commune):
    r = g.geocode(text)
    assert (r.best.type, r.best.citycode) == ("municipality", CODES[commune][0]), r.to_dict()


# -- cause 5: every homonymous street is checked for the number -----------------------------------------------------
def test_all_homonyms_are_checked_for_the_number(g):
    r = g.geocode("14 rue Pasteur")
    assert r.quality == "ambiguous"
    assert {c.citycode for c in r.candidates[:2]} == {CODES[n][0] for n in HOMONYM_COMMUNES[8:]}
    assert all(c.housenumber == "14" and not c.approximate_number for c in r.candidates[:2])


# -- cause 6: two typing errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["12 Rue Arthut Laemndin 59220 Denain", "12 rue artur lamendn denain",
                                  "12 Rue dr Arthur Lamendin Denain", "12 Rue Athur Lamednin, 59220 Denain",
                                  "12 Rue deq Arthut Lamendin 59220 Denain", "12 Rue Arthur Lammendinn Denain",
                                  "3 rue des Esais Comuns 59124 Escaudain", "12 Avenue du Tiril Denain"])
def test_two_typing_errors(g, text):
    r = g.geocode(text)
    assert (r.best.street, r.best.housenumber) in (("Rue Arthur Lamendin", "12"), ("Rue des Essais Communs", "3"),
                                                   ("Avenue du Terril", "12")), \
        r.to_dict()
    assert r.quality in ("precise", "approximate")


@pytest.mark.parametrize("text,commune", [
    ("12 Rue Arthur Lamendin Denian", "Denain"), ("12 Rue Arthur Lamendin, Dneain", "Denain"),
    ("3 Rue du Centre Liu-Saint-Amand", "Lieu-Saint-Amand"),  # not "Saint-Amand" cut out of the name
    ("3 Rue du Centre Wavrechain-sou-Denain", "Wavrechain-sous-Denain"),
    ("3 Rue du Centre Fines-lès-Mortagne", "Flines-lès-Mortagne"),
])
def test_typo_in_the_commune(g, text, commune):
    r = g.geocode(text)
    assert (r.best.citycode, r.best.street, r.best.housenumber) == (CODES[commune][0], r.best.street, r.best.housenumber)
    assert r.quality == "precise" and r.best.housenumber in ("12", "3")


# -- cause 7: the BAN's lieux-dits file ---------------------------------------------------------------------------
def test_lieux_dits_file_is_read_next_to_the_addresses(world, g):
    _, stats = world
    assert stats["lieux_dits_kept"] == 2 and stats["lieux_dits_file"].endswith("lieux-dits-59-beta.csv.gz")
    for text in ("Le Bois Brûlé, Haulchin", "lieu-dit Le Bois Brule 59121 Haulchin", "La Croix Jacquet Denain"):
        r = g.geocode(text)
        assert (r.best.type, r.best.citycode) == ("locality", r.best.citycode) and r.quality == "approximate"
        assert r.best.street in ("Le Bois Brûlé", "La Croix Jacquet")


def test_lieux_dits_file_explicit_and_checked(tmp_path):
    ban = write_ban(tmp_path)
    ld = write_lieux_dits(tmp_path / "ld.csv.gz")
    assert import_ban(ban, tmp_path / "a.sqlite")["lieux_dits_kept"] == 0  # not next to it under that name
    stats = import_ban(ban, tmp_path / "b.sqlite", lieux_dits=ld)
    assert stats["lieux_dits_kept"] == 2  # "Le Moulin" of Haulchin, with numbers in the addresses: not twice
    with pytest.raises(DataError, match="fichier des lieux-dits de la BAN"):
        import_ban(ld, tmp_path / "c.sqlite")
    with pytest.raises(DataError, match="pas un fichier des lieux-dits"):
        import_ban(ban, tmp_path / "d.sqlite", lieux_dits=ban)


# -- the synthetic test set of the benchmark, small: accuracy and identical answers with and without rapidfuzz ------
def test_synthetic_set_accuracy_both_backends(tmp_path):
    pytest.importorskip("rapidfuzz")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from geocode_quality import evaluate
        from geocode_synthetic import generate, make_queries
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    world = generate(tmp_path, target_addresses=12_000, seed=3)
    import_ban(world.path_addresses, tmp_path / "ban.sqlite", lieux_dits=world.path_localities)
    queries = make_queries(world, per_category=12, seed=4)
    answers = {}
    for backend in (True, False):
        _fuzzy.use_rapidfuzz(backend)
        try:
            g = BanGeocoder.from_store(tmp_path / "ban.sqlite", thresholds=QualityThresholds())
            answers[backend] = [g.geocode(q.text) for q in queries]
        finally:
            _fuzzy.use_rapidfuzz(True)
    assert [r.to_dict() for r in answers[True]] == [r.to_dict() for r in answers[False]]
    stats = evaluate(queries, answers[True])["stats"]
    one = [q for q in queries if q.truth.kind != "ambiguous"]
    right = sum(stats[c]["right"] for c in stats if c != "homonymes sans commune")
    wrong_precise = sum(stats[c]["precise_wrong"] for c in stats)
    assert right >= 0.98 * len(one) and wrong_precise == 0
    assert stats["homonymes sans commune"]["ambiguous"] >= 0.9 * stats["homonymes sans commune"]["n"]


# -- Debian's system Python (the QGIS plugin): numpy + stdlib only ----------------------------------------------------
def test_index_build_and_queries_on_system_python(tmp_path):
    py = Path("/usr/bin/python3")
    if not py.exists() or subprocess.run([str(py), "-c", "import numpy"], capture_output=True).returncode:
        pytest.skip("pas de python3 système avec numpy")
    write_ban(tmp_path)
    write_lieux_dits(tmp_path / "lieux-dits-59-beta.csv.gz")
    script = (
        "import sys\n"
        "from cq_geo.geocode.ban_index import import_ban\n"
        "from cq_geo.geocode.ban import BanGeocoder\n"
        "from cq_geo.geocode import _fuzzy\n"
        f"s = import_ban({str(tmp_path / 'adresses-59.csv.gz')!r}, {str(tmp_path / 'ban.sqlite')!r})\n"
        f"g = BanGeocoder.from_store({str(tmp_path / 'ban.sqlite')!r})\n"
        "for t in ('Bâtiment B 9 Route de Douai 59220 Denain', '14 rue Pasteur', 'Le Bois Brûlé, Haulchin'):\n"
        "    r = g.geocode(t); print(r.quality, r.best.label)\n"
        # the address answer with its position warnings (the plugin's search), numpy only too
        "import cq_geo\n"
        "from cq_geo.geocode.lookup import lookup_address\n"
        "a = lookup_address(cq_geo.load_territory(), 'Le Bois Brûlé, Haulchin', g)\n"
        "print(a.lookup.to_dict()['commune']['insee'], len(a.warnings) > 0)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pandas', 'shapely', 'pyproj', 'pyogrio', 'geopandas', 'rapidfuzz', 'tqdm'))\n"
        "print(s['lieux_dits_kept'], heavy, _fuzzy.backend() if heavy else 'ok')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    out = subprocess.run([str(py), "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "precise 9 Route de Douai 59220 Denain"
    assert lines[1].startswith("ambiguous 14 Rue Pasteur")
    assert lines[2] == "approximate Le Bois Brûlé 59121 Haulchin"
    assert lines[3] == "59288 True"  # Haulchin
    assert lines[4] == "2 [] ok"


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[: len(data) // 2], "tronqué|illisible"),  # a download cut short
    (lambda data: gzip.compress(gzip.decompress(data).replace("Brûlé".encode(), "Br\xfbl\xe9".encode("latin-1"))),
     "encodage UTF-8 attendu"),  # re-encoded in Latin-1 by a spreadsheet
])
def test_a_damaged_lieux_dits_file_is_refused_in_french(tmp_path, damage, message):
    """The lieux-dits file goes through the same reader as the addresses (one reader, issue 16): same French errors."""
    ban = write_ban(tmp_path)
    ld = write_lieux_dits(tmp_path / "ld.csv.gz")
    ld.write_bytes(damage(ld.read_bytes()))
    with pytest.raises(DataError, match=message):
        import_ban(ban, tmp_path / "x.sqlite", lieux_dits=ld)
    assert not (tmp_path / "x.sqlite").exists()
