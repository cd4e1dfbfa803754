#!/usr/bin/env python3
"""A SYNTHETIC BAN-format address set for the 47 CAPH communes and 5 neighbours, with queries of known answer.

Everything here is invented (street names drawn from common French street
names, numbers, positions): it is NOT the real BAN and must never be presented
as such. Only the commune names, INSEE codes and postcodes are real facts (the
47 members from ``data/boundaries/territory.toml``; the neighbours Anzin,
Beuvrages, Bruay-sur-l'Escaut and Valenciennes, named in the QPV list of
``/work/shared/data/qpv2024_caph.csv``, and Douai).

:func:`generate` writes, in the official formats (docs/geocodage.md):

- ``adresses-59.csv.gz``: the 23 columns of the BAN's ``adresses-XX.csv``;
  ~100,000 addresses in ~3,000 streets of every type (Rue, Avenue, Route,
  Chemin, Impasse, Allée, Boulevard, Place, Résidence, Square, Quai, Sentier,
  Hameau, Lotissement, Cité…), names shared across communes (homonyms),
  the same name with two types in one commune, streets named after a commune
  ("Route de Douai", "Chemin de Denain"), bis/ter/letter suffixes, lieux-dits
  with numbers;
- ``lieux-dits-59-beta.csv.gz``: the 13 columns of the BAN's lieux-dits file
  (lieux-dits without any numbered address).

:func:`make_queries` gives query variants in every category of issue 14, each
with its expected answer (:class:`Truth`).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> world = generate(d, target_addresses=3000, seed=1)
>>> (d / "adresses-59.csv.gz").exists(), (d / "lieux-dits-59-beta.csv.gz").exists()
(True, True)
>>> qs = make_queries(world, per_category=5, seed=2)
>>> sorted({q.category for q in qs}) == sorted(CATEGORIES)
True
"""

from __future__ import annotations

import csv
import gzip
import math
import random
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cq_geo.geocode.ban_index import BAN_COLUMNS  # noqa: E402

#: Real neighbours (INSEE, name, postcode) whose addresses are also in the département file.
NEIGHBOURS = [("59014", "Anzin", "59410"), ("59079", "Beuvrages", "59192"),
              ("59112", "Bruay-sur-l'Escaut", "59860"), ("59606", "Valenciennes", "59300"),
              ("59178", "Douai", "59500")]
LIEUX_DITS_COLUMNS = ("id", "nom_lieu_dit", "code_postal", "code_insee", "nom_commune",
                      "code_insee_ancienne_commune", "nom_ancienne_commune", "x", "y", "lon", "lat",
                      "source_position", "source_nom_voie")

#: street types with their weight and the usual abbreviation
TYPES = [("Rue", 50, "r"), ("Avenue", 6, "av"), ("Boulevard", 2, "bd"), ("Place", 3, "pl"), ("Impasse", 6, "imp"),
         ("Chemin", 6, "chem"), ("Route", 3, "rte"), ("Allée", 4, "all"), ("Square", 1.5, "sq"),
         ("Résidence", 3, "res"), ("Cité", 4, "cite"), ("Quai", 0.6, "qu"), ("Sentier", 1.5, "sent"),
         ("Hameau", 1, "ham"), ("Lotissement", 1.5, "lot"), ("Passage", 1, "pass"), ("Cour", 0.5, "cour"),
         ("Ruelle", 1, "rle"), ("Faubourg", 0.4, "fg"), ("Rond-Point", 0.4, "rpt")]
