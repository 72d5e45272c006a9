"""The throttles' hits shared between processes, so a limit holds across all of them.

Each process appends its own hits and, now and then, reads the hits the others appended
after the last one it saw. Two twins: `SqliteThrottleLog` for worker processes sharing one
data dir, and astapa.store.postgres.PostgresThrottleLog for nodes sharing one database
(imported from there: SQLite users need not have psycopg).

Ids are handed out in commit order (SQLite's write lock; PostgreSQL's table lock), so
reading "after the last id seen" never passes over a row committed later. AUTOINCREMENT
(and PostgreSQL's sequence) never gives a pruned id again.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from astapa.store.files import private_database

Hit = tuple[str, str, float, str]  # throttle, key, at (a unix time), origin
SeenHit = tuple[int, str, str, float]  # id, throttle, key, at
MAX_HITS_READ = 10_000
BUSY_TIMEOUT = 5.0  # seconds a writer waits for another process's transaction


class ThrottleLog(Protocol):
    def append(self, rows: list[Hit]) -> None: ...

    def after(self, last_id: int, origin: str) -> list[SeenHit]:
        """Other origins' hits after `last_id`, oldest first, at most MAX_HITS_READ."""

    def latest_id(self) -> int: ...

    def prune(self, before: float) -> None:
        """Forget the hits older than `before`."""

    def forget(self, key: str) -> None:
        """Forget every hit counted under `key` (an erased person's address)."""

    def close(self) -> None: ...


SCHEMA = (
    ("CREATE TABLE IF NOT EXISTS astapa_throttle_hits (id INTEGER PRIMARY KEY AUTOINCREMENT, "
     "throttle TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL, origin TEXT NOT NULL)"),
    "CREATE INDEX IF NOT EXISTS astapa_throttle_hits_at ON astapa_throttle_hits (at)",
)


class SqliteThrottleLog:
    """The hits in an SQLite file (WAL: readers never wait for the writer), one connection
    per instance, shared by its threads under a lock."""

    def __init__(self, path: Path) -> None:
        private_database(path)  # 0600 before SQLite creates it with the umask's mode
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                   check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        with self._transaction():
            for statement in SCHEMA:
                self._db.execute(statement)

    def append(self, rows: list[Hit]) -> None:
        if rows:
            with self._transaction():
                self._db.executemany("INSERT INTO astapa_throttle_hits (throttle, key, at, origin) "
                                     "VALUES (?, ?, ?, ?)", rows)

    def after(self, last_id: int, origin: str) -> list[SeenHit]:
        with self._lock:
            return self._db.execute(
                "SELECT id, throttle, key, at FROM astapa_throttle_hits WHERE id > ? AND origin <> ? "
                "ORDER BY id LIMIT ?", (last_id, origin, MAX_HITS_READ)).fetchall()

    def latest_id(self) -> int:
        with self._lock:
            return self._db.execute("SELECT coalesce(max(id), 0) FROM astapa_throttle_hits").fetchone()[0]

    def prune(self, before: float) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM astapa_throttle_hits WHERE at < ?", (before,))

    def forget(self, key: str) -> None:
        """Every hit counted under `key` (an erased person's address), overwritten in the
        file and gone from the WAL."""
        with self._lock:
            self._db.execute("PRAGMA secure_delete=ON")
        with self._transaction():
            self._db.execute("DELETE FROM astapa_throttle_hits WHERE key = ?", (key,))
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE (the write lock first: no lock upgrade to deadlock on between
        processes), then COMMIT, or ROLLBACK on an error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
