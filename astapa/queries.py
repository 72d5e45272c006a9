"""Named read functions over read.db: the only place handlers get SQL from; ReadModels runs
them off the event loop."""

import asyncio
import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from astapa.domain.branding import Branding
from astapa.domain.clients import (
    GRANT_TYPES,
    ClientRecord,
    ProjectRecord,
    project_scopes,
    third_party_scopes,
)
from astapa.domain.plans import FREE
from astapa.domain.projects import DEFAULT_TWO_FACTOR_GRACE
from astapa.domain.refresh import DEFAULT_PIN_REFRESH_TTL
from astapa.domain.resources import canonical
from projections.runner import connect


class ReadModels:
    """Queries over read.db in a small thread pool, one read-only connection per thread.

    `fresh`, when other processes write the store too (workers, a cluster's nodes), runs
    before each query and waits until the read models hold everything the store holds:
    read-your-writes across processes, at the price of asking the store for its head."""

    def __init__(self, path: Path, workers: int = 4, fresh: Callable[[], None] | None = None) -> None:
        self.path = path
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="astapa-read")
        self._local = threading.local()
        self.fresh = fresh

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path, readonly=True)
        return conn

    def run(self, query: Callable[..., Any], *args: Any) -> Any:
        if self.fresh is not None:
            self.fresh()
        return query(self._conn(), *args)

    async def query(self, query: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, self.run, query, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def client_by_id(conn: sqlite3.Connection, client_id: str) -> ClientRecord | None:
    row = conn.execute(
        "SELECT c.client_id, c.kind, c.project_id, c.secret_hash, c.scopes, c.token_ttl, c.name,"
        " c.redirect_uris, p.require_verified_email, c.mode, p.providers, c.auth_method, c.jwks,"
        " c.jwks_uri, c.grant_types, p.scopes AS project_scopes, p.resources, p.allow_registration,"
        " p.refresh_reuse_grace, c.post_logout_redirect_uris, c.previous_secret_hash, c.previous_secret_valid_until,"
        " b.display_name, b.logo_url, b.primary_color, p.refresh_ttl, p.pin_sign_in, p.pin_refresh_ttl,"
        " p.two_factor_required_since, p.two_factor_grace"
        " FROM clients c LEFT JOIN projects p ON p.project_id = c.project_id"
        " LEFT JOIN project_branding b ON b.project_id = c.project_id"
        " WHERE c.client_id = ?",
        (client_id,),
    ).fetchone()
    if row is None:
        return None
    resources = json.loads(row["resources"] or "{}")
    scopes = json.loads(row["scopes"])
    if row["kind"] == "registered":
        scopes = third_party_scopes(project_scopes(json.loads(row["project_scopes"] or "[]"), resources), scopes)
    return ClientRecord(
        client_id=row["client_id"],
        kind=row["kind"],
        project_id=row["project_id"],
        secret_hash=row["secret_hash"],
        scopes=tuple(scopes),
        token_ttl=row["token_ttl"],
        grant_types=tuple(json.loads(row["grant_types"] or "[]")) or GRANT_TYPES[row["kind"]],
        name=row["name"],
        redirect_uris=tuple(json.loads(row["redirect_uris"] or "[]")),
        require_verified_email=bool(row["require_verified_email"]),
        mode=row["mode"] or "sandbox",
        providers=tuple(sorted(json.loads(row["providers"] or "{}"))),
        auth_method=row["auth_method"] or "client_secret_basic",
        jwks=json.loads(row["jwks"]) if row["jwks"] else None,
        jwks_uri=row["jwks_uri"],
        resources={uri: tuple(s) for uri, s in resources.items()},
        allow_registration=bool(row["allow_registration"]),
        refresh_reuse_grace=row["refresh_reuse_grace"] or 0,
        post_logout_redirect_uris=tuple(json.loads(row["post_logout_redirect_uris"] or "[]")),
        foreign_resources=frozenset() if resources else foreign_resources(conn, row["project_id"]),
        previous_secret_hash=row["previous_secret_hash"],
        previous_secret_valid_until=row["previous_secret_valid_until"],
        branding=branding_of(row),
        refresh_ttl=row["refresh_ttl"],
        pin_sign_in=bool(row["pin_sign_in"]),
        pin_refresh_ttl=row["pin_refresh_ttl"] or DEFAULT_PIN_REFRESH_TTL,
        two_factor_required_since=row["two_factor_required_since"],
        two_factor_grace=DEFAULT_TWO_FACTOR_GRACE if row["two_factor_grace"] is None else row["two_factor_grace"],
    )


def branding_of(row: sqlite3.Row) -> Branding | None:
    """A project's branding from a row joined with project_branding; None if it set none."""
    if not (row["display_name"] or row["logo_url"] or row["primary_color"]):
        return None
    return Branding(row["display_name"] or "", row["logo_url"] or "", row["primary_color"] or "")


def project_by_id(conn: sqlite3.Connection, project_id: str) -> ProjectRecord | None:
    row = conn.execute(
        "SELECT project_id, name, require_verified_email, mode, providers, scopes, resources,"
        " allow_registration, refresh_reuse_grace, live_project_id, sandbox_project_id, pin_sign_in,"
        " refresh_ttl, pin_refresh_ttl, two_factor_required_since, two_factor_grace"
        " FROM projects WHERE project_id = ?",
        (project_id,)).fetchone()
    if row is None:
        return None
    resources = json.loads(row["resources"] or "{}")
    return ProjectRecord(
        project_id=row["project_id"], name=row["name"],
        require_verified_email=bool(row["require_verified_email"]), mode=row["mode"],
        providers=tuple(sorted(json.loads(row["providers"] or "{}"))),
        scopes=project_scopes(json.loads(row["scopes"] or "[]"), resources),
        resources={uri: tuple(s) for uri, s in resources.items()},
        allow_registration=bool(row["allow_registration"]),
        refresh_reuse_grace=row["refresh_reuse_grace"] or 0,
        foreign_resources=frozenset() if resources else foreign_resources(conn, project_id),
        live_project_id=row["live_project_id"],
        sandbox_project_id=row["sandbox_project_id"],
        pin_sign_in=bool(row["pin_sign_in"]),
        refresh_ttl=row["refresh_ttl"],
        pin_refresh_ttl=row["pin_refresh_ttl"] or DEFAULT_PIN_REFRESH_TTL,
        two_factor_required_since=row["two_factor_required_since"],
        two_factor_grace=DEFAULT_TWO_FACTOR_GRACE if row["two_factor_grace"] is None else row["two_factor_grace"],
    )


# -- listings: what an operator sees (the CLI, the console). Never a secret or a hash. ------


def projects_list(conn: sqlite3.Connection) -> list[dict]:
    """Every project, oldest first: {project_id, name, mode, client_id, created_at}."""
    rows = conn.execute("SELECT project_id, name, mode, client_id, created_at FROM projects"
                        " ORDER BY created_at, project_id").fetchall()
    return [dict(row) for row in rows]


def project_details(conn: sqlite3.Connection, project_id: str) -> dict | None:
    """A project's settings, its own client's redirect URIs included; None: no such
    project. `scopes` are the project's own (its resources' are under `resources`, URI ->
    scopes); `providers` the sign-in providers configured, by name."""
    row = conn.execute(
        "SELECT p.project_id, p.name, p.mode, p.client_id, p.scopes, p.providers, p.resources,"
        " p.require_verified_email, p.allow_registration, p.refresh_reuse_grace, p.created_at,"
        " c.redirect_uris, c.post_logout_redirect_uris, p.live_project_id, p.sandbox_project_id, c.token_ttl,"
        " p.refresh_ttl, p.pin_sign_in, p.pin_refresh_ttl, p.two_factor_required_since, p.two_factor_grace"
        " FROM projects p LEFT JOIN clients c ON c.client_id = p.client_id WHERE p.project_id = ?",
        (project_id,)).fetchone()
    if row is None:
        return None
    return {
        "project_id": row["project_id"],
        "name": row["name"],
        "mode": row["mode"],
        "client_id": row["client_id"],
        "redirect_uris": json.loads(row["redirect_uris"] or "[]"),
        "post_logout_redirect_uris": json.loads(row["post_logout_redirect_uris"] or "[]"),
        "scopes": json.loads(row["scopes"] or "[]"),
        "providers": sorted(json.loads(row["providers"] or "{}")),
        "resources": json.loads(row["resources"] or "{}"),
        "require_verified_email": bool(row["require_verified_email"]),
        "allow_registration": bool(row["allow_registration"]),
        "refresh_reuse_grace": row["refresh_reuse_grace"] or 0,
        "access_token_ttl": row["token_ttl"],  # the own client's access tokens (None: the server's default)
        "refresh_ttl": row["refresh_ttl"],  # after a password, link or social sign-in (None: the default)
        "pin_sign_in": bool(row["pin_sign_in"]),
        "pin_refresh_ttl": row["pin_refresh_ttl"] or DEFAULT_PIN_REFRESH_TTL,  # after a PIN sign-in
        "two_factor_required": row["two_factor_required_since"] is not None,
        "two_factor_grace": DEFAULT_TWO_FACTOR_GRACE if row["two_factor_grace"] is None else row["two_factor_grace"],
        "created_at": row["created_at"],
        "live_project_id": row["live_project_id"],  # a sandbox's live twin, once it went live
        "sandbox_project_id": row["sandbox_project_id"],  # a live twin's sandbox
    }


def clients_of(conn: sqlite3.Connection, project_id: str, client_id: str | None = None) -> list[dict]:
    """A project's clients (with `client_id`, only that one, if it is the project's), its
    own first, then the others oldest first (deleted ones are gone): {client_id, name,
    kind, auth_method, scopes (as registered), token_ttl, grant_types, redirect_uris,
    created_at, previous_secret_valid_until}. The last is when the secret before the last
    rotation stops (or stopped) working, ISO 8601; None when there is none."""
    rows = conn.execute(
        "SELECT client_id, name, kind, auth_method, scopes, token_ttl, grant_types, redirect_uris, created_at,"
        " previous_secret_valid_until FROM clients WHERE project_id = ? AND (? IS NULL OR client_id = ?)"
        " ORDER BY kind != 'project', created_at, client_id", (project_id, client_id, client_id)).fetchall()
    return [{
        "client_id": row["client_id"],
        "name": row["name"],
        "kind": row["kind"],
        "auth_method": row["auth_method"] or "client_secret_basic",
        "scopes": json.loads(row["scopes"] or "[]"),
        "token_ttl": row["token_ttl"],
        "grant_types": json.loads(row["grant_types"] or "[]") or list(GRANT_TYPES[row["kind"]]),
        "redirect_uris": json.loads(row["redirect_uris"] or "[]"),
        "created_at": row["created_at"],
        "previous_secret_valid_until": None if row["previous_secret_valid_until"] is None
        else _iso(row["previous_secret_valid_until"]),
    } for row in rows]


def foreign_resources(conn: sqlite3.Connection, project_id: str) -> frozenset[str]:
    """The resources every other project registered, canonical: what a project without
    resources of its own may never issue tokens for."""
    rows = conn.execute("SELECT resources FROM projects WHERE project_id != ? AND resources IS NOT NULL"
                        " AND resources != '{}'", (project_id,)).fetchall()
    return frozenset(canonical(uri) for row in rows for uri in json.loads(row["resources"]))


def resource_registrant(conn: sqlite3.Connection, project_id: str, uri: str) -> str | None:
    """Another project that registered `uri` (as spelt, or another spelling of it), or
    None. A project's twin does not count: going live copies the sandbox's resources."""
    twins = conn.execute("SELECT live_project_id, sandbox_project_id FROM projects WHERE project_id = ?",
                         (project_id,)).fetchone()
    mine = {project_id, *(twins or ())} - {None}
    rows = conn.execute("SELECT project_id, resources FROM projects WHERE resources IS NOT NULL"
                        " AND resources != '{}'").fetchall()
    wanted = canonical(uri)
    return next((row["project_id"] for row in rows if row["project_id"] not in mine
                 and any(canonical(other) == wanted for other in json.loads(row["resources"]))), None)


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


def pin_holder(conn: sqlite3.Connection, pin_key: str, project_id: str) -> str | None:
    """The email of whoever set this browser's PIN in the project, while it is not forgotten
    and they may sign in; None otherwise."""
    row = conn.execute(
        "SELECT u.email FROM pins p JOIN users u ON (u.project_id, u.sub) = (p.project_id, p.sub)"
        " WHERE p.pin_key = ? AND p.project_id = ? AND NOT p.forgotten AND NOT u.disabled",
        (pin_key, project_id)).fetchone()
    return row["email"] if row else None


def account_page(conn: sqlite3.Connection, project_id: str, sub: str, now: float) -> dict:
    """What a user's account page shows, in one read: whether they have a password, their
    PINs (user_pins), and their apps' sign-ins still on, newest first (at most 50):
    {family_key, client_name, started_at}."""
    row = conn.execute("SELECT password_hash IS NOT NULL AS has_password FROM users WHERE project_id = ? AND sub = ?",
                       (project_id, sub)).fetchone()
    sign_ins = conn.execute(
        "SELECT f.family_key, COALESCE(c.name, f.client_id) AS client_name, f.started_at FROM refresh_families f"
        " LEFT JOIN clients c ON c.client_id = f.client_id WHERE f.project_id = ? AND f.sub = ? AND NOT f.revoked"
        " ORDER BY f.started_at DESC LIMIT 50", (project_id, sub)).fetchall()
    return {"has_password": bool(row and row["has_password"]), "pins": user_pins(conn, project_id, sub),
            "sign_ins": [dict(r) for r in sign_ins], "passkeys": user_passkeys(conn, project_id, sub),
            "browsers": user_browsers(conn, project_id, sub, now)}


def user_browsers(conn: sqlite3.Connection, project_id: str, sub: str, now: float) -> list[dict]:
    """The browsers signed in to a user's account, newest first (at most 50): their live
    hosted sessions, {session_key, started_at, amr}."""
    rows = conn.execute(
        "SELECT session_key, started_at, amr FROM browser_sessions WHERE project_id = ? AND sub = ? AND NOT ended"
        " AND idle_expires_at > ? AND absolute_expires_at > ? ORDER BY started_at DESC LIMIT 50",
        (project_id, sub, now, now)).fetchall()
    return [{**dict(row), "amr": json.loads(row["amr"] or "[]")} for row in rows]


def passkey_by_credential(conn: sqlite3.Connection, credential_id: str) -> dict | None:
    """A passkey still registered: {project_id, sub, public_key, sign_count, backed_up}."""
    row = conn.execute("SELECT project_id, sub, public_key, sign_count, backed_up FROM passkeys"
                       " WHERE credential_id = ? AND NOT removed", (credential_id,)).fetchone()
    return dict(row) if row else None


def user_passkeys(conn: sqlite3.Connection, project_id: str, sub: str) -> list[dict]:
    """A user's passkeys, oldest first: {credential_id, name, backed_up, created_at, last_used_at}."""
    rows = conn.execute("SELECT credential_id, name, backed_up, created_at, last_used_at FROM passkeys"
                        " WHERE project_id = ? AND sub = ? AND NOT removed ORDER BY created_at", (project_id, sub))
    return [dict(row) for row in rows.fetchall()]


def user_password_hash(conn: sqlite3.Connection, project_id: str, sub: str) -> str | None:
    row = conn.execute("SELECT password_hash FROM users WHERE project_id = ? AND sub = ?", (project_id, sub)).fetchone()
    return row["password_hash"] if row else None


def user_pins(conn: sqlite3.Connection, project_id: str, sub: str) -> list[dict]:
    """A user's PINs, one per browser, newest first: {pin_key, set_at, last_used_at}."""
    rows = conn.execute("SELECT pin_key, set_at, last_used_at FROM pins WHERE project_id = ? AND sub = ?"
                        " AND NOT forgotten ORDER BY set_at DESC", (project_id, sub)).fetchall()
    return [dict(row) for row in rows]


USER_COLUMNS = ("sub, email, email_verified, disabled, custom_claims, plan_claims, plan_expires_at,"
                " identities, created_at")


def user_view(row: sqlite3.Row, now: float) -> dict:
    """A user as the management API and userinfo show them: custom claims as a token
    issued now would carry them (the plan's claims under the user's own; free once the
    plan's end has passed, even before the event that records it)."""
    claims = json.loads(row["custom_claims"])
    expires_at = row["plan_expires_at"]
    if expires_at is not None and now >= expires_at:
        claims["plan"] = FREE
    else:
        claims = {**json.loads(row["plan_claims"]), **claims}
    view = {
        "sub": row["sub"],
        "email": row["email"],
        "email_verified": bool(row["email_verified"]),
        "custom_claims": claims,
        "created_at": row["created_at"],
        "disabled": bool(row["disabled"]),
        "identities": json.loads(row["identities"] or "[]"),
    }
    if expires_at is not None and now < expires_at:
        view["plan_expires_at"] = _iso(expires_at)
    return view


def identities_until(conn: sqlite3.Connection, project_id: str, sub: str, at: datetime) -> list[dict]:
    """The Google and GitHub accounts linked to a user by `at`, from their history."""
    rows = conn.execute("SELECT timestamp, data FROM user_events WHERE project_id = ? AND sub = ?"
                        " AND type = 'User.IdentityLinked' ORDER BY position", (project_id, sub)).fetchall()
    return [{"provider": data["provider"], "subject": data["subject"], "email": data["email"],
             "linked_at": row["timestamp"]}
            for row in rows if datetime.fromisoformat(row["timestamp"]) <= at
            for data in [json.loads(row["data"])]]


def user_profile(conn: sqlite3.Connection, project_id: str, sub: str, now: float) -> dict | None:
    row = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE project_id = ? AND sub = ?",
                       (project_id, sub)).fetchone()
    return user_view(row, now) if row else None


