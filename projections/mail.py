"""Queued mail and its delivery state: what the mailer reads to find messages that are due.

Also the pending links (with the authorization requests they continue): a used link's row
goes at once, an expired one at the scheduler's next clean-up; their events stay in the log.
"""

from sqlite_utils import Database

from astapa.domain.links import ActionLink
from astapa.domain.mail import Message
from astapa.domain.users import User

NAME = "mail"


def create_tables(db: Database) -> None:
    db["mail"].create(
        {
            "message_id": str,
            "project_id": str,
            "recipient": str,
            "sub": str,  # the user it is for, when it is for one (their rows go at their erasure)
            "kind": str,
            "link_key": str,
            "client_name": str,
            "queued_at": float,
            "status": str,  # queued | delivered | bounced | dropped
            "attempts": int,
            "next_attempt_at": float,
            "last_error": str,
        },
        pk="message_id",
        if_not_exists=True,
    )
    db["mail"].create_index(["status", "next_attempt_at"], if_not_exists=True)
    db["mail"].create_index(["status", "queued_at", "message_id"], if_not_exists=True)
    db["mail"].create_index(["project_id", "sub"], if_not_exists=True)
    db["action_links"].create(
        {"link_id": str, "purpose": str, "project_id": str, "sub": str, "authorization": str,
         "expires_at": float},
        pk="link_id",
        if_not_exists=True,
    )
    db["action_links"].create_index(["expires_at"], if_not_exists=True)


def message_queued(db: Database, e: Message.Queued) -> None:
    db.execute(
        "INSERT INTO mail (message_id, project_id, recipient, sub, kind, link_key, client_name, queued_at,"
        " status, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?)",
        [e.originator_id.hex, e.project_id, e.to, getattr(e, "sub", None), e.kind, e.link_key, e.client_name,
         e.queued_at, e.queued_at],
    )


def message_delivered(db: Database, e: Message.Delivered) -> None:
    db.execute("UPDATE mail SET status = 'delivered', attempts = attempts + 1, last_error = NULL"
               " WHERE message_id = ?", [e.originator_id.hex])


def delivery_failed(db: Database, e: Message.DeliveryFailed) -> None:
    db.execute("UPDATE mail SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
               " WHERE message_id = ?", [e.retry_at, e.error, e.originator_id.hex])


def message_bounced(db: Database, e: Message.Bounced) -> None:
    db.execute("UPDATE mail SET status = 'bounced', attempts = attempts + 1, last_error = ?"
               " WHERE message_id = ?", [e.error, e.originator_id.hex])


def message_dropped(db: Database, e: Message.Dropped) -> None:
    db.execute("UPDATE mail SET status = 'dropped', last_error = ? WHERE message_id = ?",
               [e.reason, e.originator_id.hex])


def link_issued(db: Database, e: ActionLink.Issued) -> None:
    db.execute(
        "INSERT INTO action_links (link_id, purpose, project_id, sub, authorization, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [e.originator_id.hex, e.purpose, e.project_id, e.sub, e.authorization, e.expires_at],
    )


def link_used(db: Database, e: ActionLink.Used) -> None:
    db.execute("DELETE FROM action_links WHERE link_id = ?", [e.originator_id.hex])


def user_erased(db: Database, e: User.Erased) -> None:
    """Mail for an erased person is never sent (a queued one is forgotten), nor kept."""
    db.execute("DELETE FROM mail WHERE project_id = ? AND sub = ?", [e.project_id, e.sub])
    db.execute("DELETE FROM action_links WHERE project_id = ? AND sub = ?", [e.project_id, e.sub])


HANDLERS = {
    User.Erased: user_erased,
    Message.Queued: message_queued,
    Message.Delivered: message_delivered,
    Message.DeliveryFailed: delivery_failed,
    Message.Bounced: message_bounced,
    Message.Dropped: message_dropped,
    ActionLink.Issued: link_issued,
    ActionLink.Used: link_used,
}


def delete_expired(conn, now: float) -> int:
    """Pending links whose time is up (the scheduler's clean-up, and after a rebuild)."""
    return conn.execute("DELETE FROM action_links WHERE expires_at <= ?", (now,)).rowcount
