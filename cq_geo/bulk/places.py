"""Where each row of a batch is: its coordinates read, or its address geocoded (each distinct one once).

:class:`Rows` holds what is known of each row while it is classified; :func:`read_coordinates`
and :func:`geocode_addresses` fill it from the columns named by the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..geocode.lookup import street_crossing_texts
from .cache import GeocodeCache, result_entry
from .errors import BatchError
from .rules import candidates_text, generic_reason, in_box, parse_numbers

__all__ = ["GEOCODE_CHUNK", "Rows", "column", "split_names", "geocode_queries", "get_geocoder", "read_coordinates",
           "geocode_addresses"]

#: Geocoded rows sent to the geocoder at once (and written to the resume cache together).
GEOCODE_CHUNK = 200


# -- columns ----------------------------------------------------------------------------------------
def column(data, name: str, option: str):
    """The one column of *data* called *name* (a Series), or a French error."""
    cols = list(data.columns)
    hits = [i for i, c in enumerate(cols) if str(c) == str(name)]
    if not hits:
        from difflib import get_close_matches

        close = get_close_matches(str(name), [str(c) for c in cols], n=1)
        hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
        shown = ", ".join(f"« {c} »" for c in cols[:30]) or "aucune"
        raise BatchError(f"colonne « {name} » ({option}) absente du fichier{hint} (colonnes : {shown})")
    if len(hits) > 1:
        raise BatchError(f"colonne « {name} » ({option}) présente {len(hits)} fois : renommez l'une d'elles")
    return data.iloc[:, hits[0]]


def split_names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]



def geocode_queries(geocoder, queries: list, keys: list[str], cache: GeocodeCache | None, progress,
             territory=None) -> list[dict]:
    """Geocode distinct queries in chunks; results (entries) aligned with *queries*."""
    out: list[dict | None] = [None] * len(queries)
    todo = []
    for i, key in enumerate(keys):
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            out[i] = hit
        else:
            todo.append(i)
    total = len(queries)
    done = total - len(todo)
    if progress is not None:
        progress(done, total)
    for start in range(0, len(todo), GEOCODE_CHUNK):
        chunk = todo[start:start + GEOCODE_CHUNK]
        results = geocoder.geocode_many([queries[i] for i in chunk])
        if len(results) != len(chunk):
            raise BatchError(f"le géocodeur a rendu {len(results)} réponses pour {len(chunk)} adresses")
        crossings = (["; ".join(t) for t in street_crossing_texts(territory, results)] if territory is not None
                     else [""] * len(results))
        for i, result, crossing in zip(chunk, results, crossings):
            entry = result_entry(result)
            if crossing:
                entry["w"] = crossing
            out[i] = entry
            if cache is not None:
                cache.put(keys[i], entry)
        if cache is not None:
            cache.flush()
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return out  # type: ignore[return-value]


def get_geocoder(geocoder, store):
    if geocoder is None or isinstance(geocoder, str):
        kind = geocoder or "offline"
        if kind not in ("offline", "online", "none"):
            raise BatchError(f"géocodeur inconnu : {kind!r} (offline, online ou none)")
        if kind == "none":
            return None
        from ..geocode import get_geocoder

        return get_geocoder(kind, store=store)
    for attr in ("geocode_many", "name"):
        if not hasattr(geocoder, attr):
            raise BatchError(f"geocoder doit être 'offline', 'online', 'none' ou un géocodeur (il manque {attr})")
    return geocoder



@dataclass
class Rows:
    """What is known of each row while it is classified (numpy arrays, one value per row)."""

    lon: Any
    lat: Any
    xs: Any  # Lambert-93, when the places are given in x/y
    ys: Any
    coord_ok: Any  # usable coordinates given in the file
    reason: Any  # '' or why the row has no place (missing coordinates, empty address…)
    quality: Any  # the geocoder's answer: '', precise, approximate, ambiguous, not_found
    gscore: Any
    greason: Any = None
    gtype: Any = None
    gcity: Any = None  # INSEE code of the geocoded address
    gwarn: Any = None  # « la voie traverse le périmètre … »
    gcands: Any = None  # candidate communes of an ambiguous address
    used_cols: list = field(default_factory=list)
    identities: Any = None  # the address of each row (the pseudonym's source)

    @classmethod
    def empty(cls, n: int, by_address: bool) -> Rows:
        import numpy as np

        nan = np.full(n, np.nan)
        rows = cls(nan.copy(), nan.copy(), nan.copy(), nan.copy(), np.zeros(n, dtype=bool),
                   np.full(n, "", dtype=object), np.full(n, "", dtype=object), nan.copy())
        for name in ("greason", "gtype", "gcity", "gwarn", "gcands"):
            # written only when geocoding: else one array of '' serves them all
            setattr(rows, name, np.full(n, "", dtype=object) if by_address else rows.quality)
        return rows



def read_coordinates(rows: Rows, data, lon_col, lat_col, x_col, y_col, known_bad) -> None:
    """The coordinates of each row, and why they cannot be used (missing, not numbers, wrong system)."""
    import numpy as np

    from ..geo.crs import METRO_L93_BOUNDS, METRO_LONLAT_BOUNDS

    names = (lon_col, lat_col) if lon_col is not None else (x_col, y_col)
    rows.used_cols += list(names)
    a, a_blank, a_bad = parse_numbers(column(data, names[0], "--lon-col" if lon_col else "--x-col"))
    b, b_blank, b_bad = parse_numbers(column(data, names[1], "--lat-col" if lat_col else "--y-col"))
    reason = rows.reason
    blank = a_blank & b_blank
    reason[(a_blank | b_blank) & ~blank] = "une des deux coordonnées manque"
    reason[blank] = "coordonnées manquantes"
    reason[a_bad] = f"valeur non numérique dans la colonne « {names[0]} »"
    reason[b_bad] = f"valeur non numérique dans la colonne « {names[1]} »"
    reason[a_bad & b_bad] = f"valeurs non numériques dans les colonnes « {names[0]} » et « {names[1]} »"
    if lon_col is not None:
        l93 = in_box(a, b, METRO_L93_BOUNDS) | in_box(b, a, METRO_L93_BOUNDS)
        reason[l93] = (
            f"les colonnes « {lon_col} »/« {lat_col} » contiennent des coordonnées Lambert-93 (mètres), "
            "pas des degrés : relancez avec --x-col et --y-col"
        )
    else:
        deg = in_box(a, b, METRO_LONLAT_BOUNDS) | in_box(b, a, METRO_LONLAT_BOUNDS)
        reason[deg] = (
            f"les colonnes « {x_col} »/« {y_col} » contiennent des degrés (longitude/latitude), "
            "pas des mètres Lambert-93 : relancez avec --lon-col et --lat-col"
        )
    rows.coord_ok = (reason == "") & ~known_bad
    if lon_col is not None:
        rows.lon = np.where(rows.coord_ok, a, np.nan)
        rows.lat = np.where(rows.coord_ok, b, np.nan)
    else:
        rows.xs = np.where(rows.coord_ok, a, np.nan)
        rows.ys = np.where(rows.coord_ok, b, np.nan)


def geocode_addresses(rows: Rows, data, address_cols, postcode_col, city_col, geocoder, store, cache, progress,
                       territory, known_bad, by_coords: bool, in_l93: bool, pseudonymise: bool) -> None:
    """Geocode the rows without usable coordinates (each distinct address once) into *rows*."""
    import numpy as np

    n = len(data)
    parts_cols = [column(data, c, "--address-cols") for c in address_cols]
    pc = column(data, postcode_col, "--postcode-col") if postcode_col else None
    city = column(data, city_col, "--city-col") if city_col else None
    rows.used_cols += address_cols + [c for c in (postcode_col, city_col) if c]

    def clean(series):
        return series.astype(object).where(series.notna(), "").astype(str).str.strip().to_numpy(dtype=object)

    street = [clean(s) for s in parts_cols]
    postcode = clean(pc) if pc is not None else np.full(n, "", dtype=object)
    cityv = clean(city) if city is not None else np.full(n, "", dtype=object)
    texts = [" ".join(p for p in vals if p) for vals in zip(*street, postcode, cityv)] if n else []
    texts = np.array(texts, dtype=object) if n else np.zeros(0, dtype=object)
    rows.identities = texts
    need = ~rows.coord_ok & ~known_bad
    empty = np.array([t == "" for t in texts], dtype=bool) if n else np.zeros(0, dtype=bool)
    if isinstance(geocoder, str) and geocoder == "none" and not by_coords:
        raise BatchError("--geocoder none : il faut des colonnes de coordonnées pour placer les lignes")
    gc = get_geocoder(geocoder, store) if (need & ~empty).any() else None
    if gc is not None:
        _geocode_rows(rows, gc, np.flatnonzero(need & ~empty), texts, postcode, cityv, cache, progress, territory,
                      in_l93, pseudonymise)
    no_place = need & (empty | (gc is None))
    if by_coords:
        # rows without usable coordinates keep the coordinate reason unless an address was tried
        rows.reason[no_place & empty & (rows.reason == "")] = "ni coordonnées ni adresse"
    else:
        rows.reason[no_place & empty] = "adresse vide"


def _geocode_rows(rows: Rows, gc, todo, texts, postcode, cityv, cache, progress, territory, in_l93: bool,
                  pseudonymise: bool) -> None:
    """The geocoder's answers for the rows *todo* (indexes), each distinct query sent once."""
    import numpy as np

    from ..geocode.base import AddressQuery

    distinct: dict[tuple, int] = {}
    inverse = np.empty(len(todo), dtype="int64")
    for j, i in enumerate(todo):
        k = (texts[i], postcode[i], cityv[i])
        inverse[j] = distinct.setdefault(k, len(distinct))
    keys_t = list(distinct)
    queries = [AddressQuery(text=t, postcode=p, city=c) for t, p, c in keys_t]
    hkeys = [cache.key(gc.name, t, p, c) for t, p, c in keys_t] if cache is not None else [""] * len(keys_t)
    entries = geocode_queries(gc, queries, hkeys, cache, progress, territory)

    def per_row(values, dtype=object):
        return np.array(values, dtype=dtype)[inverse]

    q_arr = np.array([e["q"] for e in entries] + [""], dtype=object)
    rows.quality[todo] = q_arr[inverse]
    if pseudonymise:  # the geocoder's reasons may quote the address: generic words only
        rows.greason[todo] = per_row([generic_reason(e) for e in entries])
    else:
        rows.greason[todo] = per_row([e.get("r") or "" for e in entries])
    rows.gcands[todo] = per_row([candidates_text(e, territory) for e in entries])
    rows.gtype[todo] = per_row([e.get("t") or "" for e in entries])
    rows.gcity[todo] = per_row([e.get("c") or "" for e in entries])
    rows.gwarn[todo] = per_row([e.get("w") or "" for e in entries])
    rows.gscore[todo] = per_row([np.nan if e.get("s") is None else e["s"] for e in entries], float)
    glon = per_row([np.nan if e.get("lon") is None else e["lon"] for e in entries], float)
    glat = per_row([np.nan if e.get("lat") is None else e["lat"] for e in entries], float)
    # an ambiguous address has no position of its own: no commune or zone answer (issue 14)
    found = ~np.isin(q_arr[inverse], ["not_found", "ambiguous"])
    got = todo[found]
    if in_l93:  # put geocoded rows in Lambert-93 with the others
        from ..geo.crs import lonlat_to_l93

        rows.xs[got], rows.ys[got] = lonlat_to_l93(glon[found], glat[found])
    else:
        rows.lon[got], rows.lat[got] = glon[found], glat[found]
    rows.reason[todo] = ""