def user_by_email(conn: sqlite3.Connection, project_id: str, email_key: str, now: float) -> dict | None:
    row = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE project_id = ? AND email_key = ?",
                       (project_id, email_key)).fetchone()
    return user_view(row, now) if row else None


def users_page(conn: sqlite3.Connection, project_id: str, after: int, limit: int,
               now: float) -> tuple[list[dict], int | None]:
    """Users in order of registration after the cursor, and the next cursor (None at the
    end). Users registered while a listing runs come after every earlier one, so a listing
    sees each user that existed when it started exactly once."""
    rows = conn.execute(
        f"SELECT seq, {USER_COLUMNS} FROM users WHERE project_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (project_id, after, limit + 1),
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return [user_view(r, now) for r in rows], (rows[-1]["seq"] if more else None)


def user_events(conn: sqlite3.Connection, project_id: str, sub: str, after: int, limit: int) -> list[dict]:
    rows = conn.execute(
        "SELECT position, type, timestamp, data FROM user_events"
        " WHERE project_id = ? AND sub = ? AND position > ? ORDER BY position LIMIT ?",
        (project_id, sub, after, limit),
    ).fetchall()
    return [{"position": r["position"], "type": r["type"], "timestamp": r["timestamp"],
             "data": json.loads(r["data"])} for r in rows]


def expired_plans(conn: sqlite3.Connection, now: float, limit: int) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT project_id, sub FROM users WHERE plan_expires_at IS NOT NULL AND plan_expires_at <= ?"
        " ORDER BY plan_expires_at LIMIT ?", (now, limit)).fetchall()
    return [(r["project_id"], r["sub"]) for r in rows]


