"""Personal data in events: which fields hold it, whose it is, and the mapper sealing it.

The domain never sees any of this: `PersonalDataMapper` replaces each personal field of a
known event type with a sealed value as the event is stored, and opens it as the event is
read. Sealed: AES-256-GCM under the person's key (astapa/store/person_keys.py), a random
96-bit nonce, and as associated data the event's originator id, version and the field's
name, so a sealed value moved to another event or field does not open. Stored as the JSON
object {"sealed": "<base64url of nonce, ciphertext and tag>"}: a string field holds no
object, so an object there can only be a sealed value (a string prefix could be someone's
email). A JSON field (JSON_FIELDS: custom claims) is sealed as its JSON text under its own
marker, {"#sealed": ...}, a name no claim can take; erased, it reads ERASED_OBJECT ({}).

Reading a field whose person was erased (their key deleted) gives ERASED, "[erased]";
a None is never sealed (there is nothing to hide) and stays None. Values written before
this existed are plaintext strings and read as they are, until the operator runs
`astapa log encrypt-personal-data` (seal_existing_events below; docs/guides/erasure.md),
which seals them in place.

The person of an event (see person_of): the User aggregate's id (hex) — for the User's own
events their originator id; for other aggregates the (project_id, sub) the event names, or
`user_id` where an event names only that. An event whose person is unknown (a console
invitation to someone who has no account) is stored as it is.

The mapper also notices erasures as it reads them: decoding `User.Erased` (whose `email`
is sealed too, for what must forget it before the key goes) deletes the person's key if it
is still there (so an erasure whose process died between saving the
event and deleting the key completes in the next process that reads the log, at the latest
before any read model moves past the event) and tells the listeners (the EventStore forgets
the aggregates it remembers of that person).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from astapa.domain.identities import ExternalSignIn, Identity
from astapa.domain.links import ActionLink
from astapa.domain.mail import Message
from astapa.domain.passkeys import Passkey
from astapa.domain.errors import InvalidEmailError
from astapa.domain.users import EmailIndex, User, normalise_email
from astapa.store.chain import rebuild_chain
from astapa.store.person_keys import CachedPersonKeys

log = logging.getLogger("astapa.personal_data")

ERASED = "[erased]"
SEALED = "sealed"
# A JSON field (JSON_FIELDS) sealed: its own marker, a name no custom claim can take
# (CLAIM_NAME starts with a letter), so a claims object is never mistaken for a sealed one.
SEALED_JSON = "#sealed"
# What an erased JSON field reads as: an empty object, so a User replays (claims.update({}))
# and loads from a snapshot without errors; their claims are gone with the rest.
ERASED_OBJECT: dict = {}
# Personal fields holding a JSON object (custom claims: whatever a project stores, display
# names, phone numbers), not a string: sealed as their JSON text.
JSON_FIELDS = frozenset({"changed", "custom_claims"})
NONCE_SIZE = 12
AD_PREFIX = "astapa personal data v1"


def person_id(project_id: str, sub: str) -> str:
    """A person: their User aggregate's id, hex."""
    return User.create_id(project_id, sub).hex


def _originator(state: dict, originator_id: UUID) -> str | None:
    """The User's own events: their person is the aggregate itself (the state is not needed)."""
    return originator_id.hex


def _named_user(state: dict, originator_id: UUID) -> str | None:
    project_id, sub = state.get("project_id"), state.get("sub")
    return person_id(project_id, sub) if project_id and sub else None


def _user_id(state: dict, originator_id: UUID) -> str | None:
    return state.get("user_id") or None


@dataclass(frozen=True)
class Rule:
    """An event type's personal fields, and how to find whose they are."""

    fields: tuple[str, ...]
    person: Callable[[dict, UUID], str | None]


