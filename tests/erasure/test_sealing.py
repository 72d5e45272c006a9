"""The sealing under the erasure (astapa/store/personal_data.py, person_keys.py), on an
application over a temporary SQLite store: what is stored, a crash between the erasure and
the key's deletion, a late event of an erased person, a sealed value moved elsewhere."""

import contextlib
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from astapa.app import KEEP, AstapaApplication
from astapa.domain.users import User
from astapa.store.personal_data import ERASED, PersonalDataError
from projections.runner import Runner
from tests.domain.test_accounts import REQUEST, WHERE

ADA, BOB = "ada@example.org", "bob@example.org"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


def open_app(events_db: Path) -> AstapaApplication:
    from astapa.crypto import LinkTokens

    app = AstapaApplication(events_db)
    app.link_tokens = LinkTokens(b"k" * 32)
    return app


def sign_up(app: AstapaApplication, email: str) -> str:
    return app.execute(app.register_user, REQUEST, WHERE, email, email, "$hash", 1000.0)[0].sub


def stored(app: AstapaApplication, suffix: str) -> list:
    return [n for n in app.recorder.select_notifications(start=1, limit=10_000) if n.topic.endswith(suffix)]


def has_key(events_db: Path, sub: str) -> bool:
    with contextlib.closing(sqlite3.connect(events_db.parent / "person-keys.db")) as db:
        row = db.execute("SELECT key FROM person_keys WHERE person = ?",
                         (User.create_id(REQUEST.project_id, sub).hex,)).fetchone()
    return row is not None and row[0] is not None


def test_personal_fields_are_stored_sealed_and_read_in_clear(store: Path):
    app = open_app(store)
    sub = sign_up(app, ADA)
    for suffix, field in (("User.Registered", "email"), ("EmailIndex.Registered", "email_key"),
                          ("ActionLink.Issued", "email"), ("Message.Queued", "to")):
        (notification,) = stored(app, suffix)
        assert ADA.encode() not in notification.state
        assert set(json.loads(notification.state)[field]) == {"sealed"}
        assert getattr(app.mapper.to_domain_event(notification), field) == ADA
    app._forget([User.create_id(REQUEST.project_id, sub)])
    assert app._user(REQUEST.project_id, sub).email == ADA
    app.close()


def test_a_crash_before_the_key_is_deleted_is_finished_by_the_next_reader(store: Path, tmp_path: Path):
    app = open_app(store)
    sub, other = sign_up(app, ADA), sign_up(app, BOB)
    app.execute(app.erase_user, REQUEST.project_id, sub, "test")  # saved; the process "dies" here
    assert has_key(store, sub)
    app.close()

    restarted = open_app(store)
    runner = Runner(restarted, tmp_path / "read.db")
    runner.catch_up()  # the read models pass the erasure only once its key is gone
    assert not has_key(store, sub) and has_key(store, other)
    assert [row[0] for row in runner.conn.execute("SELECT sub FROM users")] == [other]
    (registered,) = [e for e in map(restarted.mapper.to_domain_event, stored(restarted, "User.Registered"))
                     if e.sub == sub]
    assert registered.email == ERASED
    runner.conn.close()
    restarted.close()


def test_a_late_event_of_an_erased_person_is_written_erased(store: Path):
    """A mail server's answer arriving after the erasure is never sealed under a new key."""
    app = open_app(store)
    sub = sign_up(app, ADA)
    (queued,) = stored(app, "Message.Queued")
    app.execute(app.erase_user, REQUEST.project_id, sub, "test")
    app.erase_person_key(REQUEST.project_id, sub)
    app.execute(app.record_delivery, queued.originator_id, "smtp", f"250 queued for <{ADA}>")
    (delivered,) = stored(app, "Message.Delivered")
    assert json.loads(delivered.state)["reply"] == ERASED
    assert not has_key(store, sub)
    app.close()


def test_a_sealed_value_opens_nowhere_else(store: Path):
    """The associated data binds it to its event and field: moved to another event of the
    same person, it is refused, never shown."""
    app = open_app(store)
    sign_up(app, ADA)
    (registered,) = stored(app, "User.Registered")
    (link_issued,) = stored(app, "User.LinkIssued")
    # Registered's sealed email, as if it were the email of the user's later event.
    forged = replace(registered, originator_version=link_issued.originator_version)
    assert app.mapper.to_domain_event(registered).email == ADA
    with pytest.raises(PersonalDataError):
        app.mapper.to_domain_event(forged)
    app.close()


