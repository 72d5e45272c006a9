"""Whether a store's personal data is sealed, and which person keys belong to it.

A durable marker in the event store (the table astapa_personal_data, one row) says that every
personal field in its log is sealed (astapa/store/personal_data.py), and names the store with
a random id. A fresh store writes it as it is created; a log written before sealing existed
has events and no marker until `astapa log encrypt-personal-data` seals it and writes it.
Servers refuse to start on a log without it (its plaintext would survive every erasure), and
so does an erasure.

With SQLite the same id is written into DATA_DIR/person-keys.db (its table `store`), so a
person-keys.db lost, or copied from another data dir, is refused with a clear error instead
of silently reading everyone as erased, or making new keys for people who had some
(astapa/store/person_keys.py, PersonKeysOpener). A PostgreSQL store keeps the keys in its
own tables: they go, and come back from a backup, with it.
"""

from __future__ import annotations

import os
import time
from typing import Any

MARKER_TABLE = "astapa_personal_data"
SQLITE_MARKER = (f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (one INTEGER PRIMARY KEY CHECK (one = 1),"
                 " store_id TEXT NOT NULL, sealed_at REAL NOT NULL)")
POSTGRES_MARKER = (f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (one integer PRIMARY KEY CHECK (one = 1),"
                   " store_id text NOT NULL, sealed_at timestamptz NOT NULL DEFAULT now())")
MIGRATION_COMMAND = "astapa log encrypt-personal-data"


class LogNotSealedError(RuntimeError):
    """The log holds events written before personal data was sealed, not migrated yet."""

    def __init__(self) -> None:
        super().__init__(f"this event log was written before personal data was sealed: stop every server and run"
                         f" `{MIGRATION_COMMAND}` (see docs/guides/production.md#upgrades)")


def new_store_id() -> str:
    return os.urandom(16).hex()


def store_id(app: Any) -> str | None:
    """The marker's store id: None while the log is not (known to be) sealed."""
    _create_marker_table(app)
    with app.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT store_id FROM {MARKER_TABLE}")
        row = cursor.fetchone()
    return None if row is None else row["store_id"]


def log_is_empty(app: Any) -> bool:
    return not app.recorder.max_notification_id()


def mark_if_fresh(app: Any) -> None:
    """A new store (no event yet) is sealed from its first event: marked so at once, and
    (SQLite) its person-keys.db made and bound to it."""
    if store_id(app) is None and log_is_empty(app):
        mark_sealed(app)


def mark_sealed(app: Any) -> str:
    """The marker written (the first writer's id kept), person-keys.db bound to it first:
    a crash in between leaves the keys bound and the log unmarked, which marking again
    mends with the keys' id."""
    with app.recorder.datastore.transaction(commit=True) as cursor:
        mark_sealed_within(app, cursor)
    marked = store_id(app)
    assert marked is not None
    return marked


def mark_sealed_within(app: Any, cursor: Any) -> None:
    """The marker, in the caller's transaction (the migration's: its rewrite, the chain
    over it and the marker commit together); person-keys.db bound first."""
    bound = app.person_keys.bind(new_store_id())
    if app.postgres:
        cursor.execute(f"INSERT INTO {MARKER_TABLE} (one, store_id) VALUES (1, %s) ON CONFLICT (one) DO NOTHING",
                       (bound,))
    else:
        cursor.execute(f"INSERT OR IGNORE INTO {MARKER_TABLE} (one, store_id, sealed_at) VALUES (1, ?, ?)",
                       (bound, time.time()))


def require_sealed(app: Any) -> None:
    """LogNotSealedError for a log with events and no marker (an older log not migrated)."""
    if store_id(app) is None and not log_is_empty(app):
        raise LogNotSealedError()


def _create_marker_table(app: Any) -> None:
    if getattr(app, "_marker_table_made", False):
        return
    if app.postgres:
        from astapa.store.postgres import connect, create_tables

        with connect(app.person_keys.store_url) as connection:
            create_tables(connection, POSTGRES_MARKER)
    else:
        with app.recorder.datastore.transaction(commit=True) as cursor:
            cursor.execute(SQLITE_MARKER)
    app._marker_table_made = True
