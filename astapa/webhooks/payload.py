"""Which events of the log become which webhook event types, and the body each one sends.

A body is `{"type", "timestamp", "data"}`: `timestamp` is when the event happened (RFC
3339), `data` names the project and the user (`sub`) and carries the facts the event
itself holds. It is built from the stored event each time it is sent, so it is the same
on every retry (unless the person was erased in between: their personal fields then read
"[erased]"), and no payload is ever copied into another event.

Each event type names how its user is found: in the event itself (a registration, an
erasure), or through the aggregate that recorded it (the user, the refresh family, the
browser session, the payment), whose project and `sub` never change: its row in the read
models (astapa/queries.py, OWNER_TABLES), or the aggregate itself when the row is gone.
"""

import json
from typing import Any

from eventsourcing.utils import get_topic

from astapa.domain.payments import Payment
from astapa.domain.refresh import RefreshFamily
from astapa.domain.sessions import BrowserSession
from astapa.domain.users import User
from astapa.domain.webhooks import (
    PAYMENT_SUCCEEDED,
    PLAN_ASSIGNED,
    SESSION_REVOKED,
    USER_CREATED,
    USER_DELETED,
    USER_DISABLED,
    USER_UPDATED,
)
from astapa.queries import rfc3339

# Where the project and sub of an event are found: in the event, or in the read model of
# the aggregate that recorded it (a kind of queries.OWNER_TABLES).
IN_EVENT = "event"
USER, REFRESH_FAMILY, BROWSER_SESSION, PAYMENT = "user", "refresh_family", "browser_session", "payment"

# Erasing a person records `User.Erased`, which names the project and sub itself (named
# by its topic, so this module does not depend on the class being there).
USER_ERASED_TOPIC = get_topic(User) + ".Erased"

# topic -> (webhook event type, where its user is found, what changed: for user.updated)
TOPICS: dict[str, tuple[str, str, str | None]] = {
    get_topic(User.Registered): (USER_CREATED, IN_EVENT, None),
    get_topic(User.EmailVerified): (USER_UPDATED, USER, "email_verified"),
    get_topic(User.EmailChanged): (USER_UPDATED, USER, "email_changed"),
    get_topic(User.ClaimsChanged): (USER_UPDATED, USER, "claims_changed"),
    get_topic(User.PlanExpired): (USER_UPDATED, USER, "plan_expired"),
    get_topic(User.Enabled): (USER_UPDATED, USER, "enabled"),
    get_topic(User.Disabled): (USER_DISABLED, USER, None),
    USER_ERASED_TOPIC: (USER_DELETED, IN_EVENT, None),
    get_topic(User.PlanAssigned): (PLAN_ASSIGNED, USER, None),
    get_topic(Payment.Succeeded): (PAYMENT_SUCCEEDED, PAYMENT, None),
    get_topic(User.TokensRevoked): (SESSION_REVOKED, USER, "all"),
    get_topic(RefreshFamily.Revoked): (SESSION_REVOKED, REFRESH_FAMILY, "refresh_token"),
    get_topic(BrowserSession.Ended): (SESSION_REVOKED, BROWSER_SESSION, "browser_session"),
}
TOPIC_LIST = sorted(TOPICS)


def event_facts(topic: str, event: Any, owner: Any) -> dict:
    """What the event says, beyond its project and user. `owner`: the aggregate that
    recorded it (a payment's id and plan are the payment's)."""
    kind, _, detail = TOPICS[topic]
    state = event.__dict__
    if kind == USER_CREATED:
        return {"email": state["email"], "email_verified": False}
    if kind == USER_UPDATED:
        facts: dict = {"change": detail}
        if detail in ("email_verified", "email_changed"):
            facts["email"] = state["email"]
        if detail == "claims_changed":
            facts["claims_set"] = sorted(state["changed"])
            facts["claims_removed"] = sorted(state["removed"])
        if detail == "plan_expired":
            facts["expired_plan"] = state["plan"]
        return facts
    if kind == PLAN_ASSIGNED:
        return {"plan": state["plan"], "expires_at": rfc3339(state["expires_at"])}
    if kind == PAYMENT_SUCCEEDED:
        return {"payment_id": owner.payment_id, "plan": owner.plan, "amount": state["amount"],
                "currency": state["currency"]}
    if kind == SESSION_REVOKED:
        return {"scope": detail, "reason": state.get("reason")}
    return {}


def body(topic: str, event: Any, project_id: str, sub: str, owner: Any) -> bytes:
    """The bytes POSTed: the same for every attempt of one delivery (but for an erasure in
    between, which turns the person's fields into "[erased]")."""
    document = {
        "type": TOPICS[topic][0],
        "timestamp": rfc3339(event.timestamp),
        "data": {"project_id": project_id, "sub": sub, **event_facts(topic, event, owner)},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def needs_owner(topic: str) -> bool:
    """Whether the body needs the recording aggregate (beyond the delivery's project and sub)."""
    return TOPICS[topic][0] == PAYMENT_SUCCEEDED
