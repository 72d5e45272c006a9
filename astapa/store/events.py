"""The store half of the application: configuration, durability, and saving decisions.

A command loads what it needs by id, lets the aggregates decide, and returns a Decision:
the aggregates holding new events, the value for the caller, and, when the answer is a
refusal that must still leave a record (a reused code revokes its family), the error to
raise once the events are saved. A command does not save: the server's writer thread
saves many decisions together (group commit), the CLI saves one at a time with `execute`.
Either way one decision is saved atomically, all or nothing.
"""

import copy
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, Recording
from eventsourcing.utils import Environment, get_topic

from astapa.domain.errors import ConflictError, DomainError, StoreBusyError, StoreNotDurableError
from astapa.store.chain import ChainedSQLiteFactory
from astapa.store.files import private_database
from astapa.store import sealing
from astapa.store.person_keys import PersonKeysOpener
from astapa.store.personal_data import PersonalDataMapper, person_id

log = logging.getLogger("astapa.store")


@dataclass
class Decision:
    aggregates: list[Aggregate] = field(default_factory=list)
    value: Any = None
    error: DomainError | None = None  # raised to the caller after the events are saved

    def event_count(self) -> int:
        return sum(len(a.pending_events) for a in self.aggregates)

    def outcome(self, position: int = 0) -> Any:
        """The value, or the error once the decision is saved at `position`."""
        if self.error is not None:
            self.error.recorded_at = position
            raise self.error
        return self.value


