"""Browser sessions on the hosted pages: what the account page lists as the browsers signed
in (never a session's secret: the events hold only its hash, and this table not even that)."""

import json

from sqlite_utils import Database

from astapa.domain.sessions import BrowserSession
from astapa.domain.users import User

NAME = "sessions"


def create_tables(db: Database) -> None:
    db["browser_sessions"].create(
        {"session_key": str, "project_id": str, "sub": str, "started_at": str, "amr": str,
         "idle_expires_at": float, "absolute_expires_at": float, "ended": int},
        pk="session_key",
        if_not_exists=True,
    )
    db["browser_sessions"].create_index(["project_id", "sub"], if_not_exists=True)


def started(db: Database, e: BrowserSession.Started) -> None:
    db.execute("INSERT INTO browser_sessions (session_key, project_id, sub, started_at, amr, idle_expires_at,"
               " absolute_expires_at, ended) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
               [e.session_key, e.project_id, e.sub, e.timestamp.isoformat(), json.dumps(list(e.amr or [])),
                e.idle_expires_at, e.absolute_expires_at])


def used(db: Database, e: BrowserSession.Used) -> None:
    db.execute("UPDATE browser_sessions SET idle_expires_at = ? WHERE session_key = ?",
               [e.idle_expires_at, e.originator_id.hex])


def ended(db: Database, e: BrowserSession.Ended) -> None:
    db.execute("UPDATE browser_sessions SET ended = 1 WHERE session_key = ?", [e.originator_id.hex])


def user_tokens_revoked(db: Database, e: User.TokensRevoked) -> None:
    """Every session of the user ends with their tokens (BrowserSession checks the epoch)."""
    db.execute("UPDATE browser_sessions SET ended = 1 WHERE (project_id, sub) ="
               " (SELECT project_id, sub FROM users WHERE user_id = ?)", [e.originator_id.hex])


def user_erased(db: Database, e: User.Erased) -> None:
    db.execute("DELETE FROM browser_sessions WHERE project_id = ? AND sub = ?", [e.project_id, e.sub])


HANDLERS = {
    User.Erased: user_erased,
    BrowserSession.Started: started,
    BrowserSession.Used: used,
    BrowserSession.Ended: ended,
    User.TokensRevoked: user_tokens_revoked,
}
