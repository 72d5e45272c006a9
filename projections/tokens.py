"""Revoked access tokens, by jti: what introspection checks after the signature.

Issuance events are not projected: a JWT carries its own claims, so only the fact that
one was revoked needs a row.
"""

from sqlite_utils import Database

from astapa.domain.tokens import AccessToken

NAME = "tokens"


def create_tables(db: Database) -> None:
    db["revoked_access_tokens"].create(
        {"jti": str, "client_id": str, "revoked_at": str}, pk="jti", if_not_exists=True
    )


def access_token_revoked(db: Database, e: AccessToken.Revoked) -> None:
    db.execute(
        "INSERT INTO revoked_access_tokens (jti, client_id, revoked_at) VALUES (?, ?, ?)",
        [e.originator_id.hex, e.by_client_id, e.timestamp.isoformat()],
    )


HANDLERS = {AccessToken.Revoked: access_token_revoked}
