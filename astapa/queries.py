"""Named read functions over read.db: the only place handlers get SQL from."""

import json
import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientRecord:
    client_id: str
    kind: str  # "project" (the project's own client) or "machine"
    project_id: str
    secret_hash: str
    scopes: tuple[str, ...]
    token_ttl: int | None
    grant_types: tuple[str, ...]


GRANT_TYPES = {
    "project": ("client_credentials",),  # TODO(issue-4): authorization_code, refresh_token
    "machine": ("client_credentials",),
}


def client_by_id(conn: sqlite3.Connection, client_id: str) -> ClientRecord | None:
    row = conn.execute(
        "SELECT client_id, kind, project_id, secret_hash, scopes, token_ttl FROM clients"
        " WHERE client_id = ?",
        (client_id,),
    ).fetchone()
    if row is None:
        return None
    return ClientRecord(
        client_id=row["client_id"],
        kind=row["kind"],
        project_id=row["project_id"],
        secret_hash=row["secret_hash"],
        scopes=tuple(json.loads(row["scopes"])),
        token_ttl=row["token_ttl"],
        grant_types=GRANT_TYPES[row["kind"]],
    )


def is_access_token_revoked(conn: sqlite3.Connection, jti: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM revoked_access_tokens WHERE jti = ?", (jti,)
    ).fetchone() is not None


def longest_token_ttl(conn: sqlite3.Connection, default: int) -> int:
    row = conn.execute("SELECT MAX(token_ttl) FROM clients").fetchone()
    return max(default, row[0] or 0)
