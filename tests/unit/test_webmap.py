"""The council map's HTML, without a browser (see tests/browser for the real Chromium checks)."""

from __future__ import annotations

import html as html_lib
import importlib.util
import json
import re

import numpy as np
import pytest

pytest.importorskip("folium")
pytest.importorskip("xstatic.pkg.leaflet")

from cq_geo.cli.main import main  # noqa: E402
from cq_geo.maps.webmap import MapInputError, export_map, make_map, map_html, read_results  # noqa: E402
from tests.browser.synthetic_zones import random_points, territory_with_synthetic_zones  # noqa: E402


@pytest.fixture(scope="module")
def synthetic():
    return territory_with_synthetic_zones()


@pytest.fixture(scope="module")
def baseline_html(baseline_territory):
    return map_html(make_map(baseline_territory, date="2026-11-27"))


def geojson_layers(html: str) -> dict[str, list]:
    """The FeatureCollections embedded by folium, keyed by their className."""
    out: dict[str, list] = {}
    for name, cls in re.findall(r"var (geo_json_\w+) = L\.geoJson\(null, \{.*?\"className\": \"([^\"]+)\"", html, re.S):
        data = re.search(name + r"_add\((\{.*?\})\);\n", html, re.S)
        out[cls] = json.loads(data.group(1))["features"]
    return out


def test_html_is_self_contained(baseline_html):
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=", baseline_html)
    assert "L.map(" in baseline_html and "jQuery" in baseline_html and "leaflet-container" in baseline_html
    assert "bootstrap" not in baseline_html.lower() and "fontawesome" not in baseline_html.lower()
    # images inlined: no relative image path left in the CSS
    assert "url(images/" not in baseline_html
    assert "data:image/png;base64," in baseline_html
    # the only http(s) address used at run time is the IGN tile template
    urls = set(re.findall(r"\"(https://[^\"]*\{z\}[^\"]*)\"", baseline_html))
    assert urls and all(u.startswith("https://data.geopf.fr/wmts?") for u in urls)


def test_missing_layers_are_said_and_never_drawn(baseline_html, baseline_territory):
    layers = geojson_layers(baseline_html)
    assert len(layers["cq-commune"]) == 47
    assert "cq-zone cq-qpv" not in layers and "cq-zone cq-poche" not in layers
    assert [f["id"] for f in layers["cq-zone cq-qva"]] == [z.code for z in baseline_territory.tiers["qva"].zones]
    assert "périmètres QPV non installés" in baseline_html
    assert "périmètres des poches de pauvreté non installés" in baseline_html
    assert "2 périmètres non installés" in baseline_html
    # a whole-commune QVA is exactly its commune's displayed outline
    communes = {f["id"]: f["geometry"] for f in layers["cq-commune"]}
    qva = {f["id"]: f["geometry"] for f in layers["cq-zone cq-qva"]}
    assert qva["QVA-59172"] == communes["59172"]


def test_popups_are_french_and_complete(baseline_html):
    layers = geojson_layers(baseline_html)
    denain = next(f for f in layers["cq-commune"] if f["id"] == "59172")["properties"]["popup"]
    for text in ("Denain", "59172", "20\u202f622 hab.", "Équipe Sud", "Chef de projet 4", "Gambetta",
                 "(périmètre non installé)", "Ancien QVA"):
        assert text in denain, text
    abscon = next(f for f in layers["cq-commune"] if f["id"] == "59002")["properties"]["popup"]
    assert "aucune équipe territoriale" in abscon


def test_zone_popups_with_synthetic_perimeters(synthetic):
    html = map_html(make_map(synthetic, tiles=False, date="2026-11-27"))
    layers = geojson_layers(html)
    assert len(layers["cq-zone cq-qpv"]) == 13 and len(layers["cq-zone cq-poche"]) == 11
    assert len(layers["cq-zone cq-qva"]) == 13
    shared = html_lib.unescape(next(f for f in layers["cq-zone cq-qpv"] if f["id"] == "QN05921M")["properties"]["popup"])
    for text in ("QN05921M", "Raismes", "Valenciennes (59606)", "Équipe Nord", "Cité de l'Emploi", "officiel"):
        assert text in shared, text
    assert "périmètres QPV non installés" not in html


def test_simplification_tolerance_is_applied_and_stated(baseline_territory):
    fine = map_html(make_map(baseline_territory, tiles=False, simplify_m=0, date="2026-11-27"))
    coarse = map_html(make_map(baseline_territory, tiles=False, simplify_m=300, date="2026-11-27"))

    def vertices(html):
        return sum(len(re.findall(r"\[-?\d+\.\d+, -?\d+\.\d+\]", json.dumps(f["geometry"])))
                   for f in geojson_layers(html)["cq-commune"])

    assert vertices(coarse) < 0.7 * vertices(fine)
    assert "tolérance 300 m" in coarse and "tolérance 0 m" in fine


