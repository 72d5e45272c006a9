"""The hash chain over the stored events: evidence that the log was not altered.

Each stored event has a link: its position, the position of the event before it, and

    hash = sha256(previous hash | position | originator id | version | topic | state)

(the previous hash of the first event is 32 zero bytes; numbers are fixed-width big-endian,
the topic is length-prefixed, so no two different events encode alike). The link is written
by the recorder in the same transaction as its event, after the events table is locked for
writing (SQLite's one writer; PostgreSQL's EXCLUSIVE lock, which eventsourcing takes to keep
insert order equal to commit order), so several writers still build one chain.

What it proves: recomputing the chain finds the first event changed, removed or inserted
since its link was written, unless whoever changed it also rewrote every link after it. That
is why an auditor keeps checkpoints (the head, signed with the service's key) outside the
store: a log that matches a checkpoint's head at its position is the one that was signed.
The chain is integrity relative to such a checkpoint, not authenticity by itself. The
states hashed are the stored bytes, so personal fields are covered as ciphertext and erasing
a person (deleting their key) leaves the chain whole.

Snapshots are not covered: they are a shortcut for loading aggregates, derived from the
events, and can be deleted and taken again.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory

log = logging.getLogger("astapa.chain")

CHAIN_TABLE = "astapa_chain"
GENESIS = bytes(32)
_FIXED = struct.Struct(">32sQ16sQI")


def link_hash(previous: bytes, position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    encoded_topic = topic.encode()
    head = _FIXED.pack(previous, position, originator_id.bytes, version, len(encoded_topic))
    return hashlib.sha256(head + encoded_topic + state).digest()


def links_for(head: tuple[int, bytes] | None, positions: Sequence[int],
              events: Sequence[StoredEvent]) -> list[tuple[int, int, bytes]]:
    """The (position, previous position, hash) rows for events just stored at `positions`,
    after the chain's `head` (position, hash), None for an empty chain."""
    previous_position, previous_hash = head if head is not None else (0, GENESIS)
    rows = []
    for position, event in zip(positions, events):
        originator_id = event.originator_id if isinstance(event.originator_id, UUID) else UUID(event.originator_id)
        previous_hash = link_hash(previous_hash, position, originator_id, event.originator_version,
                                  event.topic, bytes(event.state))
        rows.append((position, previous_position, previous_hash))
        previous_position = position
    return rows


def head_text(digest: bytes) -> str:
    return "sha256:" + digest.hex()


# --- Writing: the recorders -------------------------------------------------------------


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder, adding each event's link in its transaction."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position INTEGER PRIMARY KEY, "
                "previous INTEGER NOT NULL, hash BLOB NOT NULL)"]

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            # A write first, so this transaction holds the write lock before it reads.
            c.execute(f"DELETE FROM {CHAIN_TABLE} WHERE 0")
            c.execute(f"SELECT 1 FROM {CHAIN_TABLE} LIMIT 1")
            if c.fetchone() is None:
                self._link_all(c)

    def relink(self) -> None:
        """Link every event again, in one transaction (see rebuild_chain)."""
        with self.datastore.transaction(commit=True) as c:
            self.relink_within(c)

    def relink_within(self, c: Any) -> None:
        """Link every event again, in the caller's transaction."""
        c.execute(f"DELETE FROM {CHAIN_TABLE}")
        self._link_all(c)

    def _link_all(self, c: Any) -> None:
        # Read in step with the inserts (another cursor), not the whole log at once.
        connection = getattr(c, "sqlite_cursor", c).connection  # under eventsourcing's wrapper
        events = connection.execute(f"SELECT rowid, originator_id, originator_version, topic, state"
                                    f" FROM {self.events_table_name} ORDER BY rowid")
        start_chain(events, lambda rows: c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?, ?)", rows))

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if positions:
            # The inserts above took the write lock: the head read here is the last one.
            c.execute(f"SELECT position, hash FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1")
            row = c.fetchone()
            head = (row[0], row[1]) if row is not None else None
            c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?, ?)", links_for(head, positions, stored_events))
        return positions


