"""Everything Astapa needs from PostgreSQL, for several server nodes sharing one database.

- `store_env`: the eventsourcing settings for a postgresql:// URL. The recorders it names
  fail fast while the database is down and recover at once when it is back (see below).
- `listen`: a thread that wakes a follower whenever any node commits events.
- `SecretBox` and `PostgresVault`: secrets kept in the database, sealed with AES-GCM.
- `PostgresLeadership`: one node at a time runs the jobs only one node should run.
- `PostgresThrottleLog`: the throttles' hits shared between nodes (astapa.store.throttle_log).

Errors: every connection failure reaches the caller as eventsourcing's OperationalError or
InterfaceError (both PersistenceError, which the web layer answers with 503).

Failing fast and recovering fast. eventsourcing retries each recorder call ten times, and
psycopg's pool waits longer and longer between its reconnection attempts (1 s, 2 s, 4 s...
for five minutes), so while the database was down a save stalled for 10 to 20 s, and the
first save after it came back could wait 15 s for the pool's next attempt. Here a call fails once a connection cannot be had within
CONNECT_TIMEOUT; each pooled connection is checked (one round trip) as it is handed out, so
connections the database dropped while idle are replaced at once instead of failing a
caller; and the pool gives up a reconnection attempt after RECONNECT_TIMEOUT, so the next
caller after an outage starts a new attempt instead of waiting for a far-off one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError
from eventsourcing.postgres import (
    ConnectionPool,
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from eventsourcing.utils import get_topic
from psycopg import sql

from astapa.store.chain import CHAIN_TABLE, links_for, start_chain
from astapa.store.throttle_log import MAX_HITS_READ, Hit, SeenHit

if TYPE_CHECKING:
    from eventsourcing.utils import Environment, EnvType

log = logging.getLogger("astapa.postgres")

T = TypeVar("T")

CONNECT_TIMEOUT = 2  # seconds (libpq takes whole seconds) to get a connection, else fail
RECONNECT_TIMEOUT = 0.5  # seconds the pool keeps retrying one failed connection attempt
POOL_SIZE = 5  # connections kept open per process
MAX_OVERFLOW = 10  # more opened under load, closed when idle
LOCK_TIMEOUT = 5  # seconds a save waits for the events table's lock
IDLE_IN_TRANSACTION_TIMEOUT = 5  # seconds before the server ends a stuck transaction
RELISTEN_DELAY = 0.5  # seconds between a lost LISTEN connection and the next attempt
# A peer that stops answering (a partition, a powered-off host) is given up within about
# 5 s, sending or idle, so callers answer 503 rather than hang.
CONNECTION_OPTIONS = {"connect_timeout": CONNECT_TIMEOUT, "keepalives": 1, "keepalives_idle": 5,
                      "keepalives_interval": 2, "keepalives_count": 2, "tcp_user_timeout": 5_000}
# The URL's only ?parameters: libpq's TLS settings (sslmode=verify-full with sslrootcert is
# what a database on another host should be given).
TLS_PARAMETERS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl")
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
TLS_SETTING = "ASTAPA_POSTGRES_TLS"


# --- Settings --------------------------------------------------------------------------


class DatabaseUrl(NamedTuple):
    host: str
    port: int
    dbname: str
    user: str
    password: str
    tls: dict[str, str]

    def connection_arguments(self) -> dict[str, Any]:
        """What psycopg.connect takes: never the URL itself, which libpq may quote back in
        an error, password included."""
        return {"host": self.host, "port": self.port, "dbname": self.dbname, "user": self.user,
                "password": self.password, **self.tls}


def parse_url(url: str) -> DatabaseUrl:
    """The parts of a postgresql:// (or postgres://) URL, percent-decoded; ValueError if one
    is missing or malformed. Its messages never quote the URL: its password could be in any
    part a malformed URL is split into. The only ?parameters taken are libpq's TLS settings
    (TLS_PARAMETERS); any other would be silently ignored, so it is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("not a postgresql:// URL")
    if BAD_ESCAPE.search(parts.netloc):
        raise ValueError("a malformed %-escape in the PostgreSQL URL's user or password")
    try:
        port = parts.port or 5432
    except ValueError:
        raise ValueError("a bad port in the PostgreSQL URL (a '/' in the password must be written %2F)") from None
    dbname = unquote(parts.path.lstrip("/"))
    missing = [name for name, value in (("host", parts.hostname), ("database name", dbname),
                                        ("user", parts.username)) if not value]
    if missing:
        raise ValueError(f"no {' or '.join(missing)} in the PostgreSQL URL")
    tls = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(tls) - set(TLS_PARAMETERS))
    if unknown or parts.fragment:
        raise ValueError(f"the PostgreSQL URL takes only {', '.join(TLS_PARAMETERS)} as ?parameters"
                         + (f", not {', '.join(unknown)}" if unknown else ""))
    return DatabaseUrl(parts.hostname, port, dbname, unquote(parts.username),
                       unquote(parts.password or ""), tls)


