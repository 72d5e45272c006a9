"""The sender: due deliveries signed (Standard Webhooks), POSTed, and each outcome recorded.

A fixed pool of worker tasks takes deliveries from a queue, which `refill` tops up from the
`webhooks` read model, so one slow receiver holds a few workers, never the others: each
delivery is queued or in flight once, and at most PER_WEBHOOK of one webhook at a time.
A delivery waits while an earlier one for the same webhook and user is pending (the read
model's query) or in flight (here), so one user's events arrive in log order.

An outcome is recorded as an event; until the read models show it, its delivery still
reads as pending, so the sender remembers the deliveries it recorded and skips them until
then (no second POST of a delivered event). Nothing is sent before the read models have
caught up with the log (at start, or on becoming the leader): a rebuilt or lagging read
model would show deliveries as pending whose outcome the log already holds.

The body is built from the event the delivery names, under the same `webhook-id` (the
delivery's id) on every attempt: the same bytes, unless the person was erased in between
(their fields then read "[erased]"). A receiver that got an attempt whose outcome was not
recorded (a crash in between) sees the same id again and can drop it.

A target is checked as fetched documents are (astapa/web/documents.py): https only
(http to loopback with the switch for tests), and the address the name resolves to at
the time of sending must be global unicast (a DNS answer may change after creation);
no redirects, no cookies, no proxy from the environment, a time limit.
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from uuid import UUID

import aiohttp

from astapa.app import AstapaApplication
from astapa.clock import SystemClock
from astapa.console_queries import notice_addresses
from astapa.domain.errors import DomainError
from astapa.domain.webhooks import ERROR_CHARS
from astapa.oauth.client_metadata import DocumentError
from astapa.queries import DueDelivery, ReadModels, due_webhook_deliveries
from astapa.store.writer import Writer
from astapa.web.documents import CheckedResolver, check_url
from astapa.webhooks import payload, signing
from projections.runner import Runner

log = logging.getLogger("astapa.webhooks")

ANSWER_BYTES = 4096  # of a receiver's answer, read and dropped
# A receiver that does not even accept the connection is given up on sooner than one
# that is slow to answer (the whole attempt stays within the configured timeout).
CONNECT_SECONDS = 5.0


class Sender:
    WORKERS = 64  # deliveries in flight at most, all webhooks together
    PER_WEBHOOK = 8  # of one webhook: a slow one holds this many workers, no more
    BATCH = 200  # due deliveries read per refill

    def __init__(self, app: AstapaApplication, writer: Writer, runner: Runner, reads: ReadModels,
                 clock: SystemClock, allow_http_loopback: bool, timeout: float, projection_wait: float) -> None:
        self.app = app
        self.writer = writer
        self.runner = runner
        self.reads = reads
        self.clock = clock
        self.allow_http_loopback = allow_http_loopback
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(CONNECT_SECONDS, timeout))
        self.projection_wait = projection_wait  # kept for the server's call; outcomes are not awaited
        # Whether this process leads the jobs; the service (service.py) sets the real one.
        self.leads: Callable[[], bool] = lambda: True
        self.wake = asyncio.Event()  # set when a worker is free again: refill
        self._queue: asyncio.Queue[DueDelivery] = asyncio.Queue()
        self._workers: list[asyncio.Task] = []
        self._taken: set[str] = set()  # delivery ids queued or in flight
        self._taken_subs: set[tuple[str, str]] = set()  # (webhook, sub) of those
        self._per_webhook: Counter[str] = Counter()
        self._recorded: dict[str, int] = {}  # delivery id -> position of its outcome, until visible
        self._caught_up = False  # the read models reached the log's head since this process leads
        self._session: aiohttp.ClientSession | None = None
        self._keys: dict[str, bytes] = {}  # webhook id -> HMAC key, opened once per process

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=CheckedResolver(self.allow_http_loopback), ttl_dns_cache=10,
                                             limit=self.WORKERS)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout,
                                                  cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)
        return self._session

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.WORKERS)]

    async def close(self) -> None:
        await finish(self._workers)
        if self._session is not None:
            await self._session.close()

    async def refill(self) -> int:
        """Queue the due deliveries that are not queued, in flight, or recorded but not yet
        shown by the read models; how many were queued."""
        if not self.leads():
            self._caught_up = False  # the next leader's outcomes may not be applied here yet
            return 0
        if not await self._reads_caught_up():
            return 0
        visible = self.runner.visible_position
        self._recorded = {d: p for d, p in self._recorded.items() if p > visible}
        due = await self.reads.query(due_webhook_deliveries, self.clock.now(), self.BATCH, 2 * self.PER_WEBHOOK)
        return sum(self._take(delivery) for delivery in due)

    def _take(self, due: DueDelivery) -> bool:
        if due.delivery_id in self._taken or due.delivery_id in self._recorded:
            return False
        if self._per_webhook[due.webhook_id] >= self.PER_WEBHOOK or (due.webhook_id, due.sub) in self._taken_subs:
            return False
        self._taken.add(due.delivery_id)
        self._taken_subs.add((due.webhook_id, due.sub))
        self._per_webhook[due.webhook_id] += 1
        self._queue.put_nowait(due)
        return True

    def _webhook_free(self, due: DueDelivery) -> None:
        """The POST is over: the webhook may get another (its outcome is being recorded)."""
        self._per_webhook[due.webhook_id] -= 1
        if self._per_webhook[due.webhook_id] <= 0:
            del self._per_webhook[due.webhook_id]
        self.wake.set()

    def _release(self, due: DueDelivery) -> None:
        """The outcome is recorded (or could not be): the delivery may be taken again once
        the read models show it due."""
        self._taken.discard(due.delivery_id)
        self._taken_subs.discard((due.webhook_id, due.sub))
        self.wake.set()

    async def _reads_caught_up(self) -> bool:
        """Whether the read models hold every event the log held when last asked (asked
        until they do, once per leadership)."""
        if not self._caught_up:
            head = await asyncio.get_running_loop().run_in_executor(self.reads.pool, self.runner.head)
            self._caught_up = self.runner.visible_position >= head
        return self._caught_up

    async def _work(self) -> None:
        while True:
            due = await self._queue.get()
            try:
                outcome = await self._attempt(due)
                if outcome is not None:
                    await self._record(due, *outcome)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # not recorded: attempted again at a later refill
                log.warning("webhook delivery %s: outcome not recorded: %r", due.delivery_id, e)
            finally:
                self._release(due)

    async def _attempt(self, due: DueDelivery) -> tuple[int | None, str, float] | None:
        """One attempt: the status answered, the error, and when it started (None: not made,
        this process no longer leads)."""
        try:
            # Checked before each POST: after a change of leader the queue may hold
            # deliveries the new leader sends now.
            if not self.leads():
                return None
            started_at = self.clock.now()
            try:
                body = await asyncio.get_running_loop().run_in_executor(self.reads.pool, self._body, due)
                key = await self._key(due.webhook_id)
            except Exception as e:  # recorded as a failed attempt: retried, and given up in time
                log.exception("webhook delivery %s cannot be built", due.delivery_id)
                return None, f"cannot be built: {type(e).__name__}", started_at
            return *(await self._post(due, body, key, started_at)), started_at
        finally:
            self._webhook_free(due)

    async def _record(self, due: DueDelivery, status: int | None, error: str, started_at: float) -> None:
        if status is not None and 200 <= status < 300:
            log.info("webhook %s: %s (event %d) delivered", due.webhook_id, due.type, due.position)
        else:
            log.warning("webhook %s: %s (event %d) not delivered (attempt %d): %s", due.webhook_id, due.type,
                        due.position, due.attempts + 1, error)
        outcome, position = await self.writer.run(self.app.record_webhook_attempt, UUID(due.delivery_id), status,
                                                  error, started_at)
        if position:
            self._recorded[due.delivery_id] = position
        if outcome and outcome.get("disabled"):
            await self._notify_owners(outcome["project_id"])

    async def _notify_owners(self, project_id: str) -> None:
        """Mail the project's owners that a webhook was disabled (the console shows why)."""
        addresses = await self.reads.query(notice_addresses, project_id)
        if addresses:
            await self.writer.run(self.app.notify_webhook_disabled, project_id, addresses, self.clock.now())

    async def _post(self, due: DueDelivery, body: bytes, key: bytes, started_at: float) -> tuple[int | None, str]:
        """The status answered (None: no answer) and what went wrong ("" for a 2xx)."""
        headers = signing.headers(key, due.delivery_id, int(started_at), body)
        try:
            check_url(due.url, self.allow_http_loopback)
            async with self.session().post(due.url, data=body, headers=headers, allow_redirects=False) as answer:
                await answer.content.read(ANSWER_BYTES)
                status = answer.status
        except DocumentError as e:
            return None, f"refused target: {e}"
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
            return None, f"{type(e).__name__}: {e}"[:ERROR_CHARS]
        return status, "" if 200 <= status < 300 else f"answered {status}"

    def _body(self, due: DueDelivery) -> bytes:
        """The delivery's body, from the event it names (in a reader's thread)."""
        found = self.app.recorder.select_notifications(start=due.position, limit=1, stop=due.position)
        event = self.app.mapper.to_domain_event(found[0])
        owner = None
        if payload.needs_owner(found[0].topic):
            owner = self.app.load(event.originator_id, lambda: DomainError("gone"), read_only=True)
        return payload.body(found[0].topic, event, due.project_id, due.sub, owner)

    async def _key(self, webhook_id: str) -> bytes:
        key = self._keys.get(webhook_id)
        if key is None:
            secret = await asyncio.get_running_loop().run_in_executor(
                self.reads.pool, self.app.webhook_secret, UUID(webhook_id))
            key = self._keys[webhook_id] = signing.signing_key(secret)
        return key


async def finish(tasks: list[asyncio.Task], attempts: int = 5) -> None:
    """Cancel the tasks and wait for them to end, cancelling again those still running: on
    Python 3.11, asyncio.wait_for (the writer's, the service's) swallows a cancellation that
    arrives as what it waits for completes, and the task would run on, holding the
    server's shutdown."""
    for _ in range(attempts):
        running = [task for task in tasks if not task.done()]
        if not running:
            return
        for task in running:
            task.cancel()
        await asyncio.wait(running, timeout=1.0)
    log.warning("webhooks: %d tasks did not stop", sum(not task.done() for task in tasks))