class EventStore(Application):
    name = "astapa"

    def __init__(self, events_db: Path | None = None, lock_timeout: int = 5, *,
                 store_url: str | None = None, shared: bool = False, secret_key: str | None = None,
                 without_person_keys: bool = False) -> None:
        """SQLite at `events_db`, or the PostgreSQL database at `store_url`. `shared`: other
        server processes write the same store (workers, or a cluster's nodes). `secret_key`:
        what seals a PostgreSQL store's person keys (default: ASTAPA_SECRET_KEY).
        `without_person_keys`: a copy of the log alone, every sealed field read as erased.
        A new store is marked sealed as it is made (astapa/store/sealing.py)."""
        if store_url is not None:
            from astapa.store.postgres import store_env  # psycopg only when asked for

            env = store_env(store_url)
        else:
            assert events_db is not None
            private_database(events_db)  # 0600, and so its -wal and -shm, whatever the umask
            env = {"PERSISTENCE_MODULE": get_topic(ChainedSQLiteFactory), "SQLITE_DBNAME": str(events_db),
                   "SQLITE_LOCK_TIMEOUT": str(lock_timeout)}
        # Before the mapper is made, which opens them at their first use.
        self.person_keys = PersonKeysOpener(events_db, store_url, secret_key, absent=without_person_keys)
        super().__init__(env=env)
        self.postgres = store_url is not None
        self.person_keys.store_id = partial(sealing.store_id, self)
        if not without_person_keys:
            sealing.mark_if_fresh(self)
        self.shared = shared or self.postgres
        self._owned: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._owned_lock = threading.Lock()

    def construct_mapper(self) -> PersonalDataMapper:
        """Personal fields sealed per person (astapa/store/personal_data.py); a process that
        reads an erasure forgets what it remembers of that person."""
        mapper = PersonalDataMapper(self.construct_transcoder(), self.person_keys)
        mapper.before_erasure.append(self.before_key_deletion)
        mapper.erasure_listeners.append(self.on_erasure)
        return mapper

    def before_key_deletion(self, erasure: Any) -> None:
        """A User.Erased was read, its person's key not yet deleted (their data still opens):
        the commands forget what is kept elsewhere under their personal data."""

    def on_erasure(self, erasure: Any) -> None:
        """A User.Erased was read: forget the remembered aggregates of that person (their
        user, email index, sessions...), which another process may have changed since."""
        user_id = erasure.originator_id
        with self._owned_lock:
            theirs = [a.id for a in self._owned.values() if a.id == user_id or (
                isinstance(getattr(a, "sub", None), str) and isinstance(getattr(a, "project_id", None), str)
                and person_id(a.project_id, a.sub) == user_id.hex)]
        self._forget(theirs)

    def close(self) -> None:
        super().close()
        self.person_keys.close()

    def construct_env(self, name: str, env: dict | None = None) -> Environment:
        """The settings passed in, and snapshotting when the class asks for it; never the
        process environment, where ASTAPA_* (our application's prefix) could redirect the
        store."""
        settings = dict(env or {})
        if type(self).snapshotting_intervals:
            settings["IS_SNAPSHOTTING_ENABLED"] = "y"
        return Environment(name, settings)

    # Aggregates of the OWNED types are only ever written by server processes (their writer
    # threads): no CLI command touches users, codes, sessions, refresh families or access
    # tokens. So their state after each save can be kept in memory: a refresh rotation
    # loads two of them. With one server that memory is the truth, loaded with no query;
    # should another writer change one anyway, saving a stale copy conflicts on its version
    # and is forgotten. When the store is shared (workers, or a cluster's nodes), another
    # server may have moved one on, and a stale read-only load (a user's token epoch) would
    # not conflict: so each load first asks the store for events after the remembered
    # version (one indexed query, no replay) and reloads when there are any.
    OWNED: tuple[type, ...] = ()
    OWNED_MAX = 10_000

    def load(self, aggregate_id: UUID, missing: Callable[[], DomainError], read_only: bool = False) -> Any:
        """The aggregate with this id, or the domain error `missing()` returns. A read-only
        load may be the remembered object itself: the caller must not change it."""
        with self._owned_lock:
            remembered = self._owned.get(aggregate_id)
            if remembered is not None:
                self._owned.move_to_end(aggregate_id)
        if remembered is not None and self.shared and self._moved_on(remembered):
            self._forget([aggregate_id])
            remembered = None
        if remembered is not None:
            if read_only:
                return remembered
            copied = _copy(remembered)
            if copied is not None:
                return copied
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing() from None
        if isinstance(aggregate, self.OWNED):
            kept = aggregate if read_only else _copy(aggregate)
            if kept is not None:
                self._remember([kept])
        return aggregate

    def _moved_on(self, remembered: Aggregate) -> bool:
        """Another process saved events of this aggregate after the remembered version."""
        return bool(self.recorder.select_events(remembered.id, gt=remembered.version, limit=1))

    def exists(self, aggregate_id: UUID) -> bool:
        with self._owned_lock:
            if aggregate_id in self._owned:
                return True
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _remember(self, aggregates: list[Aggregate]) -> None:
        with self._owned_lock:
            for aggregate in aggregates:
                self._owned[aggregate.id] = aggregate
                self._owned.move_to_end(aggregate.id)
            while len(self._owned) > self.OWNED_MAX:
                self._owned.popitem(last=False)

    def _forget(self, ids: list[UUID]) -> None:
        with self._owned_lock:
            for aggregate_id in ids:
                self._owned.pop(aggregate_id, None)

    # -- durability ---------------------------------------------------------------------

    def check_durability(self) -> None:
        """Refuse to run unless commits are durable: WAL journal and synchronous=FULL.
        (PostgreSQL's durability is its operator's: fsync and synchronous_commit.)"""
        if self.postgres:
            return
        with self.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
            c.execute("PRAGMA journal_mode")
            journal = c.fetchone()[0]
            c.execute("PRAGMA synchronous")
            synchronous = c.fetchone()[0]
        if str(journal).lower() != "wal" or synchronous < 2:
            raise StoreNotDurableError(f"journal_mode={journal}, synchronous={synchronous}")

    # -- saving -------------------------------------------------------------------------

    def execute(self, command: Callable[..., Decision], *args: Any, **kwargs: Any) -> tuple[Any, int]:
        """Decide and save one command now; retry on conflicts and a locked store.

        Returns (value, position of the last event saved, or 0 when nothing was saved),
        or raises the decision's error once its events are saved.
        """
        for attempt in range(_ATTEMPTS):
            decision = command(*args, **kwargs)
            try:
                position = self.save_decisions([decision])[0]
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise ConflictError(command.__name__) from None
                continue
            except (OperationalError, InterfaceError):
                if attempt == _ATTEMPTS - 1 or self.commit_may_be_ambiguous:
                    raise StoreBusyError(command.__name__) from None
                time.sleep(0.05 * (attempt + 1))
                continue
            return decision.outcome(position), position
        raise AssertionError("unreachable")

    def save(self, *aggregates: Aggregate, **kwargs: Any) -> list[Recording]:
        """Application.save for what a decision holds, aggregates only: the same recording
        and snapshots, without the library's runtime Protocol checks of each object (some
        2 % of a token's CPU) nor its notify hooks, which nothing here implements."""
        processing_event: ProcessingEvent = ProcessingEvent()
        for aggregate in aggregates:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        try:
            self._take_snapshots(processing_event)
        except Exception:  # the events are committed: a snapshot is only a shortcut for later loads
            log.exception("a snapshot after a commit failed; the aggregates load from their events")
        return recordings

    @property
    def commit_may_be_ambiguous(self) -> bool:
        """Whether a failed save may have committed anyway. SQLite's failures (a locked
        store) happen before anything is written; PostgreSQL's connection can drop after
        COMMIT was sent. Such a decision must never be decided again: a refresh rotation
        decided twice would see its own first save as reuse and revoke the family. The
        caller gets 503 and retries with what it holds."""
        return self.postgres

    def save_decisions(self, decisions: list[Decision]) -> list[int]:
        """Save every decision's events in one transaction; return each one's last position."""
        counts = [d.event_count() for d in decisions]
        aggregates = [a for d in decisions for a in d.aggregates]
        try:
            recordings = self.save(*aggregates) if aggregates else []
        except Exception:
            # Someone else wrote one of these first, or the save failed part-way (say, a
            # snapshot after the commit): forget what we remembered of them, so the next
            # decision reads the stored state.
            self._forget([a.id for a in aggregates])
            raise
        # Saved, so these objects are now the committed state (callers never change an
        # aggregate after its decision is saved).
        self._remember([a for a in aggregates if isinstance(a, self.OWNED)])
        positions, index = [], 0
        for count in counts:
            index += count
            positions.append(recordings[index - 1].notification.id if count else 0)
        return positions


_ATTEMPTS = 5


def _copy(aggregate: Aggregate) -> Aggregate | None:
    """A deep copy, or None when the aggregate nests too deep to copy (claims stored before
    their depth was limited): the caller reads it from the store instead, which does not
    recurse in Python, so whatever the log holds still loads."""
    try:
        return copy.deepcopy(aggregate)
    except RecursionError:
        return None