PLAN_COLUMNS = "key, name, price, currency, interval, claims, archived"


def plans_of(conn: sqlite3.Connection, project_id: str) -> list[dict]:
    rows = conn.execute(f"SELECT {PLAN_COLUMNS} FROM plans WHERE project_id = ? ORDER BY created_at, key",
                        (project_id,)).fetchall()
    return [_plan(r) for r in rows]


def plan_by_key(conn: sqlite3.Connection, project_id: str, key: str) -> dict | None:
    row = conn.execute(f"SELECT {PLAN_COLUMNS} FROM plans WHERE project_id = ? AND key = ?",
                       (project_id, key)).fetchone()
    return _plan(row) if row else None


def _plan(row: sqlite3.Row) -> dict:
    """A plan as the API shows it; `archived` only once it is (offered no more)."""
    plan = {"key": row["key"], "name": row["name"], "price": row["price"], "currency": row["currency"],
            "interval": row["interval"], "claims": json.loads(row["claims"])}
    if row["archived"]:
        plan["archived"] = True
    return plan


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


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
    branding: Branding | None = None  # the project's, as it is when the mail is composed


MAIL_COLUMNS = ("m.message_id, m.project_id, m.recipient, m.kind, m.link_key, m.client_name, m.queued_at,"
                " m.attempts, b.display_name, b.logo_url, b.primary_color")


