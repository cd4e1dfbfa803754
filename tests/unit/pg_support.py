"""A throw-away PostgreSQL 15 + PostGIS 3 cluster for the shared-store tests (never a mock).

``initdb``/``pg_ctl`` from Debian's ``postgresql-15`` (``scripts/setup --test`` installs
``postgresql-15-postgis-3``), a Unix socket in a temporary folder, no TCP. initdb refuses
to run as root: as root, the cluster runs as the unprivileged user ``nobody`` (``setpriv``).
Tests are skipped with the reason when the binaries are absent.

Use the session fixture :func:`pg_cluster` (import it into the test module) and
:meth:`Cluster.new_database` for a fresh database with PostGIS per test.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("CQ_GEO_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "cq"


def missing_reason() -> str | None:
    """Why the tests cannot run here, or None."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).is_file():
            return f"PostgreSQL 15 absent ({PG_BIN / tool}) : apt-get install postgresql-15 postgresql-15-postgis-3"
    if not list(Path("/usr/share/postgresql/15/extension").glob("postgis.control")):
        return "PostGIS absent : apt-get install postgresql-15-postgis-3"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 absent (python3-psycopg2)"
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        return "root sans setpriv : initdb refuse de tourner en root"
    return None


class Cluster:
    """A running cluster in *root* (data, socket, log); ``url(db, user)`` gives a libpq address (no password)."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.socket = root
        self.port = 5433
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(root, nobody.pw_uid, nobody.pw_gid)
            self._prefix = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--"]

    def _run(self, *cmd: str) -> None:
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        subprocess.run(self._prefix + list(cmd), check=True, cwd=self.root, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=180)

    def start(self) -> "Cluster":
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                  "--locale", "C.UTF-8", "--no-sync")
        opts = (f"-k {self.socket} -c listen_addresses='' -p {self.port} -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=60 -c shared_buffers=32MB")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w",
                  "start")
        return self

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass

    def url(self, db: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@/{db}?host={self.socket}&port={self.port}"

    def sql(self, statement: str, db: str = "postgres", user: str = SUPERUSER, params=None):
        """Run *statement* (autocommit) and return its rows (or None)."""
        import psycopg2

        con = psycopg2.connect(self.url(db, user))
        con.autocommit = True
        try:
            with con.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else None
        finally:
            con.close()

    def new_database(self) -> str:
        """A fresh database with PostGIS; returns its URL (superuser)."""
        name = "cq_" + uuid.uuid4().hex[:10]
        self.sql(f"CREATE DATABASE {name}")
        self.sql("CREATE EXTENSION postgis", db=name)
        return name

    def login_role(self, name: str, *groups: str) -> None:
        """A login role (no password: trust on the socket) member of *groups*."""
        exists = self.sql("SELECT 1 FROM pg_roles WHERE rolname = %s", params=(name,))
        if not exists:
            self.sql(f"CREATE ROLE {name} LOGIN")
        for g in groups:
            self.sql(f"GRANT {g} TO {name}")


_CLUSTER: dict = {}


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's throw-away cluster (skips with the reason when PostgreSQL/PostGIS is absent)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    if "c" not in _CLUSTER:
        root = Path(tempfile.mkdtemp(prefix="cq-geo-pg-"))
        os.chmod(root, 0o755)
        cluster = Cluster(root)
        try:
            cluster.start()
        except subprocess.CalledProcessError as exc:
            log = (root / "log").read_text(errors="replace") if (root / "log").is_file() else ""
            pytest.fail(f"PostgreSQL ne démarre pas : {exc.stdout!r} {log[-2000:]}")
        _CLUSTER["c"] = cluster
        import atexit

        def _stop():
            cluster.stop()
            shutil.rmtree(root, ignore_errors=True)

        atexit.register(_stop)
    return _CLUSTER["c"]


@pytest.fixture
def shared_url(pg_cluster):
    """A fresh database initialised with ``cq-geo data init-shared``; its URL."""
    from cq_geo.data.pgstore import init_shared

    db = pg_cluster.new_database()
    url = pg_cluster.url(db)
    init_shared(url)
    return url


def run_cli(*args, env=None, check=True):
    """The real CLI (this checkout's cq_geo) in a subprocess.

    *env* adds to the environment; a name given None is removed from it.
    """
    import sys

    e = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for name, value in (env or {}).items():
        if value is None:
            e.pop(name, None)
        else:
            e[name] = value
    p = subprocess.run([sys.executable, "-m", "cq_geo.cli.main", *args], capture_output=True, text=True, env=e,
                       timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"cq-geo {' '.join(args)} → {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def database_name(url: str) -> str:
    """The database of a ``postgresql://host/db?…`` address."""
    return url.split("/")[3].split("?")[0]