# The authoritative list (docs/guides/erasure.md shows it as a table). Every other field of
# every event holds no personal data: ids (sub is a random number), hashes of secrets, sealed
# second-factor seeds, times, settings.
RULES: dict[str, Rule] = {
    get_topic(User.Registered): Rule(("email",), _originator),
    get_topic(User.EmailVerified): Rule(("email",), _originator),
    get_topic(User.EmailChanged): Rule(("email", "previous"), _originator),
    get_topic(User.IdentityLinked): Rule(("subject", "email"), _originator),
    # Custom claims hold whatever the project stores about the person (JSON_FIELDS).
    get_topic(User.ClaimsChanged): Rule(("changed",), _originator),
    get_topic(EmailIndex.Registered): Rule(("email_key",), _named_user),
    get_topic(EmailIndex.Claimed): Rule(("email_key",), _named_user),
    # The authorization request a link continues: its query may hold a login_hint.
    get_topic(ActionLink.Issued): Rule(("email", "authorization"), _named_user),
    get_topic(Message.Queued): Rule(("to",), _named_user),
    # What the mail server answered may quote the recipient's address.
    get_topic(Message.Delivered): Rule(("reply",), _user_id),
    get_topic(Message.DeliveryFailed): Rule(("error",), _user_id),
    get_topic(Message.Bounced): Rule(("error",), _user_id),
    get_topic(ExternalSignIn.LinkOffered): Rule(("subject", "email"), _named_user),
    get_topic(Identity.Linked): Rule(("subject", "email"), _named_user),
    get_topic(Identity.Relinked): Rule(("email",), _named_user),
    get_topic(Passkey.Registered): Rule(("name",), _named_user),
    # The address the erasure forgets throttle hits under (astapa/app/erasure.py).
    get_topic(User.Erased): Rule(("email",), _originator),
}
# Snapshots of these aggregates copy these personal attributes of their state.
SNAPSHOT_FIELDS: dict[str, tuple[str, ...]] = {get_topic(User): ("email", "custom_claims")}
ERASURE_TOPIC = get_topic(User.Erased)
SNAPSHOT_TOPIC = get_topic(Snapshot)


def is_sealed(value: object, field: str = "") -> bool:
    marker = SEALED_JSON if field in JSON_FIELDS else SEALED
    return isinstance(value, dict) and set(value) == {marker} and isinstance(value[marker], str)


def is_clear(value: object, field: str) -> bool:
    """A value in clear, to be sealed: a string, or for a JSON field an object (a None is
    never sealed; ERASED in a JSON field is what an erased person's late event holds)."""
    if field in JSON_FIELDS:
        return isinstance(value, dict) and not is_sealed(value, field)
    return isinstance(value, str)


def associated_data(originator_id: UUID, version: int, field: str) -> bytes:
    return f"{AD_PREFIX}|{originator_id.hex}|{version}|{field}".encode()


def seal(key: bytes, value: Any, originator_id: UUID, version: int, field: str) -> dict:
    """`field`: the name in the associated data (a snapshot's prefixed); its last part says
    whether the value is a JSON field's object."""
    json_field = field.rpartition(".")[2] in JSON_FIELDS
    text = json.dumps(value, sort_keys=True, separators=(",", ":")) if json_field else value
    nonce = os.urandom(NONCE_SIZE)
    sealed = nonce + AESGCM(key).encrypt(nonce, text.encode("utf-8"), associated_data(originator_id, version, field))
    return {SEALED_JSON if json_field else SEALED: base64.urlsafe_b64encode(sealed).decode("ascii")}


def open_sealed(key: bytes | None, value: dict, originator_id: UUID, version: int, field: str) -> Any:
    """The value, or ERASED (ERASED_OBJECT for a JSON field) when the person's key is gone.
    A value that does not open under the person's key was altered (or moved): refused,
    never shown as something else."""
    json_field = field.rpartition(".")[2] in JSON_FIELDS
    if key is None:
        return dict(ERASED_OBJECT) if json_field else ERASED
    try:
        sealed = base64.urlsafe_b64decode(value[SEALED_JSON if json_field else SEALED])
        text = AESGCM(key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:],
                                   associated_data(originator_id, version, field)).decode("utf-8")
        return json.loads(text) if json_field else text
    except (InvalidTag, ValueError, binascii.Error):  # json's and UTF-8's errors are ValueErrors
        raise PersonalDataError(f"a sealed {field!r} of {originator_id} v{version} does not open") from None


class PersonalDataError(ValueError):
    """A sealed field that does not open under its person's key."""


def personal_fields(topic: str, state: dict) -> tuple[tuple[str, ...], str]:
    """(personal fields of an event's state, prefix of their names in the associated data)."""
    if topic == SNAPSHOT_TOPIC:
        return SNAPSHOT_FIELDS.get(state.get("topic", ""), ()), "snapshot."
    rule = RULES.get(topic)
    return (rule.fields if rule else ()), ""