def redact(url: str) -> str:
    """The URL for logs and error messages: user, host, port and database, never the
    password (nor anything of a URL that does not parse, where it could be anywhere)."""
    try:
        database = parse_url(url)
    except ValueError:
        return "an unusable PostgreSQL URL"
    return f"postgresql://{database.user}:***@{database.host}:{database.port}/{database.dbname}"


def store_env(url: str) -> dict[str, str]:
    """The eventsourcing environment for an event store in the database at `url`.

    POSTGRES_ENABLE_DB_FUNCTIONS stays unset: its insert function does not lock the table,
    so notification ids could commit out of order and a follower would skip events."""
    database = parse_url(url)
    return {
        "PERSISTENCE_MODULE": get_topic(AstapaPostgresFactory),
        "APPLICATION_RECORDER_TOPIC": get_topic(FailFastApplicationRecorder),
        "POSTGRES_DBNAME": database.dbname,
        "POSTGRES_HOST": database.host,
        "POSTGRES_PORT": str(database.port),
        "POSTGRES_USER": database.user,
        "POSTGRES_PASSWORD": database.password,
        "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "POSTGRES_POOL_SIZE": str(POOL_SIZE),
        "POSTGRES_MAX_OVERFLOW": str(MAX_OVERFLOW),
        "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(IDLE_IN_TRANSACTION_TIMEOUT),
        TLS_SETTING: json.dumps(database.tls),  # eventsourcing has no setting of its own for these
    }


def notify_channel(application_name: str) -> str:
    """The channel eventsourcing NOTIFYs in every transaction that inserts an application's
    events (its events table's name); delivered to listeners when that transaction commits."""
    return f"{application_name.lower()}_events"


NOTIFY_CHANNEL = notify_channel("astapa")  # astapa.store.events.EventStore.name


# --- The event store ---------------------------------------------------------------------


