"""Named read functions the console runs over read.db (through ReadModels, off the event
loop): who may see what, a project's log and its daily counts, and the user search."""

import json
import sqlite3
from datetime import date, timedelta

from astapa.domain.console import CONSOLE_PROJECT_ID, OWNER
from astapa.queries import clients_of, project_details


def console_user(conn: sqlite3.Connection, sub: str) -> dict | None:
    """The console account behind a console access token: its address, its state and
    whether it is an instance admin, in one query (every console request asks)."""
    row = conn.execute("SELECT u.email, u.email_key, u.disabled, u.email_verified, a.email_key IS NOT NULL AS admin"
                       " FROM users u LEFT JOIN console_admins a ON a.email_key = u.email_key"
                       " WHERE u.project_id = ? AND u.sub = ?", (CONSOLE_PROJECT_ID, sub)).fetchone()
    return dict(row) if row else None


def project_for(conn: sqlite3.Connection, project_id: str, email_key: str, admin: bool) -> dict | None:
    """The project summary with the person's role in it (an instance admin's: owner); None
    when it does not exist or they have no role there (the same answer: not found)."""
    row = conn.execute("SELECT p.project_id, p.name, p.mode, p.client_id, p.created_at, m.role FROM projects p"
                       " LEFT JOIN console_members m ON m.project_id = p.project_id AND m.email_key = ?"
                       " WHERE p.project_id = ?", (email_key, project_id)).fetchone()
    if row is None or not (admin or row["role"]):
        return None
    return {**dict(row), "role": "owner" if admin else row["role"]}


def has_any_role(conn: sqlite3.Connection, email_key: str) -> bool:
    row = conn.execute("SELECT 1 FROM console_members WHERE email_key = ? LIMIT 1", (email_key,)).fetchone()
    return row is not None


def projects_for(conn: sqlite3.Connection, email_key: str, admin: bool) -> list[dict]:
    """The projects a console user sees, newest first: every one for an instance admin
    (but the console's own), else those they are a member of, with their role."""
    if admin:
        rows = conn.execute("SELECT project_id, name, mode, client_id, created_at, 'owner' AS role FROM projects"
                            " WHERE project_id != ? ORDER BY created_at DESC", (CONSOLE_PROJECT_ID,)).fetchall()
    else:
        rows = conn.execute("SELECT p.project_id, p.name, p.mode, p.client_id, p.created_at, m.role"
                            " FROM console_members m JOIN projects p ON p.project_id = m.project_id"
                            " WHERE m.email_key = ? ORDER BY p.created_at DESC", (email_key,)).fetchall()
    return [dict(r) for r in rows]


def members_of(conn: sqlite3.Connection, project_id: str) -> list[dict]:
    rows = conn.execute("SELECT email, email_key, role, invited_by, created_at FROM console_members"
                        " WHERE project_id = ? ORDER BY created_at", (project_id,)).fetchall()
    return [dict(r) for r in rows]


def owners_of(conn: sqlite3.Connection, project_id: str) -> list[str]:
    rows = conn.execute("SELECT email_key FROM console_members WHERE project_id = ? AND role = ?",
                        (project_id, OWNER)).fetchall()
    return [r["email_key"] for r in rows]


def notice_addresses(conn: sqlite3.Connection, project_id: str) -> list[str]:
    """Whom a notice about a project goes to: its owners, else (a project made with the CLI
    has no members) the instance admins."""
    rows = conn.execute("SELECT email FROM console_members WHERE project_id = ? AND role = ? ORDER BY created_at",
                        (project_id, OWNER)).fetchall()
    return [r["email"] for r in rows] or [r["email"] for r in admins(conn)]


def admins(conn: sqlite3.Connection) -> list[dict]:
    return [dict(r) for r in conn.execute("SELECT email, created_at FROM console_admins ORDER BY created_at")]


EVENT_FILTERS = ("type", "subject", "actor")


