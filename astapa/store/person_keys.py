"""Per-person keys: the keys personal data in events is sealed with, kept outside the events.

Erasing a person deletes their key: every sealed field of theirs, in every event and every
copy of the log (backups included), is unreadable from then on, while the stored events
themselves, and the hash chain over them, stay exactly as they were (crypto-shredding).

A person is the User aggregate's id (hex): unique across projects, and derivable both from
a User event (its originator) and from any event naming (project_id, sub). An erased person
keeps a row with no key (a tombstone), so a late event of theirs is never sealed under a
fresh key that would make it readable again: it is written as erased.

Two twins, like the throttle log: `SqlitePersonKeys` in DATA_DIR/person-keys.db (0600,
`secure_delete` so a deleted key is overwritten in the file, and the WAL checkpointed and
truncated after each erasure so no old page image keeps it), and
astapa.store.postgres.PostgresPersonKeys, the table astapa_person_keys with each key sealed
by the store's SecretBox (ASTAPA_SECRET_KEY).

Keys are cached in the process (`CachedPersonKeys`). A key is created, and committed, before
the first event sealed under it. The cache drops a person's key when this process erases
them or reads their `User.Erased` (every process's projections runner reads it within its
poll interval; PostgreSQL nodes at once through NOTIFY): that is the window in which another
process may still open what an erasure elsewhere just made unreadable.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Protocol

from astapa.store.files import PRIVATE_FILE, private_database, tighten

log = logging.getLogger("astapa.person_keys")

PERSON_KEYS_DB = "person-keys.db"
KEY_SIZE = 32  # AES-256
CACHE_SIZE = 50_000
BUSY_TIMEOUT = 5.0
WAL_RETRY_SECONDS = 5.0  # a WAL a reader held at an erasure: truncated again this often until it is


class PersonKeysUnavailable(RuntimeError):
    """A PostgreSQL store's person keys were needed without ASTAPA_SECRET_KEY; or (the
    subclass) a SQLite store's person-keys.db is missing or another store's."""


class PersonKeysMissingError(PersonKeysUnavailable):
    """DATA_DIR/person-keys.db missing beside a sealed events.db, or bound to another store."""


class KeyStore(Protocol):
    """Where the keys live: one row per person, the key, or none once erased."""

    def read(self, person: str) -> tuple[bool, bytes | None]:
        """(whether the person has a row, their key: None once erased)."""

    def create(self, person: str, key: bytes) -> bytes | None:
        """Store `key` unless the person has a row already; the key they have now (None:
        erased). Committed before it returns."""

    def erase(self, person: str) -> bool:
        """Delete the person's key, leaving the tombstone; whether a key was deleted."""

    def close(self) -> None: ...


class CachedPersonKeys:
    """The keys of a KeyStore, remembered in the process. The persons this process erased or
    saw erased are kept apart (`_erased`, never evicted nor overwritten): a key read from the
    store before an erasure, and remembered after it, must never come back."""

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._erased: set[str] = set()
        self._lock = threading.Lock()

    def key(self, person: str, create: bool = False) -> bytes | None:
        """The person's key; None when they were erased, or (create False) never had one.
        `create`: make and commit one when the person has none yet."""
        with self._lock:
            if person in self._erased:
                return None
            if person in self._cache:
                self._cache.move_to_end(person)
                return self._cache[person]
        found, key = self.store.read(person)  # outside the lock: a store may be slow
        if not found:
            if not create:
                return None
            key = self.store.create(person, os.urandom(KEY_SIZE))
        self._remember(person, key)
        with self._lock:  # erased while the store was read: the key read is not theirs to use
            return None if person in self._erased else key

    def erase(self, person: str) -> bool:
        """Delete the person's key (idempotent); whether this call deleted it. Remembered as
        erased first, so this process never uses the key again even if the store fails; the
        store is asked every time, so a call after a failed one still deletes the key."""
        with self._lock:
            self._erased.add(person)
            self._cache.pop(person, None)
        return self.store.erase(person)

    def prefetch(self, persons: set[str]) -> None:
        """Read the keys of these persons not cached yet at once, when the store can (its
        `read_many`: PostgreSQL, where each read is a round trip); those without a row stay
        unknown (a later key() asks)."""
        read_many = getattr(self.store, "read_many", None)
        if read_many is None:
            return
        with self._lock:
            wanted = sorted(p for p in persons if p not in self._cache and p not in self._erased)
        if not wanted:
            return
        for person, key in read_many(wanted).items():
            self._remember(person, key)

    def forget(self, person: str) -> None:
        """Drop what the cache holds for the person: the next use reads the store (an
        erasure is never forgotten)."""
        with self._lock:
            self._cache.pop(person, None)

    def close(self) -> None:
        self.store.close()

    def _remember(self, person: str, key: bytes | None) -> None:
        with self._lock:
            if person in self._erased:
                return
            self._cache[person] = key
            self._cache.move_to_end(person)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)