def person_of(topic: str, state: dict, originator_id: UUID) -> str | None:
    if topic == SNAPSHOT_TOPIC:
        return originator_id.hex if state.get("topic") in SNAPSHOT_FIELDS else None
    rule = RULES.get(topic)
    return rule.person(state, originator_id) if rule else None


def sealed_state(keys: CachedPersonKeys, topic: str, state: dict, originator_id: UUID, version: int) -> dict:
    """`state` with its personal fields sealed (a new dict; the same one when there are none).
    An erased person's field is written as ERASED: never under a key made anew."""
    fields, prefix = personal_fields(topic, state)
    inner = state.get("state") if prefix else state
    present = [f for f in fields if isinstance(inner, dict) and is_clear(inner.get(f), f)]
    if not present:
        return state
    person = person_of(topic, state, originator_id)
    if person is None:
        return state
    key = keys.key(person, create=True)
    changed = dict(inner)
    for field in present:
        changed[field] = ERASED if key is None else seal(key, changed[field], originator_id, version, prefix + field)
    return {**state, "state": changed} if prefix else changed


def opened_state(keys: CachedPersonKeys, topic: str, state: dict, originator_id: UUID, version: int) -> dict:
    """`state` with its sealed fields opened (ERASED where the person's key is gone)."""
    fields, prefix = personal_fields(topic, state)
    inner = state.get("state") if prefix else state
    sealed = [f for f in fields if isinstance(inner, dict) and is_sealed(inner.get(f), f)]
    # A JSON field written for an erased person holds ERASED: it reads as ERASED_OBJECT.
    erased = [f for f in fields if f in JSON_FIELDS and isinstance(inner, dict) and inner.get(f) == ERASED]
    if not sealed and not erased:
        return state
    person = person_of(topic, state, originator_id)
    key = keys.key(person) if person else None
    changed = dict(inner)
    for field in sealed:
        changed[field] = open_sealed(key, changed[field], originator_id, version, prefix + field)
    for field in erased:
        changed[field] = dict(ERASED_OBJECT)
    return {**state, "state": changed} if prefix else changed


class PersonalDataMapper(Mapper):
    """eventsourcing's Mapper, sealing personal fields on the way in and opening them on the
    way out (see the module's docstring)."""

    def __init__(self, transcoder: Any, keys: Callable[[], CachedPersonKeys]) -> None:
        """`keys`: the person keys, asked for only when an event has personal data (a
        PostgreSQL store's need ASTAPA_SECRET_KEY; a process reading none never opens them)."""
        super().__init__(transcoder=transcoder)
        self.keys = keys
        self.before_erasure: list[Callable[[Any], None]] = []  # with each User.Erased, before its key goes
        self.erasure_listeners: list[Callable[[Any], None]] = []  # called with each User.Erased read
        self._erasures_seen: set[UUID] = set()  # whose erasure this process has handled

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        topic = get_topic(type(domain_event))
        state = vars(domain_event)
        if personal_fields(topic, state)[0]:
            sealed = sealed_state(self.keys(), topic, state, domain_event.originator_id,
                                  domain_event.originator_version)
            if sealed is not state:
                copy = object.__new__(type(domain_event))
                object.__setattr__(copy, "__dict__", sealed)
                domain_event = copy
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        topic = stored_event.topic
        state = domain_event.__dict__
        if personal_fields(topic, state)[0]:
            object.__setattr__(domain_event, "__dict__", opened_state(
                self.keys(), topic, state, domain_event.originator_id, domain_event.originator_version))
        if topic == ERASURE_TOPIC:
            self.erased(domain_event)
        return domain_event

    def prefetch_keys(self, stored_events: list[StoredEvent]) -> None:
        """The keys of the persons of these events, read at once (one query on PostgreSQL)
        into the cache, before the events are decoded one by one (the projections runner's
        batches). A User event's person is its originator; others' are read from the state."""
        persons = set()
        for stored in stored_events:
            rule = RULES.get(stored.topic)
            if rule is None:
                continue
            originator_id = stored.originator_id if isinstance(stored.originator_id, UUID) \
                else UUID(str(stored.originator_id))
            state = {} if rule.person is _originator else self.transcoder.decode(stored.state)
            person = rule.person(state, originator_id)
            if person:
                persons.add(person)
        if persons:
            self.keys().prefetch(persons)

    def erased(self, erasure: Any) -> None:
        """A person's erasure (their User.Erased, opened) was read or made: what must be done
        while their data still opens is done (`before_erasure`: the throttle log forgets
        their address), then their key goes, then the listeners are told (the store forgets
        what it remembers of them); once per process, and again after a failure: reading the
        event again (loading the erased user) changes nothing more."""
        if erasure.originator_id in self._erasures_seen:
            return
        for hook in self.before_erasure:
            hook(erasure)
        self.keys().erase(erasure.originator_id.hex)
        for listener in self.erasure_listeners:
            listener(erasure)
        self._erasures_seen.add(erasure.originator_id)


