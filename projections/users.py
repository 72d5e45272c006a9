"""Users by project and email: what sign-in, userinfo and the management API read."""

import json

from sqlite_utils import Database

from astapa.domain.users import DEFAULT_CLAIMS, EmailIndex, User

NAME = "users"


def create_tables(db: Database) -> None:
    db["users"].create(
        {
            "project_id": str,
            "sub": str,
            "user_id": str,  # the User aggregate's id, for events that carry only that
            "email": str,
            "email_key": str,
            "password_hash": str,
            "email_verified": int,
            "disabled": int,
            "custom_claims": str,
            "created_at": str,
        },
        pk=("project_id", "sub"),
        if_not_exists=True,
    )
    db["users"].create_index(["project_id", "email_key"], unique=True, if_not_exists=True)
    db["users"].create_index(["user_id"], unique=True, if_not_exists=True)


def user_registered(db: Database, e: User.Registered) -> None:
    db.execute(
        "INSERT INTO users (project_id, sub, user_id, email, email_key, password_hash,"
        " email_verified, disabled, custom_claims, created_at) VALUES (?, ?, ?, ?, NULL, ?, 0, 0, ?, ?)",
        [e.project_id, e.sub, e.originator_id.hex, e.email, e.password_hash, json.dumps(DEFAULT_CLAIMS),
         e.timestamp.isoformat()],
    )


def email_indexed(db: Database, e: EmailIndex.Registered) -> None:
    db.execute("UPDATE users SET email_key = ? WHERE project_id = ? AND sub = ?",
               [e.email_key, e.project_id, e.sub])


def email_verified(db: Database, e: User.EmailVerified) -> None:
    db.execute("UPDATE users SET email_verified = 1 WHERE user_id = ?", [e.originator_id.hex])


def password_changed(db: Database, e: User.PasswordChanged) -> None:
    db.execute("UPDATE users SET password_hash = ? WHERE user_id = ?", [e.password_hash, e.originator_id.hex])


HANDLERS = {
    User.Registered: user_registered,
    EmailIndex.Registered: email_indexed,
    User.EmailVerified: email_verified,
    User.PasswordChanged: password_changed,
}