class CheckedConnectionPool(ConnectionPool):
    """eventsourcing's pool, handing out only connections that answer.

    psycopg's own `check` option sleeps (1 s, then 2 s) between failed checks, so a pool of
    connections that all died in a restart would time the caller out. Here the first dead
    connection found makes the pool test all the idle ones and replace the dead ones at once.
    """

    def getconn(self, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        connection = super().getconn(timeout)
        try:
            self.check_connection(connection)
        except psycopg.Error:
            self.putconn(connection)  # broken: the pool closes it and opens another
            self.check()  # the other idle ones dropped with it, replaced now too
            return super().getconn(max(deadline - time.monotonic(), 0.01))
        return connection


def _recover_fast(pool: ConnectionPool, tls: dict[str, str]) -> None:
    """Make the datastore's pool fail and recover fast (see the module's docstring), and
    connect with the URL's TLS settings.

    eventsourcing builds its pool itself, with no way to choose its class or these options;
    the pool is not open yet, and CheckedConnectionPool only adds a method."""
    pool.__class__ = CheckedConnectionPool
    pool.reconnect_timeout = RECONNECT_TIMEOUT
    pool.kwargs.update(CONNECTION_OPTIONS)  # also bounds the pool's background connects
    pool.kwargs.update(tls)


def _unretried(method: Callable[..., T]) -> Callable[..., T]:
    """The recorder method without eventsourcing's @retry (ten attempts 0.2 s apart)."""
    return method.__wrapped__  # type: ignore[attr-defined]


class FailFastAggregateRecorder(PostgresAggregateRecorder):
    """Snapshots: one attempt per call."""

    insert_events = _unretried(PostgresAggregateRecorder.insert_events)
    select_events = _unretried(PostgresAggregateRecorder.select_events)


class FailFastApplicationRecorder(PostgresApplicationRecorder):
    """Events and notifications: one attempt per call (the caller answers 503 and the client
    tries again, rather than a save holding the writer thread for 20 s)."""

    insert_events = _unretried(PostgresApplicationRecorder.insert_events)
    select_events = _unretried(PostgresAggregateRecorder.select_events)
    select_notifications = _unretried(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _unretried(PostgresApplicationRecorder.max_notification_id)

    # The hash chain (astapa.store.chain): each event's link is written in its transaction,
    # under the EXCLUSIVE lock the recorder takes before inserting, so the head it reads is
    # the last committed one whatever the number of nodes.

    @property
    def chain_table(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.datastore.schema), sql.Identifier(CHAIN_TABLE))

    def _create_table(self, curs: Any) -> None:
        super()._create_table(curs)
        curs.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, previous bigint NOT NULL,"
                             " hash bytea NOT NULL)").format(self.chain_table))
        self._lock_table(curs)
        curs.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(self.chain_table))
        if curs.fetchone() is None:
            self._link_all(curs)

    def relink(self) -> None:
        """Link every event again, in one transaction (astapa.store.chain.rebuild_chain)."""
        with self.datastore.transaction(commit=True) as curs:
            self.relink_within(curs)

    def relink_within(self, curs: Any) -> None:
        """Link every event again, in the caller's transaction."""
        self._lock_table(curs)
        curs.execute(sql.SQL("DELETE FROM {}").format(self.chain_table))
        self._link_all(curs)

    def _link_all(self, curs: Any) -> None:
        events = sql.SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{}"
                         " ORDER BY notification_id").format(sql.Identifier(self.datastore.schema),
                                                             sql.Identifier(self.events_table_name))
        insert = sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self.chain_table)
        with curs.connection.cursor(name="astapa_chain_start") as stored:  # streamed, not all at once
            stored.itersize = 10_000
            stored.execute(events)
            start_chain((tuple(row.values()) for row in stored), lambda batch: curs.executemany(insert, batch))

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Any, **kwargs: Any) -> Any:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if positions:
            curs.execute(sql.SQL("SELECT position, hash FROM {} ORDER BY position DESC LIMIT 1")
                         .format(self.chain_table))
            row = curs.fetchone()
            head = (row["position"], bytes(row["hash"])) if row is not None else None
            curs.executemany(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self.chain_table),
                             links_for(head, positions, stored_events))
        return positions


class AstapaPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL persistence with the fail-fast recorders (snapshots too:
    only the factory chooses the snapshot recorder's class) and the fast-recovering pool."""

    aggregate_recorder_class = FailFastAggregateRecorder
    application_recorder_class = FailFastApplicationRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        _recover_fast(self.datastore.pool, json.loads(self.env.get(TLS_SETTING) or "{}"))


# --- Connections of our own --------------------------------------------------------------


def connect(url: str) -> psycopg.Connection:
    """A new autocommit connection to `url`, given up after CONNECT_TIMEOUT."""
    return psycopg.connect(autocommit=True, **parse_url(url).connection_arguments(), **CONNECTION_OPTIONS)


def _translated(error: psycopg.Error) -> PersistenceError:
    """The eventsourcing error for a psycopg one, as the event store raises them."""
    if isinstance(error, psycopg.OperationalError):
        return OperationalError(str(error))
    if isinstance(error, psycopg.InterfaceError):
        return InterfaceError(str(error))
    return PersistenceError(str(error))


class _Session:
    """One connection, opened when first needed and shared under a lock.

    A connection that idled through a database restart is dead, which shows only when it is
    used: then the work is done once more on a new connection. Work that fails on a new
    connection is not tried again. Errors come out as eventsourcing's (see `_translated`).
    """

    def __init__(self, url: str) -> None:
        parse_url(url)
        self._url = url
        self._connection: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def run(self, work: Callable[[psycopg.Connection], T]) -> T:
        with self._lock:
            try:
                return self._run_once_more_if_stale(work)
            except psycopg.Error as error:
                raise _translated(error) from error

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _run_once_more_if_stale(self, work: Callable[[psycopg.Connection], T]) -> T:
        stale_possible = self._connection is not None
        try:
            return work(self._connected())
        except psycopg.Error:
            if not (self._drop_if_broken() and stale_possible):
                raise
        return work(self._connected())

    def _connected(self) -> psycopg.Connection:
        if self._connection is None:
            self._connection = connect(self._url)
        return self._connection

    def _drop_if_broken(self) -> bool:
        if self._connection is not None and (self._connection.broken or self._connection.closed):
            self._drop()
            return True
        return False

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _create_table(connection: psycopg.Connection, *statements: str) -> None:
    """CREATE ... IF NOT EXISTS, one node at a time: two at once can still collide."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('astapa schema'))")
        for statement in statements:
            connection.execute(statement)


def create_tables(connection: psycopg.Connection, *statements: str) -> None:
    """_create_table, for the store's other modules (astapa/store/sealing.py)."""
    _create_table(connection, *statements)


# --- Notifications -----------------------------------------------------------------------


def listen(url: str, channel: str, on_notify: Callable[[], None],
           stopping: threading.Event) -> threading.Thread:
    """A daemon thread calling `on_notify()` for each NOTIFY on `channel`, until `stopping`.

    Also once when the connection is lost and once each time LISTEN starts, since commits
    made meanwhile were announced to nobody: the follower looks then. Never raises."""
    parse_url(url)
    listener = _Listener(url, channel, on_notify, stopping)
    thread = threading.Thread(target=listener.run, name=f"listen {channel}", daemon=True)
    thread.start()
    return thread


class _Listener:
    def __init__(self, url: str, channel: str, on_notify: Callable[[], None],
                 stopping: threading.Event) -> None:
        self.url = url
        self.channel = channel
        self.on_notify = on_notify
        self.stopping = stopping
        self.listening = False
        self.outage_logged = False

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._listen_until_lost()
            except Exception as error:  # psycopg's, mostly: the connection is gone
                self._lost(error)
                self.stopping.wait(RELISTEN_DELAY)

    def _listen_until_lost(self) -> None:
        with connect(self.url) as connection:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.listening, self.outage_logged = True, False
            self._notify()
            while not self.stopping.is_set():
                for _ in connection.notifies(timeout=RELISTEN_DELAY, stop_after=1):
                    self._notify()

    def _lost(self, error: Exception) -> None:
        """Tell the follower once when listening stops; warn once per outage, then quietly."""
        if self.listening:
            self.listening = False
            self._notify()
        level = logging.DEBUG if self.outage_logged else logging.WARNING
        self.outage_logged = True
        log.log(level, "LISTEN %s on %s: %s; trying again", self.channel, redact(self.url), error)

    def _notify(self) -> None:
        try:
            self.on_notify()
        except Exception:
            log.exception("on_notify for %s failed", self.channel)


# --- Secrets -----------------------------------------------------------------------------


class WrongSecretKey(PersistenceError):
    """A sealed secret did not open: another secret key sealed it, or it was moved, or changed.
    A persistence error: a request that meets one is answered 503, and the log says why."""


MIN_SECRET_KEY_LENGTH = 32
NONCE_SIZE = 12


class SecretBox:
    """AES-256-GCM with a key derived from the secret key (HKDF-SHA256).

    The secret's name is authenticated with it, so a sealed value copied to another name
    does not open there."""

    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"the secret key must be at least {MIN_SECRET_KEY_LENGTH} characters")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"astapa secrets v1")
        self._aead = AESGCM(hkdf.derive(secret_key.encode("utf-8")))

    def seal(self, name: str, data: bytes) -> bytes:
        """A fresh random nonce, then the ciphertext and its tag."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, data, name.encode("utf-8"))

    def open(self, name: str, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], name.encode("utf-8"))
        except (InvalidTag, ValueError):  # ValueError: too short to hold a nonce
            raise WrongSecretKey(f"the secret {name!r} does not open with this secret key") from None


KEY_CHECK = "astapa/key-check"  # a row every vault has, to test a secret key on
SECRETS_TABLE = ("CREATE TABLE IF NOT EXISTS astapa_secrets (name text PRIMARY KEY, "
                 "sealed bytea NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())")


class PostgresVault:
    """Secrets by name, sealed in the table astapa_secrets, shared by every node.

    Calls are rare (startup, configuration changes), so one connection serves them all."""

    def __init__(self, url: str, box: SecretBox) -> None:
        self._session = _Session(url)
        self._box = box
        self._session.run(lambda db: _create_table(db, SECRETS_TABLE))

    def read(self, name: str) -> bytes | None:
        row = self._session.run(lambda db: db.execute(
            "SELECT sealed FROM astapa_secrets WHERE name = %s", [name]).fetchone())
        return None if row is None else self._box.open(name, bytes(row[0]))

    def write(self, name: str, data: bytes) -> None:
        sealed = self._box.seal(name, data)
        self._session.run(lambda db: db.execute(
            "INSERT INTO astapa_secrets (name, sealed) VALUES (%s, %s) ON CONFLICT (name) "
            "DO UPDATE SET sealed = excluded.sealed, updated_at = now()", [name, sealed]))

    def create(self, name: str, data: bytes) -> bytes:
        """`data` stored under `name` unless a value is there already: the value stored now.
        Of several nodes creating one name at once, all get the first one's value."""
        sealed = self._box.seal(name, data)
        self._session.run(lambda db: db.execute(
            "INSERT INTO astapa_secrets (name, sealed) VALUES (%s, %s) ON CONFLICT (name) "
            "DO NOTHING", [name, sealed]))
        stored = self.read(name)
        if stored is None:
            raise PersistenceError(f"the secret {name!r} was deleted as it was created")
        return stored

    def delete(self, name: str) -> None:
        self._session.run(lambda db: db.execute("DELETE FROM astapa_secrets WHERE name = %s", [name]))

    def names(self) -> list[str]:
        rows = self._session.run(lambda db: db.execute(
            "SELECT name FROM astapa_secrets WHERE name <> %s ORDER BY name", [KEY_CHECK]).fetchall())
        return [name for (name,) in rows]

    def check(self) -> None:
        """WrongSecretKey unless this key opens the stored secrets (tested on the key-check
        row, or on some secret if there is none yet); then the key-check row exists."""
        row = self._session.run(lambda db: db.execute(
            "SELECT name, sealed FROM astapa_secrets ORDER BY name = %s DESC, name LIMIT 1",
            [KEY_CHECK]).fetchone())
        try:
            if row is not None:
                self._box.open(row[0], bytes(row[1]))
            self.create(KEY_CHECK, b"astapa")
        except WrongSecretKey as error:
            raise WrongSecretKey("the secret key is not the one the secrets in PostgreSQL were "
                                 f"sealed with ({error})") from None

    def rekey(self, new_box: SecretBox) -> int:
        """Every secret, and every person's key (astapa_person_keys, sealed with the same
        key), sealed again with `new_box`, all in one transaction; WrongSecretKey, and
        nothing changed, if one does not open with the current key. How many person keys
        were resealed."""
        return self._session.run(lambda db: self._reseal_all(db, new_box))

    def _reseal_all(self, db: psycopg.Connection, new_box: SecretBox) -> int:
        with db.transaction():
            db.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}s'")
            db.execute("LOCK TABLE astapa_secrets IN EXCLUSIVE MODE")  # no write slips past
            rows = db.execute("SELECT name, sealed FROM astapa_secrets").fetchall()
            resealed = [(new_box.seal(name, self._box.open(name, bytes(sealed))), name)
                        for name, sealed in rows]
            with db.cursor() as cursor:
                cursor.executemany("UPDATE astapa_secrets SET sealed = %s, updated_at = now() "
                                   "WHERE name = %s", resealed)
            person_keys = self._reseal_person_keys(db, new_box)
        self._box = new_box  # committed, and still under the session's lock: no read between
        return person_keys

    def _reseal_person_keys(self, db: psycopg.Connection, new_box: SecretBox) -> int:
        """In the caller's transaction: a key left under the old secret key would never open
        again (every PostgresPersonKeys.read a WrongSecretKey). Erased persons' rows hold no
        key and stay as they are."""
        if db.execute("SELECT to_regclass('astapa_person_keys')").fetchone()[0] is None:
            return 0  # a store that never sealed personal data
        db.execute("LOCK TABLE astapa_person_keys IN EXCLUSIVE MODE")  # no key made nor erased meanwhile
        rows = db.execute("SELECT person, sealed FROM astapa_person_keys WHERE sealed IS NOT NULL").fetchall()
        resealed = [(new_box.seal(_person_key_name(person), self._box.open(_person_key_name(person), bytes(sealed))),
                     person) for person, sealed in rows]
        with db.cursor() as cursor:
            cursor.executemany("UPDATE astapa_person_keys SET sealed = %s WHERE person = %s", resealed)
        return len(resealed)

    def close(self) -> None:
        self._session.close()