PEOPLE = ["Jean Jaurès", "Victor Hugo", "Pasteur", "Gambetta", "Jules Ferry", "Émile Zola", "Léon Blum",
          "Anatole France", "Irène Joliot-Curie", "du Général de Gaulle", "du Maréchal Foch", "Jean Moulin",
          "Salvador Allende", "Roger Salengro", "Paul Vaillant-Couturier", "Henri Barbusse", "Jules Guesde",
          "Voltaire", "Jean-Baptiste Lebas", "Arthur Lamendin", "Maurice Thorez", "Gabriel Péri", "Louis Aragon",
          "Pierre Brossolette", "Danielle Casanova", "Georges Brassens", "Jacques Brel", "Marie Curie",
          "Louise Michel", "du Docteur Schweitzer", "Émile Basly", "Jean Macé", "Paul Éluard", "Lamartine",
          "Alphonse Daudet", "Jules Verne", "Camille Desmoulins", "Condorcet", "Kléber", "Carnot", "Edgar Quinet",
          "Raoul Briquet", "Suzanne Lanoy", "Ambroise Croizat", "Benoît Frachon", "Pierre Sémard",
          "Jean-Jacques Rousseau", "Denis Papin", "Ampère", "Parmentier", "Sadi Carnot", "Paul Bert",
          "Auguste Blanqui", "Eugène Varlin", "du Président Allende", "de la Comtesse de Ségur", "Saint-Éloi",
          "Sainte-Barbe", "Saint-Martin", "Saint-Roch", "Notre-Dame", "Saint-Vaast", "de l'Abbé Lemire",
          "Gustave Delory", "Henri Durre", "Clémenceau", "Fernand Léger", "Pablo Picasso", "Jean Lebas"]
PLACES = ["de la Gare", "de l'Église", "du Moulin", "des Écoles", "de la Mairie", "du Stade", "du Marais",
          "du Château", "de la Liberté", "de la République", "de la Paix", "du Calvaire", "du Cimetière",
          "des Tilleuls", "des Lilas", "des Acacias", "des Peupliers", "des Roses", "des Bleuets", "des Violettes",
          "des Marronniers", "des Saules", "du Bois", "des Prés", "des Champs", "de la Fosse", "du Terril",
          "de la Mine", "du Chevalement", "des Mineurs", "du Canal", "de l'Escaut", "de la Scarpe", "de la Sucrerie",
          "de la Brasserie", "du Pont", "de la Fontaine", "du Four", "des Jardins", "du Verger", "des Vergers",
          "du Riez", "de la Chapelle", "du Presbytère", "du Général Leclerc", "Neuve", "Haute", "Basse", "Verte",
          "Principale", "du Centre", "des Fusillés", "des Déportés", "de la Résistance", "de la Victoire",
          "du 8 Mai 1945", "du 11 Novembre", "du 14 Juillet", "du 19 Mars 1962", "du 1er Mai",
          "des Anciens Combattants", "de la Forêt", "de l'Abreuvoir", "du Rivage", "des Alouettes",
          "des Hirondelles", "des Mésanges", "des Tisserands", "des Verriers", "de la Cense", "du Hainaut",
          "de Flandre", "de l'Artois", "des Sports", "du Parc", "du Vivier", "du Quesnoy", "des Glycines",
          "des Charmes", "des Noisetiers", "des Coquelicots", "de l'Aérodrome", "de la Briqueterie",
          "du Rempart", "de la Justice", "du Bon Air", "du Long Pré", "de la Carrière", "du Tordoir", "du Bac"]
LOCALITY_HEADS = ["Le Bois", "La Croix", "Le Mont", "Les Hauts Champs", "Le Marais", "La Cense", "Le Fort",
                  "La Haie", "Le Moulin", "La Motte", "Le Riez", "Les Prés", "La Fosse", "Le Petit Bois",
                  "Le Grand Champ", "La Longue Borne", "Le Trou", "La Fontaine", "Le Pavé", "La Queue"]
LOCALITY_TAILS = ["Brûlé", "Sainte-Marie", "des Bruyères", "d'Haveluy", "du Loup", "Saint-Pierre", "aux Oies",
                  "Jacquet", "Blanc", "Rouge", "de la Justice", "Madame", "du Curé", "Houdain", "Gilles",
                  "des Dames", "à Loups", "de Sel", "Noir", "Gobert", "aux Vaches", "du Roy"]
NOISE = ["Bâtiment {L}", "Bât. {L}", "Appartement {n}", "Appt {n}", "Apt {n}", "Escalier {n}", "Esc. {L}",
         "Étage {n}", "Porte {n}", "Logement {n}", "Chez M. Dupont", "chez Mme Lefebvre", "Chez Famille Durand",
         "Résidence Les Tilleuls Bât {L}", "Résidence du Parc, Appt {n}", "Boîte aux lettres {n}", "BP {n}",
         "Entrée {L}", "Maison {n}", "Box {n}"]

