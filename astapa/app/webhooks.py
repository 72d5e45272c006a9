"""Webhooks: the management API's and the console's commands, and what the follower of
the log and the sender record (astapa/webhooks/)."""

import base64
import secrets
from dataclasses import dataclass
from uuid import UUID, uuid4

from astapa.domain.webhooks import (
    ERROR_CHARS,
    REASON_ERROR_CHARS,
    SECRET_BYTES,
    SECRET_PREFIX,
    Webhook,
    WebhookDelivery,
    WebhookFollower,
    WebhookNotFoundError,
)
from astapa.domain.console import CONSOLE_PROJECT_ID
from astapa.domain.mail import WEBHOOK_DISABLED, Message
from astapa.store.events import Decision, EventStore


@dataclass(frozen=True)
class DeliverySpec:
    """One event of the log for one webhook, as the follower found it."""
    webhook_id: str
    project_id: str
    position: int
    type: str
    sub: str


def sealing_context(webhook_id: UUID | str) -> str:
    """The sealed secret opens only for its own webhook (AES-GCM associated data)."""
    return f"webhook:{UUID(str(webhook_id)).hex}"


class WebhookCommands(EventStore):
    # Set by the server (astapa/server.py): a SeedBox under the vault's `webhooks.key`.
    webhook_box = None

    def create_webhook(self, project_id: str, url: str, events: list[str], now: float, by: str) -> Decision:
        """A new webhook; its secret is in the answer only (the events hold it sealed), with
        all the creation's answer shows, so that answer needs no read model.
        The first webhook of the store also starts the follower of the log, from the head
        of the log now: only events after the webhook's are delivered."""
        secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
        webhook_id = uuid4()
        webhook = Webhook(webhook_key=webhook_id.hex, project_id=project_id, url=url, events=list(events),
                          sealed_secret=self.webhook_box.seal(secret, sealing_context(webhook_id)),
                          created_at=now, by=by)
        aggregates = [webhook]
        if not self.exists(WebhookFollower.create_id()):
            aggregates.append(WebhookFollower(position=self.recorder.max_notification_id() or 0))
        return Decision(aggregates, {"webhook_id": webhook_id.hex, "secret": secret, "url": url,
                                     "events": list(events), "created_at": now})

    def webhook_secret(self, webhook_id: UUID) -> str:
        """The secret in clear, for signing (the sender; never shown again)."""
        webhook: Webhook = self.load(webhook_id, lambda: WebhookNotFoundError(str(webhook_id)), read_only=True)
        return self.webhook_box.open(webhook.sealed_secret, sealing_context(webhook_id))

    def _webhook(self, project_id: str, webhook_id: UUID) -> Webhook:
        webhook: Webhook = self.load(webhook_id, lambda: WebhookNotFoundError(str(webhook_id)))
        webhook.check_in_project(project_id)
        return webhook

    def delete_webhook(self, project_id: str, webhook_id: UUID, by: str) -> Decision:
        webhook = self._webhook(project_id, webhook_id)
        webhook.delete(by=by)
        return Decision([webhook])

    def enable_webhook(self, project_id: str, webhook_id: UUID, by: str) -> Decision:
        """A disabled webhook gets its deliveries again (enabling an enabled one changes nothing)."""
        webhook = self._webhook(project_id, webhook_id)
        if webhook.disabled:
            webhook.enable(by=by)
        return Decision([webhook])

    # -- the follower of the log ----------------------------------------------------------

    def webhook_follower_position(self) -> int | None:
        """How far deliveries were scheduled; None while no webhook was ever created."""
        try:
            follower: WebhookFollower = self.load(WebhookFollower.create_id(), lambda: WebhookNotFoundError("follower"),
                                                  read_only=True)
        except WebhookNotFoundError:
            return None
        return follower.position

    def schedule_webhook_deliveries(self, specs: list[DeliverySpec], position: int, now: float) -> Decision:
        """Deliveries for the events up to `position`, and the follower moved there, in one
        save. Events at or before the follower's position were scheduled already (by this
        process before a restart, or by another leader): they are skipped, so reading the
        log again schedules nothing twice. Returns how many were scheduled."""
        follower: WebhookFollower = self.load(WebhookFollower.create_id(), lambda: WebhookNotFoundError("follower"))
        if position <= follower.position:
            return Decision([], 0)
        deliveries = [
            WebhookDelivery(webhook_id=spec.webhook_id, project_id=spec.project_id, position=spec.position,
                            type=spec.type, sub=spec.sub, due_at=now)
            for spec in specs if spec.position > follower.position
        ]
        follower.advance(position=position)
        return Decision([follower, *deliveries], len(deliveries))

    # -- the sender -----------------------------------------------------------------------

    def record_webhook_attempt(self, delivery_id: UUID, status: int | None, error: str, started_at: float) -> Decision:
        """The outcome of the attempt that started at `started_at`: delivered (a 2xx), tried
        again later, or, three days on, given up, which disables the webhook (with the reason)
        in the same save. The backoff counts from the attempt's start, so an endpoint that
        times out still gets its first three attempts within a minute."""
        now = started_at
        delivery: WebhookDelivery = self.load(delivery_id, lambda: WebhookNotFoundError(str(delivery_id)))
        if delivery.settled:
            return Decision([])  # recorded already: recording it again changes nothing
        if status is not None and 200 <= status < 300:
            delivery.deliver(status=status, at=now)
            return Decision([delivery])
        next_at = delivery.next_attempt_at(now)
        if next_at is not None:
            delivery.fail(status=status, error=error[:ERROR_CHARS], at=now, next_at=next_at)
            return Decision([delivery])
        delivery.give_up(status=status, error=error[:ERROR_CHARS], at=now)
        webhook: Webhook = self.load(UUID(delivery.webhook_id), lambda: WebhookNotFoundError(delivery.webhook_id))
        if webhook.disabled or webhook.deleted:
            return Decision([delivery])
        webhook.disable(reason=f"a delivery ({delivery.type}, event {delivery.position}) failed for three days:"
                               f" {error[:REASON_ERROR_CHARS]}")
        return Decision([delivery, webhook], {"disabled": delivery.webhook_id, "project_id": webhook.project_id})

    def notify_webhook_disabled(self, project_id: str, emails: list[str], now: float) -> Decision:
        """The notice that a webhook was disabled, mailed to the project's owners (the sender
        finds them: console_queries.owners' addresses)."""
        name = self._project(project_id).name  # type: ignore[attr-defined]
        return Decision([Message(project_id=CONSOLE_PROJECT_ID, to=email, kind=WEBHOOK_DISABLED, link_key=None,
                                 client_name=name, queued_at=now) for email in dict.fromkeys(emails)])
