"""Erasure (CONTRACT "The log as a product"; docs/guides/erasure.md): DELETE
/api/platform/users/{sub} and `astapa user erase` make the person's data unreadable
everywhere (the read models, the API, the export), end their tokens, free their address,
and leave the hash chain whole. Done when nothing under the data dir (and, on PostgreSQL,
in the store's tables) holds their address any more."""

import contextlib
import io
import json
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from astapa import cli
from astapa.app.erasure import forget_outbox_mail
from astapa.domain.users import User
from astapa.web.appkeys import runner_key
from tests.conftest import TEST_STORE, Server, project_on, run_cli
from tests.erasure.search import data_dirs, files_holding, store_tables_holding
from tests.flows import refresh
from tests.mail import wait_for_outbox
from tests.management.test_users_and_claims import Api, sub_of
from tests.oauth.test_refresh_token import tokens_for, userinfo
from tests.process import introspect

ADA = "ada.erased@example.org"
BOB = "bob.kept@example.org"


@pytest.fixture
def server(start_server) -> Server:
    return start_server(signups_per_ip=1000)


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


def eventually(check, timeout: float = 10.0):
    """`check()` once it is truthy; its last value after `timeout` (a cluster's other node
    reads the erasure at its next NOTIFY)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def leftovers(server: Server, *needles: bytes) -> list[str]:
    """Every file of the data dirs, and every table of a PostgreSQL store, holding a needle."""
    found = [hit for directory in data_dirs(server.data_dir) for hit in files_holding(directory, list(needles))]
    return found + store_tables_holding(list(needles))


def exported(data_dir: Path) -> list[dict]:
    """scripts/export_events.py's JSON Lines (a PostgreSQL store: ASTAPA_STORE_URL and
    ASTAPA_SECRET_KEY, which the test's environment holds)."""
    out = subprocess.run([sys.executable, "scripts/export_events.py", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [json.loads(line) for line in out.splitlines()]


def audit_verify(data_dir: Path) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return cli.main(["audit", "verify", "--data-dir", str(data_dir)])


def person_key(data_dir: Path, project_id: str, sub: str) -> bytes | None:
    """The person's key as DATA_DIR/person-keys.db holds it (SQLite stores)."""
    with contextlib.closing(sqlite3.connect(data_dir / "person-keys.db")) as db:
        row = db.execute("SELECT key FROM person_keys WHERE person = ?",
                         (User.create_id(project_id, sub).hex,)).fetchone()
    return row[0] if row else None


def registered(events: list[dict], sub: str) -> dict:
    return next(e for e in events if e["type"] == "User.Registered" and e["sub"] == sub)


def test_erasing_through_the_api(server: Server):
    project = project_on(server)
    api = Api(server, project)
    ada, bob = tokens_for(server, project, ADA), tokens_for(server, project, BOB)
    sub, bob_sub = sub_of(ada), sub_of(bob)
    signed_up = time.time()
    wait_for_outbox(server.data_dir, 2)  # their verification mails
    assert leftovers(server, ADA.encode()), "the address is where the test looks before the erasure"
    key = None if TEST_STORE else person_key(server.data_dir, project["project_id"], sub)
    assert TEST_STORE or key is not None

    assert api.send("DELETE", f"/users/{sub}", None).status_code == 204

    # The API knows them no more, now or in the past.
    assert api.get(f"/users/{sub}").status_code == 404
    assert api.get(f"/users/{sub}", at=rfc3339(signed_up)).status_code == 404
    assert api.get(f"/users/{sub}/events").status_code == 404
    assert api.get("/users", email=ADA).json()["users"] == []
    assert api.send("PATCH", f"/users/{sub}", {"disabled": False}).status_code == 404  # nothing left to manage
    assert api.send("PATCH", f"/users/{sub}/claims", {"team": "x"}).status_code == 404
    # Their tokens died.
    assert refresh(server.url, project, ada["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(server.url, project, ada["access_token"]) == {"active": False}
    assert userinfo(server, ada["access_token"]).status_code == 401
    # Idempotent; an unknown sub is 404.
    assert api.send("DELETE", f"/users/{sub}", None).status_code == 204
    assert api.send("DELETE", "/users/123456", None).status_code == 404

    # Nothing holds their address: no file of the data dir (events.db and its WAL, read.db,
    # person-keys.db, the outbox...), no table of a PostgreSQL store; nor their key.
    assert eventually(lambda: not leftovers(server, ADA.encode(), *([key] if key else []))), \
        leftovers(server, ADA.encode(), *([key] if key else []))
    events = exported(server.data_dir)
    assert ADA not in json.dumps(events)
    assert registered(events, sub)["email"] == "[erased]"
    assert [e for e in events if e["type"] == "User.Erased"][0]["sub"] == sub
    # Everyone else is as they were.
    assert registered(events, bob_sub)["email"] == BOB
    assert api.get(f"/users/{bob_sub}").json()["email"] == BOB
    assert refresh(server.url, project, bob["refresh_token"]).status_code == 200
    # The chain covers the sealed bytes: deleting a key changed none of them.
    assert audit_verify(server.data_dir) == 0

    # The address signs up again: a new person, with a new sub.
    again = tokens_for(server, project, ADA)
    assert sub_of(again) != sub and api.get(f"/users/{sub_of(again)}").json()["email"] == ADA


def test_erasing_with_the_cli_while_the_server_runs(server: Server):
    project = project_on(server)
    api = Api(server, project)
    ada = tokens_for(server, project, ADA)
    sub = sub_of(ada)
    wait_for_outbox(server.data_dir, 1)
    assert api.get(f"/users/{sub}").json()["email"] == ADA

    erased = run_cli("user", "erase", "--data-dir", str(server.data_dir), "--project", project["project_id"],
                     "--sub", sub)
    assert erased == {"project_id": project["project_id"], "sub": sub, "erased": True}
    # The server reads the erasure from the log (at its next poll; nudged here, as the
    # in-process CLI's writes are): it drops the person and forgets what it held of them.
    server.web_app[runner_key].nudge()
    assert eventually(lambda: api.get(f"/users/{sub}").status_code == 404)
    assert userinfo(server, ada["access_token"]).status_code == 401
    assert refresh(server.url, project, ada["refresh_token"]).json()["error"] == "invalid_grant"
    assert eventually(lambda: not leftovers(server, ADA.encode())), leftovers(server, ADA.encode())
    assert audit_verify(server.data_dir) == 0
    # Again: the same answer.
    assert run_cli("user", "erase", "--data-dir", str(server.data_dir), "--project", project["project_id"],
                   "--sub", sub) == erased
    # The server's remembered email index was forgotten too: the address is free at once.
    assert sub_of(tokens_for(server, project, ADA)) != sub


def test_the_cli_refuses_an_unknown_user(server: Server, capsys):
    project = project_on(server)
    assert cli.main(["user", "erase", "--data-dir", str(server.data_dir), "--project", project["project_id"],
                     "--sub", "42"]) == 1
    assert "no user '42'" in capsys.readouterr().err
    assert cli.main(["user", "erase", "--data-dir", str(server.data_dir), "--project", project["project_id"],
                     "--sub", "ada"]) == 2
    assert "a user's sub is a positive whole number" in capsys.readouterr().err


def test_only_the_erased_persons_outbox_files_go(tmp_path: Path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    theirs, other = "0f" * 16, "a1" * 16
    for message_id in (theirs, other):
        (outbox / f"{1700000000000:015d}-{message_id}.eml").write_bytes(b"To: x@example.org\r\n\r\nhi")
    assert forget_outbox_mail(outbox, [theirs]) == 1
    assert [p.name for p in outbox.iterdir()] == [f"{1700000000000:015d}-{other}.eml"]


def test_custom_claims_are_erased_with_the_rest(server: Server):
    """Custom claims hold whatever the project stores (a display name, a phone number): sealed
    like the address, in ClaimsChanged and in User snapshots, and gone after the erasure."""
    project = project_on(server)
    api = Api(server, project)
    sub = sub_of(tokens_for(server, project, ADA))
    changed = api.send("PATCH", f"/users/{sub}/claims", {"display_name": "Ada Lovelace", "phone": "+15550100"})
    assert changed.status_code == 200, changed.text
    assert api.get(f"/users/{sub}").json()["custom_claims"]["display_name"] == "Ada Lovelace"
    (claims,) = claims_changed(exported(server.data_dir), project["project_id"], sub)
    assert claims["changed"] == {"display_name": "Ada Lovelace", "phone": "+15550100"}  # opened with the key

    assert api.send("DELETE", f"/users/{sub}", None).status_code == 204
    needles = (b"Ada Lovelace", b"+15550100")
    assert eventually(lambda: not leftovers(server, *needles)), leftovers(server, *needles)
    events = exported(server.data_dir)
    assert "Ada Lovelace" not in json.dumps(events)
    (claims,) = claims_changed(events, project["project_id"], sub)
    assert claims["changed"] == {}  # an erased JSON field reads as an empty object
    assert audit_verify(server.data_dir) == 0


def claims_changed(events: list[dict], project_id: str, sub: str) -> list[dict]:
    user_id = str(User.create_id(project_id, sub))
    return [e for e in events if e["type"] == "User.ClaimsChanged" and e["aggregate_id"] == user_id]


def test_the_secret_being_replaced_cannot_erase(server: Server):
    """Erasing cannot be undone: whoever holds a leaked secret in its grace must not erase
    the project's users (as they cannot change its credentials)."""
    from tests.management.test_project_api import with_secret

    project = project_on(server)
    api = Api(server, project)
    sub = sub_of(tokens_for(server, project, ADA))
    rotated = api.send("POST", "/project/rotate-secret", {})
    assert rotated.status_code == 200, rotated.text
    refused = api.send("DELETE", f"/users/{sub}", None)
    assert refused.status_code == 403 and "new secret" in refused.json()["error_description"]
    new = Api(server, with_secret(project, rotated.json()["client_secret"]))
    assert new.get(f"/users/{sub}").json()["email"] == ADA
    assert new.send("DELETE", f"/users/{sub}", None).status_code == 204


def test_a_failure_after_the_erasure_is_saved_is_503_and_a_retry_finishes_it(server: Server, monkeypatch):
    """The key store or the throttle log failing once the erasure is saved: 503 (the API's
    error shape), the key still there; the retry deletes it and forgets the throttle hits,
    with the address the erasure event carries (no read model holds it any more)."""
    from astapa.app.erasure import ErasureCommands
    from astapa.web.appkeys import application_key

    project = project_on(server)
    api = Api(server, project)
    sub = sub_of(tokens_for(server, project, ADA))
    app = server.web_app[application_key]
    forgotten: list[tuple[str, str | None]] = []
    failing = {"now": True}  # every process reading the erasure meanwhile (the runner) fails too

    def flaky_forget(backend, project_id, email):
        if failing["now"]:
            raise sqlite3.OperationalError("database is locked")
        forgotten.append((project_id, email))

    monkeypatch.setattr("astapa.app.erasure.forget_throttled_address", flaky_forget)
    assert isinstance(app, ErasureCommands)
    failed = api.send("DELETE", f"/users/{sub}", None)
    assert failed.status_code == 503 and failed.json()["error"] == "temporarily_unavailable", failed.text
    if not TEST_STORE:
        assert person_key(server.data_dir, project["project_id"], sub) is not None  # not deleted yet
    failing["now"] = False
    assert api.send("DELETE", f"/users/{sub}", None).status_code == 204
    # Forgotten by whichever process deleted the key first (a cluster's other node may too).
    assert forgotten and set(forgotten) == {(project["project_id"], ADA)}
    if not TEST_STORE:
        assert person_key(server.data_dir, project["project_id"], sub) is None