def queued_mail(row: sqlite3.Row) -> QueuedMail:
    return QueuedMail(row["message_id"], row["project_id"], row["recipient"], row["kind"], row["link_key"],
                      row["client_name"], row["queued_at"], row["attempts"], branding_of(row))

def due_mail(conn: sqlite3.Connection, now: float, limit: int) -> list[QueuedMail]:
    """Queued messages whose next attempt is due, oldest first."""
    rows = conn.execute(
        f"SELECT {MAIL_COLUMNS} FROM mail m LEFT JOIN project_branding b ON b.project_id = m.project_id"
        " WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
        (now, limit),
    ).fetchall()
    return [queued_mail(row) for row in rows]


def queued_mail_after(conn: sqlite3.Connection, after: tuple[float, str], limit: int) -> list[QueuedMail]:
    """Every queued message, due or not, in queue order after the cursor (queued_at, id)."""
    rows = conn.execute(
        f"SELECT {MAIL_COLUMNS} FROM mail m LEFT JOIN project_branding b ON b.project_id = m.project_id"
        " WHERE status = 'queued' AND (queued_at, message_id) > (?, ?) ORDER BY queued_at, message_id LIMIT ?",
        (*after, limit),
    ).fetchall()
    return [queued_mail(row) for row in rows]


def queued_mail_count(conn: sqlite3.Connection) -> int:
    """Messages waiting to be sent, due or backing off."""
    return conn.execute("SELECT COUNT(*) FROM mail WHERE status = 'queued'").fetchone()[0]