# -- sealing a log written before personal data was sealed ---------------------------------

MIGRATION_BATCH = 1000


@dataclass
class _People:
    """Who the personal data of older events belongs to, learnt from the log in order: the
    address each user held (a message's recipient is the user who held its address when it
    was queued), each mailed link's user (mail to an address being changed to, which no one
    held yet), each message's recipient, each sign-in trip's project."""

    by_address: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    users: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)  # user id hex -> (project_id, sub)
    links: dict[str, str] = dataclasses.field(default_factory=dict)  # link_key -> the sub it was mailed to
    messages: dict[str, str] = dataclasses.field(default_factory=dict)  # message id hex -> the recipient's user id hex
    trips: dict[str, str] = dataclasses.field(default_factory=dict)  # external sign-in id hex -> project_id

    def learn(self, topic: str, state: dict, originator_id: UUID) -> None:
        def holds(project_id: str, address: str, sub: str) -> None:
            try:
                self.by_address[(project_id, normalise_email(address)[1])] = sub
            except InvalidEmailError:
                pass

        if topic == get_topic(User.Registered):
            self.users[originator_id.hex] = (state["project_id"], state["sub"])
            holds(state["project_id"], state["email"], state["sub"])
        elif topic == get_topic(User.EmailChanged) and originator_id.hex in self.users:
            project_id, sub = self.users[originator_id.hex]
            holds(project_id, state["email"], sub)
        elif topic in (get_topic(EmailIndex.Registered), get_topic(EmailIndex.Claimed)):
            self.by_address[(state["project_id"], state["email_key"])] = state["sub"]
        elif topic == get_topic(ActionLink.Issued) and state.get("link_key") and state.get("sub"):
            self.links[state["link_key"]] = state["sub"]
        elif topic == get_topic(ExternalSignIn.Started):
            self.trips[originator_id.hex] = state["project_id"]

    def complete(self, topic: str, state: dict, originator_id: UUID) -> dict:
        """`state` with the field naming its person added where an older event lacks it."""
        if topic == get_topic(Message.Queued) and not state.get("sub") and isinstance(state.get("to"), str):
            sub = self._recipient(state)
            if sub is not None:
                state = {**state, "sub": sub}
        if topic == get_topic(Message.Queued) and state.get("sub"):
            self.messages[originator_id.hex] = person_id(state["project_id"], state["sub"])
        elif RULES.get(topic) is not None and RULES[topic].person is _user_id and not state.get("user_id"):
            if originator_id.hex in self.messages:
                state = {**state, "user_id": self.messages[originator_id.hex]}
        elif topic == get_topic(ExternalSignIn.LinkOffered) and not state.get("project_id"):
            if originator_id.hex in self.trips:
                state = {**state, "project_id": self.trips[originator_id.hex]}
        return state

    def _recipient(self, queued: dict) -> str | None:
        """The sub an older Message.Queued was for: its link's user first (a change of email
        mails the new address, held by no one yet), else whoever held the address."""
        if queued.get("link_key") in self.links:
            return self.links[queued["link_key"]]
        try:
            return self.by_address.get((queued["project_id"], normalise_email(queued["to"])[1]))
        except InvalidEmailError:
            return None