def test_custom_claims_are_sealed_in_events_and_snapshots_and_erased_as_an_empty_object(store: Path):
    app = open_app(store)
    sub = sign_up(app, ADA)
    user_id = User.create_id(REQUEST.project_id, sub)
    app.execute(app.change_claims, REQUEST.project_id, sub, {"display_name": "Ada Lovelace"}, [], KEEP, "test")
    app.take_snapshot(user_id)
    (claims,) = stored(app, "User.ClaimsChanged")
    (snapshot,) = app.snapshots.recorder.select_events(user_id)
    for record in (claims, snapshot):
        assert b"Ada Lovelace" not in record.state and ADA.encode() not in record.state
    assert app.mapper.to_domain_event(claims).changed == {"display_name": "Ada Lovelace"}
    assert app.mapper.to_domain_event(snapshot).state["custom_claims"]["display_name"] == "Ada Lovelace"

    app.execute(app.erase_user, REQUEST.project_id, sub, "test")
    app.erase_person_key(REQUEST.project_id, sub)
    assert app.mapper.to_domain_event(claims).changed == {}
    assert app.mapper.to_domain_event(snapshot).state["custom_claims"] == {}
    app._forget([user_id])
    erased = app.repository.get(user_id, version=snapshot.originator_version)  # from the snapshot, no error
    assert erased.custom_claims == {} and erased.email == ERASED
    app.close()


def test_a_passkeys_name_is_sealed_under_its_person(store: Path):
    from astapa.domain.passkeys import Passkey

    app = open_app(store)
    sub = sign_up(app, ADA)
    passkey = Passkey(credential_id="cred-1", project_id=REQUEST.project_id, sub=sub, public_key="pk",
                      sign_count=0, backed_up=False, aaguid="00", name="Ada's phone")
    app.save(passkey)
    (registered,) = stored(app, "Passkey.Registered")
    assert b"Ada's phone" not in registered.state
    assert app.mapper.to_domain_event(registered).name == "Ada's phone"
    app.execute(app.erase_user, REQUEST.project_id, sub, "test")
    app.erase_person_key(REQUEST.project_id, sub)
    assert app.mapper.to_domain_event(registered).name == ERASED
    app.close()


def test_the_migration_finds_the_recipient_of_mail_to_a_new_address_by_its_link():
    """Mail confirming a change of email goes to an address nobody held yet: its sub comes
    from the link it carries (ActionLink.Issued, saved before it)."""
    from uuid import uuid4

    from eventsourcing.utils import get_topic

    from astapa.domain.links import ActionLink
    from astapa.domain.mail import Message
    from astapa.store.personal_data import _People

    people = _People()
    user_id = User.create_id("p1", "42")
    people.learn(get_topic(User.Registered), {"project_id": "p1", "sub": "42", "email": ADA}, user_id)
    people.learn(get_topic(ActionLink.Issued), {"link_key": "lk-1", "project_id": "p1", "sub": "42",
                                                "email": "ada.new@example.org"}, uuid4())
    queued = {"project_id": "p1", "to": "ada.new@example.org", "kind": "change_email", "link_key": "lk-1"}
    assert people.complete(get_topic(Message.Queued), queued, uuid4())["sub"] == "42"
    # Without a link, still by who held the address.
    notice = {"project_id": "p1", "to": ADA, "kind": "notice", "link_key": None}
    assert people.complete(get_topic(Message.Queued), notice, uuid4())["sub"] == "42"


def test_a_log_with_events_and_no_sealed_marker_is_refused(store: Path):
    """A log written before sealing (here: its marker removed) makes servers refuse to start
    and erasures refuse to run, until `astapa log encrypt-personal-data`."""
    from astapa.store import sealing

    app = open_app(store)
    sub = sign_up(app, ADA)
    assert sealing.store_id(app) is not None  # a fresh store is sealed from its first event
    with app.recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {sealing.MARKER_TABLE}")
    app.close()

    app = open_app(store)  # not marked again: it has events
    with pytest.raises(sealing.LogNotSealedError, match="astapa log encrypt-personal-data"):
        sealing.require_sealed(app)
    with pytest.raises(sealing.LogNotSealedError):
        app.execute(app.erase_user, REQUEST.project_id, sub, "test")
    sealing.mark_sealed(app)  # what the migration does last
    sealing.require_sealed(app)
    app.close()