PAYMENT_COLUMNS = ("payment_id, project_id, sub, plan, amount, currency, method, bank_code, status, qr_string,"
                   " checkout_url, virtual_account_number, expires_at, created_at, settled, period_end, mismatched")


def payment_view(row: sqlite3.Row) -> dict:
    """A payment as the API shows it. CREATED (Xendit not yet answered) shows as PENDING."""
    view = {
        "payment_id": row["payment_id"],
        "end_user_id": row["sub"],
        "status": "PENDING" if row["status"] == "CREATED" else row["status"],
        "amount": row["amount"],
        "currency": row["currency"],
        "plan": row["plan"],
        "method": row["method"],
        "expires_at": _iso(row["expires_at"]),
        "created_at": _iso(row["created_at"]),
    }
    for name in ("qr_string", "checkout_url", "virtual_account_number", "bank_code"):
        if row[name] is not None:
            view[name] = row[name]
    if row["settled"]:
        view["plan_assigned"] = True
        view["plan_period_end"] = None if row["period_end"] is None else _iso(row["period_end"])
    if row["mismatched"]:
        view["amount_mismatch"] = True
    return view


def payment_by_id(conn: sqlite3.Connection, project_id: str, payment_id: str) -> dict | None:
    row = conn.execute(f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE payment_id = ? AND project_id = ?",
                       (payment_id, project_id)).fetchone()
    return payment_view(row) if row else None


