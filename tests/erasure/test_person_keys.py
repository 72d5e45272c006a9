"""The per-person keys (astapa/store/person_keys.py): the process's cache never brings an
erased key back, whatever the interleaving with the store; person-keys.db overwrites what it
deletes and belongs to one store, and a store's log refuses any other (or none)."""

import contextlib
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from astapa.app import AstapaApplication
from astapa.store.person_keys import CachedPersonKeys, PersonKeysMissingError, SqlitePersonKeys
from tests.erasure.test_sealing import ADA, open_app, sign_up, stored

KEY = b"k" * 32


class FakeStore:
    """A key store whose read can be held midway (`hold_read`), and whose erase can fail."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes | None] = {}
        self.erase_calls = 0
        self.fail_erase = False
        self.hold_read = False
        self.reading, self.go_on = threading.Event(), threading.Event()

    def read(self, person: str):
        found = (person in self.keys, self.keys.get(person))
        if self.hold_read:
            self.reading.set()
            self.go_on.wait(5)
        return found

    def create(self, person: str, key: bytes):
        return self.keys.setdefault(person, key)

    def erase(self, person: str) -> bool:
        self.erase_calls += 1
        if self.fail_erase:
            raise sqlite3.OperationalError("database is locked")
        deleted = self.keys.get(person) is not None
        self.keys[person] = None
        return deleted

    def close(self) -> None:
        pass


def test_a_key_read_before_an_erasure_is_not_remembered_after_it():
    store = FakeStore()
    store.keys["ada"] = KEY
    keys = CachedPersonKeys(store)
    store.hold_read = True
    read: list = []
    reader = threading.Thread(target=lambda: read.append(keys.key("ada")))
    reader.start()
    assert store.reading.wait(5)  # the reader has the key from the store, not yet cached
    store.hold_read = False
    assert keys.erase("ada") is True
    store.go_on.set()
    reader.join(5)
    assert read == [None]  # erased meanwhile: the key read is not handed out
    assert keys.key("ada") is None and keys.key("ada", create=True) is None


def test_an_erasure_the_store_failed_is_retried_by_the_next_call():
    store = FakeStore()
    store.keys["ada"] = KEY
    keys = CachedPersonKeys(store)
    assert keys.key("ada") == KEY
    store.fail_erase = True
    with pytest.raises(sqlite3.OperationalError):
        keys.erase("ada")
    assert keys.key("ada") is None  # this process never uses it again
    store.fail_erase = False
    assert keys.erase("ada") is True  # and the retry reaches the store
    assert store.keys["ada"] is None and store.erase_calls == 2


def test_person_keys_db_overwrites_what_it_deletes(tmp_path: Path):
    """secure_delete is set explicitly (this machine's SQLite has it on by default anyway)."""
    keys = SqlitePersonKeys(tmp_path / "person-keys.db")
    assert keys._db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    keys.create("ada", KEY)
    keys.erase("ada")
    keys.close()
    assert KEY not in (tmp_path / "person-keys.db").read_bytes()


def test_a_sealed_log_without_its_person_keys_is_refused(tmp_path: Path):
    store = tmp_path / "events.db"
    app = open_app(store)
    sign_up(app, ADA)
    app.close()
    (tmp_path / "person-keys.db").unlink()

    app = AstapaApplication(store)
    (registered,) = stored(app, "User.Registered")
    with pytest.raises(PersonKeysMissingError, match="person-keys.db is missing"):
        app.mapper.to_domain_event(registered)
    app.close()
    assert not (tmp_path / "person-keys.db").exists()  # never made anew, keys for nobody


def test_a_rebuild_of_a_log_without_its_person_keys_is_refused_in_one_line(tmp_path: Path):
    app = open_app(tmp_path / "events.db")
    sign_up(app, ADA)
    app.close()
    (tmp_path / "person-keys.db").unlink()
    for into in ([], ["--into", str(tmp_path / "check.db")]):
        done = subprocess.run([sys.executable, "scripts/rebuild_projections.py", "--data-dir", str(tmp_path), *into],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "person-keys.db is missing" in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "person-keys.db").exists()


def test_another_stores_person_keys_are_refused(tmp_path: Path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for directory in (ours, theirs):
        directory.mkdir()
        app = open_app(directory / "events.db")
        sign_up(app, ADA)
        app.close()
    (theirs / "person-keys.db").replace(ours / "person-keys.db")
    app = AstapaApplication(ours / "events.db")
    (registered,) = stored(app, "User.Registered")
    with pytest.raises(PersonKeysMissingError, match="another store's"):
        app.mapper.to_domain_event(registered)
    app.close()


def test_the_export_of_events_db_alone_needs_a_flag_and_makes_no_keys(tmp_path: Path):
    copy = tmp_path / "copy"
    copy.mkdir()
    app = open_app(tmp_path / "events.db")
    sign_up(app, ADA)
    app.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "events.db")) as source, \
            contextlib.closing(sqlite3.connect(copy / "events.db")) as target:
        source.backup(target)

    def export(*flags: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "scripts/export_events.py", "--data-dir", str(copy), *flags],
                              capture_output=True, text=True, timeout=60)

    refused = export()
    assert refused.returncode == 2 and "person-keys.db is missing" in refused.stderr
    assert not (copy / "person-keys.db").exists()
    exported = export("--without-person-keys")
    assert exported.returncode == 0, exported.stderr
    assert ADA not in exported.stdout and '"email": "[erased]"' in exported.stdout
    assert not (copy / "person-keys.db").exists()


def test_a_wal_a_reader_held_at_the_erasure_is_truncated_once_it_lets_go(tmp_path: Path, monkeypatch):
    import time

    monkeypatch.setattr("astapa.store.person_keys.WAL_RETRY_SECONDS", 0.05)
    path = tmp_path / "person-keys.db"
    keys = SqlitePersonKeys(path)
    keys.create("ada", KEY)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM person_keys").fetchone()  # holds a snapshot of the WAL
    keys.erase("ada")
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 0  # could not be truncated while the reader holds it
    reader.execute("COMMIT")
    reader.close()
    deadline = time.monotonic() + 5
    while wal.stat().st_size and time.monotonic() < deadline:
        time.sleep(0.02)
    assert wal.stat().st_size == 0
    keys.close()


def test_the_read_models_overwrite_what_they_delete(tmp_path: Path):
    """Set explicitly, not left to the build's default (this machine's SQLite has it on)."""
    from projections.runner import connect

    conn = connect(tmp_path / "read.db")
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    conn.close()


def test_a_prefetch_never_brings_an_erased_key_back():
    store = FakeStore()
    store.keys.update({"ada": KEY, "bob": KEY})
    store.read_many = lambda persons: {p: store.keys[p] for p in persons if p in store.keys}
    keys = CachedPersonKeys(store)
    keys.erase("ada")
    store.keys["ada"] = KEY  # as if the store had been read before the erasure
    keys.prefetch({"ada", "bob"})
    assert keys.key("ada") is None and keys.key("bob") == KEY
