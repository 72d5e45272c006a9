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
    name: str = ""
    redirect_uris: tuple[str, ...] = ()
    require_verified_email: bool = False  # the project's sign-in policy


GRANT_TYPES = {
    "project": ("authorization_code", "refresh_token", "client_credentials"),
    "machine": ("client_credentials",),
}


def client_by_id(conn: sqlite3.Connection, client_id: str) -> ClientRecord | None:
    row = conn.execute(
        "SELECT c.client_id, c.kind, c.project_id, c.secret_hash, c.scopes, c.token_ttl, c.name,"
        " c.redirect_uris, p.require_verified_email"
        " FROM clients c LEFT JOIN projects p ON p.project_id = c.project_id"
        " WHERE c.client_id = ?",
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
        name=row["name"],
        redirect_uris=tuple(json.loads(row["redirect_uris"] or "[]")),
        require_verified_email=bool(row["require_verified_email"]),
    )


def is_access_token_revoked(conn: sqlite3.Connection, jti: str, sid: str | None = None) -> bool:
    """Revoked itself, or issued to a sign-in (refresh family) that was revoked since."""
    return conn.execute(
        "SELECT 1 FROM revoked_access_tokens WHERE jti = ?"
        " UNION ALL SELECT 1 FROM refresh_families WHERE family_key = ? AND revoked = 1",
        (jti, sid),
    ).fetchone() is not None


@dataclass(frozen=True)
class UserLogin:
    sub: str
    password_hash: str
    disabled: bool


def user_login(conn: sqlite3.Connection, project_id: str, email_key: str) -> UserLogin | None:
    row = conn.execute(
        "SELECT sub, password_hash, disabled FROM users WHERE project_id = ? AND email_key = ?",
        (project_id, email_key),
    ).fetchone()
    return UserLogin(row["sub"], row["password_hash"], bool(row["disabled"])) if row else None


def user_profile(conn: sqlite3.Connection, project_id: str, sub: str) -> dict | None:
    """The user as userinfo and the management API show them."""
    row = conn.execute(
        "SELECT sub, email, email_verified, disabled, custom_claims, created_at FROM users"
        " WHERE project_id = ? AND sub = ?",
        (project_id, sub),
    ).fetchone()
    if row is None:
        return None
    return {
        "sub": row["sub"],
        "email": row["email"],
        "email_verified": bool(row["email_verified"]),
        "custom_claims": json.loads(row["custom_claims"]),
        "created_at": row["created_at"],
        "disabled": bool(row["disabled"]),
    }


def project_client_id(conn: sqlite3.Connection, project_id: str) -> str | None:
    row = conn.execute("SELECT client_id FROM projects WHERE project_id = ?", (project_id,)).fetchone()
    return row[0] if row else None


def longest_token_ttl(conn: sqlite3.Connection, default: int) -> int:
    row = conn.execute("SELECT MAX(token_ttl) FROM clients").fetchone()
    return max(default, row[0] or 0)


@dataclass(frozen=True)
class QueuedMail:
    message_id: str
    project_id: str
    recipient: str
    kind: str
    link_key: str | None
    client_name: str
    queued_at: float
    attempts: int


def due_mail(conn: sqlite3.Connection, now: float, limit: int) -> list[QueuedMail]:
    """Queued messages whose next attempt is due, oldest first."""
    rows = conn.execute(
        "SELECT message_id, project_id, recipient, kind, link_key, client_name, queued_at, attempts"
        " FROM mail WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
        (now, limit),
    ).fetchall()
    return [QueuedMail(**dict(row)) for row in rows]


def queued_mail_after(conn: sqlite3.Connection, after: tuple[float, str], limit: int) -> list[QueuedMail]:
    """Every queued message, due or not, in queue order after the cursor (queued_at, id)."""
    rows = conn.execute(
        "SELECT message_id, project_id, recipient, kind, link_key, client_name, queued_at, attempts"
        " FROM mail WHERE status = 'queued' AND (queued_at, message_id) > (?, ?)"
        " ORDER BY queued_at, message_id LIMIT ?",
        (*after, limit),
    ).fetchall()
    return [QueuedMail(**dict(row)) for row in rows]