# What a project's payments listing may filter on: the status it shows -> those stored.
PAYMENT_STATUSES = {"PENDING": ("CREATED", "PENDING"), "SUCCEEDED": ("SUCCEEDED",), "FAILED": ("FAILED",),
                    "EXPIRED": ("EXPIRED",)}


def payments_page(conn: sqlite3.Connection, project_id: str, status: str | None, before: int | None,
                  limit: int) -> tuple[list[dict], int | None]:
    """The project's payments, newest first (by created_at), with `status` as the API shows
    it (None: any), after the cursor `before` (the `next` of the page before); and the next
    cursor, None at the end. The cursor is a row's id, read back as (created_at, row id),
    so the index on (project_id, created_at) walks each page without sorting."""
    where, args = ["project_id = ?"], [project_id]
    if status is not None:
        stored = PAYMENT_STATUSES[status]
        where.append(f"status IN ({', '.join('?' for _ in stored)})")
        args += stored
    if before is not None:
        where.append("(created_at, rowid) < (SELECT created_at, rowid FROM payments"
                     " WHERE rowid = ? AND project_id = ?)")
        args += [before, project_id]
    rows = conn.execute(f"SELECT rowid AS seq, {PAYMENT_COLUMNS} FROM payments WHERE {' AND '.join(where)}"
                        " ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return [payment_view(r) for r in rows], (rows[-1]["seq"] if more else None)


def payments_of_user(conn: sqlite3.Connection, project_id: str, sub: str) -> list[dict]:
    rows = conn.execute(f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE project_id = ? AND sub = ?"
                        " ORDER BY created_at DESC, payment_id LIMIT 500", (project_id, sub)).fetchall()
    return [payment_view(r) for r in rows]


def unsettled_payments(conn: sqlite3.Connection, limit: int) -> list[str]:
    rows = conn.execute("SELECT payment_id FROM payments WHERE status = 'SUCCEEDED' AND settled = 0 LIMIT ?",
                        (limit,)).fetchall()
    return [r[0] for r in rows]


def open_payments(conn: sqlite3.Connection, created_before: float,
                  limit: int) -> list[tuple[str, float, str, str]]:
    """Payments still waiting (CREATED or PENDING) that were created before the time:
    (payment_id, expires_at, xendit_id, project_id)."""
    rows = conn.execute(
        "SELECT payment_id, expires_at, xendit_id, project_id FROM payments WHERE status IN ('CREATED', 'PENDING')"
        " AND created_at <= ? ORDER BY created_at LIMIT ?", (created_before, limit)).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


# -- webhooks (projections/webhooks.py) -------------------------------------------------------

def rfc3339(moment: datetime | float | None) -> str | None:
    """A moment (seconds since the epoch, or a datetime) as RFC 3339 in UTC, "…Z"."""
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def webhook_view(row: sqlite3.Row) -> dict:
    """A webhook as the API shows it: never its secret."""
    return {"webhook_id": row["webhook_id"], "url": row["url"], "events": json.loads(row["events"]),
            "created_at": rfc3339(row["created_at"]), "enabled": row["status"] == "enabled",
            "disabled_reason": row["disabled_reason"]}


WEBHOOK_COLUMNS = "webhook_id, project_id, url, events, created_at, created_position, status, disabled_reason"


def webhooks_of(conn: sqlite3.Connection, project_id: str) -> list[dict]:
    """All of them: a project has at most MAX_WEBHOOKS (astapa/domain/webhooks.py)."""
    rows = conn.execute(f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE project_id = ?"
                        " ORDER BY created_at, webhook_id", (project_id,)).fetchall()
    return [webhook_view(r) for r in rows]


def live_webhook_count(conn: sqlite3.Connection, project_id: str) -> int:
    """A project's webhooks, enabled or disabled (a deleted one has no row)."""
    return conn.execute("SELECT COUNT(*) FROM webhooks WHERE project_id = ?", (project_id,)).fetchone()[0]


def webhook_of(conn: sqlite3.Connection, project_id: str, webhook_id: str) -> dict | None:
    row = conn.execute(f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE webhook_id = ? AND project_id = ?",
                       (webhook_id, project_id)).fetchone()
    return None if row is None else webhook_view(row)


@dataclass(frozen=True)
class Subscription:
    webhook_id: str
    project_id: str
    events: frozenset[str]
    created_position: int


def live_subscriptions(conn: sqlite3.Connection) -> list[Subscription]:
    """Every enabled webhook (the follower schedules for these): at most MAX_WEBHOOKS a project."""
    rows = conn.execute("SELECT webhook_id, project_id, events, created_position FROM webhooks"
                        " WHERE status = 'enabled'").fetchall()
    return [Subscription(r[0], r[1], frozenset(json.loads(r[2])), r[3]) for r in rows]


# Where the project and sub of an aggregate are, by its kind: (table, the aggregate id's column).
OWNER_TABLES = {"user": ("users", "user_id"), "refresh_family": ("refresh_families", "family_key"),
                "browser_session": ("browser_sessions", "session_key"), "payment": ("payments", "aggregate_id")}


def owners(conn: sqlite3.Connection, ids: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """The project and sub of aggregates (ids in hex, by kind of OWNER_TABLES), in one query;
    an aggregate whose row is gone (an erased user's) is missing from the answer."""
    parts, params = [], []
    for kind, hexes in ids.items():
        if hexes:
            table, column = OWNER_TABLES[kind]
            parts.append(f"SELECT {column}, project_id, sub FROM {table} WHERE {column} IN"
                         f" ({','.join('?' * len(hexes))})")
            params.extend(hexes)
    if not parts:
        return {}
    return {r[0]: (r[1], r[2]) for r in conn.execute(" UNION ALL ".join(parts), params)}


@dataclass(frozen=True)
class DueDelivery:
    delivery_id: str
    webhook_id: str
    project_id: str
    position: int
    type: str
    sub: str
    url: str
    attempts: int


def due_webhook_deliveries(conn: sqlite3.Connection, now: float, limit: int, per_webhook: int) -> list[DueDelivery]:
    """Pending deliveries of enabled webhooks whose next attempt is due and that wait for
    no earlier pending delivery of the same webhook and user (order per user); at most
    `per_webhook` of each webhook, so one webhook's backlog does not hide the others'."""
    rows = conn.execute(
        "SELECT delivery_id, webhook_id, project_id, position, type, sub, url, attempts FROM ("
        " SELECT d.delivery_id, d.webhook_id, d.project_id, d.position, d.type, d.sub, w.url, d.attempts,"
        "  d.next_attempt_at, ROW_NUMBER() OVER (PARTITION BY d.webhook_id"
        "   ORDER BY d.next_attempt_at, d.position) AS nth"
        " FROM webhook_deliveries d JOIN webhooks w ON w.webhook_id = d.webhook_id"
        " WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.status = 'enabled'"
        " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id"
        "  AND e.sub = d.sub AND e.status = 'pending' AND e.position < d.position))"
        " WHERE nth <= ? ORDER BY next_attempt_at, position LIMIT ?", (now, per_webhook, limit)).fetchall()
    return [DueDelivery(*r) for r in rows]


def webhook_deliveries_page(conn: sqlite3.Connection, webhook_id: str, before: int | None,
                            limit: int) -> tuple[list[dict], int | None]:
    """A webhook's deliveries, newest event first, before the cursor (an event's position),
    and the next cursor (None at the end)."""
    rows = conn.execute(
        "SELECT delivery_id, type, position, sub, status, attempts, last_status, last_error, next_attempt_at,"
        " last_attempt_at, delivered_at, scheduled_at FROM webhook_deliveries"
        " WHERE webhook_id = ? AND position < ? ORDER BY position DESC LIMIT ?",
        (webhook_id, before if before is not None else 2**62, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    views = [{"delivery_id": r["delivery_id"], "type": r["type"], "position": r["position"], "sub": r["sub"],
              "status": r["status"], "attempts": r["attempts"], "last_status_code": r["last_status"],
              "last_error": r["last_error"], "next_attempt_at": rfc3339(r["next_attempt_at"]),
              "last_attempt_at": rfc3339(r["last_attempt_at"]), "delivered_at": rfc3339(r["delivered_at"]),
              "scheduled_at": rfc3339(r["scheduled_at"])} for r in rows]
    return views, (rows[-1]["position"] if more else None)


def mail_of_user(conn: sqlite3.Connection, project_id: str, sub: str) -> list[str]:
    """The ids (hex) of the messages queued for a user: an erasure deletes their copies."""
    return [row[0] for row in conn.execute("SELECT message_id FROM mail WHERE project_id = ? AND sub = ?"
                                           " ORDER BY message_id", (project_id, sub))]
