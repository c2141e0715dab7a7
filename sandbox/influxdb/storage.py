"""Persistent state of one sandbox InfluxDB v2 server: a single SQLite file.

Everything the server knows lives here: the setup flag, organizations, users (with salted password
hashes), user resource mappings (org ownership), buckets, authorizations (tokens stored as SHA-256
hashes only), sessions, DBRP mappings, field types and the points themselves.

Points are stored one row per (bucket, measurement, tag set, field, time): a later write of the
same field at the same series and time overwrites the earlier value, as InfluxDB merges points.

The store is thread-safe: one connection guarded by a re-entrant lock (the HTTP server is
threaded). It also implements the ``SeriesStore`` protocol the Flux subset reads through.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, Protocol

DB_FILE = "influxd.sqlite"

KINDS = ("float", "integer", "unsigned", "string", "boolean")

# InfluxDB's system buckets, created for every organization.
SYSTEM_BUCKETS = (("_monitoring", 7 * 86400, "System bucket for monitoring logs"),
                  ("_tasks", 3 * 86400, "System bucket for task logs"))


class Row(NamedTuple):
    measurement: str
    tags: dict[str, str]
    field: str
    kind: str
    value: object
    time_ns: int


class SeriesStore(Protocol):
    def scan(self, bucket_id: str, start_ns: int, stop_ns: int) -> Iterable[Row]:
        """Rows of the bucket with start_ns <= time < stop_ns, in any order."""


class StoreError(Exception):
    """A domain error with an InfluxDB error code and the HTTP status it maps to."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def new_id() -> str:
    """A 16-hex-digit InfluxDB ID (never all zeros)."""
    while True:
        value = secrets.token_hex(8)
        if value != "0" * 16 and value[0] != "0":
            return value


def now_ns() -> int:
    return time.time_ns()


def rfc3339(ns: int) -> str:
    secs, rem = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if rem:
        frac = f"{rem:09d}".rstrip("0")
        return f"{base}.{frac}Z"
    return base + "Z"


def default_shard_group_seconds(retention_seconds: int) -> int:
    """InfluxDB's default shard group duration for a retention period."""
    if retention_seconds == 0:
        return 7 * 86400
    if retention_seconds < 2 * 86400:
        return 3600
    if retention_seconds <= 180 * 86400:
        return 86400
    return 7 * 86400


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
    created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL DEFAULT 'active',
    password_hash TEXT, created_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS urms (
    user_id TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
    role TEXT NOT NULL, PRIMARY KEY (user_id, resource_type, resource_id));
CREATE TABLE IF NOT EXISTS buckets (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
    description TEXT, retention_s INTEGER NOT NULL, shard_s INTEGER NOT NULL,
    created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL, UNIQUE (org_id, name));