CATEGORIES = ["exacte", "casse", "sans accents", "abréviations", "types en entier", "faute 1 lettre",
              "faute 2 lettres", "sans code postal", "mauvais code postal", "commune seule", "voie seule",
              "suffixes", "mots parasites", "commune d'abord", "homonymes avec commune", "homonymes sans commune",
              "lieux-dits", "faute dans la commune"]


@dataclass
class Street:
    sid: int
    type: str  # "" for a lieu-dit with numbers
    name: str  # the part after the type
    insee: str
    commune: str
    postcode: str
    voie: str
    numbers: list = field(default_factory=list)  # (num, rep, lon, lat)

    @property
    def full(self) -> str:
        return f"{self.type} {self.name}".strip() if self.type else self.name


@dataclass
class World:
    communes: list  # (insee, name, postcode, population, lon, lat)
    streets: list
    localities: list  # (insee, commune, postcode, name, lon, lat)
    path_addresses: Path
    path_localities: Path


@dataclass
class Truth:
    kind: str  # "address", "street", "commune", "locality", "ambiguous"
    insee: str = ""
    street: str = ""  # full name
    number: str = ""  # "12 bis"
    lon: float = 0.0
    lat: float = 0.0
    communes: tuple = ()  # for "ambiguous": the communes having that address


@dataclass
class Query:
    category: str
    text: str
    truth: Truth


def _territory_communes() -> list[tuple[str, str, str, int]]:
    from cq_geo.model import load_definition

    d = load_definition()
    return [(c.insee, c.name, (c.postcodes or ("59000",))[0], c.population or 1000) for c in d.communes.values()]


def _xy(lon: float, lat: float) -> tuple[float, float]:
    # Rough Lambert-93 look-alike (the index uses lon/lat; x/y are only there to fill the columns).
    return 700000 + (lon - 3.0) * 71_300, 7_000_000 + (lat - 50.0) * 111_200


