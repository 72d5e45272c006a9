"""Webhooks and their deliveries: what the follower reads to find a project's webhooks,
what the sender reads to find deliveries that are due, and each webhook's delivery log.

No secret is kept here, not even sealed: the sender opens it from the webhook's events.
"""

import json

from sqlite_utils import Database

from astapa.domain.webhooks import DELIVERED, GAVE_UP, PENDING, Webhook, WebhookDelivery

NAME = "webhooks"


def create_tables(db: Database) -> None:
    db["webhooks"].create(
        {
            "webhook_id": str,
            "project_id": str,
            "url": str,
            "events": str,  # a JSON list of event types
            "created_at": float,
            "created_position": int,  # only events after this one are delivered
            "status": str,  # enabled | disabled
            "disabled_reason": str,
        },
        pk="webhook_id",
        if_not_exists=True,
    )
    db["webhooks"].create_index(["project_id", "created_at"], if_not_exists=True)
    db["webhook_deliveries"].create(
        {
            "delivery_id": str,
            "webhook_id": str,
            "project_id": str,
            "position": int,
            "type": str,
            "sub": str,
            "status": str,  # pending | delivered | gave_up
            "attempts": int,
            "scheduled_at": float,
            "next_attempt_at": float,
            "last_attempt_at": float,
            "last_status": int,
            "last_error": str,
            "delivered_at": float,
        },
        pk="delivery_id",
        if_not_exists=True,
    )
    # Due deliveries; the earlier pending one of the same user (order per user); the log.
    db["webhook_deliveries"].create_index(["status", "next_attempt_at"], if_not_exists=True)
    db["webhook_deliveries"].create_index(["webhook_id", "sub", "status", "position"], if_not_exists=True)
    db["webhook_deliveries"].create_index(["webhook_id", "position"], if_not_exists=True)


def webhook_created(db: Database, e: Webhook.Created, position: int) -> None:
    db.execute(
        "INSERT INTO webhooks (webhook_id, project_id, url, events, created_at, created_position, status)"
        " VALUES (?, ?, ?, ?, ?, ?, 'enabled')",
        [e.originator_id.hex, e.project_id, e.url, json.dumps(list(e.events)), e.created_at, position],
    )


def webhook_disabled(db: Database, e: Webhook.Disabled) -> None:
    db.execute("UPDATE webhooks SET status = 'disabled', disabled_reason = ? WHERE webhook_id = ?",
               [e.reason, e.originator_id.hex])


def webhook_enabled(db: Database, e: Webhook.Enabled) -> None:
    db.execute("UPDATE webhooks SET status = 'enabled', disabled_reason = NULL WHERE webhook_id = ?",
               [e.originator_id.hex])


def webhook_deleted(db: Database, e: Webhook.Deleted) -> None:
    db.execute("DELETE FROM webhooks WHERE webhook_id = ?", [e.originator_id.hex])
    db.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", [e.originator_id.hex])


def delivery_scheduled(db: Database, e: WebhookDelivery.Scheduled) -> None:
    db.execute(
        "INSERT INTO webhook_deliveries (delivery_id, webhook_id, project_id, position, type, sub, status,"
        " attempts, scheduled_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        [e.originator_id.hex, e.webhook_id, e.project_id, e.position, e.type, e.sub, PENDING, e.due_at, e.due_at],
    )


def delivery_delivered(db: Database, e: WebhookDelivery.Delivered) -> None:
    db.execute(
        "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_attempt_at = ?, last_status = ?,"
        " last_error = NULL, next_attempt_at = NULL, delivered_at = ? WHERE delivery_id = ?",
        [DELIVERED, e.at, e.status, e.at, e.originator_id.hex],
    )


def delivery_failed(db: Database, e: WebhookDelivery.Failed) -> None:
    db.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?, last_status = ?,"
        " last_error = ?, next_attempt_at = ? WHERE delivery_id = ?",
        [e.at, e.status, e.error, e.next_at, e.originator_id.hex],
    )


def delivery_gave_up(db: Database, e: WebhookDelivery.GaveUp) -> None:
    db.execute(
        "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_attempt_at = ?, last_status = ?,"
        " last_error = ?, next_attempt_at = NULL WHERE delivery_id = ?",
        [GAVE_UP, e.at, e.status, e.error, e.originator_id.hex],
    )


HANDLERS = {
    Webhook.Created: webhook_created,
    Webhook.Disabled: webhook_disabled,
    Webhook.Enabled: webhook_enabled,
    Webhook.Deleted: webhook_deleted,
    WebhookDelivery.Scheduled: delivery_scheduled,
    WebhookDelivery.Delivered: delivery_delivered,
    WebhookDelivery.Failed: delivery_failed,
    WebhookDelivery.GaveUp: delivery_gave_up,
}
