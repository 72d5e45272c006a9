"""astapa.store.postgres against a real PostgreSQL server (tests/postgres.py)."""

import threading
import time
from contextlib import contextmanager
from uuid import UUID

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import InterfaceError, OperationalError

from astapa.store.postgres import (
    NOTIFY_CHANNEL,
    AstapaPostgresFactory,
    FailFastAggregateRecorder,
    FailFastApplicationRecorder,
    PostgresLeadership,
    PostgresThrottleLog,
    PostgresVault,
    SecretBox,
    WrongSecretKey,
    listen,
    notify_channel,
    parse_url,
    redact,
    store_env,
)

KEY = "k" * 32
OTHER_KEY = "o" * 32


class Note(Aggregate):
    def __init__(self, text: str) -> None:
        self.text = text

    @event("Edited")
    def edit(self, text: str) -> None:
        self.text = text


class Store(Application):
    name = "astapa"  # as astapa.store.events.EventStore: the channel is astapa_events
    snapshotting_intervals = {Note: 2}


@pytest.fixture
def open_store(pg_url):
    """Stores (Applications) on the test's database, each closed afterwards."""
    stores: list[Store] = []

    def open_() -> Store:
        stores.append(Store(env=store_env(pg_url)))
        return stores[-1]

    yield open_
    for store in stores:
        store.close()


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def timed(call):
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except (OperationalError, InterfaceError) as error:
        return error, time.monotonic() - started


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@contextmanager
def listening(url: str, channel: str = NOTIFY_CHANNEL):
    """A `listen` thread counting its calls, started and LISTENing, stopped afterwards."""
    counter, stopping = Counter(), threading.Event()
    thread = listen(url, channel, counter, stopping)
    try:
        assert wait_until(lambda: counter.count == 1, 5), "LISTEN did not start"  # its first call
        yield counter
    finally:
        stopping.set()
        thread.join(5)
    assert not thread.is_alive()


# --- Settings ------------------------------------------------------------------------------


def test_store_env_takes_each_part_of_the_url_percent_decoded():
    env = store_env("postgresql://as%40tapa:p%3Ass%2Fw@db.example:6543/astapa%20prod")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("as@tapa", "p:ss/w")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.example", "6543", "astapa prod")
    assert env["PERSISTENCE_MODULE"] == "astapa.store.postgres:AstapaPostgresFactory"
    assert env["POSTGRES_CONNECT_TIMEOUT"] == "2"
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" not in env
    assert store_env("postgres://u:p@h/d")["POSTGRES_PORT"] == "5432"


@pytest.mark.parametrize("url", [
    "mysql://u:secret@h/d", "postgresql://u:secret@/d", "postgresql://u:secret@h/",
    "postgresql://u:secret@h:99999/d", "postgresql://u:secret@h:port/d", "postgresql://h/d",
    "postgresql://u:secret@h/d?application_name=x", "postgresql://u:se/cret@h/d", "postgresql://u:s%zzecret@h/d",
])
def test_store_env_refuses_an_unusable_url_without_showing_its_password(url):
    with pytest.raises(ValueError) as refused:
        store_env(url)
    assert "secret" not in str(refused.value) and "\n" not in str(refused.value)


def test_redact_never_shows_the_password():
    assert redact("postgresql://astapa:s3cret@db:5432/x") == "postgresql://astapa:***@db:5432/x"
    assert redact("postgresql://astapa@db/x") == "postgresql://astapa:***@db:5432/x"
    assert redact("postgresql://astapa:p@ss@db/x") == "postgresql://astapa:***@db:5432/x"
    for unusable in ("postgresql://u:pa/ss@h/db", "postgresql://u:s3cr%zzet@h/db"):
        assert "pa/ss" not in redact(unusable) and "s3cr" not in redact(unusable)
        with pytest.raises(ValueError) as refused:
            parse_url(unusable)
        assert "pa/ss" not in str(refused.value) and "s3cr" not in str(refused.value)


def test_a_store_url_takes_libpqs_tls_settings_and_nothing_else():
    url = parse_url("postgresql://u:p@db.internal/astapa?sslmode=verify-full&sslrootcert=/etc/ca.pem")
    assert url.tls == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem"}
    assert url.connection_arguments()["sslmode"] == "verify-full"
    with pytest.raises(ValueError, match="takes only"):
        parse_url("postgresql://u:p@db/astapa?application_name=x")


# --- The event store -----------------------------------------------------------------------


def test_saves_and_reads_aggregates_with_contiguous_notification_ids(open_store):
    store = open_store()
    notes = [Note(f"note {i}") for i in range(3)]
    store.save(*notes)
    for text in ("a", "b", "c"):  # three more events, and snapshots every second version
        notes[0].edit(text)
        store.save(notes[0])

    assert store.repository.get(notes[0].id).text == "c"
    assert store.snapshots is not None and store.snapshots.recorder.select_events(notes[0].id)
    ids = [n.id for n in store.notification_log.select(start=1, limit=10)]
    assert ids == list(range(1, 7))


