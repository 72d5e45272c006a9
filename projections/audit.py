"""Each user's history for auditors: their events, across aggregates, with positions.

GET /api/platform/users/{sub}/events reads this. A row keeps the event's type, position,
timestamp and the fields an auditor needs; never a hash, a key or anything derived from a
secret (fields are listed per type, not copied).
"""

import json

from sqlite_utils import Database

from astapa.domain.passkeys import Passkey
from astapa.domain.payments import Payment
from astapa.domain.pins import PinCredential
from astapa.domain.refresh import RefreshFamily
from astapa.domain.sessions import BrowserSession
from astapa.domain.two_factor import TwoFactor
from astapa.domain.users import User

NAME = "audit"


def create_tables(db: Database) -> None:
    db["user_events"].create(
        {"position": int, "project_id": str, "sub": str, "type": str, "timestamp": str, "data": str},
        pk="position",
        if_not_exists=True,
    )
    db["user_events"].create_index(["project_id", "sub", "position"], if_not_exists=True)
    # Whose a second factor or a passkey is, for their later events (which name neither).
    db["factor_owners"].create({"aggregate_id": str, "project_id": str, "sub": str}, pk="aggregate_id",
                               if_not_exists=True)


def _record(db: Database, position: int, owner: tuple[str, str] | None, e, data: dict) -> None:
    if owner is None:
        return
    db.execute(
        "INSERT INTO user_events (position, project_id, sub, type, timestamp, data) VALUES (?, ?, ?, ?, ?, ?)",
        [position, owner[0], owner[1], type(e).__qualname__, e.timestamp.isoformat(), json.dumps(data)],
    )


def _user(db: Database, user_id: str) -> tuple[str, str] | None:
    row = db.execute("SELECT project_id, sub FROM users WHERE user_id = ?", [user_id]).fetchone()
    return (row[0], row[1]) if row else None


def _family(db: Database, family_key: str) -> tuple[str, str] | None:
    row = db.execute("SELECT project_id, sub FROM refresh_families WHERE family_key = ?", [family_key]).fetchone()
    return (row[0], row[1]) if row else None


def user_event(fields: tuple[str, ...]):
    """A handler recording a User event with these fields."""
    def handler(db: Database, e, position: int) -> None:
        _record(db, position, _user(db, e.originator_id.hex), e, {f: getattr(e, f) for f in fields})
    return handler


def registered(db: Database, e: User.Registered, position: int) -> None:
    _record(db, position, (e.project_id, e.sub), e, {"email": e.email})


def signed_in(db: Database, e: BrowserSession.Started, position: int) -> None:
    _record(db, position, (e.project_id, e.sub), e, {"auth_time": e.auth_time, "amr": list(getattr(e, "amr", None) or [])})


def tokens_issued(db: Database, e: RefreshFamily.Started, position: int) -> None:
    """A sign-in's tokens, and the plan they were issued under: the users read model, kept
    in log order, holds the user as they were at this event (the trail from a payment, whose
    PlanAssigned names it, to the tokens it paid for)."""
    row = db.execute("SELECT json_extract(custom_claims, '$.plan') FROM users WHERE project_id = ? AND sub = ?",
                     [e.project_id, e.sub]).fetchone()
    _record(db, position, (e.project_id, e.sub), e, {"client_id": e.client_id, "scopes": list(e.scopes),
                                                      "plan": row[0] if row else None})


def family_event(fields: tuple[str, ...]):
    def handler(db: Database, e, position: int) -> None:
        _record(db, position, _family(db, e.originator_id.hex), e, {f: getattr(e, f) for f in fields})
    return handler


def pin_set(db: Database, e: PinCredential.Set, position: int) -> None:
    _record(db, position, (e.project_id, e.sub), e, {})


def passkey_registered(db: Database, e: Passkey.Registered, position: int) -> None:
    db.execute("INSERT OR REPLACE INTO factor_owners (aggregate_id, project_id, sub) VALUES (?, ?, ?)",
               [e.originator_id.hex, e.project_id, e.sub])
    _record(db, position, (e.project_id, e.sub), e, {"name": e.name, "backed_up": e.backed_up})


