"""The follower of the log: each event that is a webhook event type becomes a delivery for
every enabled webhook of its project that subscribed to that type.

It reads the log (only the topics that matter) from its own position, which is kept in
the store (the WebhookFollower aggregate) and saved with the deliveries it scheduled, in
one decision per batch: a restart, or another process taking over as leader, resumes
from there, so nothing is lost and nothing is scheduled twice. It reads no further than
the read models have applied, so the webhooks it looks up include every one created up
to the events it schedules; a webhook gets only events after its own creation.
"""

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable

from astapa.app import AstapaApplication
from astapa.app.webhooks import DeliverySpec
from astapa.clock import SystemClock
from astapa.domain.errors import DomainError
from astapa.queries import ReadModels, Subscription, live_subscriptions, owners
from astapa.store.writer import Writer
from astapa.webhooks.payload import IN_EVENT, TOPIC_LIST, TOPICS
from projections.runner import Runner

log = logging.getLogger("astapa.webhooks")

BATCH = 500
# With nothing to schedule, the position is saved after this many positions or seconds,
# so a restart does not read a long stretch of the log again.
IDLE_POSITIONS = 10_000
IDLE_SECONDS = 60.0


class Follower:
    def __init__(self, app: AstapaApplication, writer: Writer, runner: Runner, reads: ReadModels,
                 clock: SystemClock, leads: Callable[[], bool]) -> None:
        self.app = app
        self.writer = writer
        self.runner = runner
        self.reads = reads
        self.clock = clock
        self.leads = leads
        self.position: int | None = None  # read up to here (None: load it from the store)
        self._saved = 0  # the position the store holds
        self._saved_at = time.monotonic()
        # No webhook was ever created, as far as the store said: not asked again (a query
        # of the store each time) until the webhooks read model changes.
        self._none_yet = False

    def webhooks_changed(self) -> None:
        """The webhooks read model changed (a webhook may exist now): ask the store again."""
        self._none_yet = False

    async def step(self) -> int:
        """Schedule the next batch; how many positions it passed (0: caught up)."""
        if not self.leads():
            self.position = None  # another process may move it meanwhile
            return 0
        loop = asyncio.get_running_loop()
        if self.position is None:
            if self._none_yet:
                return 0
            self.position = await loop.run_in_executor(self.reads.pool, self.app.webhook_follower_position)
            if self.position is None:
                self._none_yet = True
                return 0
            self._saved, self._saved_at = self.position, time.monotonic()
        stop = self.runner.visible_position
        if stop <= self.position:
            return 0
        specs, reached = await loop.run_in_executor(self.reads.pool, self._read, self.position, stop)
        idle_due = reached - self._saved >= IDLE_POSITIONS or time.monotonic() - self._saved_at >= IDLE_SECONDS
        if specs or idle_due:
            try:
                await self.writer.run(self.app.schedule_webhook_deliveries, specs, reached, self.clock.now())
            except Exception:
                self.position = None  # read again from what the store holds
                raise
            self._saved, self._saved_at = reached, time.monotonic()
        passed, self.position = reached - self.position, reached
        return passed

    def _read(self, after: int, stop: int) -> tuple[list[DeliverySpec], int]:
        """The deliveries the events after `after` (up to `stop`) make; the position reached.
        Only events of a type some enabled webhook wants are decoded and their users found."""
        notifications = self.app.recorder.select_notifications(start=after + 1, limit=BATCH, stop=stop,
                                                               topics=TOPIC_LIST)
        reached = notifications[-1].id if len(notifications) == BATCH else stop
        if not notifications:
            return [], reached
        webhooks = self.reads.run(live_subscriptions)
        if not webhooks:
            return [], reached
        wanted = {kind for webhook in webhooks for kind in webhook.events}
        oldest = min(webhook.created_position for webhook in webhooks)
        events = [(n, self.app.mapper.to_domain_event(n)) for n in notifications
                  if TOPICS[n.topic][0] in wanted and n.id > oldest]
        found = self._owners(events)
        return [spec for event in found for spec in specs_for(event, webhooks)], reached

    def _owners(self, events: list) -> list[tuple[int, str, str, str]]:
        """(position, webhook event type, project, sub) of each event whose user is known:
        from the event itself, else one query of the read models for the batch, else (a
        row gone, as an erased user's) a load of the aggregate."""
        wanted: dict[str, list[str]] = defaultdict(list)
        for notification, event in events:
            where = TOPICS[notification.topic][1]
            if where != IN_EVENT:
                wanted[where].append(event.originator_id.hex)
        known = self.reads.run(owners, dict(wanted)) if wanted else {}
        found = []
        for notification, event in events:
            kind, where, _ = TOPICS[notification.topic]
            if where == IN_EVENT:
                owner = (event.project_id, event.sub)
            else:
                owner = known.get(event.originator_id.hex) or self._loaded_owner(notification.id, event)
            if owner is not None:
                found.append((notification.id, kind, *owner))
        return found

    def _loaded_owner(self, position: int, event) -> tuple[str, str] | None:
        try:
            aggregate = self.app.load(event.originator_id, lambda: DomainError("gone"), read_only=True)
        except Exception as e:  # never stop the follower for one event
            log.warning("webhook event at %d skipped: its user cannot be found (%r)", position, e)
            return None
        return aggregate.project_id, aggregate.sub


def specs_for(event: tuple[int, str, str, str], webhooks: list[Subscription]) -> list[DeliverySpec]:
    position, kind, project_id, sub = event
    return [DeliverySpec(w.webhook_id, project_id, position, kind, sub) for w in webhooks
            if w.project_id == project_id and kind in w.events and w.created_position < position]