def test_the_recorders_try_once_only(open_store):
    store = open_store()
    assert isinstance(store.factory, AstapaPostgresFactory)
    assert type(store.recorder) is FailFastApplicationRecorder
    assert type(store.snapshots.recorder) is FailFastAggregateRecorder
    for recorder in (FailFastApplicationRecorder, FailFastAggregateRecorder):
        retried = [name for name in dir(recorder)
                   if getattr(getattr(getattr(recorder, name), "__code__", None), "co_name", "")
                   == "retry_decorator"]
        assert retried == [], f"{recorder.__name__} still retries {retried}"


def test_two_stores_on_one_database_see_each_others_events(open_store):
    first, second = open_store(), open_store()
    note = Note("from the first")
    first.save(note)
    assert second.repository.get(note.id).text == "from the first"
    reply = Note("from the second")
    second.save(reply)
    seen = [UUID(str(n.originator_id)) for n in first.notification_log.select(start=1, limit=10)]
    assert seen == [note.id, reply.id]


def test_a_save_notifies_listeners_within_a_second(open_store, pg_url):
    writer = open_store()
    assert writer.recorder.channel_name == NOTIFY_CHANNEL == notify_channel(Store.name)
    with listening(pg_url) as notified:
        started = time.monotonic()
        writer.save(Note("hello"))
        assert wait_until(lambda: notified.count >= 2, 1.0)
        assert time.monotonic() - started < 1.0
        time.sleep(0.2)
        assert notified.count == 2  # nothing else announced


def test_the_servers_own_commits_notify_the_channel_its_nodes_listen_on(pg_url):
    """The server's application, not a stand-in: its table's name, so its channel's, is
    the one the nodes LISTEN on (an application is named after its class unless told)."""
    from astapa.app import AstapaApplication

    app = AstapaApplication(store_url=pg_url)
    try:
        assert app.recorder.channel_name == NOTIFY_CHANNEL
        with listening(pg_url) as notified:
            app.execute(app.create_project, "app", ["https://app.example/cb"], "sandbox", [])
            assert wait_until(lambda: notified.count >= 2, 1.0)
    finally:
        app.close()


def test_an_outage_fails_saves_fast_and_the_same_store_recovers_at_once(open_store, pg_url, postgres_server):
    store = open_store()
    store.save(Note("before"))
    with listening(pg_url) as notified:
        postgres_server.stop()
        try:
            failure, failed_after = timed(lambda: store.save(Note("during")))
            assert isinstance(failure, (OperationalError, InterfaceError))
            assert failed_after < 3.0
            assert notified.count == 2  # the lost connection: the follower looks once
        finally:
            postgres_server.start()
        result, succeeded_after = timed(lambda: store.save(Note("after")))
        assert not isinstance(result, Exception), result
        assert succeeded_after < 1.0
        assert wait_until(lambda: notified.count >= 3, 2.0)  # listening again: look once more
        time.sleep(0.1)
        before = notified.count  # 4 if LISTEN came back before the save "after"
        store.save(Note("later"))
        assert wait_until(lambda: notified.count == before + 1, 1.0)
    texts = [store.repository.get(UUID(str(n.originator_id))).text
             for n in store.notification_log.select(start=1, limit=10)]
    assert texts == ["before", "after", "later"]


def test_connections_dropped_by_a_restart_while_idle_fail_no_call(open_store, pg_url, postgres_server):
    store = open_store()
    vault, hits = PostgresVault(pg_url, SecretBox(KEY)), PostgresThrottleLog(pg_url)
    leader = PostgresLeadership(pg_url, "jobs")
    try:
        store.save(*[Note(str(i)) for i in range(3)])
        vault.write("a", b"1")
        hits.append([("login", "ip", 1.0, "node-a")])
        assert leader.try_lead()
        assert wait_until(lambda: store.factory.datastore.pool.get_stats()["pool_available"] >= 3, 5)

        postgres_server.restart()

        assert not leader.leads  # its lock went with its connection
        store.save(Note("after"))  # no OperationalError: each dead connection was replaced
        assert store.recorder.max_notification_id() == 4
        assert vault.read("a") == b"1"
        assert [hit[1:] for hit in hits.after(0, "node-b")] == [("login", "ip", 1.0)]
        assert leader.try_lead()
    finally:
        vault.close(), hits.close(), leader.close()


# --- Secrets ---------------------------------------------------------------------------


