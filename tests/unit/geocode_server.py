"""A real HTTP geocoding server on 127.0.0.1 speaking the Géoplateforme / addok API, for the client tests.

It answers ``GET /search``, ``GET /reverse`` (GeocodeJSON FeatureCollection
with the documented ``properties``) and ``POST /search/csv`` (multipart form:
``data`` file, ``columns``, ``postcode``/``citycode`` naming filter columns;
the CSV comes back with ``result_*`` columns appended, in the Géoplateforme
order by default or the legacy api-adresse order), as documented in
``../shared/official-sources.md`` §3. Its engine is the offline BAN geocoder
over the synthetic fixture, so answers are real matches, not canned ones.

Faults to play are queued in ``server.faults`` (consumed one per request):
``("429", retry_after)``, ``("500",)``, ``("400",)``, ``("sleep", seconds)``,
``("truncate",)`` (CSV: drop the last rows), ``("short",)`` (a body shorter
than its Content-Length).
"""

from __future__ import annotations

import csv
import email.parser
import io
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cq_geo.geocode.base import AddressQuery

GEOPF_COLUMNS = ["longitude", "latitude", "result_score", "result_score_next", "result_label", "result_type",
                 "result_id", "result_banId", "result_housenumber", "result_name", "result_street",
                 "result_postcode", "result_city", "result_context", "result_citycode", "result_oldcitycode",
                 "result_oldcity", "result_district", "result_status"]
LEGACY_COLUMNS = ["latitude", "longitude", "result_label", "result_score", "result_score_next", "result_type",
                  "result_id", "result_housenumber", "result_name", "result_street", "result_postcode",
                  "result_city", "result_context", "result_citycode", "result_oldcitycode", "result_oldcity",
                  "result_district", "result_status"]


def _feature(c) -> dict:
    name = f"{c.housenumber} {c.street}".strip() if c.type == "housenumber" else (c.street or c.city)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
        "properties": {
            "label": c.label, "score": c.score, "housenumber": c.housenumber or None, "id": f"{c.citycode}_x",
            "name": name, "postcode": c.postcode, "citycode": c.citycode, "city": c.city,
            "oldcitycode": c.oldcitycode or None, "oldcity": c.oldcity or None,
            "context": "59, Nord, Hauts-de-France", "type": c.type, "importance": 0.5, "street": c.street,
            "_type": "address",
        },
    }


class GeocodeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, geocoder, order: str = "geopf"):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.geocoder = geocoder
        self.order = order
        self.faults: list[tuple] = []
        self.requests: list[tuple[str, float]] = []  # (path, time)
        self.csv_lines: list[int] = []  # data lines received per batch file
        self._lock = threading.Lock()
        # a short poll: shutdown() returns within 50 ms instead of the default 0.5 s
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/geocodage"

    def start(self) -> "GeocodeServer":
        self._thread.start()
        return self

    def reset(self, order: str = "geopf") -> "GeocodeServer":
        """Forget the faults and requests of the previous test (one server per test module)."""
        with self._lock:
            self.order = order
            self.faults.clear()
            self.requests.clear()
            self.csv_lines.clear()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def next_fault(self):
        with self._lock:
            return self.faults.pop(0) if self.faults else None


