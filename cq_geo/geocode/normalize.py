"""Normalisation of French addresses for matching.

Everything the offline geocoder compares goes through :func:`fold` (case,
accents, ligatures, punctuation) and :func:`street_key` (street-type
abbreviations, Saint/St, articles). :func:`parse_address` splits a typed
address into house number, repetition suffix (bis, ter…), street, postcode and
commune.

Examples
--------
>>> fold("Rœulx, Château-l'Abbaye")
'roeulx chateau l abbaye'
>>> street_key("Av. du Gal de Gaulle")
'avenue general gaulle'
>>> street_key("R. St-Jean")
'rue saint jean'
>>> p = parse_address("12 bis r. Jean Jaurès 59220 Denain")
>>> p.housenumber, p.rep, p.street, p.postcode, p.city
('12', 'bis', 'rue jean jaures', '59220', 'denain')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

__all__ = [
    "fold",
    "street_key",
    "city_key",
    "normalize_rep",
    "parse_address",
    "ParsedAddress",
    "STREET_TYPES",
    "REPETITIONS",
]

_NON_ALNUM = re.compile(r"[^0-9a-z]+")

#: Street-type abbreviations → full word (folded). Single letters only count
#: as the first word of a street.
STREET_TYPES: dict[str, str] = {
    "r": "rue", "rue": "rue",
    "av": "avenue", "ave": "avenue", "avn": "avenue", "aven": "avenue",
    "bd": "boulevard", "bld": "boulevard", "blvd": "boulevard", "boul": "boulevard", "bvd": "boulevard",
    "pl": "place", "imp": "impasse", "chem": "chemin", "che": "chemin", "ch": "chemin", "chm": "chemin",
    "rte": "route", "all": "allee", "al": "allee", "sq": "square", "res": "residence", "resid": "residence",
    "fg": "faubourg", "fbg": "faubourg", "pass": "passage", "pas": "passage", "qu": "quai", "qua": "quai",
    "crs": "cours", "lot": "lotissement", "lotiss": "lotissement", "sen": "sentier", "sent": "sentier",
    "ham": "hameau", "rpt": "rond point", "rdpt": "rond point", "prom": "promenade", "esp": "esplanade",
    "vla": "villa", "sql": "square", "ctre": "centre", "zi": "zone industrielle", "za": "zone activite",
    "zac": "zone amenagement concerte", "lieu dit": "lieu dit", "ld": "lieu dit", "tra": "traverse",
    "cit": "cite", "cite": "cite", "ruelle": "ruelle", "rle": "ruelle", "pont": "pont", "cour": "cour",
    "dom": "domaine", "voie": "voie", "vc": "voie communale", "cd": "chemin departemental",
    "rn": "route nationale", "rd": "route departementale",
    # the full words (folded): a type written in full is a type too ("82 B Avenue X", "Route de Douai")
    "avenue": "avenue", "boulevard": "boulevard", "place": "place", "impasse": "impasse", "chemin": "chemin",
    "route": "route", "allee": "allee", "square": "square", "residence": "residence", "faubourg": "faubourg",
    "passage": "passage", "quai": "quai", "cours": "cours", "lotissement": "lotissement", "sentier": "sentier",
    "hameau": "hameau", "promenade": "promenade", "esplanade": "esplanade", "villa": "villa", "traverse": "traverse",
    "domaine": "domaine", "parvis": "parvis", "clos": "clos", "venelle": "venelle", "mail": "mail",
    "galerie": "galerie", "carrefour": "carrefour", "dreve": "dreve", "voyette": "voyette", "rang": "rang",
    "rampe": "rampe", "chaussee": "chaussee", "quartier": "quartier", "hlm": "hlm",
    "giratoire": "giratoire", "rond": "rond", "ferme": "ferme", "sente": "sente",
}
#: Title and word abbreviations expanded anywhere in a street or commune name.
WORDS: dict[str, str] = {
    "st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes",
    "gal": "general", "gen": "general", "mal": "marechal", "pdt": "president",
    "dr": "docteur", "doct": "docteur", "pr": "professeur", "prof": "professeur", "cdt": "commandant",
    "cne": "capitaine", "lt": "lieutenant", "col": "colonel", "mgr": "monseigneur", "abbe": "abbe",
    "ns": "notre", "nd": "notre dame", "fr": "freres", "jj": "jean jacques", "mme": "madame",
    "mlle": "mademoiselle", "m": "monsieur", "ctesse": "comtesse", "vve": "veuve", "bx": "beaux",
    "ave": "avenue", "av": "avenue", "bd": "boulevard", "imp": "impasse", "chem": "chemin",
    "rte": "route", "sq": "square", "pl": "place", "fbg": "faubourg", "fg": "faubourg", "res": "residence",
    "xi": "11", "xii": "12", "xiv": "14", "xv": "15", "xvi": "16", "xviii": "18", "xx": "20",
    "1er": "premier", "1ere": "premiere", "pt": "petit", "pte": "petite", "gde": "grande", "gd": "grand",
}
#: Words ignored when comparing names (articles, prepositions).
STOP_WORDS = frozenset({"de", "du", "des", "d", "la", "le", "les", "l", "a", "au", "aux", "et", "en", "sur", "sous"})
#: Repetition suffixes and their canonical form.
REPETITIONS: dict[str, str] = {
    "bis": "bis", "b": "b", "ter": "ter", "t": "ter", "quater": "quater", "qua": "quater", "quat": "quater",
    "q": "quater", "quinquies": "quinquies", "quinq": "quinquies", "c": "c", "d": "d", "e": "e",
    "f": "f", "g": "g", "h": "h", "a": "a",
}
_REP_WORDS = {"bis", "ter", "quater", "quinquies", "quinq", "qua", "quat"}
#: Words that join the parts of a place name: a commune name right after one of them is not the commune.
_JOINING = frozenset({"sous", "sur", "les", "lez", "les", "en", "de", "du", "des", "d", "la", "le", "l", "aux", "au",
                      "saint", "sainte", "st", "ste"})
#: Words a commune name does not start with ("sous Denain" is the end of "Wavrechain-sous-Denain").
_NOT_FIRST = frozenset({"sous", "sur", "lez", "en", "de", "du", "des", "d", "aux", "au"})
#: Words after which a lone letter is the number's suffix ("12 B Le Riez", "12 B Avenue X").
_AFTER_LETTER = frozenset({"le", "la", "les"})
POSTCODE_RE = re.compile(r"^(?:[0-8]\d|9[0-8]|2[ab])\d{3}$")
_COUNTRY = re.compile(r"[\s,;-]*\bfrance\s*$", re.IGNORECASE)
_SPLIT_POSTCODE = re.compile(r"(?<![\d\s])(\s+\d{2}) (\d{3})\b(?!\s*\d)")
_NUMBER = re.compile(r"^(\d{1,5})(bis|ter|quater|quinquies|[a-ht])?$")


def fold(text: str | None) -> str:
    """Lower case, no accents, ligatures spelled out, punctuation → spaces.

    >>> fold("  Saint-Amand-les-Eaux  ")
    'saint amand les eaux'
    >>> fold("ÉMERCHICOURT")
    'emerchicourt'
    >>> fold(None)
    ''
    """
    if not text:
        return ""
    return _fold(str(text))


@lru_cache(maxsize=200_000)
def _fold(text: str) -> str:
    text = text.translate(_FOLD_TABLE)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_ALNUM.sub(" ", text.lower()).split())


def _fold_table() -> dict[int, str]:
    table = {ord(k): v for k, v in {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"}.items()}
    for code in range(0xC0, 0x250):
        ch = chr(code)
        if ord(ch) in table:
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base != ch and base.isascii():
            table[code] = base
    for ch in "’‘´`ʼ":
        table[ord(ch)] = " "
    return table


_FOLD_TABLE = _fold_table()


def _expand(tokens: list[str], first_is_type: bool) -> list[str]:
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if i == 0 and first_is_type and tok in STREET_TYPES:
            out.extend(STREET_TYPES[tok].split())
        elif tok in WORDS and (len(tok) > 1 or i > 0):
            out.extend(WORDS[tok].split())
        else:
            out.append(tok)
    return out


def street_key(name: str | None, folded: bool = False) -> str:
    """The comparison key of a street name: folded, abbreviations expanded, no articles.

    >>> street_key("Rue de la Gare")
    'rue gare'
    >>> street_key("bd du 8 Mai 1945")
    'boulevard 8 mai 1945'
    >>> street_key("Chem. des Près") == street_key("chemin des pres")
    True
    """
    tokens = (name if folded else fold(name)).split()
    tokens = _expand(tokens, first_is_type=True)
    kept = [t for t in tokens if t not in STOP_WORDS]
    return " ".join(kept or tokens)


@lru_cache(maxsize=50_000)
def city_key(name: str | None) -> str:
    """The comparison key of a commune name (Saint/St, no articles, no accents).

    >>> city_key("St-Amand-les-Eaux") == city_key("Saint-Amand-les-Eaux")
    True
    >>> city_key("La Sentinelle")
    'sentinelle'
    """
    tokens = _expand(fold(name).split(), first_is_type=False)
    if tokens and tokens[0] == "cedex":
        tokens = tokens[1:]
    kept = [t for t in tokens if t not in STOP_WORDS and t != "cedex" and not t.isdigit()]
    return " ".join(kept or tokens)


def normalize_rep(rep: str | None) -> str:
    """Canonical repetition suffix: ``'B'`` → ``'b'``, ``'Bis'`` → ``'bis'``, ``'T'`` → ``'ter'``.

    >>> normalize_rep("BIS"), normalize_rep(" t "), normalize_rep(None)
    ('bis', 'ter', '')
    """
    r = fold(rep).replace(" ", "")
    return REPETITIONS.get(r, r)


@dataclass
class ParsedAddress:
    """A typed address split into its parts (all folded)."""

    raw: str
    housenumber: str = ""
    rep: str = ""
    street: str = ""  # street_key form
    postcode: str = ""
    city: str = ""  # folded text that followed the postcode or a comma (may be empty)
    tokens: tuple[str, ...] = ()  # folded tokens of the street part (before expansion)

    @property
    def number(self) -> int | None:
        """The house number as an int, or None."""
        return int(self.housenumber) if self.housenumber else None


def parse_address(text: str, city_keys: Iterable[str] | None = None) -> ParsedAddress:
    """Split *text* into number, repetition, street, postcode and commune.

    The postcode is any 5-digit group; what follows it (or, without postcode,
    what follows the last comma) is the commune. With *city_keys* (keys made by
    :func:`city_key`), a commune written at the end without postcode or comma
    is recognised too.

    >>> parse_address("3 ter, avenue Foch, Saint-Amand").city
    'saint amand'
    >>> parse_address("rue des Tilleuls Wallers", city_keys=["wallers"]).street
    'rue tilleuls'
    >>> parse_address("5B rue Haute").rep
    'b'
    >>> parse_address("59220 Denain").street
    ''
    """
    raw = text or ""
    city = ""
    clean = _drop_country(raw)
    clean = _SPLIT_POSTCODE.sub(_join_postcode, clean)  # "59 220" -> "59220", not "Escalier 14 102 rue X"
    # Commas separate the commune from the street when there is no postcode.
    parts = [p for p in re.split(r"[,;\n]+", clean) if fold(p)]
    tokens = fold(clean).split()
    # where the typed words start: a commune is never cut out of a hyphenated name ("Wavrechain-sous-Denain")
    starts: set[int] = set()
    at = 0
    for chunk in re.split(r"[\s,;]+", clean):
        n = len(fold(chunk).split())
        if n:
            starts.add(at)
            at += n
    starts.add(at)
    if city_keys is not None and tokens and not (_NUMBER.match(tokens[0]) and not POSTCODE_RE.match(tokens[0])):
        keys = city_keys if isinstance(city_keys, (set, frozenset, dict)) else set(city_keys)
        head = _split_city_head(tokens, keys, starts)
        if head is not None:  # "Denain, 11 avenue du Terril", "59278 Escautpont 5 rue X"
            pc, city, street_tokens = head
            number, rep, rest = _take_number(_drop_complement(street_tokens))
            return ParsedAddress(raw=raw, housenumber=number, rep=rep,
                                 street=street_key(" ".join(rest), folded=True) if rest else "",
                                 postcode=pc, city=city, tokens=tuple(rest))
    postcode = ""
    pc_index = -1
    for i, tok in enumerate(tokens):
        if POSTCODE_RE.match(tok) and not (i == 0 and len(tokens) > 1 and tokens[1] in STREET_TYPES):
            postcode, pc_index = tok, i
    if pc_index >= 0:
        before, after = tokens[:pc_index], tokens[pc_index + 1:]
        if after:
            street_tokens, city = before, " ".join(after)
        else:  # "12 rue X Denain 59220": the commune precedes the postcode
            street_tokens = before
            city = ""
            if city_keys is not None:
                street_tokens, city = _split_city(before, city_keys, starts)
    else:
        if len(parts) > 1 and not _looks_like_street(fold(parts[-1]).split()):
            street_tokens = fold(",".join(parts[:-1])).split()
            city = fold(parts[-1])
            # "12, rue X" : the number alone before a comma
            if street_tokens and all(_NUMBER.match(t) or t in _REP_WORDS for t in street_tokens):
                street_tokens, city = street_tokens + city.split(), ""
                if city_keys is not None:
                    street_tokens, city = _split_city(street_tokens, city_keys, starts)
        else:
            street_tokens = tokens
            if city_keys is not None:
                street_tokens, city = _split_city(tokens, city_keys, starts)
    number, rep, rest = _take_number(_drop_complement(street_tokens))
    return ParsedAddress(
        raw=raw,
        housenumber=number,
        rep=rep,
        street=street_key(" ".join(rest), folded=True) if rest else "",
        postcode=postcode,
        city=city,
        tokens=tuple(rest),
    )


def _drop_country(text: str) -> str:
    """"…, Denain, France" → "…, Denain"; but "34 rue Anatole France" keeps its street name.

    >>> _drop_country("12 rue X 59220 Denain France"), _drop_country("34 rue Anatole France")
    ('12 rue X 59220 Denain', '34 rue Anatole France')
    """
    m = _COUNTRY.search(text)
    if m and (re.search(r"[,;\n-]", m.group(0)) or re.search(r"\b\d{5}\b", text[:m.start()])):
        return text[:m.start()]
    return text


def _join_postcode(m: re.Match) -> str:
    rest = m.string[m.end():].split(None, 1)
    if rest and fold(rest[0]) in STREET_TYPES:  # "bât 14 102 rue X": a complement then a house number
        return m.group(0)
    return m.group(1) + m.group(2)


def _take_number(tokens: list[str]) -> tuple[str, str, list[str]]:
    if not tokens:
        return "", "", []
    m = _NUMBER.match(tokens[0])
    if not m:
        return "", "", _drop_lieu_dit(list(tokens))
    number = str(int(m.group(1)))
    rep = m.group(2) or ""
    rest = list(tokens[1:])
    if not rep and rest and (rest[0] in _REP_WORDS or (len(rest[0]) == 1 and rest[0] in "abcdefght" and len(rest) > 1
                                                       and (rest[1] in STREET_TYPES or rest[1] in _AFTER_LETTER))):
        rep, rest = rest[0], rest[1:]
    if len(rest) > 1 and _NUMBER.match(rest[0]) and rest[1] in STREET_TYPES:  # "12-14 rue X": a range
        rest = rest[1:]
    return number, normalize_rep(rep), _drop_lieu_dit(rest)


def _drop_lieu_dit(tokens: list[str]) -> list[str]:
    """"lieu-dit Le Bois Brûlé" → "Le Bois Brûlé" (the word says what follows is a lieu-dit)."""
    if len(tokens) > 2 and tokens[0] == "lieu" and tokens[1] in ("dit", "dits"):
        return tokens[2:]
    if len(tokens) > 1 and tokens[0] in ("ld", "lieudit"):
        return tokens[1:]
    return tokens


def _looks_like_street(tokens: list[str]) -> bool:
    """"12 rue X", "rue X", "bât A 12 rue X": a street, not a commune."""
    tokens = _drop_complement(tokens)
    _, _, rest = _take_number(tokens)
    return bool(rest) and rest[0] in STREET_TYPES and len(rest) > 1


def _drop_complement(tokens: list[str]) -> list[str]:
    """Drop what precedes "<number> <street type>" ("bât A", "appt 3", "résidence X, …").

    >>> _drop_complement("bat a 12 rue des essais".split())
    ['12', 'rue', 'des', 'essais']
    >>> _drop_complement("rue du 8 mai 1945".split())
    ['rue', 'du', '8', 'mai', '1945']
    """
    if tokens and _NUMBER.match(tokens[0]):  # already starts with the number ("12-14 rue X": a range)
        return tokens
    for i in range(1, len(tokens) - 1):
        if not _NUMBER.match(tokens[i]):
            continue
        nxt = tokens[i + 1]
        if nxt in STREET_TYPES or (nxt in REPETITIONS and i + 2 < len(tokens) and tokens[i + 2] in STREET_TYPES):
            return tokens[i:]
    return tokens


def _split_city(tokens: list[str], city_keys: Iterable[str], starts: set[int] | None = None) -> tuple[list[str], str]:
    """Take the longest tail of *tokens* that is a known commune key (starting a typed word, when *starts* says where
    the typed words start)."""
    keys = city_keys if isinstance(city_keys, (set, frozenset, dict)) else set(city_keys)
    for n in range(min(6, len(tokens) - 1), 0, -1):
        tail = tokens[-n:]
        if tail[0].isdigit() or tail[0] in _NOT_FIRST or (starts is not None and len(tokens) - n not in starts):
            continue
        if city_key(" ".join(tail)) in keys:
            head = tokens[:-n]
            if not _has_name(head):
                # "rue de Lieu-Saint-Amand": the commune's name is the street's name; "Saint-Amand" at its
                # end is not a commune either
                return tokens, ""
            if head[-1] in _JOINING:  # "rue de Wavrechain-sous-Denain": "Denain" ends a longer name
                continue
            return head, " ".join(tail)
    return tokens, ""


def _has_name(tokens: list[str]) -> bool:
    """True when *tokens* hold a street name word (not only a number, a street type or articles).

    >>> _has_name("12 route de".split()), _has_name("rue du pont".split()), _has_name("12 b".split())
    (False, True, False)
    """
    _, _, rest = _take_number(list(tokens))
    if rest and rest[0] in STREET_TYPES:
        rest = rest[1:]
    return any(t not in STOP_WORDS and not t.isdigit() and len(t) > 1 for t in rest)


def _split_city_head(tokens: list[str], keys, starts: set[int] | None = None) -> tuple[str, str, list[str]] | None:
    """A commune written first: ``[postcode] commune [postcode] <number or street type> …``.

    Returns (postcode, commune, street tokens) or None.

    >>> _split_city_head("denain 11 avenue du terril".split(), {"denain"})
    ('', 'denain', ['11', 'avenue', 'du', 'terril'])
    >>> _split_city_head("59278 escautpont rue haute".split(), {"escautpont"})
    ('59278', 'escautpont', ['rue', 'haute'])
    >>> _split_city_head("11 avenue du terril denain".split(), {"denain"}) is None
    True
    """
    i, pc = 0, ""
    if tokens and POSTCODE_RE.match(tokens[0]):
        pc, i = tokens[0], 1
    for n in range(min(6, len(tokens) - i - 1), 0, -1):
        head = tokens[i:i + n]
        if head[0].isdigit():
            return None
        if any(t[0].isdigit() for t in head):
            continue
        if city_key(" ".join(head)) not in keys or (starts is not None and i + n not in starts):
            continue
        j, pc2 = i + n, pc
        if not pc2 and j < len(tokens) and POSTCODE_RE.match(tokens[j]):
            pc2, j = tokens[j], j + 1
        rest = tokens[j:]
        if not rest:
            continue
        starts_number = bool(_NUMBER.match(rest[0])) and len(rest) > 1 and not POSTCODE_RE.match(rest[0])
        if (starts_number or rest[0] in STREET_TYPES) and _has_name(rest):
            return pc2, " ".join(head), rest
    return None