def _weighted(rng: random.Random, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def generate(folder: str | Path, target_addresses: int = 100_000, seed: int = 14) -> World:
    """Write the synthetic ``adresses-59.csv.gz`` and ``lieux-dits-59-beta.csv.gz`` in *folder*."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base = _territory_communes() + [(i, n, p, 4_000) for i, n, p in NEIGHBOURS]
    # communes on a synthetic grid, ~3.5 km apart (no real geometry)
    communes = []
    for k, (insee, name, cp, pop) in enumerate(base):
        row, col = divmod(k, 8)
        communes.append((insee, name, cp, pop, 3.22 + col * 0.05 + rng.uniform(-0.005, 0.005),
                         50.22 + row * 0.032 + rng.uniform(-0.004, 0.004)))
    total_pop = sum(c[3] for c in communes)
    type_names = [t[0] for t in TYPES]
    type_weights = [t[1] for t in TYPES]
    commune_streets = [f"de {n}" if n[0].lower() not in "aeiouyéè" else f"d'{n}" for _, n, *_ in communes]
    streets: list[Street] = []
    localities = []
    for insee, name, cp, pop, clon, clat in communes:
        n_addr = max(60, int(target_addresses * pop / total_pop))
        seen: set[tuple[str, str]] = set()
        count = 0
        k = 0
        while count < n_addr:
            k += 1
            r = rng.random()
            if r < 0.45:
                stem = rng.choice(PEOPLE)
            elif r < 0.90:
                stem = rng.choice(PLACES)
            elif r < 0.97:
                stem = rng.choice([s for s in commune_streets if name not in s])
            else:
                stem = f"{rng.choice(LOCALITY_HEADS)} {rng.choice(LOCALITY_TAILS)}"
            if stem in ("Neuve", "Haute", "Basse", "Verte", "Principale"):
                typ = "Rue"
            elif stem.startswith(("Le ", "La ", "Les ")):
                typ = "" if rng.random() < 0.6 else "Hameau"
                if typ == "Hameau":
                    stem = {"Le": "du ", "La": "de la ", "Les": "des "}[stem.split()[0]] + stem.split(" ", 1)[1]
            elif stem in commune_streets:
                typ = _weighted(rng, ["Route", "Rue", "Chemin", "Avenue"], [4, 4, 3, 1])
            else:
                typ = _weighted(rng, type_names, type_weights)
            if (typ, stem) in seen:
                continue
            # the same name with another type in the same commune (within-commune homonym) now and then
            seen.add((typ, stem))
            nums = _numbers(rng, typ)
            st = Street(len(streets), typ, stem, insee, name, cp, f"{k:04d}")
            _place(rng, st, nums, clon, clat)
            streets.append(st)
            count += len(st.numbers)
            if rng.random() < 0.06 and typ not in ("", "Impasse"):
                other = _weighted(rng, ["Impasse", "Allée", "Place", "Résidence"], [4, 2, 1, 1])
                if (other, stem) not in seen:
                    seen.add((other, stem))
                    k += 1
                    st2 = Street(len(streets), other, stem, insee, name, cp, f"{k:04d}")
                    _place(rng, st2, _numbers(rng, other)[:12], clon, clat)
                    streets.append(st2)
                    count += len(st2.numbers)
        for _ in range(rng.randint(2, 6)):
            ld = f"{rng.choice(LOCALITY_HEADS)} {rng.choice(LOCALITY_TAILS)}"
            if ("", ld) in seen or any(x[3] == ld and x[0] == insee for x in localities):
                continue
            localities.append((insee, name, cp, ld, clon + rng.uniform(-0.02, 0.02), clat + rng.uniform(-0.012, 0.012)))
    path_a = folder / "adresses-59.csv.gz"
    with gzip.open(path_a, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(BAN_COLUMNS)
        for st in streets:
            for num, rep, lon, lat in st.numbers:
                x, y = _xy(lon, lat)
                full = st.full
                w.writerow([f"{st.insee}_{st.voie}_{num:05d}{'_' + rep if rep else ''}", f"{st.insee}_{st.voie}",
                            num, rep, full, st.postcode, st.insee, st.commune, "", "", f"{x:.2f}", f"{y:.2f}",
                            f"{lon:.6f}", f"{lat:.6f}", "entrée", "", "", _fold_upper(st.commune),
                            _fold_upper(full)[:32], "commune", "commune", "1", ""])
    path_l = folder / "lieux-dits-59-beta.csv.gz"
    with gzip.open(path_l, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(LIEUX_DITS_COLUMNS)
        for k, (insee, name, cp, ld, lon, lat) in enumerate(localities):
            x, y = _xy(lon, lat)
            w.writerow([f"{insee}_b{k:03d}", ld, cp, insee, name, "", "", f"{x:.2f}", f"{y:.2f}", f"{lon:.6f}",
                        f"{lat:.6f}", "commune", "bal"])
    return World(communes, streets, localities, path_a, path_l)


def _numbers(rng: random.Random, typ: str) -> list[tuple[int, str]]:
    n = rng.randint(3, 14) if typ in ("Impasse", "Square", "Cour", "Ruelle", "Sentier", "Passage", "") else \
        rng.randint(8, 70)
    out = []
    num = 0
    for _ in range(n):
        num += rng.choice((1, 1, 1, 2, 2, 3))
        out.append((num, ""))
        r = rng.random()
        if r < 0.08:
            out.append((num, "bis"))
        elif r < 0.10:
            out.append((num, "ter"))
        elif r < 0.14:
            out.append((num, "A"))
            out.append((num, "B"))
    return out


def _place(rng: random.Random, st: Street, nums, clon: float, clat: float) -> None:
    lon0, lat0 = clon + rng.uniform(-0.018, 0.018), clat + rng.uniform(-0.011, 0.011)
    ang = rng.uniform(0, math.pi)
    k = 1 / (71_300 / 1.0)
    for num, rep in nums:
        along = num * 7.0 + (3.0 if rep else 0.0)
        side = 8.0 if num % 2 else -8.0
        dx = along * math.cos(ang) - side * math.sin(ang)
        dy = along * math.sin(ang) + side * math.cos(ang)
        st.numbers.append((num, rep, round(lon0 + dx * k, 6), round(lat0 + dy / 111_200, 6)))


def _fold_upper(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).upper()


# -- queries -----------------------------------------------------------------------------------------------------
def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.replace("œ", "oe")) if not unicodedata.combining(c))


_KEYS = "azertyuiopqsdfghjklmwxcvbn"
_NEAR = {c: _KEYS[max(0, i - 1)] + _KEYS[min(len(_KEYS) - 1, i + 1)] for i, c in enumerate(_KEYS)}


def _typo(rng: random.Random, text: str, edits: int, avoid: tuple = ()) -> str:
    """*edits* typing errors (drop, double, swap, neighbour key) in the words of *text* of 4+ letters."""
    for _ in range(50):
        chars = list(text)
        cand = [i for i, ch in enumerate(chars) if ch.isalpha() and i > 0 and chars[i - 1].isalpha()]
        used: set[int] = set()
        for _e in range(edits):
            choices = [i for i in cand if all(abs(i - u) > 2 for u in used) and i < len(chars)]
            if not choices:
                break
            i = rng.choice(choices)
            used.add(i)
            op = rng.random()
            ch = chars[i]
            if op < 0.3:
                chars[i] = ""
            elif op < 0.5:
                chars[i] = ch + ch
            elif op < 0.75 and i + 1 < len(chars) and chars[i + 1].isalpha():
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
            else:
                low = _strip_accents(ch).lower()
                chars[i] = rng.choice(_NEAR.get(low, "e"))
        out = "".join(chars)
        if out != text and _strip_accents(out).lower() not in avoid:
            return out
    return text


def make_queries(world: World, per_category: int = 150, seed: int = 15) -> list[Query]:
    """Query variants of every category of :data:`CATEGORIES`, each with its expected answer."""
    rng = random.Random(seed)
    streets = [s for s in world.streets if s.type]  # typed streets
    territory = {c[0] for c in world.communes[:47]}
    by_name: dict[str, list[Street]] = {}  # homonyms in the territory (the offline index holds only those)
    for s in world.streets:
        if s.insee in territory:
            by_name.setdefault(_strip_accents(s.full).lower(), []).append(s)
    names_in_commune: dict[str, set[str]] = {}
    for s in world.streets:
        names_in_commune.setdefault(s.insee, set()).add(_strip_accents(s.name).lower())
    all_names = tuple(by_name)
    inside = [s for s in streets if s.insee in territory]
    unique_names = {k for k, v in by_name.items() if len(v) == 1}
    cp_of = {c[0]: c[2] for c in world.communes}
    out: list[Query] = []

    def pick(pred=lambda s: True, pool=None) -> tuple[Street, tuple]:
        pool = pool or inside
        while True:
            s = rng.choice(pool)
            if pred(s):
                return s, rng.choice(s.numbers)

    def addr(s: Street, n) -> tuple[str, Truth]:
        num = f"{n[0]} {n[1]}".strip()
        return num, Truth("address", s.insee, s.full, num, n[2], n[3])

    def ambiguous_set(s: Street, n) -> tuple:
        found = []
        for o in by_name[_strip_accents(s.full).lower()]:
            if any(m[0] == n[0] and m[1] == n[1] for m in o.numbers):
                found.append(o.insee)
        return tuple(sorted(set(found)))

    def unique_addr(s: Street, n) -> bool:
        return len(ambiguous_set(s, n)) == 1

    def add(cat, text, truth):
        out.append(Query(cat, " ".join(text.split()), truth))

    for _ in range(per_category):
        s, n = pick()
        num, t = addr(s, n)
        add("exacte", f"{num} {s.full} {s.postcode} {s.commune}", t)
        s, n = pick()
        num, t = addr(s, n)
        text = f"{num} {s.full} {s.postcode} {s.commune}"
        add("casse", text.upper() if rng.random() < 0.6 else text.lower(), t)
        s, n = pick(lambda s: _strip_accents(s.full + s.commune) != s.full + s.commune)
        num, t = addr(s, n)
        add("sans accents", _strip_accents(f"{num} {s.full} {s.postcode} {s.commune}").lower(), t)
        s, n = pick(lambda s: s.type != "Rue" or rng.random() < 0.3)
        num, t = addr(s, n)
        abbr = dict((a, b) for a, _, b in TYPES)[s.type]
        name = s.name.replace("Saint-", "St-").replace("Sainte-", "Ste-").replace("Général", "Gal") \
            .replace("Maréchal", "Mal").replace("Docteur", "Dr").replace("Président", "Pdt")
        add("abréviations", f"{num} {abbr}{'.' if rng.random() < 0.4 else ''} {name} {s.commune}", t)
        s, n = pick(lambda s: s.type not in ("Rue",))
        num, t = addr(s, n)
        lead = rng.choice(["", "", f"Bâtiment {rng.choice('ABCD')} "])
        add("types en entier", f"{lead}{num} {s.full}, {s.postcode} {s.commune}", t)
        for edits, cat in ((1, "faute 1 lettre"), (2, "faute 2 lettres")):
            s, n = pick(lambda s: len(s.name.replace(" ", "")) >= 8 + 3 * edits)
            num, t = addr(s, n)
            bad = _typo(rng, s.name, edits, avoid=tuple(names_in_commune[s.insee] - {_strip_accents(s.name).lower()}))
            add(cat, f"{num} {s.type} {bad} {s.postcode} {s.commune}", t)
        s, n = pick()
        num, t = addr(s, n)
        add("sans code postal", f"{num} {s.full} {s.commune}", t)
        s, n = pick()
        num, t = addr(s, n)
        others = [c[2] for c in world.communes if c[2] != s.postcode]
        add("mauvais code postal", f"{num} {s.full} {rng.choice(others)} {s.commune}", t)
        c = rng.choice(world.communes[:47])
        form = rng.choice(["{n}", "{n}", "{N}", "{n} {cp}", "{cp} {n}", "{l}"])
        add("commune seule", form.format(n=c[1], N=c[1].upper(), cp=c[2], l=_strip_accents(c[1]).lower()),
            Truth("commune", c[0]))
        s, _ = pick(lambda s: len(s.numbers) > 1)
        add("voie seule", f"{s.full}, {s.postcode} {s.commune}" if rng.random() < 0.5 else f"{s.full} {s.commune}",
            Truth("street", s.insee, s.full))
        s, n = pick(lambda s: any(m[1] for m in s.numbers))
        n = rng.choice([m for m in s.numbers if m[1]])
        num, t = addr(s, n)
        rep = {"bis": rng.choice(["bis", "BIS", "b"]), "ter": rng.choice(["ter", "T"]),
               "A": rng.choice(["A", "a"]), "B": rng.choice(["B", "b"])}[n[1]]
        if n[1] == "bis" and rep == "b":
            t = Truth("address", s.insee, s.full, f"{n[0]} bis", n[2], n[3])
        glue = "" if rng.random() < 0.4 else " "
        add("suffixes", f"{n[0]}{glue}{rep} {s.full} {s.postcode} {s.commune}", t)
        s, n = pick()
        num, t = addr(s, n)
        noise = rng.choice(NOISE).format(L=rng.choice("ABCDE"), n=rng.randint(1, 40))
        sep = rng.choice([" ", ", "])
        add("mots parasites", f"{noise}{sep}{num} {s.full} {s.postcode} {s.commune}", t)
        s, n = pick()
        num, t = addr(s, n)
        form = rng.choice(["{c}, {a}", "{c} {cp} {a}", "{cp} {c}, {a}", "{c} {a}"])
        add("commune d'abord", form.format(c=s.commune, cp=s.postcode, a=f"{num} {s.full}"), t)
        s, n = pick(lambda s: len(by_name[_strip_accents(s.full).lower()]) >= 3)
        num, t = addr(s, n)
        add("homonymes avec commune", f"{num} {s.full} {rng.choice([s.commune, s.postcode + ' ' + s.commune])}", t)
        while True:
            s, n = pick(lambda s: len(by_name[_strip_accents(s.full).lower()]) >= 2)
            amb = ambiguous_set(s, n)
            if len(amb) >= 2:
                break
        add("homonymes sans commune", f"{n[0]} {n[1]} {s.full}", Truth("ambiguous", communes=amb))
        s, n = pick(lambda s: len(s.commune) >= 6)
        num, t = addr(s, n)
        bad = _typo(rng, s.commune, 1, avoid=tuple(_strip_accents(c[1]).lower() for c in world.communes))
        add("faute dans la commune", f"{num} {s.full}{rng.choice([' ', ', '])}{bad}", t)
        insee, commune, cp, ld, lon, lat = rng.choice([x for x in world.localities if x[0] in territory])
        form = rng.choice(["{ld}, {c}", "{ld} {cp} {c}", "lieu-dit {ld}, {c}", "{ld} {c}"])
        add("lieux-dits", form.format(ld=ld, c=commune, cp=cp), Truth("locality", insee, ld, lon=lon, lat=lat))
    _ = (unique_names, all_names, cp_of, unique_addr)
    return out
