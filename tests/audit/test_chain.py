"""The hash chain: written with each event, by several writers at once, on SQLite and
PostgreSQL; `astapa audit verify` names the first event changed, removed or inserted;
checkpoints signed with the service key prove the log only grew after them."""

import contextlib
import io
import json
import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from astapa import cli
from astapa.app import AstapaApplication
from astapa.audit import terminal_progress
from astapa.store.chain import GENESIS, link_hash
from tests.conftest import run_cli


def audit(*args: str) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["audit", *args])
    return status, (json.loads(out.getvalue()) if out.getvalue() else {}), err.getvalue()


def write_projects(app: AstapaApplication, count: int, prefix: str = "p") -> None:
    for n in range(count):
        app.execute(app.create_project, f"{prefix}{n}", ["https://app.example.com/cb"], "sandbox", ["read"], by="cli")


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A data dir whose log has 3 projects (6 events), then its signing keys."""
    app = AstapaApplication(tmp_path / "events.db")
    try:
        write_projects(app, 3)
    finally:
        app.close()
    run_cli("keys", "rotate", "--data-dir", str(tmp_path))  # the signing keys a server makes on its first start
    return tmp_path


def events_db(log_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(log_dir / "events.db", isolation_level=None)


def test_verify_recomputes_the_chain_the_store_wrote(log_dir: Path):
    status, report, _ = audit("verify", "--data-dir", str(log_dir))
    assert status == 0
    db = events_db(log_dir)
    rows = db.execute("SELECT rowid, originator_id, originator_version, topic, state FROM stored_events"
                      " ORDER BY rowid").fetchall()
    digest = GENESIS
    for position, originator_id, version, topic, state in rows:
        from uuid import UUID
        digest = link_hash(digest, position, UUID(originator_id), version, topic, state)
    assert report == {"events": len(rows), "head": "sha256:" + digest.hex()}
    assert db.execute("SELECT count(*) FROM astapa_chain").fetchone()[0] == len(rows)


@pytest.mark.parametrize("tampering, position, problem", [
    ("UPDATE stored_events SET state = CAST(replace(state, 'p1', 'p9') AS BLOB) WHERE rowid = 3", 3, "changed"),
    ("UPDATE stored_events SET topic = topic || 'x' WHERE rowid = 2", 2, "changed"),
    ("UPDATE stored_events SET state = state || 'x' WHERE rowid = 4", 4, "changed"),
    ("DELETE FROM stored_events WHERE rowid = 3", 3, "removed"),
    ("DELETE FROM stored_events WHERE rowid = 3; DELETE FROM astapa_chain WHERE position = 3", 3, "removed"),
    ("DELETE FROM stored_events WHERE rowid = 1; DELETE FROM astapa_chain WHERE position = 1", 1, "removed"),
    ("INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) SELECT 100, originator_id,"
     " originator_version + 50, topic, state FROM stored_events WHERE rowid = 2", 100, "inserted"),
])
def test_tampering_fails_verification_at_its_position(log_dir: Path, tampering: str, position: int, problem: str):
    events_db(log_dir).executescript(tampering)
    status, report, err = audit("verify", "--data-dir", str(log_dir))
    assert status == 1
    assert report["position"] == position and report["problem"] == problem
    assert f"position {position} was {problem}" in report["error"] and f"position {position}" in err


def relink_from(db: sqlite3.Connection, start: int) -> None:
    """What someone who knows the algorithm does after changing an event: link every event
    from `start` on again, so the chain alone looks whole."""
    previous = db.execute("SELECT hash FROM astapa_chain WHERE position = ?", (start - 1,)).fetchone()
    digest = previous[0] if previous else GENESIS
    from uuid import UUID
    for position, originator_id, version, topic, state in db.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events WHERE rowid >= ?"
            " ORDER BY rowid", (start,)).fetchall():
        digest = link_hash(digest, position, UUID(originator_id), version, topic, state)
        db.execute("UPDATE astapa_chain SET hash = ? WHERE position = ?", (digest, position))


def test_a_relinked_log_passes_alone_and_fails_against_a_checkpoint(log_dir: Path):
    status, checkpoint, _ = audit("checkpoint", "--data-dir", str(log_dir))
    assert status == 0
    kept = log_dir / "checkpoint.json"
    kept.write_text(json.dumps(checkpoint))
    # The log grows after the checkpoint: still the one it signed.
    app = AstapaApplication(log_dir / "events.db")
    write_projects(app, 2, prefix="later")
    app.close()
    status, report, _ = audit("verify", "--data-dir", str(log_dir), "--since", str(kept))
    assert status == 0 and report["events"] == checkpoint["events"] + 4
    assert report["since"] == {"position": checkpoint["position"], "events": checkpoint["events"],
                               "head": checkpoint["head"], "iat": checkpoint["iat"]}
    # The token alone works as well as the file.
    assert audit("verify", "--data-dir", str(log_dir), "--since", checkpoint["checkpoint"])[0] == 0

    db = events_db(log_dir)
    db.execute("UPDATE stored_events SET state = CAST(replace(state, 'p0', 'px') AS BLOB) WHERE rowid = 1")
    relink_from(db, 1)
    assert audit("verify", "--data-dir", str(log_dir))[0] == 0  # the chain alone cannot tell
    status, report, _ = audit("verify", "--data-dir", str(log_dir), "--since", str(kept))
    assert status == 1 and report["position"] == checkpoint["position"]
    assert "not the one the checkpoint signed" in report["error"]


def test_a_checkpoint_is_a_jwt_verifiable_with_the_published_keys(server, make_project):
    make_project("read")
    args = ["--data-dir", str(server.data_dir)]
    status, checkpoint, _ = audit("checkpoint", *args)
    assert status == 0
    jwks = requests.get(f"{server.url}/.well-known/jwks.json", timeout=5).json()
    token = jwt.decode(checkpoint["checkpoint"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert token.header["typ"] == "log-checkpoint+jwt"
    assert token.claims["head"] == checkpoint["head"] and token.claims["head"].startswith("sha256:")
    assert token.claims["events"] == checkpoint["events"] > 0
    # Verified while the server keeps writing: one consistent snapshot.
    make_project("read", name="more")
    status, report, _ = audit("verify", *args, "--since", checkpoint["checkpoint"])
    assert status == 0 and report["events"] > checkpoint["events"]


def test_a_forged_or_foreign_checkpoint_is_refused(log_dir: Path, tmp_path_factory):
    _, checkpoint, _ = audit("checkpoint", "--data-dir", str(log_dir))
    header, payload, signature = checkpoint["checkpoint"].split(".")
    claims = json.loads(_b64decode(payload))
    claims["position"] = 1
    forged = ".".join([header, _b64encode(json.dumps(claims).encode()), signature])
    for bad in (forged, "not-a-checkpoint", str(log_dir / "missing.json")):
        status, report, err = audit("verify", "--data-dir", str(log_dir), "--since", bad)
        assert status == 2 and report == {} and "not a valid signed checkpoint" in err
    # Another service's checkpoint names a key this one never published.
    other = tmp_path_factory.mktemp("other")
    app = AstapaApplication(other / "events.db")
    write_projects(app, 1)
    app.close()
    assert audit("checkpoint", "--data-dir", str(other))[0] == 2  # no signing key yet
    run_cli("keys", "rotate", "--data-dir", str(other))
    _, foreign, _ = audit("checkpoint", "--data-dir", str(other))
    status, _, err = audit("verify", "--data-dir", str(log_dir), "--since", foreign["checkpoint"])
    assert status == 2 and "was ever published by this service" in err


def _b64decode(part: str) -> bytes:
    import base64
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(data: bytes) -> str:
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write_at_once(apps: list[AstapaApplication], count: int) -> None:
    """Each application (its own connections: another writer) writes `count` projects, all
    at the same time; then they close."""
    threads = [threading.Thread(target=write_projects, args=(app, count, f"w{n}-")) for n, app in enumerate(apps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for app in apps:
        app.close()


def test_several_writers_build_one_chain(tmp_path: Path):
    write_at_once([AstapaApplication(tmp_path / "events.db") for _ in range(4)], 15)
    status, report, _ = audit("verify", "--data-dir", str(tmp_path))
    assert status == 0 and report["events"] == 4 * 15 * 2


def test_a_log_written_before_the_chain_is_linked_on_first_open(log_dir: Path):
    _, before, _ = audit("verify", "--data-dir", str(log_dir))
    events_db(log_dir).execute("DROP TABLE astapa_chain")
    AstapaApplication(log_dir / "events.db").close()
    status, report, _ = audit("verify", "--data-dir", str(log_dir))
    assert status == 0 and report == before


def test_verify_needs_a_log(tmp_path: Path):
    status, _, err = audit("verify", "--data-dir", str(tmp_path / "nothing"))
    assert status == 2 and "no event store" in err


def test_progress_is_drawn_on_a_terminal_only():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with terminal_progress(screen) as show:
        show(50_000, 100_000)
    assert "50.0k/100k" in screen.getvalue() and "audit verify" in screen.getvalue()
    with terminal_progress(io.StringIO()) as show:
        assert show is None


# --- PostgreSQL ----------------------------------------------------------------------------


def test_postgres_writers_build_one_chain_and_tampering_is_found(pg_url: str, monkeypatch):
    monkeypatch.setenv("ASTAPA_STORE_URL", pg_url)
    write_at_once([AstapaApplication(store_url=pg_url) for _ in range(3)], 10)
    status, report, _ = audit("verify")
    assert status == 0 and report["events"] == 3 * 10 * 2
    with psycopg.connect(pg_url, autocommit=True) as db:
        position = db.execute("SELECT min(notification_id) + 7 FROM astapa_events").fetchone()[0]
        db.execute("UPDATE astapa_events SET state = state || '\\x20'::bytea WHERE notification_id = %s",
                   (position,))
    status, report, _ = audit("verify")
    assert status == 1 and report["position"] == position and report["problem"] == "changed"


def test_a_postgres_log_written_before_the_chain_is_linked_on_first_open(pg_url: str, monkeypatch):
    monkeypatch.setenv("ASTAPA_STORE_URL", pg_url)
    app = AstapaApplication(store_url=pg_url)
    write_projects(app, 5)
    app.close()
    _, before, _ = audit("verify")
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("DROP TABLE astapa_chain")
    AstapaApplication(store_url=pg_url).close()
    status, report, _ = audit("verify")
    assert status == 0 and report == before and report["events"] == 10


def test_rebuilding_the_chain_after_a_sanctioned_rewrite(log_dir: Path, pg_url: str, monkeypatch):
    """What sealing an old log's personal data does: rewrite states, then link everything again."""
    from astapa.store.chain import rebuild_chain

    events_db(log_dir).execute("UPDATE stored_events SET state = CAST(replace(state, 'p1', 'p7') AS BLOB)")
    assert audit("verify", "--data-dir", str(log_dir))[0] == 1
    app = AstapaApplication(log_dir / "events.db")
    rebuild_chain(app.recorder)
    app.close()
    assert audit("verify", "--data-dir", str(log_dir))[0] == 0

    monkeypatch.setenv("ASTAPA_STORE_URL", pg_url)
    app = AstapaApplication(store_url=pg_url)
    write_projects(app, 3)
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("UPDATE astapa_events SET state = state || '\\x20'::bytea")
    assert audit("verify")[0] == 1
    rebuild_chain(app.recorder)
    app.close()
    status, report, _ = audit("verify")
    assert status == 0 and report["events"] == 6


def test_verify_reads_a_copy_of_the_log_without_writing_to_it(log_dir: Path):
    import hashlib

    _, before, _ = audit("verify", "--data-dir", str(log_dir))
    copy = log_dir / "copy"
    copy.mkdir()
    with contextlib.closing(sqlite3.connect(log_dir / "events.db")) as source, \
            contextlib.closing(sqlite3.connect(copy / "events.db")) as target:
        source.backup(target)
    held = hashlib.sha256((copy / "events.db").read_bytes()).hexdigest()
    status, report, err = audit("verify", "--data-dir", str(copy))
    assert status == 0 and report == before, err
    assert hashlib.sha256((copy / "events.db").read_bytes()).hexdigest() == held
    # SQLite's own WAL index aside (-wal, -shm), nothing is made: no keys file, no read models.
    assert {p.name for p in copy.iterdir()} <= {"events.db", "events.db-wal", "events.db-shm"}
