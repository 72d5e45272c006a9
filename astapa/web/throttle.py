"""Throttling of repeated failures (RFC 6819 §5.1.4.2.3, NIST SP 800-63B §5.2.2).

Counts failures per key in a sliding window on the injected clock. Once a key reaches its
limit, every attempt is refused until the oldest failure leaves the window, a correct
password included, so the answer is no oracle. Kept in memory: a restart forgets the
counts, which only ever lets attempts through sooner.
"""

from collections import OrderedDict, deque

from astapa.clock import SystemClock


class Throttle:
    def __init__(self, clock: SystemClock, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        horizon = self.clock.now() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may now."""
        failures = self._recent(key)
        if failures is None or len(failures) < self.limit:
            return 0
        return max(1, int(failures[0] + self.window - self.clock.now()) + 1)

    def fail(self, key: str) -> None:
        failures = self._recent(key)
        if failures is None:
            failures = self._failures[key] = deque()
            if len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)
        failures.append(self.clock.now())

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)
