"""Follow the notification log and keep read.db up to date.

Each batch of events is applied, and the new position recorded, in one SQLite transaction:
a crash leaves read.db either before or after the batch, never half-way. Only the topics
some projection handles are read from the log; the position still advances past every
other event, so unrelated history costs nothing. Rebuild is the same runner from zero.
"""

import asyncio
from datetime import datetime
import inspect
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from eventsourcing.application import Application
from eventsourcing.utils import get_topic
from sqlite_utils import Database

from astapa.store.files import private_database
from astapa.store.personal_data import ERASURE_TOPIC
from projections import PROJECTIONS

log = logging.getLogger("astapa.projections")

BATCH = 1000
# When a batch changes no read model, its new position is kept in memory and written at
# most this often: re-reading events no projection handles after a restart costs nothing.
IDLE_PERSIST_INTERVAL = 1.0
TRACKING = "tracking"
TRACKING_NAME = "read_models"
# The version of the read models' tables; raise it when a table changes shape, and read.db
# is rebuilt from the log at the next start.
SCHEMA_NAME = "schema_version"
SCHEMA_VERSION = 22
# A Runner on MEMORY builds private read models that go with its connection: for a process
# (the CLI) that must not write the server's read.db (see astapa/cli.py, read_models).
MEMORY = ":memory:"