# --- Leadership --------------------------------------------------------------------------


class PostgresLeadership:
    """One node at a time leads `name`: it holds a session advisory lock on its own
    connection, which PostgreSQL releases when that connection ends (the process died, the
    network failed), so another node's next `try_lead` succeeds."""

    def __init__(self, url: str, name: str) -> None:
        parse_url(url)
        self._url = url
        self._name = name
        self._connection: psycopg.Connection | None = None
        self._leading = False
        self._lock = threading.Lock()

    def try_lead(self) -> bool:
        """Lead now if no other node does; False too when the database cannot be reached."""
        with self._lock:
            if self._connection is not None and not self._answers():
                self._drop()  # it died, and any lock it held went with it
            if not self._leading:
                self._leading = self._take_lock()
            return self._leading

    @property
    def leads(self) -> bool:
        """Whether this node leads; asks the database (one round trip) that the connection
        holding the lock is still there, and if it is not, no longer leads."""
        with self._lock:
            if self._leading and not self._answers():
                self._drop()
            return self._leading

    def close(self) -> None:
        """Stop leading (the lock goes with the connection)."""
        with self._lock:
            self._drop()

    def _take_lock(self) -> bool:
        try:
            if self._connection is None:
                self._connection = connect(self._url)
            row = self._connection.execute("SELECT pg_try_advisory_lock(hashtext(%s))",
                                           [self._name]).fetchone()
            return bool(row and row[0])
        except psycopg.Error as error:
            log.warning("leadership %s: %s", self._name, error)
            self._drop()
            return False

    def _answers(self) -> bool:
        try:
            self._connection.execute("")
            return True
        except psycopg.Error:
            return False

    def _drop(self) -> None:
        self._leading = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


