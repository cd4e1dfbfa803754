#!/usr/bin/env python3
"""Benchmark of the offline BAN geocoder (issue 4).

- Index build: ``import_ban`` on a GENERATED BAN file (default 100,000 rows,
  gzip, the 23 official columns; invented street names in the 47 communes of
  the territory, plus 10 % of rows of a commune outside it that the import must
  drop), into a plain SQLite file and into a data store (GeoPackage).
- Index load time (``BanGeocoder.from_store``).
- Throughput of ``geocode_many`` on 10,000 varied queries: exact addresses with
  postcode and commune, abbreviations and lost accents, typos, no commune
  (often ambiguous), numbers the street lacks, no number, commune alone,
  nonsense. Each query is distinct (no cache help).

Targets (issue 4): build ≤ 10 s, ≥ 2,000 addresses/s on one core (the public
API allows 50/s). Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/geocode.py [--rows 100000] [--queries 10000]

Figures go to stdout and to benchmarks/results/geocode.txt (with ``--extra-outside``:
geocode_departement.txt, an import the size of the Nord's file, 1.2 million rows).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cq_geo.geocode.ban import BanGeocoder  # noqa: E402
from cq_geo.geocode.ban_index import BAN_COLUMNS, import_ban  # noqa: E402
from cq_geo.geocode.base import AddressQuery  # noqa: E402
from cq_geo.model import load_definition  # noqa: E402

TYPES = ["Rue", "Avenue", "Boulevard", "Place", "Impasse", "Chemin", "Route", "Allée", "Square", "Résidence"]
ABBR = {"Rue": "r", "Avenue": "av.", "Boulevard": "bd", "Place": "pl", "Impasse": "imp", "Chemin": "chem.",
        "Route": "rte", "Allée": "all.", "Square": "sq", "Résidence": "res"}
WORDS = ["des Essais", "du Général Fictif", "Saint-Fictif", "de la Synthèse", "des Données", "Jean-Essai",
         "du Cœur-Fictif", "des Près Synthétiques", "de Testville", "du Maréchal Fictif", "du 8 Mai Fictif",
         "des Tilleuls Fictifs", "de l'Échantillon", "Victor-Essai", "du Moulin Fictif", "de la Gare Fictive",
         "des Écoles Fictives", "Pasteur-Essai", "de la Liberté Fictive", "du Château Fictif", "des Lilas Fictifs",
         "Sainte-Essai", "du Stade Fictif", "de la Mine Fictive", "des Fleurs Fictives", "du Bois Fictif",
         "de l'Église Fictive", "Anatole-Essai", "des Rosiers Fictifs", "du Marais Fictif"]


def generate(path: Path, rows: int, seed: int = 4, extra_outside: int = 0) -> list[tuple]:
    """Write a BAN-format gzip file; return the generated addresses (insee, commune, postcode, street, number)."""
    rng = random.Random(seed)
    d = load_definition()
    communes = [(c.insee, c.name, (c.postcodes or ("59000",))[0]) for c in d.communes.values()]
    outside = int(rows * 0.10)
    rows += extra_outside
    outside += extra_outside
    inside = rows - outside
    per_street = 40
    n_streets = inside // per_street
    addresses = []
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(BAN_COLUMNS)
        written = 0
        for s in range(n_streets):
            insee, name, cp = communes[s % len(communes)]
            street = f"{TYPES[(s // len(communes)) % len(TYPES)]} {WORDS[(s // (len(communes) * len(TYPES))) % len(WORDS)]}"
            street += f" {s // (len(communes) * len(TYPES) * len(WORDS)) + 1}" if s >= len(communes) * len(TYPES) * len(WORDS) else ""
            lon0, lat0 = 3.30 + rng.random() * 0.25, 50.28 + rng.random() * 0.2
            for k in range(per_street):
                num = k + 1 + (k // 10)  # gaps: 11, 22, 33 missing
                rep = "bis" if k % 17 == 5 else ""
                lon, lat = lon0 + k * 0.0001, lat0 + (k % 2) * 0.0001
                x, y = 700000 + (lon - 3.0) * 71000, 7000000 + (lat - 50.0) * 111000  # rough, realistic width
                w.writerow([f"{insee}_{s:04d}_{num:05d}{'_bis' if rep else ''}", f"{insee}_{s:04d}", num, rep, street,
                            cp, insee, name, "", "", f"{x:.2f}", f"{y:.2f}", f"{lon:.6f}", f"{lat:.6f}", "entrée", "",
                            "", name.upper(), street.upper()[:32], "commune", "commune", "1",
                            f"{insee}000AB{rng.randint(1, 9999):04d}"])
                addresses.append((insee, name, cp, street, num, rep))
                written += 1
        others = [f"59{n:03d}" for n in range(1, 670) if f"59{n:03d}" not in d.communes][:600]
        while written < rows:
            k = written
            code = others[(k // 300) % len(others)]
            w.writerow([f"{code}_{k // 300:04d}_{k % 300 + 1:05d}", f"{code}_{k // 300:04d}",
                        k % 300 + 1, "", f"Rue Extérieure Fictive {k // 300}", "59300", code,
                        f"Commune Extérieure {code}", "", "", "723456.12", "7031234.56", "3.520000", "50.350000",
                        "entrée", "", "", "COMMUNE EXTERIEURE", "RUE EXTERIEURE FICTIVE", "cadastre", "cadastre", "0",
                        f"{code}000AB0001"])
            written += 1
    return addresses


def _typo(text: str, rng: random.Random) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    i = rng.choice(letters[len(letters) // 3:])
    return text[:i] + text[i + 1:] if rng.random() < 0.5 else text[:i] + text[i] + text[i:]


def queries(addresses: list[tuple], n: int, seed: int = 5) -> tuple[list[str], Counter]:
    rng = random.Random(seed)
    out, kinds, seen = [], Counter(), set()
    while len(out) < n:
        insee, name, cp, street, num, rep = rng.choice(addresses)
        r = rng.random()
        if r < 0.35:
            kind, q = "exact", f"{num} {rep} {street} {cp} {name}".replace("  ", " ")
        elif r < 0.55:
            t, rest = street.split(" ", 1)
            kind, q = "abrégée", f"{num} {ABBR.get(t, t)} {rest} {name}".lower().replace("é", "e").replace("è", "e")
        elif r < 0.70:
            kind, q = "faute de frappe", f"{num} {_typo(street, rng)} {cp} {name}"
        elif r < 0.80:
            kind, q = "sans commune", f"{num} {street}"
        elif r < 0.87:
            kind, q = "numéro absent", f"{num + 1000} {street}, {name}"
        elif r < 0.93:
            kind, q = "sans numéro", f"{street}, {cp} {name}"
        elif r < 0.96:
            kind, q = "commune seule", f"{cp} {name}" if rng.random() < 0.5 else f"{name} {rng.randint(1, 10**6)}"
        else:
            kind, q = "absurde", f"{rng.randint(1, 99)} impasse {''.join(rng.choice('bcdfghjklmnpqrstvwxz') for _ in range(8))}"
        if q in seen:
            continue
        seen.add(q)
        out.append(q)
        kinds[kind] += 1
    return out, kinds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--no-store", action="store_true", help="skip the GeoPackage store build")
    ap.add_argument("--extra-outside", type=int, default=0,
                    help="rows of communes outside the territory added (1100000: a file the size of the Nord's)")
    args = ap.parse_args()
    lines = [f"# benchmarks/geocode.py — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
             f"# {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPU, "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')}"]

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ban = tmp / "adresses-59.csv.gz"
        t0 = time.perf_counter()
        addresses = generate(ban, args.rows, extra_outside=args.extra_outside)
        say(f"fichier BAN généré : {args.rows + args.extra_outside} lignes, {ban.stat().st_size / 1e6:.1f} Mo gzip "
            f"({time.perf_counter() - t0:.1f} s)")

        t0 = time.perf_counter()
        stats = import_ban(ban, tmp / "ban.sqlite")
        build = time.perf_counter() - t0
        say(f"construction de l'index (SQLite) : {build:.2f} s — {stats['rows_kept']} adresses, {stats['streets']} voies "
            f"(cible ≤ 10 s : {'OK' if build <= 10 else 'NON ATTEINTE'})")
        if not args.no_store:
            t0 = time.perf_counter()
            import_ban(ban, tmp / "cq-geo.gpkg")
            say(f"construction de l'index dans un magasin GeoPackage neuf (création du magasin comprise) : "
                f"{time.perf_counter() - t0:.2f} s")

        t0 = time.perf_counter()
        g = BanGeocoder.from_store(tmp / "ban.sqlite")
        say(f"chargement de l'index : {time.perf_counter() - t0:.2f} s")

        qs, kinds = queries(addresses, args.queries)
        say("requêtes : " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
        from cq_geo.geocode import normalize

        times, cpu = [], []
        for _ in range(3):  # every cache emptied before each pass: results, folded strings, commune keys
            g._cache.clear()
            normalize._fold.cache_clear()
            normalize.city_key.cache_clear()
            t0, c0 = time.perf_counter(), time.process_time()
            results = g.geocode_many([AddressQuery(q) for q in qs])
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        elapsed = sorted(times)[1]
        rate = len(qs) / elapsed
        rate_txt = f"{rate:,.0f}".replace(",", " ")
        rate_cpu = len(qs) / sorted(cpu)[1]
        say(f"géocodage : {len(qs)} adresses en {elapsed:.2f} s (médiane de 3 passes : "
            f"{' ; '.join(f'{t:.2f}' for t in times)} s) = {rate_txt} adresses/s sur un cœur "
            f"(cible ≥ 2 000/s : {'OK' if rate >= 2000 else 'NON ATTEINTE'}) ; en temps CPU : "
            f"{rate_cpu:,.0f} adresses/s".replace(",", " "))
        say(f"charge de la machine pendant la mesure (loadavg 1 min) : {os.getloadavg()[0]:.2f}")
        q = Counter(r.quality for r in results)
        say("qualités : " + ", ".join(f"{k} {v}" for k, v in q.most_common()))
        t0 = time.perf_counter()
        for text in qs[:500]:
            g._cache.clear()
            normalize._fold.cache_clear()
            g.geocode(text)
        say(f"latence d'une adresse (sans cache) : {(time.perf_counter() - t0) / 500 * 1000:.2f} ms en moyenne")

    out = ROOT / "benchmarks" / "results" / ("geocode_departement.txt" if args.extra_outside else "geocode.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"→ {out}")


if __name__ == "__main__":
    main()