def two_factor_enabled(db: Database, e: TwoFactor.Enabled, position: int) -> None:
    db.execute("INSERT OR REPLACE INTO factor_owners (aggregate_id, project_id, sub) VALUES (?, ?, ?)",
               [e.originator_id.hex, e.project_id, e.sub])
    _record(db, position, (e.project_id, e.sub), e, {})


def factor_event(fields: tuple[str, ...]):
    """A later event of a second factor or a passkey, recorded for its owner."""
    def handler(db: Database, e, position: int) -> None:
        row = db.execute("SELECT project_id, sub FROM factor_owners WHERE aggregate_id = ?",
                         [e.originator_id.hex]).fetchone()
        _record(db, position, (row[0], row[1]) if row else None, e, {f: getattr(e, f) for f in fields})
    return handler


def pin_event(fields: tuple[str, ...]):
    def handler(db: Database, e, position: int) -> None:
        row = db.execute("SELECT project_id, sub FROM pins WHERE pin_key = ?", [e.originator_id.hex]).fetchone()
        _record(db, position, (row[0], row[1]) if row else None, e, {f: getattr(e, f) for f in fields})
    return handler


def payment_created(db: Database, e: Payment.Created, position: int) -> None:
    _record(db, position, (e.project_id, e.sub), e, {"payment_id": e.payment_id, "plan": e.plan,
                                                      "amount": e.amount, "currency": e.currency,
                                                      "method": e.method})


def _payment(db: Database, aggregate_id: str) -> tuple[str, str] | None:
    row = db.execute("SELECT project_id, sub FROM payments WHERE aggregate_id = ?", [aggregate_id]).fetchone()
    return (row[0], row[1]) if row else None


def payment_event(fields: tuple[str, ...]):
    def handler(db: Database, e, position: int) -> None:
        _record(db, position, _payment(db, e.originator_id.hex), e, {f: getattr(e, f) for f in fields})
    return handler


def user_erased(db: Database, e: User.Erased) -> None:
    """Their history goes with them (the log keeps it, sealed: erased)."""
    db.execute("DELETE FROM user_events WHERE project_id = ? AND sub = ?", [e.project_id, e.sub])
    db.execute("DELETE FROM factor_owners WHERE project_id = ? AND sub = ?", [e.project_id, e.sub])


HANDLERS = {
    User.Erased: user_erased,
    User.Registered: registered,
    User.EmailVerified: user_event(("email",)),
    User.EmailChanged: user_event(("email", "previous")),
    User.PasswordChanged: user_event(("reason",)),
    User.TokensRevoked: user_event(("reason",)),
    User.LinkIssued: user_event(("purpose",)),
    User.ClaimsChanged: user_event(("changed", "removed", "by")),
    User.PlanAssigned: user_event(("plan", "plan_claims", "expires_at", "by")),
    User.PlanExpired: user_event(("plan",)),
    User.Disabled: user_event(("by",)),
    User.Enabled: user_event(("by",)),
    User.IdentityLinked: user_event(("provider", "subject", "email", "how")),
    BrowserSession.Started: signed_in,
    RefreshFamily.Started: tokens_issued,
    PinCredential.Set: pin_set,
    Passkey.Registered: passkey_registered,
    Passkey.Removed: factor_event(("by",)),
    TwoFactor.Enabled: two_factor_enabled,
    TwoFactor.EnabledAgain: factor_event(()),
    TwoFactor.Disabled: factor_event(("reason",)),
    TwoFactor.RecoveryCodeUsed: factor_event(()),
    TwoFactor.RecoveryCodesRenewed: factor_event(()),
    PinCredential.Forgotten: pin_event(("reason",)),
    RefreshFamily.ReuseDetected: family_event(()),
    RefreshFamily.Revoked: family_event(("reason",)),
    Payment.Created: payment_created,
    Payment.Succeeded: payment_event(("xendit_id", "amount", "currency")),
    Payment.Failed: payment_event(("reason",)),
    Payment.Expired: payment_event(("reason",)),
    Payment.AmountMismatched: payment_event(("amount", "currency")),
    Payment.Settled: payment_event(("plan", "period_end")),
}