def test_a_secret_box_opens_what_it_sealed_under_the_same_name_only():
    box = SecretBox(KEY)
    sealed = box.seal("signing-key", b"private bytes")
    assert box.open("signing-key", sealed) == b"private bytes"
    assert b"private bytes" not in sealed
    assert box.seal("signing-key", b"private bytes") != sealed  # a fresh nonce each time
    with pytest.raises(WrongSecretKey):
        SecretBox(OTHER_KEY).open("signing-key", sealed)
    with pytest.raises(WrongSecretKey):
        box.open("another-name", sealed)  # a row moved to another name
    with pytest.raises(WrongSecretKey):
        box.open("signing-key", sealed[:-1] + bytes([sealed[-1] ^ 1]))
    with pytest.raises(WrongSecretKey):
        box.open("signing-key", b"short")


def test_a_secret_box_refuses_a_short_key():
    with pytest.raises(ValueError):
        SecretBox("k" * 31)


@pytest.fixture
def vault(pg_url):
    opened = PostgresVault(pg_url, SecretBox(KEY))
    yield opened
    opened.close()


def test_the_vault_writes_reads_replaces_and_deletes(vault, pg_url):
    assert vault.read("missing") is None
    vault.write("b", b"two")
    vault.write("a", b"one")
    vault.write("a", b"uno")
    assert (vault.read("a"), vault.read("b")) == (b"uno", b"two")
    vault.delete("b")
    assert vault.read("b") is None
    assert vault.names() == ["a"]
    with psycopg.connect(pg_url) as db:  # sealed at rest
        stored = db.execute("SELECT sealed FROM astapa_secrets WHERE name = 'a'").fetchone()[0]
    assert b"uno" not in bytes(stored)