SCHEMA = ("CREATE TABLE IF NOT EXISTS person_keys (person TEXT PRIMARY KEY, key BLOB, created_at REAL NOT NULL,"
          " erased_at REAL)")
# The store these keys belong to: the id in its events.db's marker (astapa/store/sealing.py).
STORE_SCHEMA = "CREATE TABLE IF NOT EXISTS store (one INTEGER PRIMARY KEY CHECK (one = 1), store_id TEXT NOT NULL)"


class SqlitePersonKeys:
    """The keys in DATA_DIR/person-keys.db, one connection shared by the process's threads."""

    def __init__(self, path: Path) -> None:
        private_database(path)  # 0600 before SQLite creates it with the umask's mode
        self.path = path
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._retry: threading.Timer | None = None  # the WAL's truncation, once a reader let go
        self._closed = False
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a key must outlive the event sealed under it
        self._db.execute("PRAGMA secure_delete=ON")  # a deleted key's bytes are overwritten, not left free
        with self._lock:
            self._db.execute(SCHEMA)
            self._db.execute(STORE_SCHEMA)

    def store_id(self) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT store_id FROM store").fetchone()
        return None if row is None else row[0]

    def bind(self, store_id: str) -> str:
        """The store these keys belong to: `store_id` unless they have one already (theirs)."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO store (one, store_id) VALUES (1, ?)", (store_id,))
        bound = self.store_id()
        assert bound is not None
        return bound

    def read(self, person: str) -> tuple[bool, bytes | None]:
        with self._lock:
            row = self._db.execute("SELECT key FROM person_keys WHERE person = ?", (person,)).fetchone()
        return (False, None) if row is None else (True, row[0])

    def create(self, person: str, key: bytes) -> bytes | None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT OR IGNORE INTO person_keys (person, key, created_at) VALUES (?, ?, ?)",
                                 (person, key, time.time()))
                row = self._db.execute("SELECT key FROM person_keys WHERE person = ?", (person,)).fetchone()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return row[0]

    def erase(self, person: str) -> bool:
        with self._lock:
            deleted = self._db.execute(
                "INSERT INTO person_keys (person, key, created_at, erased_at) VALUES (?, NULL, ?, ?)"
                " ON CONFLICT(person) DO UPDATE SET key = NULL, erased_at = excluded.erased_at"
                " WHERE person_keys.key IS NOT NULL",
                (person, time.time(), time.time())).rowcount > 0
            if deleted:
                self._checkpoint()
        return deleted

    def _checkpoint(self) -> None:
        """Copy the WAL into the file and truncate it: the page images holding the deleted
        key go with it. A reader in another process may hold the WAL open: then it is tried
        again every WAL_RETRY_SECONDS until it succeeds (or the keys are closed). Under
        self._lock."""
        busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy or self._retry is not None:
            return
        log.warning("person-keys.db: the WAL could not be truncated now (a reader holds it); retrying")
        self._retry = threading.Timer(WAL_RETRY_SECONDS, self._checkpoint_again)
        self._retry.daemon = True
        self._retry.start()

    def _checkpoint_again(self) -> None:
        with self._lock:
            self._retry = None
            if not self._closed:
                self._checkpoint()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._retry is not None:
                self._retry.cancel()
            self._db.close()


class AbsentKeys:
    """No keys at all (scripts/export_events.py --without-person-keys): every sealed field
    reads as erased, and nothing is made or written."""

    def read(self, person: str) -> tuple[bool, bytes | None]:
        return True, None

    def create(self, person: str, key: bytes) -> bytes | None:
        return None

    def erase(self, person: str) -> bool:
        return False

    def close(self) -> None:
        pass


class PersonKeysOpener:
    """A store's person keys, opened at their first use: DATA_DIR/person-keys.db beside
    events.db, or the PostgreSQL store's table (whose keys need the secret key, given or
    ASTAPA_SECRET_KEY; asked for only when personal data is sealed or opened).

    person-keys.db is checked against the store it serves (`store_id`: the id in events.db's
    marker, astapa/store/sealing.py): missing beside a sealed log, or another store's, it is
    refused (PersonKeysMissingError), never made anew; `absent`: the caller knows there are
    no keys (a copy of events.db alone), and every sealed field reads as erased."""

    def __init__(self, events_db: Path | None, store_url: str | None, secret_key: str | None = None,
                 absent: bool = False) -> None:
        self.events_db = events_db
        self.store_url = store_url
        self.secret_key = secret_key
        self.absent = absent
        self.store_id: Callable[[], str | None] = lambda: None  # set by the event store once open
        self._keys: CachedPersonKeys | None = None
        self._lock = threading.Lock()
        if events_db is not None:  # opened later, but tightened now, as the store's other files are
            path = events_db.parent / PERSON_KEYS_DB
            for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                tighten(name, PRIVATE_FILE)

    def __call__(self) -> CachedPersonKeys:
        with self._lock:
            if self._keys is None:
                self._keys = CachedPersonKeys(self._open())
            return self._keys

    def bind(self, store_id: str) -> str:
        """A store being marked sealed (sealing.mark_sealed): its person-keys.db made if need
        be and bound to it; the id it is bound to (an earlier one kept). PostgreSQL keeps its
        keys in the store itself: nothing to bind."""
        if self.store_url is not None or self.absent:
            return store_id
        assert self.events_db is not None
        keys = SqlitePersonKeys(self.events_db.parent / PERSON_KEYS_DB)
        try:
            return keys.bind(store_id)
        finally:
            keys.close()

    def _open(self) -> KeyStore:
        if self.absent:
            return AbsentKeys()
        if self.store_url is None:
            assert self.events_db is not None
            return self._open_sqlite(self.events_db.parent / PERSON_KEYS_DB)
        from astapa.store.postgres import PostgresPersonKeys, SecretBox

        secret_key = self.secret_key or os.environ.get("ASTAPA_SECRET_KEY")
        if not secret_key:
            raise PersonKeysUnavailable("personal data in a PostgreSQL store is sealed with per-person keys kept sealed"
                                 " with ASTAPA_SECRET_KEY: set it")
        return PostgresPersonKeys(self.store_url, SecretBox(secret_key))

    def _open_sqlite(self, path: Path) -> SqlitePersonKeys:
        expected = self.store_id()
        if expected is not None and not path.exists():
            raise PersonKeysMissingError(
                f"{path} is missing: the personal data in events.db is sealed with the keys it held (restore it"
                " from the backup taken with events.db; an export without it: --without-person-keys)")
        keys = SqlitePersonKeys(path)
        bound = keys.store_id()
        if expected is not None and bound is None:
            bound = keys.bind(expected)  # made before keys were bound to their store
        if expected is not None and bound != expected:
            keys.close()
            raise PersonKeysMissingError(f"{path} holds another store's person keys, not those of the events.db"
                                         " beside it (restore the one backed up with it)")
        return keys

    def close(self) -> None:
        with self._lock:
            if self._keys is not None:
                self._keys.close()
                self._keys = None