def test_results_read_from_csv_and_gpkg(tmp_path, synthetic):
    import pandas as pd

    lon, lat = random_points(synthetic, 200)
    df = pd.DataFrame({"nom": [f"ligne {i}" for i in range(200)], "cq_lon": lon, "cq_lat": lat})
    direct = read_results(df, synthetic)
    semi = tmp_path / "r.csv"
    df.assign(cq_lon=[f"{v:.7f}".replace(".", ",") for v in lon],
              cq_lat=[f"{v:.7f}".replace(".", ",") for v in lat]).to_csv(semi, sep=";", index=False, encoding="cp1252")
    from_csv = read_results(semi, synthetic)
    assert np.array_equal(direct.category, from_csv.category)
    assert (direct.category == 0).sum() >= 30  # the fifth of the points put in synthetic QPV squares
    if importlib.util.find_spec("openpyxl"):
        xlsx = tmp_path / "r.xlsx"
        df.to_excel(xlsx, index=False)
        from_xlsx = read_results(xlsx, synthetic)
        assert np.array_equal(direct.category, from_xlsx.category)
    gpd = pytest.importorskip("geopandas")
    gpkg = tmp_path / "r.gpkg"
    gpd.GeoDataFrame(df[["nom"]], geometry=gpd.points_from_xy(lon, lat), crs=4326).to_crs(2154).to_file(gpkg)
    from_gpkg = read_results(gpkg, synthetic)
    assert np.array_equal(direct.category, from_gpkg.category)


def test_batch_status_column_is_used_not_recomputed(synthetic):
    import pandas as pd

    lon, lat = random_points(synthetic, 5)
    df = pd.DataFrame({"cq_lon": lon, "cq_lat": lat, "cq_status": ["to_check", "ok", "outside_territory", "invalid", "ok"],
                       "cq_primary_tier": ["qpv", "poche", "", "", ""], "cq_commune_insee": ["59172"] * 5,
                       "cq_qpv_code": [""] * 5})
    r = read_results(df, synthetic)
    assert list(r.category) == [4, 1, 5, -1, 3]
    with pytest.raises(MapInputError, match="cq_status inconnue"):
        read_results(df.assign(cq_status="peut-être"), synthetic)


def test_bad_inputs_give_french_errors(tmp_path, baseline_territory):
    import pandas as pd

    with pytest.raises(MapInputError, match="colonnes de coordonnées introuvables"):
        read_results(pd.DataFrame({"x": [1.0]}), baseline_territory)
    with pytest.raises(MapInputError, match="introuvable"):
        read_results(tmp_path / "absent.csv", baseline_territory)
    odd = tmp_path / "r.ods"
    odd.write_bytes(b"PK")
    with pytest.raises(MapInputError, match="format non pris en charge"):
        read_results(odd, baseline_territory)
    with pytest.raises(MapInputError, match=r"\.html"):
        export_map(tmp_path / "carte.png", baseline_territory)
    with pytest.raises(MapInputError, match="date invalide"):
        make_map(baseline_territory, date="27/11/2026")


def test_export_is_atomic(tmp_path, baseline_territory):
    out = tmp_path / "carte.html"
    out.write_text("ancienne carte", encoding="utf-8")
    bad = tmp_path / "r.csv"
    bad.write_text("a;b\n1;2\n", encoding="utf-8")
    with pytest.raises(MapInputError):
        export_map(out, baseline_territory, results=bad)
    assert out.read_text(encoding="utf-8") == "ancienne carte"
    export_map(out, baseline_territory, tiles=False)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["carte.html", "r.csv"]  # no temporary file left


def test_ten_thousand_points_stay_under_3_mb(tmp_path, synthetic):
    import pandas as pd

    lon, lat = random_points(synthetic, 10_000)
    out = export_map(tmp_path / "carte.html", synthetic, results=pd.DataFrame({"lon": lon, "lat": lat}))
    size = out.stat().st_size
    assert size < 3_000_000
    html = out.read_text(encoding="utf-8")
    assert "Points de la table (10\u202f000 sur 10\u202f000)" in html and "L.markerClusterGroup(" in html


