"""Throttling of repeated failures (RFC 6819 §5.1.4.2.3, NIST SP 800-63B §5.2.2).

Counts failures per key in a sliding window on the injected clock. Once a key reaches its
limit, every attempt is refused until the oldest failure leaves the window, a correct
password included, so the answer is no oracle. Kept in memory: a restart forgets the
counts, which only ever lets attempts through sooner. Several processes (workers, a
cluster's nodes) count together through a shared throttle log (shared_throttles.py).
"""

import bisect
from collections import OrderedDict, deque

from astapa.clock import SystemClock


class Throttle:
    """One table of counts, at most `max_keys` keys. When a new key would pass the bound,
    the table forgets a key whose failures have all left the window if it has one, else the
    key with the fewest failures that failed least recently (never the newcomer). A key at
    its limit goes only when every other key is at its limit too: to lift one lockout, a
    flood must lock `max_keys` other keys within the window (`limit` failures each)."""

    def __init__(self, clock: SystemClock, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()  # least recently failed first
        self._tier: dict[str, int] = {}  # key -> its count of failures when it last failed (at most limit)
        self._tiers: dict[int, OrderedDict[str, None]] = {}  # count -> its keys, least recently failed first
        # Told of each failure (with its time) and clear (None) made here: the throttle log
        # that other processes count from (astapa/web/shared_throttles.py).
        self.listeners: list = []

    def _recent(self, key: str) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        horizon = self.clock.now() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._forget(key)
            return None
        return failures

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may now."""
        failures = self._recent(key)
        if failures is None or len(failures) < self.limit:
            return 0
        return max(1, int(failures[0] + self.window - self.clock.now()) + 1)

    def fail(self, key: str, at: float | None = None) -> None:
        """A failure now, or at `at` (one another process counted: it may be older than
        failures counted here since, so it goes in its place)."""
        if at is None:
            at = self.clock.now()
            for listener in self.listeners:
                listener(self, key, at)
        failures = self._recent(key)
        if failures is None:
            failures = self._failures[key] = deque()
        else:
            self._failures.move_to_end(key)
            self._leave_tier(key)
        bisect.insort(failures, at)
        tier = self._tier[key] = min(len(failures), self.limit)
        self._tiers.setdefault(tier, OrderedDict())[key] = None
        while len(self._failures) > self.max_keys:
            self._forget(self._victim(key))

    def clear(self, key: str, here_only: bool = False) -> None:
        if not here_only:
            for listener in self.listeners:
                listener(self, key, None)
        if key in self._failures:
            self._forget(key)

    def _victim(self, newcomer: str) -> str:
        oldest, failures = next(iter(self._failures.items()))
        if oldest != newcomer and failures[-1] <= self.clock.now() - self.window:
            return oldest  # every failure it had has left the window
        for tier in sorted(self._tiers):
            for key in self._tiers[tier]:
                if key != newcomer:
                    return key
        raise AssertionError("a full table holds keys other than the newcomer")

    def _leave_tier(self, key: str) -> None:
        tier = self._tier.pop(key)
        keys = self._tiers[tier]
        del keys[key]
        if not keys:
            del self._tiers[tier]

    def _forget(self, key: str) -> None:
        del self._failures[key]
        self._leave_tier(key)
