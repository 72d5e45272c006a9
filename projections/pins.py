"""PINs set for browsers: what the login page offers and the account page lists. Never
the PIN's hash (the aggregate keeps it; the log holds it only as bcrypt)."""

from sqlite_utils import Database

from astapa.domain.pins import PinCredential
from astapa.domain.users import User

NAME = "pins"


def create_tables(db: Database) -> None:
    db["pins"].create(
        {"pin_key": str, "project_id": str, "sub": str, "set_at": str, "last_used_at": str,
         "forgotten": int},
        pk="pin_key",
        if_not_exists=True,
    )
    db["pins"].create_index(["project_id", "sub"], if_not_exists=True)


def pin_set(db: Database, e: PinCredential.Set) -> None:
    db.execute("INSERT INTO pins (pin_key, project_id, sub, set_at, forgotten) VALUES (?, ?, ?, ?, 0)",
               [e.pin_key, e.project_id, e.sub, e.timestamp.isoformat()])
    if e.replaces:
        db.execute("UPDATE pins SET forgotten = 1 WHERE pin_key = ?", [e.replaces])


def pin_accepted(db: Database, e: PinCredential.Accepted) -> None:
    db.execute("UPDATE pins SET last_used_at = ? WHERE pin_key = ?", [e.timestamp.isoformat(), e.originator_id.hex])


def pin_forgotten(db: Database, e: PinCredential.Forgotten) -> None:
    db.execute("UPDATE pins SET forgotten = 1 WHERE pin_key = ?", [e.originator_id.hex])


def user_tokens_revoked(db: Database, e: User.TokensRevoked) -> None:
    """A PIN dies with the user's tokens (PinCredential checks the epoch when it is tried)."""
    db.execute("UPDATE pins SET forgotten = 1 WHERE (project_id, sub) ="
               " (SELECT project_id, sub FROM users WHERE user_id = ?)", [e.originator_id.hex])


def user_erased(db: Database, e: User.Erased) -> None:
    db.execute("DELETE FROM pins WHERE project_id = ? AND sub = ?", [e.project_id, e.sub])


HANDLERS = {
    User.Erased: user_erased,
    PinCredential.Set: pin_set,
    PinCredential.Accepted: pin_accepted,
    PinCredential.Forgotten: pin_forgotten,
    User.TokensRevoked: user_tokens_revoked,
}