# --- Throttle hits -----------------------------------------------------------------------


THROTTLE_TABLE = ("CREATE TABLE IF NOT EXISTS astapa_throttle_hits (id bigserial PRIMARY KEY, "
                  "throttle text NOT NULL, key text NOT NULL, at double precision NOT NULL, "
                  "origin text NOT NULL)")
THROTTLE_INDEX = "CREATE INDEX IF NOT EXISTS astapa_throttle_hits_at ON astapa_throttle_hits (at)"


class PostgresThrottleLog:
    """The throttles' hits of every node in one table (the interface: throttle_log.ThrottleLog).

    Appends take the table's lock, so ids commit in order and a reader reading after the
    last id it saw never passes over a row that commits later with a smaller id."""

    def __init__(self, url: str) -> None:
        self._session = _Session(url)
        self._session.run(lambda db: _create_table(db, THROTTLE_TABLE, THROTTLE_INDEX))

    def append(self, rows: list[Hit]) -> None:
        """Hits as (throttle, key, at, origin), in one INSERT."""
        if rows:
            self._session.run(lambda db: self._insert(db, rows))

    def after(self, last_id: int, origin: str) -> list[SeenHit]:
        """Other origins' hits as (id, throttle, key, at), after `last_id`, oldest first."""
        return self._session.run(lambda db: db.execute(
            "SELECT id, throttle, key, at FROM astapa_throttle_hits WHERE id > %s AND origin <> %s "
            "ORDER BY id LIMIT %s", [last_id, origin, MAX_HITS_READ]).fetchall())

    def latest_id(self) -> int:
        row = self._session.run(lambda db: db.execute(
            "SELECT coalesce(max(id), 0) FROM astapa_throttle_hits").fetchone())
        return int(row[0])

    def prune(self, before: float) -> None:
        self._session.run(lambda db: db.execute("DELETE FROM astapa_throttle_hits WHERE at < %s", [before]))

    def forget(self, key: str) -> None:
        """Every hit counted under `key` (an erased person's address), and its dead rows."""
        self._session.run(lambda db: db.execute("DELETE FROM astapa_throttle_hits WHERE key = %s", [key]))
        self._session.run(lambda db: db.execute("VACUUM astapa_throttle_hits"))

    def close(self) -> None:
        self._session.close()

    @staticmethod
    def _insert(db: psycopg.Connection, rows: list[Hit]) -> None:
        throttles, keys, ats, origins = (list(column) for column in zip(*rows))
        with db.transaction():
            db.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}s'")
            db.execute("LOCK TABLE astapa_throttle_hits IN EXCLUSIVE MODE")
            db.execute("INSERT INTO astapa_throttle_hits (throttle, key, at, origin) "
                       "SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[], %s::text[])",
                       [throttles, keys, ats, origins])


