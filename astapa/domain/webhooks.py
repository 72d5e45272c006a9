"""Webhooks: a project's subscriptions to what happens to its users, and each delivery.

A `Webhook` names a URL and the event types it wants; its signing secret enters the log
only sealed (AES-256-GCM, astapa/second_factor.py's SeedBox under the `webhooks.key`),
so the secret is shown once, at creation, and the sender opens it again to sign.

A `WebhookDelivery` is one event of the log for one webhook. Its id is derived from the
pair (webhook, position of the event in the log), so scheduling the same event twice for
one webhook collides on the aggregate's version: each event reaches a webhook once,
across retries, restarts and a cluster's change of leader. Its events hold no payload
(which may carry an email): the sender builds the body from the event at `position`
each time, under the same `webhook-id`. The bytes are the same on every retry unless the
person was erased in between: their personal fields then read "[erased]" in the event, and
so in the body of the retries.

Deliveries are scheduled only for enabled webhooks: events that happen while a webhook is
disabled are dropped for it for good. Enabling it again delivers its pending deliveries
(those scheduled before it was disabled) and the events from then on.

The `WebhookFollower` holds how far the follower of the log has scheduled deliveries;
it is saved in the same decision as the deliveries it scheduled, so the two never part.
"""

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import DomainError
from astapa.domain.ids import index_id

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DISABLED = "user.disabled"
USER_DELETED = "user.deleted"
PLAN_ASSIGNED = "plan.assigned"
PAYMENT_SUCCEEDED = "payment.succeeded"
SESSION_REVOKED = "session.revoked"
EVENT_TYPES = (USER_CREATED, USER_UPDATED, USER_DISABLED, USER_DELETED, PLAN_ASSIGNED, PAYMENT_SUCCEEDED,
               SESSION_REVOKED)

# Standard Webhooks' secret: "whsec_" and the base64 of the HMAC key.
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32

# After a failed attempt, the wait from its start to the next: three attempts within a
# minute (starting at 0, 5 s and 35 s, however long each took to fail), then further apart, then every 10 hours until three days have passed
# since the delivery was scheduled; then it gives up and its webhook is disabled.
BACKOFF = (5.0, 30.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0)
GIVE_UP_AFTER = 3 * 24 * 3600.0

# A project's webhooks (disabled ones included): each event is sent once per webhook.
MAX_WEBHOOKS = 20

# What a failed attempt records of the error, and what a disabled webhook's reason quotes.
ERROR_CHARS = 200
REASON_ERROR_CHARS = 120

# Delivery statuses as the API shows them.
PENDING, DELIVERED, GAVE_UP = "pending", "delivered", "gave_up"


class WebhookNotFoundError(DomainError):
    """No webhook has this id in this project, or it was deleted."""


class Webhook(Aggregate):
    @event("Created")
    def __init__(self, webhook_key: str, project_id: str, url: str, events: list[str], sealed_secret: str,
                 created_at: float, by: str) -> None:
        """`webhook_key`: the id's hex, drawn first so the secret is sealed for this webhook."""
        self.project_id = project_id
        self.url = url
        self.events = list(events)
        self.sealed_secret = sealed_secret
        self.created_at = created_at
        self.disabled = False
        self.deleted = False

    @staticmethod
    def create_id(webhook_key: str) -> UUID:
        return UUID(hex=webhook_key)

    def check_in_project(self, project_id: str) -> None:
        if self.deleted or self.project_id != project_id:
            raise WebhookNotFoundError(str(self.id))

    @event("Disabled")
    def disable(self, reason: str) -> None:
        """No delivery is attempted any more until it is enabled: the pending ones wait,
        and the events of its project meanwhile are not scheduled for it (dropped)."""
        self.disabled = True

    @event("Enabled")
    def enable(self, by: str) -> None:
        self.disabled = False

    @event("Deleted")
    def delete(self, by: str) -> None:
        self.deleted = True


def delivery_id(webhook_id: UUID, position: int) -> UUID:
    """One delivery per (webhook, event of the log): the `webhook-id` header too."""
    return uuid5(webhook_id, str(position))


class WebhookDelivery(Aggregate):
    @event("Scheduled")
    def __init__(self, webhook_id: str, project_id: str, position: int, type: str, sub: str,
                 due_at: float) -> None:
        self.webhook_id = webhook_id
        self.project_id = project_id
        self.position = position
        self.type = type
        self.sub = sub
        self.due_at = due_at
        self.attempts = 0
        self.status = PENDING

    @staticmethod
    def create_id(webhook_id: str, position: int) -> UUID:
        return delivery_id(UUID(hex=webhook_id), position)

    @property
    def settled(self) -> bool:
        return self.status != PENDING

    def next_attempt_at(self, now: float) -> float | None:
        """When to try again after a failed attempt that started at `now` (this being attempt
        `attempts + 1`); None once three days have passed since the delivery was scheduled."""
        wait = BACKOFF[min(self.attempts, len(BACKOFF) - 1)]
        if now + wait > self.due_at + GIVE_UP_AFTER:
            return None
        return now + wait

    @event("Delivered")
    def deliver(self, status: int, at: float) -> None:
        self.attempts += 1
        self.status = DELIVERED

    @event("Failed")
    def fail(self, status: int | None, error: str, at: float, next_at: float) -> None:
        """Not a 2xx (`status`), or no answer at all (`error`): tried again at `next_at`."""
        self.attempts += 1

    @event("GaveUp")
    def give_up(self, status: int | None, error: str, at: float) -> None:
        self.attempts += 1
        self.status = GAVE_UP


class WebhookFollower(Aggregate):
    """How far the log has been read for webhooks: one per store."""

    @event("Started")
    def __init__(self, position: int) -> None:
        self.position = position

    @staticmethod
    def create_id() -> UUID:
        return index_id("webhook-follower", "log")

    @event("Advanced")
    def advance(self, position: int) -> None:
        self.position = position
