"""Passkeys: what a sign-in looks up by credential id (its public key, to verify off the
writer), and what the account page lists."""

from sqlite_utils import Database

from astapa.domain.passkeys import Passkey
from astapa.domain.users import User

NAME = "passkeys"


def create_tables(db: Database) -> None:
    db["passkeys"].create(
        {"credential_id": str, "aggregate_id": str, "project_id": str, "sub": str, "public_key": str,
         "sign_count": int, "backed_up": int, "name": str, "created_at": str, "last_used_at": str, "removed": int},
        pk="credential_id",
        if_not_exists=True,
    )
    db["passkeys"].create_index(["aggregate_id"], unique=True, if_not_exists=True)
    db["passkeys"].create_index(["project_id", "sub"], if_not_exists=True)


def registered(db: Database, e: Passkey.Registered) -> None:
    db.execute("INSERT INTO passkeys (credential_id, aggregate_id, project_id, sub, public_key, sign_count,"
               " backed_up, name, created_at, removed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
               [e.credential_id, e.originator_id.hex, e.project_id, e.sub, e.public_key, e.sign_count,
                int(e.backed_up), e.name, e.timestamp.isoformat()])


def used(db: Database, e: Passkey.Used) -> None:
    db.execute("UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE aggregate_id = ?",
               [e.sign_count, e.timestamp.isoformat(), e.originator_id.hex])


def removed(db: Database, e: Passkey.Removed) -> None:
    db.execute("UPDATE passkeys SET removed = 1 WHERE aggregate_id = ?", [e.originator_id.hex])


def user_erased(db: Database, e: User.Erased) -> None:
    """An erased person's passkeys (their names are theirs) are gone: none signs in."""
    db.execute("DELETE FROM passkeys WHERE project_id = ? AND sub = ?", [e.project_id, e.sub])


HANDLERS = {Passkey.Registered: registered, Passkey.Used: used, Passkey.Removed: removed, User.Erased: user_erased}
