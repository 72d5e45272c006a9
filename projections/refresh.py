"""Refresh families: which sign-ins are revoked, so their access tokens are refused too."""

from sqlite_utils import Database

from astapa.domain.refresh import RefreshFamily
from astapa.domain.users import User

NAME = "refresh"


def create_tables(db: Database) -> None:
    db["refresh_families"].create(
        {"family_key": str, "project_id": str, "sub": str, "client_id": str, "started_at": str,
         "revoked": int},
        pk="family_key",
        if_not_exists=True,
    )
    db["refresh_families"].create_index(["project_id", "sub"], if_not_exists=True)


def family_started(db: Database, e: RefreshFamily.Started) -> None:
    db.execute(
        "INSERT INTO refresh_families (family_key, project_id, sub, client_id, started_at, revoked)"
        " VALUES (?, ?, ?, ?, ?, 0)",
        [e.family_key, e.project_id, e.sub, e.client_id, e.timestamp.isoformat()],
    )


def family_revoked(db: Database, e: RefreshFamily.Revoked) -> None:
    db.execute("UPDATE refresh_families SET revoked = 1 WHERE family_key = ?", [e.originator_id.hex])


def user_tokens_revoked(db: Database, e: User.TokensRevoked) -> None:
    # Families started later belong to the user's new epoch: the log's order decides.
    db.execute(
        "UPDATE refresh_families SET revoked = 1 WHERE (project_id, sub) ="
        " (SELECT project_id, sub FROM users WHERE user_id = ?)",
        [e.originator_id.hex],
    )


HANDLERS = {
    RefreshFamily.Started: family_started,
    RefreshFamily.Revoked: family_revoked,
    User.TokensRevoked: user_tokens_revoked,
}