class ChainedSQLiteFactory(SQLiteFactory):
    application_recorder_class = ChainedSQLiteApplicationRecorder


def start_chain(rows: Iterable[Any], insert: Callable[[list], Any]) -> None:
    """Link the events `rows` yields, oldest first, from the first (a log written before the
    chain existed, or relinked after the sanctioned rewrite), in the caller's transaction,
    which holds the write lock, so no event is stored meanwhile."""
    previous_position, previous_hash, batch, count = 0, GENESIS, [], 0
    for position, originator_id, version, topic, state in rows:
        uuid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        previous_hash = link_hash(previous_hash, position, uuid, version, topic, bytes(state))
        batch.append((position, previous_position, previous_hash))
        previous_position = position
        if len(batch) == 10_000:
            insert(batch)
            count, batch = count + len(batch), []
    if batch:
        insert(batch)
        count += len(batch)
    if count:
        log.info("linked the %d events stored before the hash chain existed", count)


def rebuild_chain(recorder: Any, cursor: Any = None) -> None:
    """Link the whole log again, from the first event: after the one sanctioned rewrite of
    stored events (sealing the personal data of a log written before it was sealed), in
    that rewrite's transaction when `cursor` is given (so no commit ever leaves the chain
    broken), else in one of its own. Checkpoints signed before it no longer match."""
    if cursor is None:
        recorder.relink()
    else:
        recorder.relink_within(cursor)


# --- Verifying ----------------------------------------------------------------------------


@dataclass
class Break:
    """The first place the log disagrees with its chain."""
    position: int
    problem: str  # changed | removed | inserted
    detail: str


@dataclass
class Verified:
    events: int
    head: bytes  # the last link's hash (GENESIS for an empty log)
    position: int  # the last event's position
    hashes: dict[int, tuple[bytes, int]]  # at the positions asked for: (hash, events up to it)


Row = tuple  # (position, originator_id, version, topic, state)
Link = tuple  # (position, previous, hash)


def verify(events: Iterator[Row], links: Iterator[Link], *, keep: Iterable[int] = (),
           progress: Callable[[int], None] | None = None) -> Verified | Break:
    """Recompute the chain over `events` (ordered by position) against the stored `links`
    (ordered by position); the first break, or what was verified. `keep`: positions whose
    hashes to return (a checkpoint's)."""
    wanted = set(keep)
    kept: dict[int, tuple[bytes, int]] = {}
    previous_position, previous_hash, count = 0, GENESIS, 0
    event, stored = next(events, None), next(links, None)
    while event is not None or stored is not None:
        if stored is None or (event is not None and event[0] < stored[0]):
            return Break(event[0], "inserted", "an event with no link in the chain")
        if event is None or stored[0] < event[0]:
            return Break(stored[0], "removed", "the chain links an event that is not in the log")
        position, previous, digest = stored
        if previous != previous_position:
            if previous > previous_position:
                return Break(previous, "removed", f"the event at {position} follows {previous}, which is not in the log")
            return Break(previous_position, "inserted",
                         f"the event at {position} follows {previous}, not {previous_position}")
        recomputed = _recomputed(previous_hash, event)
        if recomputed is None or recomputed != bytes(digest):
            return Break(position, "changed", "the event's bytes or its link do not hash as they did when it was stored")
        previous_position, previous_hash = position, recomputed
        count += 1
        if position in wanted:
            kept[position] = (recomputed, count)
        if progress is not None and count % 10_000 == 0:
            progress(count)
        event, stored = next(events, None), next(links, None)
    return Verified(count, previous_hash, previous_position, kept)


def _recomputed(previous_hash: bytes, event: Row) -> bytes | None:
    """The event's link hash, or None when a column no longer holds what the recorder
    writes (a state turned into text, a malformed originator id): changed as surely."""
    position, originator_id, version, topic, state = event
    if not isinstance(state, (bytes, memoryview)) or not isinstance(topic, str) or not isinstance(version, int):
        return None
    try:
        uuid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
    except (TypeError, ValueError, AttributeError):
        return None
    return link_hash(previous_hash, position, uuid, version, topic, bytes(state))