def seal_existing_events(app: Any) -> dict:
    """`astapa log encrypt-personal-data`: seal, in place and in one transaction, the personal
    fields of every event stored before they were sealed (adding the field naming their
    person where an older event lacks it), read and rewritten in batches of MIGRATION_BATCH
    (never the whole log in memory); delete the snapshots (they copy plaintext, and are
    taken again); mark the store sealed (astapa/store/sealing.py); then VACUUM so no
    plaintext stays in the files' free pages, and rebuild the hash chain over the rewritten
    events. The caller makes sure no server runs (astapa/cli.py takes the data dir's lock,
    or a PostgreSQL store's jobs leadership). Running it again changes nothing (sealed
    fields are left as they are)."""
    from astapa.store import sealing

    keys, transcoder = app.mapper.keys(), app.mapper.transcoder
    people = _People()
    events_table = app.recorder.events_table_name
    postgres = app.person_keys.store_url is not None
    placeholder, position = ("%s", "notification_id") if postgres else ("?", "rowid")
    count = sealed_count = snapshots = 0
    with app.recorder.datastore.transaction(commit=True) as cursor:
        if postgres:  # the sealing between batches leaves the session idle longer than its 5 s
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        after = 0
        while True:
            cursor.execute(f"SELECT {position} AS position, originator_id, originator_version, topic, state"
                           f" FROM {events_table} WHERE {position} > {placeholder} ORDER BY {position}"
                           f" LIMIT {MIGRATION_BATCH}", (after,))
            batch = cursor.fetchall()
            if not batch:
                break
            changes = []
            for row in batch:
                count += 1
                resealed = _resealed(keys, transcoder, people, row)
                if resealed is not None:
                    changes.append((resealed, row["originator_id"], row["originator_version"]))
            # The rows as each recorder stores them (SQLite: the id as hex text).
            cursor.executemany(f"UPDATE {events_table} SET state = {placeholder} WHERE originator_id ="
                               f" {placeholder} AND originator_version = {placeholder}", changes)
            sealed_count += len(changes)
            after = batch[-1]["position"]
        snapshots = _delete_snapshots(app, cursor)
        # In the same transaction: the chain over the rewritten events, and the marker that
        # lets servers start. A failure anywhere before the commit leaves the log as it was.
        rebuild_chain(app.recorder, cursor)
        sealing.mark_sealed_within(app, cursor)
    _compact(app)  # last: it needs room to copy the database, and changes no byte that counts
    return {"events": count, "sealed": sealed_count, "snapshots_deleted": snapshots}


def _resealed(keys: CachedPersonKeys, transcoder: Any, people: _People, row: Any) -> bytes | None:
    """The stored state of one event with its personal fields sealed; None: nothing to seal."""
    stored = row["originator_id"]
    originator_id = stored if isinstance(stored, UUID) else UUID(str(stored))
    topic, version = row["topic"], row["originator_version"]
    state = transcoder.decode(bytes(row["state"]))
    people.learn(topic, opened_state(keys, topic, state, originator_id, version), originator_id)
    completed = people.complete(topic, state, originator_id)
    sealed = sealed_state(keys, topic, completed, originator_id, version)
    return None if sealed is state else transcoder.encode(sealed)


def _delete_snapshots(app: Any, cursor: Any) -> int:
    """The snapshots go (they copy plaintext; taken again as users are loaded): how many."""
    if app.snapshots is None:
        return 0
    snapshots_table = app.snapshots.recorder.events_table_name
    cursor.execute(f"SELECT count(*) AS n FROM {snapshots_table}")
    row = cursor.fetchone()  # a mapping (PostgreSQL) or a sqlite3.Row: both take the name
    cursor.execute(f"DELETE FROM {snapshots_table}")
    return int(row["n"])


def _compact(app: Any) -> None:
    """No copy of the plaintext left in the store's files: SQLite's free pages and WAL;
    PostgreSQL's dead row versions (VACUUM FULL rewrites the tables)."""
    url = app.person_keys.store_url
    if url is None:
        _vacuum_sqlite(app.person_keys.events_db)
        return
    from astapa.store.postgres import connect

    tables = [app.recorder.events_table_name]
    if app.snapshots is not None:
        tables.append(app.snapshots.recorder.events_table_name)
    with connect(url) as connection:
        for table in tables:
            connection.execute(f"VACUUM FULL {table}")


def _vacuum_sqlite(path: Any) -> None:
    """VACUUM writes every page anew and truncates the file; the WAL is then copied in and
    truncated too."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
