"""A gateway on a fresh database of the backend under test, for the store-backed routes.

PostgreSQL when ARTISTRY_TEST_PG_URL is set (tests/store/pg_cluster.sh run -- pytest ...),
SQLite otherwise. Each Stack gets its own empty database; restart() keeps it."""
import os
import shutil
import subprocess
import tempfile
import uuid

from harness import free_port, Server, artistry_bin

# The cheapest argon2id settings: the tests exercise the code paths, not the cost.
FAST_HASH = {"PASSWORD_HASH_OPSLIMIT": "1", "PASSWORD_HASH_MEMLIMIT": "8k"}


def backend():
    return "postgresql" if os.environ.get("ARTISTRY_TEST_PG_URL") else "sqlite"


def psql(url, *args):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", url, *args],
                          check=True, capture_output=True, text=True).stdout


class Stack:
    def __init__(self, env=None):
        self.tmp = tempfile.mkdtemp(prefix="artistry-gw-")
        self.backend = backend()
        if self.backend == "postgresql":
            base = os.environ["ARTISTRY_TEST_PG_URL"]
            self.dbname = "gw_" + uuid.uuid4().hex[:12]
            psql(base, "-c", f"CREATE DATABASE {self.dbname}")
            self.db_url = base.rsplit("/", 1)[0] + "/" + self.dbname
            self.sqlite_path = None
        else:
            self.sqlite_path = os.path.join(self.tmp, "data", "artistry.db")
            self.db_url = "sqlite://" + self.sqlite_path
        self.env = {"DATABASE_URL": self.db_url, "ARTISTRY_DATA_DIR": os.path.join(self.tmp, "data"),
                    "ACCESS_LOG": "false", **FAST_HASH, **(env or {})}
        self.server = None
        self.start()

    def start(self):
        port = free_port()
        e = {"ARTISTRY_CONFIG_DIR": "/nonexistent", **self.env}
        self.server = Server([artistry_bin(), "serve", "gateway", "--port", str(port)], port, e)

    def restart(self, sig=15):
        self.server.stop(sig)
        self.start()

    def url(self, path):
        return self.server.url(path)

    def sql(self, query):
        """Rows of a query as lists of strings, read beside the gateway."""
        if self.sqlite_path:
            import sqlite3
            con = sqlite3.connect(self.sqlite_path)
            try:
                return [[None if v is None else str(v) for v in row] for row in con.execute(query)]
            finally:
                con.close()
        out = psql(self.db_url, "-F", "\x1f", "-c", query)
        return [line.split("\x1f") for line in out.splitlines() if line]

    def raw_files(self):
        """Every file that may hold the database's bytes."""
        if self.sqlite_path:
            d = os.path.dirname(self.sqlite_path)
            return [os.path.join(d, f) for f in os.listdir(d)]
        psql(self.db_url, "-c", "CHECKPOINT")
        root = os.environ["ARTISTRY_TEST_PG_DATA"]
        return [os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs]

    def close(self):
        if self.server:
            self.server.stop()
        if self.backend == "postgresql":
            psql(os.environ["ARTISTRY_TEST_PG_URL"], "-c", f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
        shutil.rmtree(self.tmp, ignore_errors=True)