def test_two_nodes_creating_one_secret_at_once_both_get_the_winners(pg_url):
    vaults = [PostgresVault(pg_url, SecretBox(KEY)) for _ in range(2)]
    start = threading.Barrier(2)
    created: dict[int, bytes] = {}

    def create(index: int) -> None:
        start.wait()
        created[index] = vaults[index].create("jwt-key", f"value {index}".encode())

    threads = [threading.Thread(target=create, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert created[0] == created[1] == vaults[0].read("jwt-key")
    assert created[0] in (b"value 0", b"value 1")
    assert vaults[1].create("jwt-key", b"later") == created[0]
    for vault in vaults:
        vault.close()


def test_check_refuses_a_key_that_did_not_seal_the_secrets(vault, pg_url):
    vault.write("a", b"1")  # no key-check row yet: check tests this secret
    stranger = PostgresVault(pg_url, SecretBox(OTHER_KEY))
    with pytest.raises(WrongSecretKey, match="not the one"):
        stranger.check()
    vault.check()  # the right key passes and leaves its key-check row
    assert vault.names() == ["a"]  # which is not a secret of its own
    vault.delete("a")
    with pytest.raises(WrongSecretKey):
        stranger.check()  # the key-check row alone still tells
    stranger.close()


def test_rekey_reseals_every_secret_with_the_new_key(vault, pg_url):
    for name in ("a", "b", "c"):
        vault.write(name, name.encode() * 3)
    vault.check()
    vault.rekey(SecretBox(OTHER_KEY))

    with pytest.raises(WrongSecretKey):
        PostgresVault(pg_url, SecretBox(KEY)).check()
    rekeyed = PostgresVault(pg_url, SecretBox(OTHER_KEY))
    rekeyed.check()
    assert {name: rekeyed.read(name) for name in rekeyed.names()} == {
        "a": b"aaa", "b": b"bbb", "c": b"ccc"}
    assert vault.read("a") == b"aaa"  # the vault that rekeyed uses its new key
    rekeyed.close()


def test_rekey_reseals_the_person_keys_with_the_secrets(vault, pg_url):
    """The person keys are sealed with the same secret key: left under the old one, every
    sealed field of every person would fail to open after a rotation."""
    from astapa.store.postgres import PostgresPersonKeys

    keys = PostgresPersonKeys(pg_url, SecretBox(KEY))
    ada_key = keys.create("ada", b"a" * 32)
    keys.create("bob", b"b" * 32)
    keys.erase("bob")
    vault.check()
    assert vault.rekey(SecretBox(OTHER_KEY)) == 1  # bob's row holds no key any more
    keys.close()

    rekeyed = PostgresPersonKeys(pg_url, SecretBox(OTHER_KEY))
    assert rekeyed.read("ada") == (True, ada_key)
    assert rekeyed.read("bob") == (True, None)
    rekeyed.close()
    with pytest.raises(WrongSecretKey):
        PostgresPersonKeys(pg_url, SecretBox(KEY)).read("ada")


def test_a_node_with_the_old_key_makes_no_person_key_after_a_rekey(vault, pg_url):
    """Nodes run on with the old key until they restart: a key one of them sealed meanwhile
    would open nowhere after that, so making it fails (503, the sign-up tried again)."""
    from astapa.store.postgres import PostgresPersonKeys

    old_node = PostgresPersonKeys(pg_url, SecretBox(KEY))
    old_node.create("ada", b"a" * 32)
    vault.check()
    vault.rekey(SecretBox(OTHER_KEY))
    with pytest.raises(WrongSecretKey):
        old_node.create("carol", b"c" * 32)
    assert old_node.read_many(["carol"]) == {}
    old_node.close()
    new_node = PostgresPersonKeys(pg_url, SecretBox(OTHER_KEY))
    assert new_node.create("carol", b"c" * 32) == b"c" * 32
    new_node.close()


def test_the_person_keys_of_a_batch_are_read_in_one_query(pg_url):
    from astapa.store.person_keys import CachedPersonKeys
    from astapa.store.postgres import PostgresPersonKeys

    store = PostgresPersonKeys(pg_url, SecretBox(KEY))
    store.create("ada", b"a" * 32)
    store.create("bob", b"b" * 32)
    store.erase("bob")
    assert store.read_many(["ada", "bob", "carol"]) == {"ada": b"a" * 32, "bob": None}
    keys = CachedPersonKeys(store)
    keys.prefetch({"ada", "bob", "carol"})
    store.read = None  # every key below comes from the cache the prefetch filled
    assert keys.key("ada") == b"a" * 32 and keys.key("bob") is None
    store.close()


def test_rekey_changes_nothing_when_one_secret_does_not_open(vault, pg_url):
    vault.write("a", b"1")
    PostgresVault(pg_url, SecretBox(OTHER_KEY)).write("stray", b"2")
    with pytest.raises(WrongSecretKey):
        vault.rekey(SecretBox("n" * 32))
    assert vault.read("a") == b"1"
    with pytest.raises(WrongSecretKey):
        PostgresVault(pg_url, SecretBox("n" * 32)).read("a")


# --- Leadership ----------------------------------------------------------------------------


def test_one_node_leads_until_it_closes(pg_url):
    first, second = PostgresLeadership(pg_url, "jobs"), PostgresLeadership(pg_url, "jobs")
    elsewhere = PostgresLeadership(pg_url, "other jobs")
    assert first.try_lead() and first.try_lead()
    assert not second.try_lead()
    assert elsewhere.try_lead()  # another name, another lock
    assert (first.leads, second.leads) == (True, False)
    first.close()
    assert not first.leads
    assert second.try_lead() and second.leads
    assert not first.try_lead()
    for leadership in (first, second, elsewhere):
        leadership.close()


def test_a_leader_whose_connection_dies_leads_no_more(pg_url):
    first, second = PostgresLeadership(pg_url, "jobs"), PostgresLeadership(pg_url, "jobs")
    assert first.try_lead() and not second.try_lead()
    with psycopg.connect(pg_url, autocommit=True) as db:  # both nodes' connections end
        db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    assert not first.leads
    assert second.try_lead()  # reconnects, and the lock is free
    assert not first.try_lead()
    first.close(), second.close()


def test_no_one_leads_while_the_database_is_unreachable(postgres_server):
    unreachable = postgres_server.url("no_such_database")
    leadership = PostgresLeadership(unreachable, "jobs")
    assert not leadership.try_lead() and not leadership.leads


# --- Throttle hits (the shared behaviour: tests/store/test_throttle_log.py) -----------------


def test_a_throttle_append_waits_for_an_insert_that_drew_a_smaller_id(pg_url):
    """Else a reader could see the later id first, move past it, and never see the other."""
    log, reader = PostgresThrottleLog(pg_url), PostgresThrottleLog(pg_url)
    with psycopg.connect(pg_url) as in_flight:  # another node, its id drawn, not committed
        in_flight.execute("INSERT INTO astapa_throttle_hits (throttle, key, at, origin) "
                          "VALUES ('login', 'first', 1.0, 'c')")
        appending = threading.Thread(target=log.append, args=([("login", "second", 2.0, "a")],))
        appending.start()
        appending.join(0.3)
        assert appending.is_alive() and reader.after(0, "b") == []
    appending.join(5)
    assert [hit[2] for hit in reader.after(0, "b")] == ["first", "second"]
    log.close(), reader.close()


def test_a_failing_on_notify_does_not_stop_the_listener(open_store, pg_url):
    calls: list[int] = []

    def on_notify() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the follower's bug")

    stopping = threading.Event()
    thread = listen(pg_url, NOTIFY_CHANNEL, on_notify, stopping)
    try:
        assert wait_until(lambda: len(calls) == 1, 5)
        open_store().save(Note("still heard"))
        assert wait_until(lambda: len(calls) == 2, 1.0)
        assert thread.is_alive()
    finally:
        stopping.set()
        thread.join(5)