def project_events(conn: sqlite3.Connection, project_id: str, before: int | None, limit: int,
                   filters: dict[str, str]) -> tuple[list[dict], int | None]:
    """The project's events, newest first, before the cursor (a position), each filter an
    exact match; and the next cursor (None at the end)."""
    where, args = ["project_id = ?"], [project_id]
    for name in EVENT_FILTERS:
        if filters.get(name):
            where.append(f"{name} = ?")
            args.append(filters[name])
    if before is not None:
        where.append("position < ?")
        args.append(before)
    rows = conn.execute(f"SELECT position, type, timestamp, subject, actor FROM project_events"
                        f" WHERE {' AND '.join(where)} ORDER BY position DESC LIMIT ?",
                        (*args, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return [dict(r) for r in rows], (rows[-1]["position"] if more else None)


def event_types(conn: sqlite3.Connection, project_id: str) -> list[str]:
    """The event types the project's log holds (for the filter's choices)."""
    rows = conn.execute("SELECT DISTINCT type FROM project_events WHERE project_id = ? ORDER BY type",
                        (project_id,)).fetchall()
    return [r["type"] for r in rows]


def daily_counts(conn: sqlite3.Connection, project_id: str, today: date, days: int = 30) -> list[dict]:
    """Sign-ups, sign-ins and tokens issued on each of the last `days` days, oldest first
    (days without any: zeros)."""
    first = today - timedelta(days=days - 1)
    rows = conn.execute("SELECT day, signups, signins, tokens FROM project_stats"
                        " WHERE project_id = ? AND day >= ?", (project_id, first.isoformat())).fetchall()
    by_day = {r["day"]: dict(r) for r in rows}
    return [by_day.get(d, {"day": d, "signups": 0, "signins": 0, "tokens": 0})
            for d in ((first + timedelta(days=i)).isoformat() for i in range(days))]


def active_users(conn: sqlite3.Connection, project_id: str, today: date, days: int = 30) -> int:
    """Users who signed in on one of the last `days` days."""
    first = (today - timedelta(days=days - 1)).isoformat()
    return conn.execute("SELECT count(*) FROM user_activity WHERE project_id = ? AND last_day >= ?",
                        (project_id, first)).fetchone()[0]


def user_count(conn: sqlite3.Connection, project_id: str) -> int:
    """The project's users (a counter the projection keeps: no scan of them all)."""
    row = conn.execute("SELECT users FROM project_totals WHERE project_id = ?", (project_id,)).fetchone()
    return row["users"] if row else 0


def users_matching(conn: sqlite3.Connection, project_id: str, prefix: str, limit: int) -> list[dict]:
    """Users whose address starts with `prefix` (case-folded as email keys are), in address
    order: a range scan of the (project_id, email_key) index."""
    rows = conn.execute("SELECT sub, email, email_verified, disabled, created_at FROM users"
                        " WHERE project_id = ? AND email_key >= ? AND email_key < ? ORDER BY email_key LIMIT ?",
                        (project_id, prefix, prefix + "\U0010ffff", limit)).fetchall()
    return [dict(r) for r in rows]


def users_newest(conn: sqlite3.Connection, project_id: str, before: int | None,
                 limit: int) -> tuple[list[dict], int | None]:
    """Users newest first, before the cursor (a registration sequence number)."""
    rows = conn.execute("SELECT seq, sub, email, email_verified, disabled, created_at FROM users"
                        " WHERE project_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                        (project_id, before if before is not None else 2**62, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return [dict(r) for r in rows], (rows[-1]["seq"] if more else None)


def sandbox_mail(conn: sqlite3.Connection, project_id: str, limit: int) -> list[dict]:
    """The mail a project sent, newest first: its sandbox inbox."""
    rows = conn.execute("SELECT * FROM mail WHERE project_id = ? ORDER BY queued_at DESC LIMIT ?",
                        (project_id, limit)).fetchall()
    return [dict(r) for r in rows]


def sub_of(conn: sqlite3.Connection, project_id: str, email_key: str) -> str | None:
    """The sub of the project's user with this address (the events filter takes either)."""
    row = conn.execute("SELECT sub FROM users WHERE project_id = ? AND email_key = ?",
                       (project_id, email_key)).fetchone()
    return row["sub"] if row else None


PAYMENT_LISTED = "rowid AS seq, payment_id, sub, plan, amount, currency, method, status, created_at"


def project_payments(conn: sqlite3.Connection, project_id: str, before: int | None,
                     limit: int) -> tuple[list[dict], int | None]:
    """The project's payments newest first (in the order they were recorded), before the
    cursor; and the next cursor (None at the end)."""
    rows = conn.execute(f"SELECT {PAYMENT_LISTED} FROM payments WHERE project_id = ? AND rowid < ?"
                        " ORDER BY rowid DESC LIMIT ?",
                        (project_id, before if before is not None else 2**62, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return [dict(r) for r in rows], (rows[-1]["seq"] if more else None)


def project_payment(conn: sqlite3.Connection, project_id: str, payment_id: str) -> dict | None:
    """One payment of the project, as the console shows it (Xendit's ids, why it failed)."""
    row = conn.execute("SELECT payment_id, sub, plan, amount, currency, method, bank_code, status, xendit_id,"
                       " expires_at, created_at, updated_at, settled, period_end, mismatched, failure"
                       " FROM payments WHERE project_id = ? AND payment_id = ?",
                       (project_id, payment_id)).fetchone()
    return dict(row) if row else None


def sandbox_message(conn: sqlite3.Connection, project_id: str, message_id: str) -> dict | None:
    """One message of the project's sandbox inbox."""
    row = conn.execute("SELECT * FROM mail WHERE project_id = ? AND message_id = ?",
                       (project_id, message_id)).fetchone()
    return dict(row) if row else None


def signing_key_ring(conn: sqlite3.Connection) -> list[dict]:
    """The signing keys as the JWKS lists them (current, next, then retired, newest first):
    kids and dates, never a key."""
    rows = conn.execute("SELECT kid, state, published_at, activated_at, retired_at FROM signing_keys"
                        " ORDER BY CASE state WHEN 'current' THEN 0 WHEN 'next' THEN 1 ELSE 2 END,"
                        " retired_at DESC, kid").fetchall()
    return [dict(r) for r in rows]


def plans_listed(conn: sqlite3.Connection, project_id: str) -> list[dict]:
    """The project's plans as the console lists them: the API's view and whether archived."""
    rows = conn.execute("SELECT key, name, price, currency, interval, claims, archived FROM plans"
                        " WHERE project_id = ? ORDER BY created_at, key", (project_id,)).fetchall()
    return [_plan_row(r) for r in rows]


def plan_listed(conn: sqlite3.Connection, project_id: str, key: str) -> dict | None:
    row = conn.execute("SELECT key, name, price, currency, interval, claims, archived FROM plans"
                       " WHERE project_id = ? AND key = ?", (project_id, key)).fetchone()
    return _plan_row(row) if row else None


def _plan_row(row: sqlite3.Row) -> dict:
    return {**dict(row), "claims": json.loads(row["claims"]), "archived": bool(row["archived"])}


def own_claims(conn: sqlite3.Connection, project_id: str, sub: str) -> dict | None:
    """The custom claims the user holds themself (with `plan`), without those their plan
    brings: what the console's claims form edits."""
    row = conn.execute("SELECT custom_claims FROM users WHERE project_id = ? AND sub = ?",
                       (project_id, sub)).fetchone()
    return json.loads(row["custom_claims"]) if row else None


def user_history(conn: sqlite3.Connection, project_id: str, sub: str, limit: int) -> list[dict]:
    """The user's newest events (the audit read model: fields listed per type, no secrets)."""
    rows = conn.execute("SELECT position, type, timestamp, data FROM user_events"
                        " WHERE project_id = ? AND sub = ? ORDER BY position DESC LIMIT ?",
                        (project_id, sub, limit)).fetchall()
    return [{**dict(r), "data": json.loads(r["data"])} for r in rows]


def project_providers(conn: sqlite3.Connection, project_id: str) -> dict[str, str]:
    """The sign-in providers the project configured: provider -> its OAuth client id (the
    secrets are in files, never here)."""
    row = conn.execute("SELECT providers FROM projects WHERE project_id = ?", (project_id,)).fetchone()
    return json.loads(row["providers"] or "{}") if row else {}


def project_branding(conn: sqlite3.Connection, project_id: str) -> dict[str, str]:
    """How the hosted pages show the project: display_name, logo_url, primary_color ("": default)."""
    row = conn.execute("SELECT display_name, logo_url, primary_color FROM project_branding WHERE project_id = ?",
                       (project_id,)).fetchone()
    return dict(row) if row else {"display_name": "", "logo_url": "", "primary_color": ""}


def branded_project(conn: sqlite3.Connection, project_id: str) -> dict | None:
    """project_details with `branding`, in one read: the project as the management API shows it."""
    details = project_details(conn, project_id)
    return None if details is None else {**details, "branding": project_branding(conn, project_id)}


def project_settings(conn: sqlite3.Connection, project_id: str) -> dict | None:
    """What the Settings page shows, in one read: project_details, with `provider_clients`
    (provider -> client id), `branding`, and `previous_secret_valid_until`, when the own
    client's secret before the last rotation stops (or stopped) working (None: there is none)."""
    details = project_details(conn, project_id)
    if details is None:
        return None
    own = next(iter(clients_of(conn, project_id, details["client_id"])), {})
    return {**details, "provider_clients": project_providers(conn, project_id),
            "branding": project_branding(conn, project_id),
            "previous_secret_valid_until": own.get("previous_secret_valid_until")}