def connect(path: Path | str, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        if str(path) != MEMORY:
            private_database(path)  # 0600, and so its -wal and -shm, whatever the umask
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        # read.db can always be rebuilt from the log: a commit lost to a power cut only
        # leaves it at an earlier position, from which it catches up. No fsync per batch.
        conn.execute("PRAGMA synchronous=NORMAL")
        # A deleted row's bytes are overwritten, not left in free space: an erased person's
        # rows must be gone from the file (docs/guides/erasure.md).
        conn.execute("PRAGMA secure_delete=ON")
    conn.row_factory = sqlite3.Row
    return conn


class Runner:
    def __init__(self, app: Application, read_db: Path | str, modules: Iterable = PROJECTIONS):
        self.app = app
        self.read_db = read_db
        self.conn = connect(read_db)
        self.db = Database(self.conn)
        self._drop_if_outdated()
        # Several read models may follow one event type; a handler that takes a third
        # argument also gets the event's position in the log.
        self.handlers: dict[str, list[tuple[str, Callable, bool]]] = {}
        for module in modules:
            module.create_tables(self.db)
            for event_class, handler in module.HANDLERS.items():
                wants_position = len(inspect.signature(handler).parameters) == 3
                self.handlers.setdefault(get_topic(event_class), []).append(
                    (module.NAME, handler, wants_position))
        self.topics = sorted(self.handlers)
        self.db[TRACKING].create({"name": str, "position": int}, pk="name", if_not_exists=True)
        row = self.conn.execute(
            f"SELECT position FROM {TRACKING} WHERE name = ?", (TRACKING_NAME,)
        ).fetchone()
        self.position: int = row[0] if row else 0
        self._persisted, self._persisted_at = self.position, 0.0
        self.listeners: list[Callable[[set[str]], None]] = []
        self._nudge = threading.Event()
        self._known_head = self.position  # a position known committed, with all before it
        self._head_lock = threading.Lock()
        self._ask_head = False
        self._wal_to_truncate = False  # an erasure's WAL a reader held: truncated at a later poll
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiters: list[tuple[int, asyncio.Future, asyncio.AbstractEventLoop]] = []
        self._waiters_lock = threading.Lock()
        self._advanced = threading.Condition()  # for reader threads waiting on a position
        self.visible_position = self.position  # applied, and the listeners told

    def _drop_if_outdated(self) -> None:
        """Read models written by another version of the projections are dropped, and built
        again from the log (from position 0) by this runner."""
        tables = set(self.db.table_names())
        version = None
        if TRACKING in tables:
            row = self.conn.execute(f"SELECT position FROM {TRACKING} WHERE name = ?", (SCHEMA_NAME,)).fetchone()
            version = row[0] if row else None
        if tables and version != SCHEMA_VERSION:
            log.warning("read models are from another version (%s, not %s): rebuilding them from the log",
                        version, SCHEMA_VERSION)
            for table in tables:
                self.db[table].drop()
        self.db[TRACKING].create({"name": str, "position": int}, pk="name", if_not_exists=True)
        self.conn.execute(f"INSERT OR REPLACE INTO {TRACKING} (name, position) VALUES (?, ?)",
                          (SCHEMA_NAME, SCHEMA_VERSION))

    # -- applying events ----------------------------------------------------------------

    def lag(self) -> int:
        """Events in the log not yet applied; it reads the event store, so off the event loop."""
        return max(0, (self.app.recorder.max_notification_id() or 0) - self.position)

    def run_once(self, ask_head: bool = True) -> int:
        """Apply the next batch of events; returns how many positions were passed. Without
        `ask_head`, only up to the last position known committed (nudge): no query for it."""
        if ask_head:
            head = self.app.recorder.max_notification_id() or 0
            with self._head_lock:  # a backlog past one batch goes on with no further query
                self._known_head = max(self._known_head, head)
        stop = self._known_head
        if stop <= self.position:
            return 0
        notifications = self.app.recorder.select_notifications(
            start=self.position + 1, limit=BATCH, stop=stop, topics=self.topics
        )
        new_position = notifications[-1].id if len(notifications) == BATCH else stop
        changed: set[str] = set()
        if notifications or time.monotonic() - self._persisted_at >= IDLE_PERSIST_INTERVAL:
            changed = self._apply(notifications, new_position)
        passed = new_position - self.position
        self.position = new_position
        for listener in self.listeners if changed else ():
            try:
                listener(changed)
            except Exception:  # a cache that failed to refresh must not stop the read models
                log.exception("listener %r failed after position %d", listener, new_position)
        # Only now, with the caches the listeners keep already changed, is the new position
        # visible to those waiting for it.
        with self._advanced:
            self.visible_position = new_position
            self._advanced.notify_all()
        self._release_waiters()
        return passed

    def _apply(self, notifications: list, position: int) -> set[str]:
        """Rows and the new position in one transaction; returns the read models changed."""
        changed: set[str] = set()
        if getattr(self.app, "postgres", False) and notifications:
            # One query for the batch's person keys, not one per person (a round trip each).
            self.app.mapper.prefetch_keys(notifications)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for notification in notifications:
                event = self.app.mapper.to_domain_event(notification)
                for name, handler, wants_position in self.handlers[notification.topic]:
                    if wants_position:
                        handler(self.db, event, notification.id)
                    else:
                        handler(self.db, event)
                    changed.add(name)
            self.conn.execute(
                f"INSERT INTO {TRACKING} (name, position) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET position = excluded.position",
                (TRACKING_NAME, position),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self._persisted, self._persisted_at = position, time.monotonic()
        if any(n.topic == ERASURE_TOPIC for n in notifications):
            self._truncate_wal()
        return changed

    def _truncate_wal(self) -> None:
        """After an erasure: the WAL's older page images still hold the person's rows; copy
        it into the file and truncate it. A reader still holding it: tried again at each poll
        (_follow) until it succeeds."""
        if str(self.read_db) == MEMORY:
            return
        busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy and not self._wal_to_truncate:
            log.warning("read models: the WAL could not be truncated after an erasure (a reader holds it);"
                        " retrying at each poll")
        self._wal_to_truncate = bool(busy)

    def flush(self) -> None:
        """Write a position that was only kept in memory (nothing in between was handled)."""
        if self._persisted < self.position:
            self._apply([], self.position)

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Apply everything in the log now; returns the position reached."""
        while True:
            passed = self.run_once()
            if progress is not None:
                progress(self.position, self.app.recorder.max_notification_id() or 0)
            if not passed:
                self.flush()
                return self.position

    def catch_up_to(self, stop: int, progress: Callable[[int, int], None] | None = None) -> int:
        """Apply the log up to position `stop` and no further (a rebuild as of a time)."""
        with self._head_lock:
            self._known_head = stop
        while self.position < stop and self.run_once(ask_head=False):
            if progress is not None:
                progress(self.position, stop)
        self.flush()
        return self.position

    def position_at(self, until: datetime) -> int:
        """The last position of the log whose event is stamped at or before `until` (the
        log's events are in time order): a binary search, decoding one event per step."""
        low, high = 0, self.app.recorder.max_notification_id() or 0
        while low < high:
            middle = (low + high + 1) // 2
            found = self.app.recorder.select_notifications(start=middle, limit=1, stop=high)
            if found and self.app.mapper.to_domain_event(found[0]).timestamp <= until:
                low = found[0].id
            else:
                high = middle - 1
        return low

    # -- following the log in a thread -----------------------------------------------------

    def start(self, poll_interval: float) -> None:
        self._thread = threading.Thread(
            target=self._follow, args=(poll_interval,), name="astapa-projections", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._nudge.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()
        self.conn.close()

    def nudge(self, committed: int | None = None) -> None:
        """Apply what was committed now rather than at the next poll. `committed`: the last
        position of a commit (this process's writer knows it), so the log's head need not be
        asked for; None: another process may have written (a PostgreSQL NOTIFY)."""
        with self._head_lock:
            if committed is None:
                self._ask_head = True
            else:
                self._known_head = max(self._known_head, committed)
        self._nudge.set()

    def _follow(self, poll_interval: float) -> None:
        while not self._stopping.is_set():
            nudged = self._nudge.wait(poll_interval)
            self._nudge.clear()
            # A poll, or a nudge from another process, asks the store for its head; a
            # commit of this process's own writer says where it is, which saves the query.
            with self._head_lock:
                ask_head, self._ask_head = not nudged or self._ask_head, False
            try:
                while self.run_once(ask_head) and not self._stopping.is_set():
                    ask_head = False
                if self._wal_to_truncate:
                    self._truncate_wal()
            except Exception:
                log.exception("projection batch failed; retrying at the next poll")

    # -- read your writes ---------------------------------------------------------------

    async def wait(self, position: int, timeout: float) -> bool:
        """Wait until the read models include `position` (and the listeners were told);
        False if the wait timed out."""
        if position <= self.visible_position:
            return True
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._waiters_lock:
            self._waiters.append((position, future, loop))
        self._release_waiters()
        self.nudge()  # asks the store: `position` may come from another process's commit
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except asyncio.TimeoutError:
            return position <= self.visible_position

    def head(self) -> int:
        """The last position in the log now (a query of the store)."""
        return self.app.recorder.max_notification_id() or 0

    def reach_head(self, timeout: float) -> None:
        """Block (a reader's thread, never the loop) until the read models hold every event
        the store held when called: what another process wrote is then readable here, as
        if this process had written it. When the store cannot be asked (PostgreSQL is
        restarting, say) the read models answer as they are."""
        if threading.current_thread() is self._thread:
            return  # the runner itself (a listener reading): waiting on itself would stall it
        try:
            head = self.head()
        except Exception as e:
            log.warning("cannot read the log's head (%s): reading the read models as they are", e)
            return
        if head <= self.visible_position:
            return
        self.nudge(head)
        with self._advanced:
            self._advanced.wait_for(lambda: self.visible_position >= head, timeout)

    def _release_waiters(self) -> None:
        with self._waiters_lock:
            ready = [w for w in self._waiters if w[0] <= self.visible_position]
            self._waiters = [w for w in self._waiters if w[0] > self.visible_position]
        for _, future, loop in ready:
            loop.call_soon_threadsafe(_done, future)


def _done(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
