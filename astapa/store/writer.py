"""The one writer thread: every command the server performs is decided and saved here.

Group commit: the thread takes every command waiting in its queue, lets each decide, and
saves all their events in one transaction (one fsync), then answers each caller with the
position of its own last event. Commands touching an aggregate already in the batch start
a new batch, so no command decides on a state another one in flight is changing. When a
batch conflicts with a write from another process, each command is decided and saved again
on its own, so one conflict never fails its neighbours. Nothing is acknowledged before
the transaction holding it has committed.
"""

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, PersistenceError

from astapa.domain.errors import DomainError, StoreBusyError
from astapa.store.events import Decision, EventStore

log = logging.getLogger("astapa.writer")

MAX_BATCH = 256


@dataclass
class Job:
    command: Callable[..., Decision]
    args: tuple
    kwargs: dict
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop

    def resolve(self, value: Any = None, error: BaseException | None = None) -> None:
        settle_all([(self, value, error)])


def settle_all(outcomes: list[tuple[Job, Any, BaseException | None]]) -> None:
    """Answer many callers with one wake-up of each event loop (a syscall each, saved)."""
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for job, value, error in outcomes:
        by_loop.setdefault(job.loop, []).append((job.future, value, error))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # the caller's loop has closed: nobody is waiting any more
            pass


def _settle(settled: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    for future, value, error in settled:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


class Writer:
    def __init__(self, app: EventStore, on_commit: Callable[[int], None] | None = None,
                 deadline: float = 10.0):
        self.app = app
        self.deadline = deadline
        self.on_commit = on_commit
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="astapa-writer", daemon=True)
        # How many transactions committed, and how many commands they held (group commit).
        self.transactions = 0
        self.commands_saved = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    async def run(self, command: Callable[..., Decision], *args: Any, **kwargs: Any) -> tuple[Any, int]:
        """Perform a command; returns (its value, the position of its last event).

        A caller that waits longer than the deadline (another process holds the store's
        lock) gets StoreBusyError, answered 503 with Retry-After. The command may still
        commit later; every command is safe to retry (issuing is fresh, revoking idempotent).
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(Job(command, args, kwargs, future, loop))
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.deadline)
        except asyncio.TimeoutError:
            raise StoreBusyError(command.__name__) from None

    async def run_each(self, command: Callable[..., Decision], calls: list[tuple]) -> list[int]:
        """The command once per argument tuple, concurrently (committed in groups); the
        positions of those that recorded something."""
        outcomes = await asyncio.gather(*(self.run(command, *args) for args in calls))
        return [position for _, position in outcomes if position]

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            stop = False
            while len(jobs) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                jobs.append(more)
            self._process(jobs)
            if stop:
                return

    def _process(self, jobs: list[Job]) -> None:
        batch: list[tuple[Job, Decision]] = []
        touched: set = set()
        for job in jobs:
            decision = self._decide(job)
            if decision is None:
                continue
            ids = {a.id for a in decision.aggregates}
            if ids & touched:
                self._commit(batch)
                batch, touched = [], set()
                decision = self._decide(job)  # decide again on the state just saved
                if decision is None:
                    continue
                ids = {a.id for a in decision.aggregates}
            batch.append((job, decision))
            touched |= ids
        self._commit(batch)

    def _decide(self, job: Job) -> Decision | None:
        try:
            return job.command(*job.args, **job.kwargs)
        except DomainError as e:
            job.resolve(error=e)
        except (OperationalError, InterfaceError):  # the store is unreachable: 503, try again
            job.resolve(error=StoreBusyError(job.command.__name__))
        except Exception as e:  # a bug: answer the caller, keep the writer alive
            log.exception("command %s failed", job.command.__name__)
            job.resolve(error=e)
        return None

    def _commit(self, batch: list[tuple[Job, Decision]]) -> None:
        if not batch:
            return
        try:
            positions = self.app.save_decisions([d for _, d in batch])
        except IntegrityError as e:  # another process wrote one of these first: nothing was saved
            self._each_alone(batch, e)
            return
        except PersistenceError as e:
            if not self.app.commit_may_be_ambiguous:
                self._each_alone(batch, e)
                return
            # The store went away mid-commit (see EventStore.commit_may_be_ambiguous):
            # nobody is told it worked, nothing is decided again.
            log.warning("the event store failed during a commit: %s", e)
            settle_all([(job, None, StoreBusyError(job.command.__name__)) for job, _ in batch])
            return
        except Exception as e:
            self._each_alone(batch, e)
            return
        self.transactions += 1
        self.commands_saved += len(batch)
        self._committed(max(positions))
        for (_, decision), position in zip(batch, positions):
            if decision.error is not None:
                decision.error.recorded_at = position  # what the refusal saved
        settle_all([(job, (decision.value, position), decision.error)
                    for (job, decision), position in zip(batch, positions)])

    def _each_alone(self, batch: list[tuple[Job, Decision]], first_error: Exception) -> None:
        """A conflict with another process, a locked store, or one bad command: decide and
        save each command on its own, so no failure reaches its neighbours."""
        for job, _ in batch:
            self._execute_alone(job, first_error)

    def _execute_alone(self, job: Job, first_error: Exception) -> None:
        try:
            value, position = self.app.execute(job.command, *job.args, **job.kwargs)
        except DomainError as e:
            job.resolve(error=e)
            return
        except Exception as e:
            log.exception("command %s failed after %r", job.command.__name__, first_error)
            job.resolve(error=StoreBusyError(job.command.__name__) if isinstance(e, (OperationalError, InterfaceError)) else e)
            return
        self.transactions += 1
        self.commands_saved += 1
        self._committed(position)
        job.resolve((value, position))

    def _committed(self, position: int) -> None:
        if position and self.on_commit is not None:
            self.on_commit(position)
