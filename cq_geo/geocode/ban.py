"""The offline geocoder: addresses matched against the local BAN index, on this machine only.

Nothing leaves the computer. Matching (see docs/geocodage.md):

1. the address is split (:func:`~cq_geo.geocode.normalize.parse_address`) into
   number, suffix (bis, ter…), street, postcode and commune (written last or
   first); a commune name alone, with or without its postcode, is a commune;
2. the postcode, the commune name (current or former commune, typos
   tolerated) or the ``citycode`` filter restrict the streets searched; a
   postcode and a commune that disagree are both tried, the commune first, and
   the answer is then never ``precise``;
3. the street is found by its normalised key (exact, fast), else by fuzzy
   matching (one or two typing errors, words in another order) among the
   streets of those communes;
4. a number found as typed gives a ``housenumber`` candidate; a number the
   street does not have gives the nearest known number, and no number gives the
   street itself — both flagged approximate; every street of that name is
   checked for the number;
5. :func:`~cq_geo.geocode.base.assess` gives the quality: the same street in
   several communes with no commune typed is ``ambiguous``, never resolved.

The commune of a candidate is the one of its INSEE code in the BAN.

Examples
--------
>>> import pathlib, tempfile
>>> from cq_geo.geocode.ban_index import import_ban
>>> fixture = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/ban_synthetic/adresses-synthetic.csv"
>>> db = pathlib.Path(tempfile.mkdtemp()) / "ban.sqlite"
>>> _ = import_ban(fixture, db)
>>> g = BanGeocoder.from_store(db)
>>> r = g.geocode("12 bis rue des Essais 59220 Denain")
>>> r.quality, r.best.label, r.best.citycode
('precise', '12 bis Rue des Essais 59220 Denain', '59172')
>>> g.geocode("7 rue des essais").quality          # Denain, La Sentinelle, Raismes…
'ambiguous'
>>> r = g.geocode("13 rue des essais, Denain")     # 13 is not in the BAN
>>> r.quality, r.best.housenumber, r.best.approximate_number
('approximate', '11', True)
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Callable, Iterable

from . import _fuzzy
from .ban_index import BanIndex, commune_keys, load_ban_index
from .base import AddressQuery, Candidate, GeocodeResult, QualityThresholds, assess
from .normalize import POSTCODE_RE, STREET_TYPES, ParsedAddress, city_key, fold, parse_address, street_key

__all__ = ["BanGeocoder"]

# Score factors (documented in docs/geocodage.md).
NUMBER_SUFFIX_FACTOR = 0.97  # the number exists, not with the typed suffix (or the other way round)
NUMBER_MISSING_FACTOR = 0.92  # the number is not known on the street: nearest known number
STREET_ONLY_FACTOR = 0.95  # a number was typed and the street has no number at all
FORMER_COMMUNE_FACTOR = 0.85  # a former commune was typed and this street is in another one
TYPE_MISMATCH_FACTOR = 0.90  # "avenue X" typed, "rue X" found
OTHER_COMMUNE_FACTOR = 0.85  # nothing in the typed commune: street found elsewhere
FUZZY_CUTOFF = 72.0  # similarity (0-100, cq_geo.geocode._fuzzy) below which a street does not match
CITY_CUTOFF = 80.0
MAX_STREET_CANDIDATES = 400  # streets of one name checked for the number (all homonyms of the territory)
SUPPORT_POINTS = 60  # known positions kept on a street candidate for the perimeter check
#: Words that start commune names but are too common in street names to be read as a commune alone.
_GENERIC_WORDS = frozenset({"lieu", "grand", "grande", "petit", "petite", "mont", "bois", "pont", "fontaine", "vieux",
                            "vieille", "neuville", "ville", "haut", "haute", "bas", "basse", "marais", "moulin",
                            "chateau", "ancien", "ancienne", "abbaye", "notre", "saint", "sainte", "hameau"})


_HOUSE_NUMBER = re.compile(r"(?<!\d)\d{1,4}(?!\d)")
#: Suffixes that stand for each other when only one of them is known at that number.
_REP_SAME = {"b": "bis", "bis": "b"}
_FULL_TYPES = frozenset(w for v in STREET_TYPES.values() for w in v.split()[:1])


def _strip_type(key: str) -> str:
    """The street key without its leading street type ("rue jean jaures" → "jean jaures")."""
    parts = key.split(" ", 1)
    return parts[1] if len(parts) == 2 and parts[0] in _FULL_TYPES else key


class BanGeocoder:
    """Offline geocoder over a :class:`~cq_geo.geocode.ban_index.BanIndex`.

    Build it with :meth:`from_store`. ``thresholds`` set the quality model
    (default: :meth:`QualityThresholds.from_env`).
    """

    name = "offline-ban"

    def __init__(self, index: BanIndex, thresholds: QualityThresholds | None = None):
        self.index = index
        self.thresholds = thresholds or QualityThresholds.from_env()
        streets = index.streets
        self._by_key: dict[str, list[int]] = {}
        self._by_bare: dict[str, list[int]] = {}  # key without its street type
        self._by_commune: dict[str, list[int]] = {}
        # keys made again from the names (not the stored ones): an index built by an earlier version of the
        # normaliser still matches the queries of this one
        self._keys = [street_key(s[0]) for s in streets]
        self._bare = [_strip_type(k) for k in self._keys]
        self._postcodes: dict[str, set[str]] = {}
        for i, s in enumerate(streets):
            key, insee, postcode = self._keys[i], s[3], s[5]
            self._by_key.setdefault(key, []).append(i)
            self._by_bare.setdefault(_strip_type(key), []).append(i)
            self._by_commune.setdefault(insee, []).append(i)
            if postcode:
                self._postcodes.setdefault(postcode, set()).add(insee)
        self._all = list(range(len(streets)))
        self._pools: dict[tuple, tuple[list[int], list[str]]] = {}
        self._pool_sets: dict[tuple, set[int]] = {}
        self._token_index: dict[str, set[int]] = {}
        for i, bare in enumerate(self._bare):
            for w in bare.split():
                if len(w) >= 3:
                    self._token_index.setdefault(w, set()).add(i)
        self._radius = [_half_diagonal_m(s) for s in streets]
        # plain lists for the per-query look-ups (bisect on a list slice bound is cheaper than numpy calls)
        self._numero = index.numero.tolist()
        self._lon, self._lat = index.lon.tolist(), index.lat.tolist()
        self._start, self._end = index.start.tolist(), index.end.tolist()
        self._cities = commune_keys(index)
        # short forms: "saint amand" for "saint amand eaux", "douchy" for "douchy mines" (when unique)
        short: dict[str, set] = {}
        for key, codes in self._cities.items():
            words = key.split()
            for n in range(1, len(words)):
                if words[0] in ("saint", "sainte") and n < 2:
                    continue
                alias = " ".join(words[:n])
                if len(alias) >= 4:
                    short.setdefault(alias, set()).update(codes)
        # communes of the département outside the territory (from the BAN file): recognised, then refused
        self._outside: dict[str, tuple[str, str]] = {}
        self._outside_postcodes: dict[str, str] = {}
        for insee, (name, postcodes) in (index.meta.get("outside_communes") or {}).items():
            self._outside.setdefault(city_key(name), (insee, name))
            for pc in postcodes:
                self._outside_postcodes.setdefault(pc, name)
        outside_prefixes = {" ".join(k.split()[:n]) for k in self._outside for n in range(1, len(k.split()) + 1)}
        # short forms are accepted where a commune is expected (after a postcode or a comma); at the end of
        # a bare address only the safer ones (two words, or one long uncommon word) are taken as a commune
        self._aliases: dict[str, set] = {}
        safe: set[str] = set()
        for alias, codes in short.items():
            if alias not in self._cities and alias not in outside_prefixes and len({c[0] for c in codes}) == 1:
                self._aliases[alias] = codes
                if " " in alias or (len(alias) >= 6 and alias not in _GENERIC_WORDS):
                    safe.add(alias)
        self._city_list = list(self._cities)
        self._parse_keys = set(self._cities) | safe | set(self._outside)
        self._commune_names = {s[3]: s[4] for s in streets}
        self._commune_points: dict[str, tuple[float, float, float]] = {}
        self._cache: dict[tuple, GeocodeResult] = {}

    @classmethod
    def from_store(cls, store=None, thresholds: QualityThresholds | None = None) -> "BanGeocoder":
        """The geocoder over the BAN index of *store* (``--store``, ``CQ_GEO_STORE``, user store)."""
        return cls(load_ban_index(store), thresholds)

    @property
    def source(self) -> str:
        meta = self.index.meta
        return f"offline-ban:{meta.get('source', '')}@{str(meta.get('imported_at', ''))[:10]}"

    # -- public API -----------------------------------------------------------------------------
    def geocode(self, query: AddressQuery | str, limit: int = 5) -> GeocodeResult:
        """Geocode one address (see the module docstring for the rules)."""
        q = AddressQuery(query) if isinstance(query, str) else query
        cache_key = (q.text, q.postcode, q.citycode, q.city, limit)
        hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        result = self._geocode(q, limit)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[cache_key] = result
        return result

    def geocode_many(
        self, queries: Iterable[AddressQuery | str], progress: Callable[[int, int], None] | None = None, limit: int = 5
    ) -> list[GeocodeResult]:
        """Geocode many addresses; ``progress(done, total)`` is called as it goes."""
        queries = list(queries)
        total = len(queries)
        out = []
        step = max(1, total // 100)
        for i, q in enumerate(queries, 1):
            out.append(self.geocode(q, limit=limit))
            if progress is not None and (i % step == 0 or i == total):
                progress(i, total)
        return out

    def reverse(self, lon: float, lat: float, limit: int = 1) -> list[Candidate]:
        """The known addresses nearest to a point (WGS84), nearest first, like the online ``/reverse``.

        The score is 1 at the point and falls with the distance (0.5 at 50 m).
        """
        import math

        import numpy as np

        idx = self.index
        if not len(idx.lon):
            return []
        k = math.cos(math.radians(lat))
        d2 = ((idx.lon - lon) * k * 111_320.0) ** 2 + ((idx.lat - lat) * 110_574.0) ** 2
        n = max(1, min(int(limit), len(d2)))
        nearest = np.argpartition(d2, n - 1)[:n]
        nearest = nearest[np.argsort(d2[nearest])]
        out = []
        for j in nearest:
            j = int(j)
            i = int(np.searchsorted(idx.start, j, side="right") - 1)
            while idx.end[i] <= j:  # skip streets without numbers
                i += 1
            s = idx.streets[i]
            num = f"{idx.numero[j]} {idx.rep[j]}".strip()
            dist = math.sqrt(float(d2[j]))
            out.append(Candidate(float(idx.lon[j]), float(idx.lat[j]), self._label(s, num),
                                 round(1.0 / (1.0 + dist / 50.0), 4), "housenumber", citycode=s[3], postcode=s[5],
                                 city=s[4], street=s[0], housenumber=num, oldcitycode=s[6], oldcity=s[7]))
        return out

    def street_support(self, candidate: Candidate) -> tuple:
        """Known positions of the candidate's street (what :attr:`Candidate.support` holds)."""
        return candidate.support

    # -- matching ---------------------------------------------------------------------------------
    def _communes_filter(self, q: AddressQuery, parsed) -> tuple[list[set[str] | None], set[str], str, str]:
        """Where to search, in order: ``(tiers, former-commune codes preferred, note, conflict)``.

        *tiers* is a list of INSEE code sets tried one after the other (``None``
        = the whole index, ``[]`` = nowhere). A commune name and a postcode that
        disagree ("… 59124 Douchy-les-Mines", 59124 being Escaudain's) are both
        weighed: the named commune first, then the postcode's communes; the
        *conflict* sentence then keeps the answer from being ``precise``.
        """
        former: set[str] = set()
        note = conflict = ""
        if q.citycode:
            return [{q.citycode.strip()}], former, note, conflict
        postcode = (q.postcode or parsed.postcode or "").strip()
        pc_codes: set[str] | None = None
        if postcode:
            pc_codes = self._postcodes.get(postcode, set())
            if not pc_codes:
                other = self._outside_postcodes.get(postcode)
                note = (f"code postal {postcode} ({other}) hors du territoire" if other else
                        f"code postal {postcode} absent de l'index BAN local (hors du territoire ?)")
        city = q.city or parsed.city
        city_codes: set[str] | None = None
        city_name = ""
        if city:
            found = self._match_city(city)
            if found:
                city_codes = {c for c, _ in found}
                former = {a for _, a in found if a}
                city_name = ", ".join(sorted({self._commune_names.get(c, c) for c in city_codes}))
            elif city_key(city) in self._outside:
                insee, name = self._outside[city_key(city)]
                note = f"{name} ({insee}) est hors du territoire : adresse absente de l'index local"
                city_codes, city_name = set(), name
            elif pc_codes is None:
                note = f"commune « {city} » inconnue de l'index BAN local (hors du territoire ?)"
                return [set()], former, note, conflict
        if city_codes is None:
            return [pc_codes], former, note, conflict
        if pc_codes is None:
            return [city_codes], former, note, conflict
        both = city_codes & pc_codes
        if both:
            return [both], former, note, conflict
        # disagreement: the commune typed in full first, then the postcode's communes
        pc_names = ", ".join(sorted({self._commune_names.get(c, c) for c in pc_codes})) or "hors du territoire"
        conflict = (f"le code postal {postcode} ({pc_names}) ne correspond pas à la commune indiquée "
                    f"({city_name}) : à vérifier")
        tiers = [t for t in (city_codes, pc_codes) if t]
        return tiers or [set()], former, note, conflict

    def _match_city(self, text: str) -> set[tuple[str, str]]:
        key = city_key(text)
        if key in self._cities:
            return self._cities[key]
        if key in self._aliases:
            return self._aliases[key]
        best = _fuzzy.extract(key, self._city_list, limit=1, score_cutoff=CITY_CUTOFF)
        return self._cities[best[0][0]] if best else set()

    def _pool(self, codes: set[str] | None) -> tuple[list[int], list[str]] | None:
        """Street indices of the communes *codes* and their bare keys (cached), or None for all."""
        if codes is None:
            return None
        key = tuple(sorted(codes))
        hit = self._pools.get(key)
        if hit is None:
            ids = [i for c in key for i in self._by_commune.get(c, [])]
            hit = self._pools[key] = (ids, [self._bare[i] for i in ids])
        return hit

    def _pool_set(self, codes: set[str]) -> set[int]:
        key = tuple(sorted(codes))
        hit = self._pool_sets.get(key)
        if hit is None:
            hit = self._pool_sets[key] = {i for c in key for i in self._by_commune.get(c, [])}
        return hit

    def _street_matches(self, key: str, codes: set[str] | None) -> list[tuple[int, float]]:
        """Streets matching *key* in communes *codes* (None = all): [(street index, score 0-1)]."""
        exact = self._by_key.get(key)
        if exact is None:
            bare = _strip_type(key)
            exact = self._by_bare.get(bare)  # "jean jaures" typed without "rue", or another type
            qtype = key[: len(key) - len(bare)].strip()
            factor = 0.96 * (TYPE_MISMATCH_FACTOR if qtype else 1.0)
        else:
            factor = 1.0
        if exact:
            if codes is None:
                allowed = exact
            elif len(exact) <= 4:
                streets = self.index.streets
                allowed = [i for i in exact if streets[i][3] in codes]
            else:
                allowed = sorted(set(exact).intersection(self._pool_set(codes)))
            if allowed:
                return [(i, factor) for i in allowed]
        streets = self.index.streets
        bare = _strip_type(key)
        qtype = key[: len(key) - len(bare)].strip()
        pool = self._pool(codes)
        if pool is None:
            pool_ids, choices = self._all, self._bare
        else:
            pool_ids, choices = pool
        # plain ratio first (fast, catches typos of one or two letters); then the word-order-tolerant score
        # among the streets sharing a word with the query; last, in the communes typed, a lower cutoff
        found = [(pool_ids[pos], score, score) for _c, score, pos in
                 _fuzzy.extract(bare, choices, limit=12, score_cutoff=FUZZY_CUTOFF + 8)]
        if not found:
            words = [w for w in bare.split() if len(w) >= 3]
            sub: set[int] = set().union(*(self._token_index.get(w, ()) for w in words)) if words else set()
            if codes is not None and sub:
                sub &= self._pool_set(codes)
            if sub:
                ids = sorted(sub)
                for _c, score, pos in _fuzzy.extract(bare, [self._bare[i] for i in ids], limit=12,
                                                     score_cutoff=FUZZY_CUTOFF, scorer=_fuzzy.token_ratio):
                    plain = _fuzzy.ratio(bare, self._bare[ids[pos]])
                    found.append((ids[pos], score, plain))
        if not found and pool is not None:
            found = [(pool_ids[pos], score, score) for _c, score, pos in
                     _fuzzy.extract(bare, choices, limit=12, score_cutoff=FUZZY_CUTOFF)]
        out = []
        for i, score, plain in found:
            # the word-order-tolerant score is generous with partial matches: temper it with the plain ratio
            sim = min(score, (score + plain) / 2.0 + 5.0)
            if sim < FUZZY_CUTOFF:
                continue
            ctype = self._keys[i][: len(self._keys[i]) - len(self._bare[i])].strip()
            if qtype and ctype and qtype != ctype:
                sim *= TYPE_MISMATCH_FACTOR
            out.append((i, round(sim / 100.0 * 0.98, 4)))
        return out

    def _commune_only(self, text: str):
        """A commune alone, with or without its postcode ("Bruille-Saint-Amand", "Denain 59220"), or None."""
        if _HOUSE_NUMBER.search(text):  # a house number: not a commune alone (fast way out)
            return None
        tokens = fold(text).split()
        postcodes = [t for t in tokens if POSTCODE_RE.match(t)]
        rest = " ".join(t for t in tokens if not POSTCODE_RE.match(t))
        if len(postcodes) > 1 or not rest:
            return None
        key = city_key(rest)
        if key in self._cities or key in self._aliases or key in self._outside:
            return ParsedAddress(raw=text, postcode=postcodes[0] if postcodes else "", city=rest)
        return None

    def _typed_commune_at_end(self, parsed) -> None:
        """A commune with a typo at the end of an address ("… Denian"): taken when the rest is a street of it."""
        toks = list(parsed.tokens)
        for n in (1, 2, 3, 4):
            if len(toks) <= n + 1:
                return
            key = city_key(" ".join(toks[-n:]))
            if len(key) < 5:
                continue
            best = _fuzzy.extract(key, self._city_list, limit=1, score_cutoff=CITY_CUTOFF)
            if not best:
                continue
            codes = {c for c, _ in self._cities[best[0][0]]}
            street = street_key(" ".join(toks[:-n]), folded=True)
            if any(self.index.streets[i][3] in codes for i in self._by_key.get(street, ())):
                parsed.street, parsed.city, parsed.tokens = street, " ".join(toks[-n:]), tuple(toks[:-n])
                return

    def _geocode(self, q: AddressQuery, limit: int) -> GeocodeResult:
        t = self.thresholds
        parsed = self._commune_only(q.text) or parse_address(q.text, self._parse_keys)
        if not parsed.street and not parsed.housenumber and parsed.city == "" and parsed.postcode == "" and not (
            q.city or q.citycode or q.postcode
        ):
            return GeocodeResult(q.text, "not_found", [], "adresse vide", self.source)
        if parsed.street and not (parsed.city or parsed.postcode or q.city or q.citycode or q.postcode) and \
                parsed.street not in self._by_key:
            self._typed_commune_at_end(parsed)  # "12 rue Jean Jaurès Denian"
        tiers, former, note, conflict = self._communes_filter(q, parsed)
        if not parsed.street:
            if parsed.housenumber and not parsed.city and not parsed.postcode:
                return GeocodeResult(q.text, "not_found", [], "adresse sans nom de voie", self.source)
            cands = [self._municipality(c) for c in sorted(tiers[0] or ())]
            cands = [c for c in cands if c is not None]
            if not cands:
                return GeocodeResult(q.text, "not_found", [], note or "ni voie ni commune reconnue", self.source)
            result = assess(q.text, cands[:limit], t, self.source)
            if conflict:
                result.reason += f" ; {conflict}"
            return result
        if tiers == [set()]:
            return GeocodeResult(q.text, "not_found", [], note or "commune inconnue", self.source)
        matches: list[tuple[int, float]] = []
        elsewhere = False
        for k, codes in enumerate(tiers):
            matches = self._street_matches(parsed.street, codes)
            if matches:
                if k:  # found with the postcode, not in the commune typed
                    matches = [(i, sc * OTHER_COMMUNE_FACTOR) for i, sc in matches]
                break
        if not matches and parsed.tokens:
            # a typo can turn an article into an abbreviation ("rue dr la résistance": "dr" read as docteur):
            # try again without the short words
            toks = [tk for k, tk in enumerate(parsed.tokens) if k == 0 or len(tk) > 2 or tk[0].isdigit()]
            alt = street_key(" ".join(toks), folded=True)
            if alt and alt != parsed.street:
                for k, codes in enumerate(tiers):
                    matches = self._street_matches(alt, codes)
                    if matches:
                        matches = [(i, sc * (OTHER_COMMUNE_FACTOR if k else 1.0) * 0.97) for i, sc in matches]
                        break
        if not matches and tiers[-1] is not None:
            matches = [(i, sc * OTHER_COMMUNE_FACTOR) for i, sc in self._street_matches(parsed.street, None)]
            elsewhere = bool(matches)
        if not matches:
            reason = "voie introuvable dans l'index BAN local" + (f" ; {note}" if note else "")
            return GeocodeResult(q.text, "not_found", [], reason, self.source)
        cands = []
        # every homonymous street is checked for the number (not only the first few)
        for i, score in sorted(matches, key=lambda m: -m[1])[:MAX_STREET_CANDIDATES]:
            s = self.index.streets[i]
            if former and s[6] not in former:
                score *= FORMER_COMMUNE_FACTOR
            cands.append(self._candidate(i, score, parsed))
        if parsed.housenumber:
            # a street of the same name and commune that has the number typed wins over one that lacks it
            # (homonymous streets, or one street split in several BAN street codes)
            exact = {(c.citycode, c.oldcitycode, c.street) for c in cands
                     if c.type == "housenumber" and not c.approximate_number}
            cands = [c for c in cands if not (c.approximate_number and (c.citycode, c.oldcitycode, c.street) in exact)]
        cands.sort(key=lambda c: -c.score)
        result = assess(q.text, cands, t, self.source)
        result.candidates = result.candidates[:limit]
        if elsewhere:
            result.reason += " ; voie absente de la commune indiquée, trouvée ailleurs"
            if result.quality == "precise":
                result.quality = "approximate"
        elif note:
            result.reason += f" ; {note}"
        if conflict:
            result.reason += f" ; {conflict}"
            if result.quality == "precise":  # never precise on a postcode the commune contradicts
                result.quality = "approximate"
        return result

    def _label(self, s: tuple, number: str) -> str:
        parts = [number, s[0], f"({s[7]})" if s[7] else "", s[5], s[4]]
        return " ".join(p for p in parts if p)

    def _candidate(self, i: int, score: float, parsed) -> Candidate:
        idx = self.index
        s = idx.streets[i]
        name, kind, insee, commune, postcode = s[0], s[2], s[3], s[4], s[5]
        a, b = self._start[i], self._end[i]
        common = dict(citycode=insee, postcode=postcode, city=commune, street=name, oldcitycode=s[6], oldcity=s[7])
        radius = self._radius[i]
        if parsed.housenumber and b > a:
            num = int(parsed.housenumber)
            numero = self._numero
            lo = bisect_left(numero, num, a, b)
            hi = bisect_right(numero, num, lo, b)
            if hi > lo:
                same = [j for j in range(lo, hi) if idx.rep[j] == parsed.rep]
                if not same and parsed.rep in _REP_SAME:  # "12 B" typed, only "12 bis" known (or the reverse)
                    same = [j for j in range(lo, hi) if idx.rep[j] == _REP_SAME[parsed.rep]]
                j = same[0] if same else lo
                rep = idx.rep[j]
                label_num = f"{num} {rep}".strip()
                return Candidate(self._lon[j], self._lat[j], self._label(s, label_num),
                                 round(score * (1.0 if same else NUMBER_SUFFIX_FACTOR), 4), "housenumber",
                                 housenumber=label_num, approximate_number=not same,
                                 radius_m=0.0 if same else 15.0, **common)
            # nearest known number, same side (parity) first
            diff = abs(idx.numero[a:b] - num)
            j = a + int((diff + (diff % 2) * 1_000_000).argmin())
            found = int(idx.numero[j])
            label_num = f"{found} {idx.rep[j]}".strip()
            step = abs(found - num)
            return Candidate(float(idx.lon[j]), float(idx.lat[j]), self._label(s, label_num),
                             round(score * NUMBER_MISSING_FACTOR, 4), "housenumber", housenumber=label_num,
                             approximate_number=True, radius_m=min(radius, 10.0 + 6.0 * step), **common)
        support = _sample(idx, a, b)
        factor = STREET_ONLY_FACTOR if parsed.housenumber else 1.0
        return Candidate(float(s[8]), float(s[9]), self._label(s, ""), round(score * factor, 4),
                         "locality" if kind == "locality" else "street", approximate_number=bool(parsed.housenumber),
                         radius_m=radius, support=support, **common)

    def _municipality(self, insee: str) -> Candidate | None:
        ids = self._by_commune.get(insee)
        if not ids:
            return None
        pt = self._commune_points.get(insee)
        if pt is None:
            streets = self.index.streets
            n = sum(streets[i][14] for i in ids)
            mlon = sum(streets[i][8] * streets[i][14] for i in ids) / n
            mlat = sum(streets[i][9] * streets[i][14] for i in ids) / n
            best = min(ids, key=lambda i: (streets[i][8] - mlon) ** 2 + (streets[i][9] - mlat) ** 2)
            extent = max(_half_diagonal_m(streets[i]) for i in ids)
            lon_min = min(streets[i][10] for i in ids); lon_max = max(streets[i][12] for i in ids)  # noqa: E702
            lat_min = min(streets[i][11] for i in ids); lat_max = max(streets[i][13] for i in ids)  # noqa: E702
            extent = max(extent, _half_diagonal_m((0,) * 10 + (lon_min, lat_min, lon_max, lat_max)))
            pt = self._commune_points[insee] = (streets[best][8], streets[best][9], extent)
        s = self.index.streets[ids[0]]
        return Candidate(pt[0], pt[1], f"{s[5]} {s[4]}".strip(), 0.9, "municipality", citycode=insee,
                         postcode=s[5], city=s[4], radius_m=pt[2])


def _half_diagonal_m(s: tuple) -> float:
    import math

    lon_min, lat_min, lon_max, lat_max = s[10], s[11], s[12], s[13]
    k = math.cos(math.radians((lat_min + lat_max) / 2.0))
    return round(math.hypot((lon_max - lon_min) * k * 111_320.0, (lat_max - lat_min) * 110_574.0) / 2.0, 1)


def _sample(idx: BanIndex, a: int, b: int) -> tuple:
    n = b - a
    if n <= 0:
        return ()
    step = max(1, n // SUPPORT_POINTS)
    pts = [(float(idx.lon[j]), float(idx.lat[j])) for j in range(a, b, step)]
    last = (float(idx.lon[b - 1]), float(idx.lat[b - 1]))
    if pts[-1] != last:
        pts.append(last)
    return tuple(pts)