class _Handler(BaseHTTPRequestHandler):
    server: GeocodeServer

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None, short: bool = False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) + (100 if short else 0)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        if short:
            self.wfile.flush()
            self.close_connection = True

    def _fault(self):
        """Play the next queued fault; returns (handled, flags)."""
        fault = self.server.next_fault()
        if fault is None:
            return False, set()
        kind = fault[0]
        if kind == "429":
            self._send(429, b'{"message": "Too Many Requests"}', "application/json", {"Retry-After": str(fault[1])})
            return True, set()
        if kind == "500":
            self._send(500, b"Internal Server Error", "text/plain")
            return True, set()
        if kind == "400":
            self._send(400, b'{"code": 400, "message": "q must contain between 3 and 200 chars"}', "application/json")
            return True, set()
        if kind == "sleep":
            time.sleep(fault[1])
            return False, set()
        return False, {kind}

    def do_GET(self):
        self.server.requests.append((self.path, time.monotonic()))
        handled, flags = self._fault()
        if handled:
            return
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        if url.path.rstrip("/").endswith("/search"):
            q = AddressQuery(params.get("q", ""), postcode=params.get("postcode", ""),
                             citycode=params.get("citycode", ""))
            limit = int(params.get("limit", 5))
            result = self.server.geocoder.geocode(q, limit=limit)
            feats = [_feature(c) for c in result.candidates[:limit]]
        elif url.path.rstrip("/").endswith("/reverse"):
            lon, lat = float(params["lon"]), float(params["lat"])
            idx = self.server.geocoder.index
            d = (idx.lon - lon) ** 2 + (idx.lat - lat) ** 2
            j = int(d.argmin())
            sid = int((idx.start <= j).nonzero()[0].max())
            s = idx.streets[sid]
            num = f"{idx.numero[j]} {idx.rep[j]}".strip()
            feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(idx.lon[j]), float(idx.lat[j])]},
                      "properties": {"label": f"{num} {s[0]} {s[5]} {s[4]}", "score": 0.99, "type": "housenumber",
                                     "housenumber": num, "citycode": s[3], "city": s[4], "postcode": s[5],
                                     "street": s[0], "distance": 3}}]
        else:
            self._send(404, b'{"message": "not found"}', "application/json")
            return
        body = json.dumps({"type": "FeatureCollection", "features": feats}).encode()
        self._send(200, body, "application/json; charset=utf-8", short="short" in flags)

    def do_POST(self):
        self.server.requests.append((self.path, time.monotonic()))
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        handled, flags = self._fault()
        if handled:
            return
        if not self.path.rstrip("/").endswith("/search/csv"):
            self._send(404, b"not found", "text/plain")
            return
        msg = email.parser.BytesParser().parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + raw)
        form: dict[str, list[str]] = {}
        data = None
        for part in msg.get_payload():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if name == "data":
                data = payload.decode("utf-8-sig")
            else:
                form.setdefault(name, []).append(payload.decode("utf-8"))
        if data is None:
            self._send(400, b'{"message": "Missing file"}', "application/json")
            return
        delimiter = ";" if data.split("\n", 1)[0].count(";") > data.split("\n", 1)[0].count(",") else ","
        rows = list(csv.DictReader(io.StringIO(data), delimiter=delimiter))
        self.server.csv_lines.append(len(rows))
        fields = list(rows[0].keys()) if rows else []
        columns = form.get("columns") or fields
        pc_col = (form.get("postcode") or [""])[0]
        cc_col = (form.get("citycode") or [""])[0]
        order = GEOPF_COLUMNS if self.server.order == "geopf" else LEGACY_COLUMNS
        out = io.StringIO()
        w = csv.DictWriter(out, fieldnames=fields + order, delimiter=delimiter, lineterminator="\r\n")
        w.writeheader()
        for row in rows:
            q = " ".join(row.get(c, "") for c in columns).strip()
            res = {k: "" for k in order}
            if not q:
                res["result_status"] = "skipped"
            else:
                r = self.server.geocoder.geocode(AddressQuery(q, postcode=row.get(pc_col, "") if pc_col else "",
                                                              citycode=row.get(cc_col, "") if cc_col else ""))
                if r.best is None:
                    res["result_status"] = "not-found"
                else:
                    c = r.best
                    res.update({
                        "longitude": c.lon, "latitude": c.lat, "result_score": c.score,
                        "result_score_next": "" if r.next_score is None else r.next_score,
                        "result_label": c.label, "result_type": c.type, "result_housenumber": c.housenumber,
                        "result_street": c.street, "result_postcode": c.postcode, "result_city": c.city,
                        "result_citycode": c.citycode, "result_oldcitycode": c.oldcitycode,
                        "result_oldcity": c.oldcity, "result_context": "59, Nord, Hauts-de-France",
                        "result_status": "ok",
                    })
            w.writerow({**row, **res})
        text = out.getvalue()
        if "truncate" in flags:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[: max(2, len(lines) // 2)])
        self._send(200, text.encode("utf-8"), "text/csv; charset=utf-8", short="short" in flags)
