#!/usr/bin/env python3
"""Accuracy of the offline geocoder beside the real addok 1.3.2 engine, per query category (issue 14).

Data: the SYNTHETIC BAN-format set of :mod:`geocode_synthetic` (invented streets
in the 47 CAPH communes and 5 neighbours, ``adresses-59.csv.gz`` and
``lieux-dits-59-beta.csv.gz``), and query variants of known answer in every
category of issue 14.

Engines, on the same data:

- cq-geo offline: ``import_ban`` then ``BanGeocoder`` (with rapidfuzz, and again
  with the pure-Python fallback: the answers must be identical);
- addok 1.3.2 (the engine of the BAN's API) with the French processors, on a
  private redis-server and ``addok serve`` on loopback, asked through cq-geo's
  own ``OnlineGeocoder`` — so both get the same quality model.

Measures per category: top-1 right (best candidate is the expected address,
street, lieu-dit or commune), "précis mais faux" (quality ``precise`` and wrong:
the failure that must not happen), ambiguous answers (what homonyms without a
commune must give), not found. Targets (issue 14): top-1 ≥ 99 % on queries with
one right answer, précis mais faux ≤ 0.1 %, homonyms flagged ≥ 95 %, ≥ 5,000
queries/s on one core, index build ~2 s. Run::

    OMP_NUM_THREADS=1 /work/main/.venv/bin/python benchmarks/geocode_quality.py [--per-category 150] [--no-addok]

Results: stdout and benchmarks/results/geocode_quality.txt (``geocode_quality_seedN.txt`` for another
``--seed``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from geocode_synthetic import CATEGORIES, generate, make_queries  # noqa: E402

from cq_geo.geocode import _fuzzy, normalize  # noqa: E402
from cq_geo.geocode.ban import BanGeocoder  # noqa: E402
from cq_geo.geocode.ban_index import import_ban  # noqa: E402
from cq_geo.geocode.base import AddressQuery, QualityThresholds  # noqa: E402
from cq_geo.geocode.normalize import street_key  # noqa: E402

ADDOK = Path(sys.executable).parent / "addok"
ADDOK_CONFIG = """
REDIS = {{'host': '127.0.0.1', 'port': {port}, 'indexes': {{'db': 0}}, 'documents': {{'db': 1}}}}
BATCH_WORKERS = 1
LOG_DIR = {logdir!r}
EXTRA_FIELDS = [{{'key': 'citycode'}}, {{'key': 'oldcitycode'}}, {{'key': 'oldcity'}}]
FILTERS = ['type', 'postcode', 'citycode']
QUERY_PROCESSORS_PYPATHS = [
    'addok.helpers.text.check_query_length',
    'addok_france.extract_address',
    'addok_france.clean_query',
    'addok_france.remove_leading_zeros',
]
SEARCH_RESULT_PROCESSORS_PYPATHS = [
    'addok.helpers.results.match_housenumber',
    'addok_france.make_labels',
    'addok.helpers.results.score_by_importance',
    'addok.helpers.results.score_by_autocomplete_distance',
    'addok.helpers.results.score_by_ngram_distance',
    'addok.helpers.results.score_by_geo_distance',
]
PROCESSORS_PYPATHS = [
    'addok.helpers.text.tokenize',
    'addok.helpers.text.normalize',
    'addok_france.glue_ordinal',
    'addok_france.fold_ordinal',
    'addok_france.flag_housenumber',
    'addok.helpers.text.synonymize',
    'addok_fr.phonemicize',
]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _addok_docs(world, path: Path) -> int:
    """The synthetic set as addok documents (as the BAN's addok export: streets, lieux-dits, communes)."""
    n = 0
    pops = {c[0]: c[3] for c in world.communes}
    top = math.log(max(pops.values()))
    with open(path, "w", encoding="utf-8") as f:
        for c in world.communes:
            f.write(json.dumps({"id": c[0], "type": "municipality", "name": c[1], "postcode": c[2],
                                "citycode": c[0], "city": c[1], "context": "59, Nord, Hauts-de-France",
                                "importance": round(0.3 + 0.7 * math.log(c[3]) / top, 4), "lon": c[4],
                                "lat": c[5]}, ensure_ascii=False) + "\n")
            n += 1
        for s in world.streets:
            mid = s.numbers[len(s.numbers) // 2]
            doc = {"id": f"{s.insee}_{s.voie}", "type": "street" if s.type else "locality", "name": s.full,
                   "postcode": s.postcode, "citycode": s.insee, "city": s.commune,
                   "context": "59, Nord, Hauts-de-France",
                   "importance": round(0.1 + 0.3 * math.log(pops[s.insee]) / top + min(len(s.numbers), 60) / 300, 4),
                   "lon": mid[2], "lat": mid[3],
                   "housenumbers": {f"{num} {rep}".strip(): {"lon": lon, "lat": lat}
                                    for num, rep, lon, lat in s.numbers}}
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
            n += 1
        for k, (insee, commune, cp, ld, lon, lat) in enumerate(world.localities):
            f.write(json.dumps({"id": f"{insee}_b{k:03d}", "type": "locality", "name": ld, "postcode": cp,
                                "citycode": insee, "city": commune, "context": "59, Nord, Hauts-de-France",
                                "importance": 0.1, "lon": lon, "lat": lat}, ensure_ascii=False) + "\n")
            n += 1
    return n


class Addok:
    """A private redis-server + addok serve on loopback, loaded with the synthetic set."""

    def __init__(self, work: Path, world, say):
        self.work, self.world, self.say = work, world, say
        self.serve = None
        self.pidfile = work / "redis.pid"

    def __enter__(self) -> str:
        redis_bin = shutil.which("redis-server")
        if redis_bin is None or not ADDOK.exists():
            raise RuntimeError("redis-server ou addok absent (scripts/setup --test les installe)")
        redis_port, http_port = _free_port(), _free_port()
        subprocess.run([redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                        "no", "--daemonize", "yes", "--pidfile", str(self.pidfile), "--dir", str(self.work),
                        "--logfile", str(self.work / "redis.log")], check=True, timeout=30)
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", redis_port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        cfg = self.work / "addok_conf.py"
        cfg.write_text(ADDOK_CONFIG.format(port=redis_port, logdir=str(self.work)), encoding="utf-8")
        docs = self.work / "docs.ndjson"
        n = _addok_docs(self.world, docs)
        env = dict(os.environ, ADDOK_CONFIG_MODULE=str(cfg))
        t0 = time.perf_counter()
        for args in (["batch", str(docs)], ["ngrams"]):
            subprocess.run([str(ADDOK), "--config", str(cfg), *args], check=True, timeout=1800, env=env,
                           capture_output=True)
        self.say(f"addok : {n} documents indexés en {time.perf_counter() - t0:.1f} s")
        self.serve = subprocess.Popen([str(ADDOK), "--config", str(cfg), "serve", "--host", "127.0.0.1", "--port",
                                       str(http_port)], env=env, stdout=subprocess.DEVNULL,
                                      stderr=open(self.work / "serve.log", "wb"))
        url = f"http://127.0.0.1:{http_port}"
        for _ in range(400):
            try:
                with urllib.request.urlopen(f"{url}/search?q=rue+jean+jaures", timeout=1) as resp:
                    if resp.status == 200:
                        return url
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("addok serve ne répond pas")

    def __exit__(self, *exc):
        if self.serve is not None:
            self.serve.terminate()
            try:
                self.serve.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.serve.kill()
        if self.pidfile.exists():
            try:
                pid = int(self.pidfile.read_text().strip())
                os.kill(pid, 15)
                for _ in range(100):  # wait until redis has exited (it writes in the work folder)
                    os.kill(pid, 0)
                    time.sleep(0.05)
            except (OSError, ValueError):
                pass


def _dist_m(lon1, lat1, lon2, lat2) -> float:
    k = math.cos(math.radians(lat1))
    return math.hypot((lon1 - lon2) * k * 111_320.0, (lat1 - lat2) * 110_574.0)


def right(result, truth) -> bool:
    """Is the best candidate the expected answer?"""
    b = result.best
    if b is None or result.quality == "not_found":
        return False
    if truth.kind == "ambiguous":
        return b.citycode in truth.communes
    if b.citycode != truth.insee:
        return False
    if truth.kind == "address":
        return b.type == "housenumber" and _dist_m(b.lon, b.lat, truth.lon, truth.lat) <= 2.0
    if truth.kind == "commune":
        return b.type == "municipality"
    if truth.kind in ("street", "locality"):
        return b.type in ("street", "locality") and street_key(b.street) == street_key(truth.street)
    return False


def evaluate(queries, results) -> dict:
    stats: dict[str, Counter] = defaultdict(Counter)
    wrong_examples: dict[str, list] = defaultdict(list)
    for q, r in zip(queries, results):
        c = stats[q.category]
        c["n"] += 1
        ok = right(r, q.truth)
        c["right"] += ok
        c[r.quality] += 1
        if q.truth.kind != "ambiguous":
            if r.quality == "precise" and not ok:
                c["precise_wrong"] += 1
            if not ok and len(wrong_examples[q.category]) < 4:
                wrong_examples[q.category].append(f"{q.text!r} → {r.quality} {r.best.label if r.best else ''}")
        elif r.quality != "ambiguous" and len(wrong_examples[q.category]) < 4:
            wrong_examples[q.category].append(f"{q.text!r} → {r.quality} {r.best.label if r.best else ''}")
    return {"stats": stats, "examples": wrong_examples}


def _n(x: float) -> str:
    return f"{x:,.0f}".replace(",", "\u202f")


def _pct(a, b) -> str:
    return f"{100.0 * a / b:5.1f}" if b else "  -  "


def table(evals: dict[str, dict], say) -> None:
    names = list(evals)
    head = f"{'catégorie':26} {'n':>5} | " + " | ".join(f"{n[:22]:^30}" for n in names)
    say(head)
    say(f"{'':26} {'':>5} | " + " | ".join(f"{'top-1':>6} {'précis':>6} {'p+faux':>6} {'ambig':>5} {'introuv':>4}"
                                             for _ in names))
    totals = {n: Counter() for n in names}
    for cat in CATEGORIES:
        cells = []
        n_q = 0
        for n in names:
            c = evals[n]["stats"].get(cat, Counter())
            n_q = c["n"]
            if cat != "homonymes sans commune":
                for k, v in c.items():
                    totals[n][k] += v
            cells.append(f"{_pct(c['right'], c['n']):>6} {_pct(c['precise'], c['n']):>6} "
                         f"{_pct(c['precise_wrong'], c['n']):>6} {_pct(c['ambiguous'], c['n']):>5} "
                         f"{_pct(c['not_found'], c['n']):>6}")
        say(f"{cat:26} {n_q:>5} | " + " | ".join(cells))
    cells = []
    for n in names:
        c = totals[n]
        cells.append(f"{_pct(c['right'], c['n']):>6} {_pct(c['precise'], c['n']):>6} "
                     f"{_pct(c['precise_wrong'], c['n']):>6} {_pct(c['ambiguous'], c['n']):>5} "
                     f"{_pct(c['not_found'], c['n']):>6}")
    say(f"{'TOTAL une seule réponse':26} {totals[names[0]]['n']:>5} | " + " | ".join(cells))
    for n in names:
        c, h = totals[n], evals[n]["stats"].get("homonymes sans commune", Counter())
        say(f"{n}: top-1 {_pct(c['right'], c['n']).strip()} % (cible ≥ 99), précis mais faux "
            f"{100.0 * c['precise_wrong'] / max(1, c['n']):.2f} % (cible ≤ 0,1), homonymes signalés ambigus "
            f"{_pct(h['ambiguous'], h['n']).strip()} % (cible ≥ 95), homonymes tranchés « précis » "
            f"{_pct(h['precise'], h['n']).strip()} %")


def run_offline(g: BanGeocoder, queries, passes: int = 3, cpu: list | None = None) -> tuple[list, list[float]]:
    """Geocode *queries* *passes* times with every cache emptied; wall times (and CPU times into *cpu*)."""
    times = []
    results = None
    qs = [AddressQuery(q.text) for q in queries]
    for _ in range(passes):
        g._cache.clear()
        normalize._fold.cache_clear()
        normalize.city_key.cache_clear()
        t0, c0 = time.perf_counter(), time.process_time()
        results = g.geocode_many(qs)
        times.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return results, times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-category", type=int, default=150)
    ap.add_argument("--addresses", type=int, default=110_000)
    ap.add_argument("--no-addok", action="store_true")
    ap.add_argument("--no-fallback", action="store_true", help="skip the pass without rapidfuzz")
    ap.add_argument("--examples", action="store_true", help="print wrong answers")
    ap.add_argument("--seed", type=int, default=14, help="seed of the synthetic set (queries: seed + 1)")
    ap.add_argument("--passes", type=int, default=5, help="timed passes of cq-geo (median reported)")
    args = ap.parse_args()
    lines = [f"# benchmarks/geocode_quality.py — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
             f"# {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPU, "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')}",
             "# Données SYNTHÉTIQUES (benchmarks/geocode_synthetic.py) : rues inventées, communes réelles."]

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        world = generate(tmp, target_addresses=args.addresses, seed=args.seed)
        n_addr = sum(len(s.numbers) for s in world.streets)
        say(f"jeu synthétique : {n_addr} adresses, {len(world.streets)} voies, {len(world.localities)} lieux-dits "
            f"sans adresse, {len(world.communes)} communes ({time.perf_counter() - t0:.1f} s)")
        queries = make_queries(world, per_category=args.per_category, seed=args.seed + 1)
        say(f"requêtes : {len(queries)} ({args.per_category} par catégorie, {len(CATEGORIES)} catégories ; "
            f"graine {args.seed})")
        import inspect

        kw = {"lieux_dits": world.path_localities} if "lieux_dits" in inspect.signature(import_ban).parameters else {}
        t0 = time.perf_counter()
        stats = import_ban(world.path_addresses, tmp / "ban.sqlite", **kw)
        build = time.perf_counter() - t0
        say(f"construction de l'index : {build:.2f} s ({stats['rows_kept']} adresses, {stats['streets']} voies)")
        t0 = time.perf_counter()
        g = BanGeocoder.from_store(tmp / "ban.sqlite", thresholds=QualityThresholds())
        say(f"chargement de l'index et du géocodeur : {time.perf_counter() - t0:.2f} s")
        cpu: list[float] = []
        load0 = os.getloadavg()[0]
        results, times = run_offline(g, queries, passes=args.passes, cpu=cpu)
        rate = len(queries) / sorted(times)[len(times) // 2]
        rate_cpu = len(queries) / sorted(cpu)[len(cpu) // 2]
        say(f"cq-geo (rapidfuzz) : {_n(rate_cpu)} requêtes par seconde de temps CPU d'un cœur, {_n(rate)} par seconde "
            f"d'horloge (médianes de {len(times)} passes, caches vidés ; horloge {' ; '.join(f'{t:.2f}' for t in times)} s, "
            f"CPU {' ; '.join(f'{t:.2f}' for t in cpu)} s ; cible ≥ 5 000/s) ; machine partagée, loadavg "
            f"{load0:.2f} → {os.getloadavg()[0]:.2f}")
        evals = {"cq-geo hors ligne": evaluate(queries, results)}
        if not args.no_fallback:
            _fuzzy.use_rapidfuzz(False) if hasattr(_fuzzy, "use_rapidfuzz") else None
            try:
                g2 = BanGeocoder.from_store(tmp / "ban.sqlite", thresholds=QualityThresholds())
                res2, times2 = run_offline(g2, queries, passes=1)
            finally:
                _fuzzy.use_rapidfuzz(True) if hasattr(_fuzzy, "use_rapidfuzz") else None
            same = sum(a.to_dict() == b.to_dict() for a, b in zip(results, res2))
            say(f"cq-geo sans rapidfuzz (Python pur) : {_n(len(queries) / times2[0])} requêtes/s ; réponses "
                f"identiques à celles avec rapidfuzz : {same}/{len(queries)}")
        if not args.no_addok:
            from cq_geo.geocode.online import OnlineGeocoder

            work = tmp / "addok"
            work.mkdir()
            with Addok(work, world, say) as url:
                online = OnlineGeocoder(url, rate=0, retries=2, timeout=30, thresholds=QualityThresholds())
                t0 = time.perf_counter()
                ares = [online.geocode(q.text) for q in queries]
                el = time.perf_counter() - t0
                say(f"addok 1.3.2 : {_n(len(queries) / el)} requêtes/s (HTTP sur la boucle locale, une à une)")
            evals["addok 1.3.2"] = evaluate(queries, ares)
        say()
        say("Par catégorie, en % des requêtes : top-1 juste, précis, précis mais faux (p+faux), ambigu, introuvable")
        table(evals, say)
        if args.examples:
            for name, ev in evals.items():
                say(f"\n-- {name} : exemples de réponses fausses")
                for cat, ex in ev["examples"].items():
                    for e in ex:
                        say(f"  [{cat}] {e}")
    name = "geocode_quality.txt" if args.seed == 14 else f"geocode_quality_seed{args.seed}.txt"
    out = ROOT / "benchmarks" / "results" / name
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"→ {out}")


if __name__ == "__main__":
    main()
