"""The writer thread: group commit, conflicts with other processes, a locked store."""

import asyncio
import sqlite3
import threading
import time

import pytest

from astapa.app import AstapaApplication
from astapa.domain.errors import StoreBusyError
from astapa.store.writer import Writer


@pytest.fixture
def app(tmp_path):
    application = AstapaApplication(tmp_path / "events.db", lock_timeout=1)
    yield application
    application.close()


def issue(app: AstapaApplication, n: int) -> list:
    return [
        (app.issue_access_token, dict(jti=f"{i:032x}", client_id="c", project_id="p", subject="c",
                                      scopes=[], audience="c", expires_at=1))
        for i in range(n)
    ]


async def run_all(writer: Writer, commands) -> list:
    return await asyncio.gather(*(writer.run(c, **kw) for c, kw in commands), return_exceptions=True)


def test_commands_waiting_together_commit_together(app):
    writer = Writer(app)
    writer.start()
    try:
        results = asyncio.run(run_all(writer, issue(app, 100)))
    finally:
        writer.stop()
    positions = [position for _, position in results]
    assert sorted(positions) == list(range(1, 101))
    assert writer.commands_saved == 100 and writer.transactions < 100


def test_a_command_on_an_aggregate_already_in_the_batch_decides_on_saved_state(app):
    """Two revocations of one token in one batch: the second sees the first and adds nothing."""
    writer = Writer(app)
    writer.start()
    try:
        async def scenario():
            await writer.run(app.issue_access_token, jti="a" * 32, client_id="c", project_id="p",
                             subject="c", scopes=[], audience="c", expires_at=1)
            return await asyncio.gather(*(writer.run(app.revoke_access_token, "a" * 32, "c") for _ in range(5)))

        results = asyncio.run(scenario())
    finally:
        writer.stop()
    revoked = [p for _, p in results if p]
    assert len(revoked) == 1
    assert app.recorder.max_notification_id() == 2


def test_a_conflicting_write_from_another_process_is_decided_again(app, tmp_path):
    """The batch collides with a write made meanwhile by another process: retried alone."""
    other = AstapaApplication(tmp_path / "events.db")
    writer = Writer(app)
    original = app.revoke_access_token
    calls = []

    def revoke_racing(jti, by):
        decision = original(jti, by)
        if not calls:  # the other process revokes between our load and our save
            other.save(*other.revoke_access_token(jti, "other").aggregates)
        calls.append(1)
        return decision

    app.save(*app.issue_access_token("b" * 32, "c", "p", "c", [], "c", 1).aggregates)
    writer.start()
    try:
        value, position = asyncio.run(writer.run(revoke_racing, "b" * 32, "c"))
    finally:
        writer.stop()
        other.close()
    assert len(calls) == 2  # decided again after the conflict
    assert position == 0  # already revoked by the other process: nothing new to record
    assert app.recorder.max_notification_id() == 2


def test_a_store_locked_by_another_process_answers_busy_not_a_crash(app, tmp_path):
    writer = Writer(app, deadline=1.5)
    writer.start()
    blocker = sqlite3.connect(tmp_path / "events.db", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    released = threading.Timer(4, blocker.rollback)
    released.start()
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusyError):
            asyncio.run(writer.run(app.issue_access_token, "c" * 32, "c", "p", "c", [], "c", 1))
        assert time.monotonic() - started < 3
        released.join()
        # Once the lock is gone the writer carries on; the first command was kept and saved.
        value, position = asyncio.run(writer.run(app.issue_access_token, "d" * 32, "c", "p", "c", [], "c", 1))
        assert position > 0
    finally:
        writer.stop()
        blocker.close()


def test_a_command_that_cannot_be_saved_fails_alone(app):
    """One decision whose event cannot be stored never takes its batch neighbours down."""
    writer = Writer(app)
    writer.start()
    commands = issue(app, 20)
    command, kwargs = commands[7]
    commands[7] = (command, {**kwargs, "audience": "\ud800"})  # not encodable: save fails
    try:
        results = asyncio.run(run_all(writer, commands))
    finally:
        writer.stop()
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and results[7] is failures[0]
    assert app.recorder.max_notification_id() == 19