CREATE TABLE IF NOT EXISTS authorizations (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, user_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', permissions TEXT NOT NULL,
    created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS token_values (
    auth_id TEXT PRIMARY KEY, token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    key_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dbrps (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, bucket_id TEXT NOT NULL, db TEXT NOT NULL,
    rp TEXT NOT NULL, is_default INTEGER NOT NULL, UNIQUE (org_id, db, rp));
CREATE TABLE IF NOT EXISTS fields (
    bucket_id TEXT NOT NULL, measurement TEXT NOT NULL, field TEXT NOT NULL, kind TEXT NOT NULL,
    PRIMARY KEY (bucket_id, measurement, field));
CREATE TABLE IF NOT EXISTS points (
    bucket_id TEXT NOT NULL, measurement TEXT NOT NULL, series TEXT NOT NULL, field TEXT NOT NULL,
    kind TEXT NOT NULL, value, time_ns INTEGER NOT NULL,
    PRIMARY KEY (bucket_id, measurement, series, field, time_ns)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_time ON points (bucket_id, time_ns);
"""


def _encode_value(kind: str, value: object) -> object:
    if kind == "unsigned":
        return str(int(value))  # may exceed SQLite's signed 64-bit range
    if kind == "boolean":
        return 1 if value else 0
    if kind == "float":
        return float(value)
    if kind == "integer":
        return int(value)
    return str(value)


def _decode_value(kind: str, value: object) -> object:
    if kind == "unsigned":
        return int(value)
    if kind == "boolean":
        return bool(value)
    if kind == "float":
        return float(value)
    if kind == "integer":
        return int(value)
    return value


def series_key(tags: Iterable[tuple[str, str]]) -> str:
    return json.dumps(sorted(tags), separators=(",", ":"), ensure_ascii=False)


class WriteOutcome(NamedTuple):
    written: int
    conflicts: list[str]  # InfluxDB messages for field type conflicts
    beyond_retention: int


class Store:
    """The SQLite-backed state of one server."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILE
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._closed = False

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._conn.close()
                self._closed = True

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _q(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        rows = self._q(sql, args)
        return rows[0] if rows else None

    def backup_to(self, path: Path) -> None:
        """A consistent copy of the whole database (SQLite online backup)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            dest = sqlite3.connect(str(path))
            try:
                self._conn.backup(dest)
            finally:
                dest.close()

    # -- setup ----------------------------------------------------------------------------
    def is_setup(self) -> bool:
        return self._one("SELECT value FROM meta WHERE key='setup'") is not None

    def mark_setup(self, conn: sqlite3.Connection) -> None:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('setup', 'done')")

    # -- orgs -----------------------------------------------------------------------------
    def create_org(self, name: str, description: str = "", owner_id: str | None = None,
                   conn: sqlite3.Connection | None = None) -> dict:
        if not name:
            raise StoreError(400, "invalid", "org name is empty")
        if conn is None:
            with self.tx() as c:
                return self.create_org(name, description, owner_id, c)
        if conn.execute("SELECT 1 FROM orgs WHERE name=?", (name,)).fetchone():
            raise StoreError(422, "conflict", f"organization with name {name} already exists")
        oid, ts = new_id(), now_ns()
        conn.execute("INSERT INTO orgs VALUES (?,?,?,?,?)", (oid, name, description or "", ts, ts))
        for bname, retention, bucket_description in SYSTEM_BUCKETS:
            conn.execute(
                "INSERT INTO buckets VALUES (?,?,?,?,?,?,?,?,?)",
                (new_id(), oid, bname, "system", bucket_description,
                 retention, default_shard_group_seconds(retention), ts, ts))
        if owner_id:
            conn.execute("INSERT OR REPLACE INTO urms VALUES (?,?,?,?)", (owner_id, "orgs", oid, "owner"))
        return self.get_org(oid, conn)

    @staticmethod
    def _org(row: sqlite3.Row) -> dict:
        return dict(id=row["id"], name=row["name"], description=row["description"],
                    created_ns=row["created_ns"], updated_ns=row["updated_ns"])

    def get_org(self, org_id: str, conn: sqlite3.Connection | None = None) -> dict | None:
        if conn is not None:
            row = conn.execute("SELECT * FROM orgs WHERE id=?", (org_id,)).fetchone()
            return self._org(row) if row else None
        row = self._one("SELECT * FROM orgs WHERE id=?", (org_id,))
        return self._org(row) if row else None

    def find_org_by_name(self, name: str) -> dict | None:
        row = self._one("SELECT * FROM orgs WHERE name=?", (name,))
        return self._org(row) if row else None

    def list_orgs(self) -> list[dict]:
        return [self._org(r) for r in self._q("SELECT * FROM orgs ORDER BY id")]

    def update_org(self, org_id: str, name: str | None, description: str | None) -> dict:
        with self.tx() as c:
            if not c.execute("SELECT 1 FROM orgs WHERE id=?", (org_id,)).fetchone():
                raise StoreError(404, "not found", "organization not found")
            if name is not None:
                if not name:
                    raise StoreError(400, "invalid", "org name is empty")
                other = c.execute("SELECT id FROM orgs WHERE name=?", (name,)).fetchone()
                if other and other["id"] != org_id:
                    raise StoreError(422, "conflict", f"organization with name {name} already exists")
                c.execute("UPDATE orgs SET name=? WHERE id=?", (name, org_id))
            if description is not None:
                c.execute("UPDATE orgs SET description=? WHERE id=?", (description, org_id))
            c.execute("UPDATE orgs SET updated_ns=? WHERE id=?", (now_ns(), org_id))
            return self.get_org(org_id, c)

    def delete_org(self, org_id: str) -> None:
        with self.tx() as c:
            if not c.execute("SELECT 1 FROM orgs WHERE id=?", (org_id,)).fetchone():
                raise StoreError(404, "not found", "organization not found")
            bucket_ids = [r["id"] for r in c.execute("SELECT id FROM buckets WHERE org_id=?", (org_id,))]
            for bid in bucket_ids:
                self._delete_bucket_rows(c, bid)
            c.execute("DELETE FROM authorizations WHERE org_id=?", (org_id,))
            c.execute("DELETE FROM dbrps WHERE org_id=?", (org_id,))
            c.execute("DELETE FROM urms WHERE resource_type='orgs' AND resource_id=?", (org_id,))
            c.execute("DELETE FROM orgs WHERE id=?", (org_id,))

    def org_members(self, org_id: str, role: str | None = None) -> list[tuple[dict, str]]:
        sql = ("SELECT u.*, m.role FROM urms m JOIN users u ON u.id = m.user_id "
               "WHERE m.resource_type='orgs' AND m.resource_id=?")
        args: tuple = (org_id,)
        if role:
            sql += " AND m.role=?"
            args += (role,)
        return [(self._user(r), r["role"]) for r in self._q(sql + " ORDER BY u.id", args)]

    def add_org_member(self, org_id: str, user_id: str, role: str) -> None:
        with self.tx() as c:
            c.execute("INSERT OR REPLACE INTO urms VALUES (?,?,?,?)", (user_id, "orgs", org_id, role))

    def remove_org_member(self, org_id: str, user_id: str, role: str | None = None) -> None:
        with self.tx() as c:
            sql = "DELETE FROM urms WHERE user_id=? AND resource_type='orgs' AND resource_id=?"
            args: tuple = (user_id, org_id)
            if role:
                sql += " AND role=?"
                args += (role,)
            c.execute(sql, args)

    def user_orgs(self, user_id: str) -> list[tuple[str, str]]:
        """(org_id, role) of every org the user belongs to."""
        return [(r["resource_id"], r["role"]) for r in self._q(
            "SELECT resource_id, role FROM urms WHERE user_id=? AND resource_type='orgs'", (user_id,))]

    # -- users ----------------------------------------------------------------------------
    @staticmethod
    def _user(row: sqlite3.Row) -> dict:
        return dict(id=row["id"], name=row["name"], status=row["status"])

    def create_user(self, name: str, status: str = "active", password_hash: str | None = None,
                    conn: sqlite3.Connection | None = None) -> dict:
        if not name:
            raise StoreError(400, "invalid", "user name is empty")
        if conn is None:
            with self.tx() as c:
                return self.create_user(name, status, password_hash, c)
        if conn.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone():
            raise StoreError(422, "conflict", f"user with name {name} already exists")
        uid = new_id()
        conn.execute("INSERT INTO users VALUES (?,?,?,?,?)", (uid, name, status, password_hash, now_ns()))
        return dict(id=uid, name=name, status=status)

    def get_user(self, user_id: str) -> dict | None:
        row = self._one("SELECT * FROM users WHERE id=?", (user_id,))
        return self._user(row) if row else None

    def find_user_by_name(self, name: str) -> dict | None:
        row = self._one("SELECT * FROM users WHERE name=?", (name,))
        return self._user(row) if row else None

    def user_password_hash(self, user_id: str) -> str | None:
        row = self._one("SELECT password_hash FROM users WHERE id=?", (user_id,))
        return row["password_hash"] if row else None

    def list_users(self) -> list[dict]:
        return [self._user(r) for r in self._q("SELECT * FROM users ORDER BY id")]

    def update_user(self, user_id: str, name: str | None, status: str | None) -> dict:
        with self.tx() as c:
            if not c.execute("SELECT 1 FROM users WHERE id=?", (user_id,)).fetchone():
                raise StoreError(404, "not found", "user not found")
            if name is not None:
                other = c.execute("SELECT id FROM users WHERE name=?", (name,)).fetchone()
                if other and other["id"] != user_id:
                    raise StoreError(422, "conflict", f"user with name {name} already exists")
                c.execute("UPDATE users SET name=? WHERE id=?", (name, user_id))
            if status is not None:
                c.execute("UPDATE users SET status=? WHERE id=?", (status, user_id))
        return self.get_user(user_id)

    def set_user_password_hash(self, user_id: str, password_hash: str) -> None:
        with self.tx() as c:
            c.execute("UPDATE users SET password_hash=? WHERE id=?", (password_hash, user_id))
            # A password change ends the user's sessions, as InfluxDB does.
            c.execute("DELETE FROM sessions WHERE user_id=?", (user_id,))

    def delete_user(self, user_id: str) -> None:
        with self.tx() as c:
            if not c.execute("SELECT 1 FROM users WHERE id=?", (user_id,)).fetchone():
                raise StoreError(404, "not found", "user not found")
            c.execute("DELETE FROM users WHERE id=?", (user_id,))
            c.execute("DELETE FROM urms WHERE user_id=?", (user_id,))
            c.execute("DELETE FROM sessions WHERE user_id=?", (user_id,))
            c.execute("DELETE FROM authorizations WHERE user_id=?", (user_id,))

    # -- buckets --------------------------------------------------------------------------
    @staticmethod
    def _bucket(row: sqlite3.Row) -> dict:
        return dict(id=row["id"], org_id=row["org_id"], name=row["name"], type=row["type"],
                    description=row["description"], retention_s=row["retention_s"],
                    shard_s=row["shard_s"], created_ns=row["created_ns"], updated_ns=row["updated_ns"])

    @staticmethod
    def _check_retention(retention_s: int, shard_s: int | None) -> int:
        """InfluxDB 2.7's checks; returns the shard group duration to store.

        The storage engine's refusals surface as HTTP 500 in InfluxDB 2.7 (measured: everySeconds
        60 -> 500 "retention policy duration must be at least 1h0m0s"); the HTTP layer's as 422.
        """
        if retention_s < 0:
            raise StoreError(422, "unprocessable entity", "expiration seconds cannot be negative")
        if shard_s is not None and shard_s < 0:
            raise StoreError(422, "unprocessable entity", "shard-group duration seconds cannot be negative")
        if 0 < retention_s < 3600:
            raise StoreError(500, "internal error", "retention policy duration must be at least 1h0m0s")
        if not shard_s:
            return default_shard_group_seconds(retention_s)
        shard_s = max(shard_s, 3600)  # meta.NormalisedShardDuration
        if retention_s and shard_s > retention_s:
            raise StoreError(500, "internal error",
                             "retention policy duration must be greater than the shard duration")
        return shard_s

    @staticmethod
    def _check_bucket_name(name: str) -> None:
        if not name or not name.strip():
            raise StoreError(400, "invalid", "bucket name is empty")
        if name.startswith("_"):
            raise StoreError(400, "invalid",
                             f"bucket name {name} is invalid. Buckets may not start with underscore")
        if '"' in name:
            raise StoreError(400, "invalid",
                             f"bucket name {name} is invalid. Bucket names may not include quotation marks")

    def create_bucket(self, org_id: str, name: str, retention_s: int = 0, shard_s: int | None = None,
                      description: str | None = None) -> dict:
        self._check_bucket_name(name)
        shard_s = self._check_retention(retention_s, shard_s)
        with self.tx() as c:
            return self._insert_bucket(c, org_id, name, retention_s, shard_s, description)

    def _insert_bucket(self, c: sqlite3.Connection, org_id: str, name: str, retention_s: int,
                       shard_s: int, description: str | None) -> dict:
        if not c.execute("SELECT 1 FROM orgs WHERE id=?", (org_id,)).fetchone():
            raise StoreError(404, "not found", "organization not found")
        if c.execute("SELECT 1 FROM buckets WHERE org_id=? AND name=?", (org_id, name)).fetchone():
            raise StoreError(422, "conflict", f"bucket with name {name} already exists")
        bid, ts = new_id(), now_ns()
        c.execute("INSERT INTO buckets VALUES (?,?,?,?,?,?,?,?,?)",
                  (bid, org_id, name, "user", description, retention_s, shard_s, ts, ts))
        return self._bucket(c.execute("SELECT * FROM buckets WHERE id=?", (bid,)).fetchone())

    def get_bucket(self, bucket_id: str) -> dict | None:
        row = self._one("SELECT * FROM buckets WHERE id=?", (bucket_id,))
        return self._bucket(row) if row else None

    def find_bucket_by_name(self, org_id: str, name: str) -> dict | None:
        row = self._one("SELECT * FROM buckets WHERE org_id=? AND name=?", (org_id, name))
        return self._bucket(row) if row else None

    def list_buckets(self, org_id: str | None = None) -> list[dict]:
        if org_id:
            rows = self._q("SELECT * FROM buckets WHERE org_id=? ORDER BY id", (org_id,))
        else:
            rows = self._q("SELECT * FROM buckets ORDER BY id")
        return [self._bucket(r) for r in rows]

    def update_bucket(self, bucket_id: str, name: str | None = None, description: str | None = None,
                      retention_s: int | None = None, shard_s: int | None = None) -> dict:
        with self.tx() as c:
            row = c.execute("SELECT * FROM buckets WHERE id=?", (bucket_id,)).fetchone()
            if not row:
                raise StoreError(404, "not found", "bucket not found")
            current = self._bucket(row)
            if name is not None and name != current["name"]:
                if current["type"] == "system":
                    raise StoreError(400, "invalid", "system buckets cannot be renamed")
                self._check_bucket_name(name)
                if c.execute("SELECT 1 FROM buckets WHERE org_id=? AND name=? AND id<>?",
                             (current["org_id"], name, bucket_id)).fetchone():
                    raise StoreError(422, "conflict", f"bucket with name {name} already exists")
                c.execute("UPDATE buckets SET name=? WHERE id=?", (name, bucket_id))
            if description is not None:
                c.execute("UPDATE buckets SET description=? WHERE id=?", (description, bucket_id))
            if retention_s is not None or shard_s is not None:
                new_ret = current["retention_s"] if retention_s is None else retention_s
                if shard_s is None:
                    # InfluxDB keeps the shard group duration when only the retention changes
                    # (and refuses a retention shorter than it)
                    self._check_retention(new_ret, None)
                    new_shard = current["shard_s"]
                    if new_ret and new_shard > new_ret:
                        raise StoreError(500, "internal error",
                                         "retention policy duration must be greater than the shard duration")
                else:
                    new_shard = self._check_retention(new_ret, shard_s)
                c.execute("UPDATE buckets SET retention_s=?, shard_s=? WHERE id=?",
                          (new_ret, new_shard, bucket_id))
            c.execute("UPDATE buckets SET updated_ns=? WHERE id=?", (now_ns(), bucket_id))
            return self._bucket(c.execute("SELECT * FROM buckets WHERE id=?", (bucket_id,)).fetchone())

    def _delete_bucket_rows(self, c: sqlite3.Connection, bucket_id: str) -> None:
        c.execute("DELETE FROM points WHERE bucket_id=?", (bucket_id,))
        c.execute("DELETE FROM fields WHERE bucket_id=?", (bucket_id,))
        c.execute("DELETE FROM dbrps WHERE bucket_id=?", (bucket_id,))
        c.execute("DELETE FROM buckets WHERE id=?", (bucket_id,))

    def delete_bucket(self, bucket_id: str) -> None:
        with self.tx() as c:
            row = c.execute("SELECT type FROM buckets WHERE id=?", (bucket_id,)).fetchone()
            if not row:
                raise StoreError(404, "not found", "bucket not found")
            if row["type"] == "system":
                raise StoreError(400, "invalid", "system buckets cannot be deleted")
            self._delete_bucket_rows(c, bucket_id)

    # -- authorizations -------------------------------------------------------------------
    @staticmethod
    def _auth(row: sqlite3.Row) -> dict:
        return dict(id=row["id"], org_id=row["org_id"], user_id=row["user_id"], status=row["status"],
                    description=row["description"], permissions=json.loads(row["permissions"]),
                    created_ns=row["created_ns"], updated_ns=row["updated_ns"])

    def create_authorization(self, org_id: str, user_id: str, permissions: list[dict], token_hash: str,
                             description: str = "", status: str = "active",
                             conn: sqlite3.Connection | None = None) -> dict:
        if conn is None:
            with self.tx() as c:
                return self.create_authorization(org_id, user_id, permissions, token_hash,
                                                 description, status, c)
        aid, ts = new_id(), now_ns()
        conn.execute("INSERT INTO authorizations VALUES (?,?,?,?,?,?,?,?,?)",
                     (aid, org_id, user_id, token_hash, status, description or "",
                      json.dumps(permissions), ts, ts))
        return self._auth(conn.execute("SELECT * FROM authorizations WHERE id=?", (aid,)).fetchone())

    def keep_token_value(self, auth_id: str, token: str) -> None:
        """InfluxDB 2.7 mode only: keep the token value so that reads can return it."""
        with self.tx() as c:
            c.execute("INSERT OR REPLACE INTO token_values VALUES (?,?)", (auth_id, token))

    def token_value(self, auth_id: str) -> str | None:
        row = self._one("SELECT token FROM token_values WHERE auth_id=?", (auth_id,))
        return row["token"] if row else None

    def get_authorization(self, auth_id: str) -> dict | None:
        row = self._one("SELECT * FROM authorizations WHERE id=?", (auth_id,))
        return self._auth(row) if row else None

    def find_authorization_by_token_hash(self, token_hash: str) -> dict | None:
        row = self._one("SELECT * FROM authorizations WHERE token_hash=?", (token_hash,))
        return self._auth(row) if row else None

    def list_authorizations(self) -> list[dict]:
        return [self._auth(r) for r in self._q("SELECT * FROM authorizations ORDER BY id")]

    def user_authorizations(self, user_id: str) -> list[dict]:
        return [self._auth(r) for r in self._q(
            "SELECT * FROM authorizations WHERE user_id=? ORDER BY id", (user_id,))]

    def update_authorization(self, auth_id: str, status: str | None, description: str | None) -> dict:
        with self.tx() as c:
            if not c.execute("SELECT 1 FROM authorizations WHERE id=?", (auth_id,)).fetchone():
                raise StoreError(404, "not found", "authorization not found")
            if status is not None:
                c.execute("UPDATE authorizations SET status=? WHERE id=?", (status, auth_id))
            if description is not None:
                c.execute("UPDATE authorizations SET description=? WHERE id=?", (description, auth_id))
            c.execute("UPDATE authorizations SET updated_ns=? WHERE id=?", (now_ns(), auth_id))
            return self._auth(c.execute("SELECT * FROM authorizations WHERE id=?", (auth_id,)).fetchone())

    def delete_authorization(self, auth_id: str) -> None:
        with self.tx() as c:
            if not c.execute("SELECT 1 FROM authorizations WHERE id=?", (auth_id,)).fetchone():
                raise StoreError(404, "not found", "authorization not found")
            c.execute("DELETE FROM authorizations WHERE id=?", (auth_id,))
            c.execute("DELETE FROM token_values WHERE auth_id=?", (auth_id,))

    # -- sessions -------------------------------------------------------------------------
    def create_session(self, key_hash: str, user_id: str, expires_ns: int) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM sessions WHERE expires_ns < ?", (now_ns(),))
            c.execute("INSERT INTO sessions VALUES (?,?,?)", (key_hash, user_id, expires_ns))

    def find_session(self, key_hash: str) -> dict | None:
        row = self._one("SELECT * FROM sessions WHERE key_hash=? AND expires_ns >= ?", (key_hash, now_ns()))
        return dict(user_id=row["user_id"], expires_ns=row["expires_ns"]) if row else None

    def delete_session(self, key_hash: str) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM sessions WHERE key_hash=?", (key_hash,))

    # -- dbrps ----------------------------------------------------------------------------
    @staticmethod
    def _dbrp(row: sqlite3.Row) -> dict:
        return dict(id=row["id"], orgID=row["org_id"], bucketID=row["bucket_id"], database=row["db"],
                    retention_policy=row["rp"], default=bool(row["is_default"]), virtual=False)

    def list_dbrps(self, org_id: str) -> list[dict]:
        return [self._dbrp(r) for r in self._q("SELECT * FROM dbrps WHERE org_id=? ORDER BY id", (org_id,))]

    def get_dbrp(self, dbrp_id: str) -> dict | None:
        row = self._one("SELECT * FROM dbrps WHERE id=?", (dbrp_id,))
        return self._dbrp(row) if row else None

    def create_dbrp(self, org_id: str, bucket_id: str, db: str, rp: str, default: bool | None) -> dict:
        with self.tx() as c:
            if c.execute("SELECT 1 FROM dbrps WHERE org_id=? AND db=? AND rp=?", (org_id, db, rp)).fetchone():
                raise StoreError(409, "conflict", "another DBRP mapping with same orgID, db, and rp exists")
            has_default = c.execute("SELECT 1 FROM dbrps WHERE org_id=? AND db=? AND is_default=1",
                                    (org_id, db)).fetchone()
            # The first mapping of a database becomes its default; an explicit default takes over.
            is_default = bool(default) or not has_default
            if is_default:
                c.execute("UPDATE dbrps SET is_default=0 WHERE org_id=? AND db=?", (org_id, db))
            did = new_id()
            c.execute("INSERT INTO dbrps VALUES (?,?,?,?,?,?)", (did, org_id, bucket_id, db, rp, int(is_default)))
            return self._dbrp(c.execute("SELECT * FROM dbrps WHERE id=?", (did,)).fetchone())

    def update_dbrp(self, dbrp_id: str, rp: str | None, default: bool | None) -> dict:
        with self.tx() as c:
            row = c.execute("SELECT * FROM dbrps WHERE id=?", (dbrp_id,)).fetchone()
            if not row:
                raise StoreError(404, "not found", "unable to find DBRP")
            if rp is not None and rp != row["rp"]:
                if not rp:
                    raise StoreError(400, "invalid", "retention policy must not be empty")
                if c.execute("SELECT 1 FROM dbrps WHERE org_id=? AND db=? AND rp=?",
                             (row["org_id"], row["db"], rp)).fetchone():
                    raise StoreError(409, "conflict", "another DBRP mapping with same orgID, db, and rp exists")
                c.execute("UPDATE dbrps SET rp=? WHERE id=?", (rp, dbrp_id))
            if default is True:
                c.execute("UPDATE dbrps SET is_default=0 WHERE org_id=? AND db=?", (row["org_id"], row["db"]))
                c.execute("UPDATE dbrps SET is_default=1 WHERE id=?", (dbrp_id,))
            elif default is False and row["is_default"]:
                c.execute("UPDATE dbrps SET is_default=0 WHERE id=?", (dbrp_id,))
                # another mapping of the same database (if any) becomes the default
                other = c.execute("SELECT id FROM dbrps WHERE org_id=? AND db=? AND id<>? ORDER BY id LIMIT 1",
                                  (row["org_id"], row["db"], dbrp_id)).fetchone()
                if other:
                    c.execute("UPDATE dbrps SET is_default=1 WHERE id=?", (other["id"],))
            return self._dbrp(c.execute("SELECT * FROM dbrps WHERE id=?", (dbrp_id,)).fetchone())

    def delete_dbrp(self, dbrp_id: str) -> None:
        with self.tx() as c:
            row = c.execute("SELECT * FROM dbrps WHERE id=?", (dbrp_id,)).fetchone()
            if not row:
                raise StoreError(404, "not found", "unable to find DBRP")
            c.execute("DELETE FROM dbrps WHERE id=?", (dbrp_id,))
            if row["is_default"]:
                other = c.execute("SELECT id FROM dbrps WHERE org_id=? AND db=? ORDER BY id LIMIT 1",
                                  (row["org_id"], row["db"])).fetchone()
                if other:
                    c.execute("UPDATE dbrps SET is_default=1 WHERE id=?", (other["id"],))

    # -- points ---------------------------------------------------------------------------
    def write_points(self, bucket_id: str, points: Iterable, retention_s: int = 0,
                     now: int | None = None) -> WriteOutcome:
        """Store lineprotocol Points; drop those with a field type conflict or beyond retention."""
        now = now_ns() if now is None else now
        min_time = now - retention_s * 1_000_000_000 if retention_s else None
        written = 0
        beyond = 0
        conflicts: list[str] = []
        with self.tx() as c:
            kinds: dict[tuple[str, str], str] = {}
            for p in points:
                if min_time is not None and p.time_ns < min_time:
                    beyond += 1
                    continue
                conflict = None
                for key, kind, _value in p.fields:
                    known = kinds.get((p.measurement, key))
                    if known is None:
                        row = c.execute("SELECT kind FROM fields WHERE bucket_id=? AND measurement=? AND field=?",
                                        (bucket_id, p.measurement, key)).fetchone()
                        known = row["kind"] if row else None
                        if known:
                            kinds[(p.measurement, key)] = known
                    if known is not None and known != kind:
                        conflict = (f'field type conflict: input field "{key}" on measurement '
                                    f'"{p.measurement}" is type {kind}, already exists as type {known}')
                        break
                if conflict:
                    conflicts.append(conflict)
                    continue
                skey = series_key(p.tags)
                for key, kind, value in p.fields:
                    if (p.measurement, key) not in kinds:
                        kinds[(p.measurement, key)] = kind
                        c.execute("INSERT OR IGNORE INTO fields VALUES (?,?,?,?)",
                                  (bucket_id, p.measurement, key, kind))
                    c.execute("INSERT OR REPLACE INTO points VALUES (?,?,?,?,?,?,?)",
                              (bucket_id, p.measurement, skey, key, kind, _encode_value(kind, value), p.time_ns))
                written += 1
        return WriteOutcome(written, conflicts, beyond)

    def scan(self, bucket_id: str, start_ns: int, stop_ns: int) -> Iterator[Row]:
        rows = self._q("SELECT measurement, series, field, kind, value, time_ns FROM points "
                       "WHERE bucket_id=? AND time_ns>=? AND time_ns<?", (bucket_id, start_ns, stop_ns))
        cache: dict[str, dict[str, str]] = {}
        for r in rows:
            tags = cache.get(r["series"])
            if tags is None:
                tags = cache[r["series"]] = dict(json.loads(r["series"]))
            yield Row(r["measurement"], dict(tags), r["field"], r["kind"], _decode_value(r["kind"], r["value"]),
                      r["time_ns"])

    def delete_points(self, bucket_id: str, start_ns: int, stop_ns: int, match) -> int:
        """Delete points with start_ns <= time <= stop_ns whose (measurement, tags, field) match."""
        deleted = 0
        with self.tx() as c:
            rows = c.execute("SELECT measurement, series, field, time_ns FROM points "
                             "WHERE bucket_id=? AND time_ns>=? AND time_ns<=?",
                             (bucket_id, start_ns, stop_ns)).fetchall()
            for r in rows:
                if match(r["measurement"], dict(json.loads(r["series"])), r["field"]):
                    c.execute("DELETE FROM points WHERE bucket_id=? AND measurement=? AND series=? AND field=? "
                              "AND time_ns=?", (bucket_id, r["measurement"], r["series"], r["field"], r["time_ns"]))
                    deleted += 1
            # forget field types that no longer have any point (as a dropped shard would)
            c.execute("DELETE FROM fields WHERE bucket_id=? AND NOT EXISTS (SELECT 1 FROM points p WHERE "
                      "p.bucket_id=fields.bucket_id AND p.measurement=fields.measurement AND p.field=fields.field)",
                      (bucket_id,))
        return deleted

    def count_points(self, bucket_id: str) -> int:
        return self._one("SELECT count(*) AS n FROM points WHERE bucket_id=?", (bucket_id,))["n"]