def test_cli_map(tmp_path, capsys):
    out = tmp_path / "carte.html"
    assert main(["map", "-o", str(out), "--no-tiles", "--title", "Conseil du 4 décembre", "--date", "2026-12-04"]) == 0
    captured = capsys.readouterr()
    assert "Carte écrite" in captured.out and "préparation de la carte" in captured.err
    html = out.read_text(encoding="utf-8")
    assert "Conseil du 4 décembre" in html and "4 décembre 2026" in html and "data.geopf.fr" not in html
    csv = tmp_path / "r.csv"
    csv.write_text("lon,lat,cq_status\n3.39,50.33,sans doute\n", encoding="utf-8")
    assert main(["map", "-o", str(out), "--results", str(csv)]) == 2
    assert "cq_status inconnue" in capsys.readouterr().err
    assert main(["map", "-o", str(tmp_path / "absent" / "c.html")]) == 2


def test_user_text_cannot_break_the_page(baseline_territory, tmp_path):
    import pandas as pd

    evil = "</script><script>alert(1)</script>"
    html = map_html(make_map(baseline_territory, title=evil, subtitle=evil, tiles=False,
                             results=pd.DataFrame({"lon": [3.3957], "lat": [50.329], "cq_status": ["ok"],
                                                   "cq_primary_tier": [""], "cq_commune_insee": ["59172"],
                                                   "cq_qpv_code": [""], "cq_reason": [evil]})))
    assert "<script>alert(1)" not in html and "&lt;/script&gt;" in html


def test_empty_results_table(tmp_path, baseline_territory):
    empty = tmp_path / "vide.csv"
    empty.write_text("lon;lat\n", encoding="utf-8")
    html = map_html(make_map(baseline_territory, results=empty, tiles=False))
    assert "Points de la table (0 sur 0)" in html
    blank = tmp_path / "blanc.csv"
    blank.write_text("", encoding="utf-8")
    with pytest.raises(MapInputError, match="fichier vide"):
        read_results(blank, baseline_territory)


def test_choropleth_counts_match_the_points(synthetic):
    import pandas as pd

    lon, lat = random_points(synthetic, 600, seed=11)
    table = pd.DataFrame({"lon": lon, "lat": lat})
    res = read_results(table, synthetic)
    html = map_html(make_map(synthetic, results=table, tiles=False))
    layers = geojson_layers(html)

    def counts(cls):
        out = {}
        for f in layers[cls]:
            text = html_lib.unescape(f["properties"]["popup"])
            out[f["id"]] = int(re.search(r"<th>Points</th><td>([\d\u202f]+)</td>", text).group(1).replace("\u202f", ""))
        return out

    per_commune = counts("cq-choro cq-choro-commune")
    assert len(per_commune) == 47
    in_communes = res.drawn & (res.commune_insee != "")
    assert sum(per_commune.values()) == int(in_communes.sum()) > 0
    assert per_commune["59172"] == int((in_communes & (res.commune_insee == "59172")).sum())
    per_qpv = counts("cq-choro cq-choro-qpv")
    assert len(per_qpv) == 13 and sum(per_qpv.values()) == int((res.drawn & (res.qpv_code != "")).sum()) >= 100


def test_batch_output_file_gives_the_same_map_points(tmp_path, synthetic):
    """A `cq-geo batch` output (cq_status, cq_reason…) and the bare coordinates give the same categories."""
    import pandas as pd

    from cq_geo.bulk.run import batch

    lon, lat = random_points(synthetic, 300, seed=3)
    table = pd.DataFrame({"nom": [f"ligne {i}" for i in range(300)], "lon": lon, "lat": lat})
    out, _ = batch(table, territory=synthetic, lon_col="lon", lat_col="lat", geocoder="none")
    path = tmp_path / "resultats.csv"
    out.to_csv(path, sep=";", index=False)
    from_file = read_results(path, synthetic)
    from_coords = read_results(table[["lon", "lat"]], synthetic)
    assert np.array_equal(from_file.category, from_coords.category)
    assert list(from_file.reason) == list(from_coords.reason)
    assert {0, 3} <= set(from_file.category.tolist())  # « dans un QPV » and « hors géographie prioritaire »


def test_map_file_follows_the_umask(tmp_path):
    """The HTML gets 0666 minus the umask like other outputs (it was 0600: colleagues could not open it)."""
    import os
    import stat

    from cq_geo.maps.webmap import export_map

    old = os.umask(0o022)
    try:
        path = export_map(tmp_path / "carte.html", tiles=False, date="2026-11-27")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o007)
        path = export_map(tmp_path / "carte2.html", tiles=False, date="2026-11-27")
        assert stat.S_IMODE(path.stat().st_mode) == 0o660
    finally:
        os.umask(old)
