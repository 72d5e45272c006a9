"""Webhooks on the leader: the follower and the sender, each in its own task.

The follower schedules what the log holds; the sender keeps its workers busy with what is
due. Each wakes when the read models change (a new event of a user, a delivery scheduled
or its outcome applied), the sender also when a worker is free again, and both at least
each `interval` of real time, comparing due times with the injected clock, so retries
fall due as the clock moves (tests move a fake one). A slow receiver holds up neither the
follower nor other webhooks' deliveries. Only the process that leads the jobs
(server.py, leadership) acts; the others keep quiet.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from astapa.webhooks.follower import Follower
from astapa.webhooks.sender import Sender, finish

log = logging.getLogger("astapa.webhooks")

# The read models whose change may mean a new webhook event or a due delivery.
WATCHED = frozenset({"users", "refresh", "sessions", "payments", "webhooks"})


class Webhooks:
    def __init__(self, follower: Follower, sender: Sender, interval: float = 0.5) -> None:
        self.follower = follower
        self.sender = sender
        sender.leads = follower.leads  # one answer to "does this process lead the jobs?"
        self.interval = interval
        self._follow = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._listener: Callable[[set[str]], None] | None = None

    def start(self) -> None:
        self.sender.start()
        self._tasks = [asyncio.create_task(self._loop(self._follow, self._follow_all)),
                       asyncio.create_task(self._loop(self.sender.wake, self.sender.refill))]

    def nudge(self) -> None:
        self._follow.set()
        self.sender.wake.set()

    def on_read_models(self, loop: asyncio.AbstractEventLoop) -> Callable[[set[str]], None]:
        def listener(changed: set[str]) -> None:
            if "webhooks" in changed:
                loop.call_soon_threadsafe(self.follower.webhooks_changed)
            if changed & WATCHED:
                loop.call_soon_threadsafe(self.nudge)
        self._listener = listener
        return listener

    async def stop(self) -> None:
        if self._listener in self.follower.runner.listeners:
            self.follower.runner.listeners.remove(self._listener)
        await finish(self._tasks)
        await self.sender.close()

    async def _loop(self, wake: asyncio.Event, work: Callable[[], Awaitable[int]]) -> None:
        while True:
            try:
                await asyncio.wait_for(wake.wait(), self.interval)
            except TimeoutError:
                pass
            wake.clear()
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhooks: %s failed; it is tried again", getattr(work, "__name__", work))

    async def _follow_all(self) -> int:
        """Schedule what the log holds, batch after batch; each batch wakes the sender."""
        passed = 0
        while moved := await self.follower.step():
            passed += moved
        return passed
