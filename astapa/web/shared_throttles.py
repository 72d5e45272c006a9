"""Throttles that several server processes count together (workers, a cluster's nodes).

Each process keeps its throttles in memory (throttle.py) and checks them with no query.
What it counts (a failure with its time, or a clear after a good sign-in) goes to a
shared throttle log, written in bulk every SYNC_INTERVAL; what the other processes logged
is read back at the same pace and counted here too. So a limit holds across the cluster
within about SYNC_INTERVAL: an attacker spreading guesses over N processes gains at most
the guesses that fit in that interval. Rows older than the longest window are pruned.
"""

import asyncio
import logging
import uuid
from dataclasses import fields

from astapa.web.context import SignInThrottles, Throttles, off_loop
from astapa.web.throttle import Throttle

log = logging.getLogger("astapa.throttles")

SYNC_INTERVAL = 0.1
PRUNE_INTERVAL = 300.0
CLEAR = "clear:"  # a clear is logged under its throttle's name with this prefix
MAX_OUTBOX = 100_000  # counts kept for the log while the store cannot be reached


def named_throttles(throttles: Throttles) -> dict[str, Throttle]:
    """Every throttle by a name that is the same in every process."""
    named: dict[str, Throttle] = {}
    for field in fields(throttles):
        value = getattr(throttles, field.name)
        if isinstance(value, SignInThrottles):
            for inner in fields(value):
                named[f"{field.name}.{inner.name}"] = getattr(value, inner.name)
        elif isinstance(value, Throttle):
            named[field.name] = value
    return named


class SharedThrottles:
    def __init__(self, throttles: Throttles, throttle_log) -> None:
        self.log = throttle_log
        self.origin = uuid.uuid4().hex  # this process, in the log
        self.by_name = named_throttles(throttles)
        self.names = {id(throttle): name for name, throttle in self.by_name.items()}
        self.longest_window = max(t.window for t in self.by_name.values())
        self._outbox: list[tuple[str, str, float, str]] = []
        self._seen = 0
        for throttle in self.by_name.values():
            throttle.listeners.append(self._counted)

    def _counted(self, throttle: Throttle, key: str, at: float | None) -> None:
        if len(self._outbox) >= MAX_OUTBOX:  # the store is away: the oldest counts go first
            del self._outbox[: len(self._outbox) // 2]
        name = self.names[id(throttle)]
        if at is None:
            self._outbox.append((CLEAR + name, key, throttle.clock.now(), self.origin))
        else:
            self._outbox.append((name, key, at, self.origin))

    async def start(self) -> None:
        """From now on: what other processes count before this one starts does not count
        here, as a restart forgets counts (it only ever lets attempts through sooner)."""
        self._seen = await off_loop(self.log.latest_id)

    async def run(self) -> None:
        """Every SYNC_INTERVAL: send what was counted here, count what others sent."""
        loop = asyncio.get_running_loop()
        next_prune = loop.time() + PRUNE_INTERVAL
        while True:
            await asyncio.sleep(SYNC_INTERVAL)
            try:
                await self.sync()
                if loop.time() >= next_prune:
                    next_prune = loop.time() + PRUNE_INTERVAL
                    clock = next(iter(self.by_name.values())).clock
                    await off_loop(self.log.prune, clock.now() - self.longest_window)
            except Exception as e:  # the store is unreachable: counts wait for it, in order
                log.warning("sharing throttle counts failed (%s); retrying", e)

    async def sync(self) -> None:
        outbox, self._outbox = self._outbox, []
        if outbox:
            try:
                await off_loop(self.log.append, outbox)
            except BaseException:
                self._outbox[:0] = outbox
                raise
        rows = await off_loop(self.log.after, self._seen, self.origin)
        for row_id, name, key, at in rows:
            self._seen = row_id
            self._apply(name, key, at)

    def _apply(self, name: str, key: str, at: float) -> None:
        if name.startswith(CLEAR):
            throttle = self.by_name.get(name[len(CLEAR):])
            if throttle is not None:
                throttle.clear(key, here_only=True)
            return
        throttle = self.by_name.get(name)
        if throttle is not None and at > throttle.clock.now() - throttle.window:
            throttle.fail(key, at=at)

    def close(self) -> None:
        self.log.close()
