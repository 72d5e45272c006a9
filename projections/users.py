"""Users by project and email: what sign-in, userinfo and the management API read.

`custom_claims` holds the user's own claims (with `plan`); `plan_claims` those that came
with the plan, and `plan_expires_at` its end: readers merge them as of now
(astapa.queries.user_view), as the token path does.
"""

import json

from sqlite_utils import Database

from astapa.domain.plans import FREE
from astapa.domain.users import DEFAULT_CLAIMS, EmailIndex, User
from astapa.store.personal_data import ERASED

NAME = "users"


def create_tables(db: Database) -> None:
    db["users"].create(
        {
            "project_id": str,
            "sub": str,
            "user_id": str,  # the User aggregate's id, for events that carry only that
            "seq": int,  # order of registration in the log: the listing's cursor
            "email": str,
            "email_key": str,
            "password_hash": str,
            "email_verified": int,
            "disabled": int,
            "custom_claims": str,
            "plan_claims": str,
            "plan_expires_at": float,
            "identities": str,  # JSON list of linked Google/GitHub accounts
            "created_at": str,
        },
        pk=("project_id", "sub"),
        if_not_exists=True,
    )
    db["users"].create_index(["project_id", "email_key"], unique=True, if_not_exists=True)
    db["users"].create_index(["user_id"], unique=True, if_not_exists=True)
    db["users"].create_index(["project_id", "seq"], unique=True, if_not_exists=True)
    db["users"].create_index(["seq"], unique=True, if_not_exists=True)
    db.execute("CREATE INDEX IF NOT EXISTS users_plan_expires_at ON users (plan_expires_at)"
               " WHERE plan_expires_at IS NOT NULL")


def user_registered(db: Database, e: User.Registered) -> None:
    db.execute(
        "INSERT INTO users (project_id, sub, user_id, seq, email, email_key, password_hash,"
        " email_verified, disabled, custom_claims, plan_claims, plan_expires_at, identities, created_at)"
        " VALUES (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM users), ?, NULL, ?, 0, 0, ?, '{}', NULL, '[]', ?)",
        [e.project_id, e.sub, e.originator_id.hex, e.email, e.password_hash, json.dumps(DEFAULT_CLAIMS),
         e.timestamp.isoformat()],
    )


def email_indexed(db: Database, e: EmailIndex.Registered) -> None:
    """An erased person's key reads ERASED (a rebuild after their erasure): no key, so two
    of them never collide on the unique index, and their row goes at User.Erased."""
    db.execute("UPDATE users SET email_key = ? WHERE project_id = ? AND sub = ?",
               [None if e.email_key == ERASED else e.email_key, e.project_id, e.sub])


def email_claimed(db: Database, e: EmailIndex.Claimed) -> None:
    email_indexed(db, e)


def email_changed(db: Database, e: User.EmailChanged) -> None:
    """The key follows from the index's event in the same save (Registered or Claimed)."""
    db.execute("UPDATE users SET email = ?, email_verified = 1 WHERE user_id = ?", [e.email, e.originator_id.hex])


def email_verified(db: Database, e: User.EmailVerified) -> None:
    db.execute("UPDATE users SET email_verified = 1 WHERE user_id = ?", [e.originator_id.hex])


def password_changed(db: Database, e: User.PasswordChanged) -> None:
    db.execute("UPDATE users SET password_hash = ? WHERE user_id = ?", [e.password_hash, e.originator_id.hex])


def _claims(db: Database, user_id: str) -> dict:
    row = db.execute("SELECT custom_claims FROM users WHERE user_id = ?", [user_id]).fetchone()
    return json.loads(row[0])


def claims_changed(db: Database, e: User.ClaimsChanged) -> None:
    user_id = e.originator_id.hex
    claims = {k: v for k, v in _claims(db, user_id).items() if k not in e.removed} | e.changed
    db.execute("UPDATE users SET custom_claims = ? WHERE user_id = ?", [json.dumps(claims), user_id])


def plan_assigned(db: Database, e: User.PlanAssigned) -> None:
    user_id = e.originator_id.hex
    claims = {**_claims(db, user_id), "plan": e.plan}
    db.execute("UPDATE users SET custom_claims = ?, plan_claims = ?, plan_expires_at = ? WHERE user_id = ?",
               [json.dumps(claims), json.dumps(e.plan_claims), e.expires_at, user_id])


def plan_expired(db: Database, e: User.PlanExpired) -> None:
    user_id = e.originator_id.hex
    claims = {**_claims(db, user_id), "plan": FREE}
    db.execute("UPDATE users SET custom_claims = ?, plan_claims = '{}', plan_expires_at = NULL"
               " WHERE user_id = ?", [json.dumps(claims), user_id])


def disabled(db: Database, e: User.Disabled) -> None:
    db.execute("UPDATE users SET disabled = 1 WHERE user_id = ?", [e.originator_id.hex])


def enabled(db: Database, e: User.Enabled) -> None:
    db.execute("UPDATE users SET disabled = 0 WHERE user_id = ?", [e.originator_id.hex])


def identity_linked(db: Database, e: User.IdentityLinked) -> None:
    identity = {"provider": e.provider, "subject": e.subject, "email": e.email,
                "linked_at": e.timestamp.isoformat()}
    db.execute("UPDATE users SET identities = json_insert(identities, '$[#]', json(?)) WHERE user_id = ?",
               [json.dumps(identity), e.originator_id.hex])


def user_erased(db: Database, e: User.Erased) -> None:
    """The person is gone from the read models (their events read as erased)."""
    db.execute("DELETE FROM users WHERE user_id = ?", [e.originator_id.hex])


HANDLERS = {
    User.Registered: user_registered,
    EmailIndex.Registered: email_indexed,
    EmailIndex.Claimed: email_claimed,
    User.EmailChanged: email_changed,
    User.EmailVerified: email_verified,
    User.PasswordChanged: password_changed,
    User.ClaimsChanged: claims_changed,
    User.PlanAssigned: plan_assigned,
    User.PlanExpired: plan_expired,
    User.Disabled: disabled,
    User.Enabled: enabled,
    User.IdentityLinked: identity_linked,
    User.Erased: user_erased,
}