# --- Per-person keys (astapa.store.person_keys) --------------------------------------------

PERSON_KEYS_TABLE = ("CREATE TABLE IF NOT EXISTS astapa_person_keys (person text PRIMARY KEY, sealed bytea, "
                     "created_at timestamptz NOT NULL DEFAULT now(), erased_at timestamptz)")


class PostgresPersonKeys:
    """The per-person keys of every node in one table, each sealed with the SecretBox under
    its person's name (a sealed key copied to another row does not open). An erasure sets
    `sealed` to NULL, then VACUUMs the table so the old row version is reclaimed."""

    def __init__(self, url: str, box: SecretBox) -> None:
        self._session = _Session(url)
        self._box = box
        # The secrets' table too: creating a key reads its key-check row (_check_secret_key).
        self._session.run(lambda db: _create_table(db, SECRETS_TABLE, PERSON_KEYS_TABLE))

    def read(self, person: str) -> tuple[bool, bytes | None]:
        row = self._session.run(lambda db: db.execute(
            "SELECT sealed FROM astapa_person_keys WHERE person = %s", [person]).fetchone())
        if row is None:
            return False, None
        return True, None if row[0] is None else self._box.open(_person_key_name(person), bytes(row[0]))

    def read_many(self, persons: list[str]) -> dict[str, bytes | None]:
        """The persons that have a row: their key (None: erased). One query."""
        rows = self._session.run(lambda db: db.execute(
            "SELECT person, sealed FROM astapa_person_keys WHERE person = ANY(%s)", [persons]).fetchall())
        return {person: None if sealed is None else self._box.open(_person_key_name(person), bytes(sealed))
                for person, sealed in rows}

    def create(self, person: str, key: bytes) -> bytes | None:
        sealed = self._box.seal(_person_key_name(person), key)

        def insert(db: psycopg.Connection) -> Any:
            with db.transaction():
                db.execute("INSERT INTO astapa_person_keys (person, sealed) VALUES (%s, %s) "
                           "ON CONFLICT (person) DO NOTHING", [person, sealed])
                # The insert waited for any `secrets rekey` under way (it locks this table):
                # a node still holding the old key must not seal a key no node will open
                # after its restart. WrongSecretKey rolls the row back (503, tried again).
                self._check_secret_key(db)
                return db.execute("SELECT sealed FROM astapa_person_keys WHERE person = %s", [person]).fetchone()

        row = self._session.run(insert)
        return None if row[0] is None else self._box.open(_person_key_name(person), bytes(row[0]))

    def _check_secret_key(self, db: psycopg.Connection) -> None:
        row = db.execute("SELECT name, sealed FROM astapa_secrets WHERE name = %s", [KEY_CHECK]).fetchone()
        if row is not None:
            self._box.open(row[0], bytes(row[1]))

    def erase(self, person: str) -> bool:
        def erase(db: psycopg.Connection) -> bool:
            with db.transaction():
                return db.execute(
                    "INSERT INTO astapa_person_keys (person, sealed, erased_at) VALUES (%s, NULL, now()) "
                    "ON CONFLICT (person) DO UPDATE SET sealed = NULL, erased_at = now() "
                    "WHERE astapa_person_keys.sealed IS NOT NULL", [person]).rowcount > 0

        deleted = self._session.run(erase)
        if deleted:
            self._vacuum()
        return deleted

    def _vacuum(self) -> None:
        """Reclaim the dead row version that still holds the sealed key (best effort: the
        key is sealed with ASTAPA_SECRET_KEY there, and PostgreSQL's own WAL and backups are
        the operator's, see docs/guides/erasure.md)."""
        try:  # the session's connections are autocommit: VACUUM runs outside a transaction
            self._session.run(lambda db: db.execute("VACUUM astapa_person_keys"))
        except PersistenceError as e:
            log.warning("VACUUM astapa_person_keys after an erasure failed: %s", e)

    def close(self) -> None:
        self._session.close()


def _person_key_name(person: str) -> str:
    return f"astapa/person-key/{person}"
