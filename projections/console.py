"""What the console reads: instance admins, project members, each project's log of events
(newest first, filterable by type, subject and actor), and daily counts for its overview.

A log row keeps the event's type, time, what it concerns (a user's sub, a client id, a
plan's key, an address) and who caused it (a console user, `api`, `cli`, the user
themself); never a hash, a key or a field derived from a secret.
"""

from sqlite_utils import Database

from astapa.domain.console import ConsoleAction, InstanceAdmin, Membership
from astapa.domain.payments import Payment
from astapa.domain.plans import Plan
from astapa.domain.projects import Client, Project
from astapa.domain.refresh import RefreshFamily
from astapa.domain.sessions import BrowserSession
from astapa.domain.tokens import AccessToken
from astapa.domain.users import User

NAME = "console"


def create_tables(db: Database) -> None:
    db["console_admins"].create({"email_key": str, "email": str, "created_at": str}, pk="email_key",
                                if_not_exists=True)
    db["admin_keys"].create({"aggregate_id": str, "email_key": str, "email": str}, pk="aggregate_id",
                            if_not_exists=True)  # an admin's aggregate id -> address (later events name neither)
    db["console_members"].create(
        {"project_id": str, "email_key": str, "email": str, "role": str, "invited_by": str, "created_at": str},
        pk=("project_id", "email_key"), if_not_exists=True)
    db["console_members"].create_index(["email_key"], if_not_exists=True)
    db["project_events"].create(
        {"position": int, "project_id": str, "type": str, "timestamp": str, "subject": str, "actor": str,
         "aggregate_id": str, "version": int},  # the event's: a console action names its events by them
        pk="position", if_not_exists=True)
    db["project_events"].create_index(["aggregate_id", "version"], if_not_exists=True)
    for columns in (["project_id", "position"], ["project_id", "type", "position"],
                    ["project_id", "subject", "position"], ["project_id", "actor", "position"]):
        db["project_events"].create_index(columns, if_not_exists=True)
    db["project_stats"].create(
        {"project_id": str, "day": str, "signups": int, "signins": int, "tokens": int},
        pk=("project_id", "day"), if_not_exists=True)
    db["membership_keys"].create({"aggregate_id": str, "project_id": str, "email_key": str, "email": str},
                                 pk="aggregate_id", if_not_exists=True)
    # Users per project, counted as they register: the Users and Overview pages show it, and
    # a count(*) over a project's users scans every one of them.
    db["project_totals"].create({"project_id": str, "users": int}, pk="project_id", if_not_exists=True)
    # When each user last signed in (a day): the overview's active users, by an index range.
    db["user_activity"].create({"project_id": str, "sub": str, "last_day": str}, pk=("project_id", "sub"),
                               if_not_exists=True)
    db["user_activity"].create_index(["project_id", "last_day"], if_not_exists=True)
    # A machine client's aggregate id -> its project and id (their later events name neither).
    db["client_owners"].create({"aggregate_id": str, "project_id": str, "client_id": str},
                               pk="aggregate_id", if_not_exists=True)


# -- people -------------------------------------------------------------------------------

def admin_granted(db: Database, e: InstanceAdmin.Granted) -> None:
    db.execute("INSERT OR REPLACE INTO console_admins (email_key, email, created_at) VALUES (?, ?, ?)",
               [e.email_key, e.email, e.timestamp.isoformat()])
    db.execute("INSERT OR REPLACE INTO admin_keys (aggregate_id, email_key, email) VALUES (?, ?, ?)",
               [e.originator_id.hex, e.email_key, e.email])


def admin_revoked(db: Database, e: InstanceAdmin.Revoked) -> None:
    db.execute("DELETE FROM console_admins WHERE email_key = (SELECT email_key FROM admin_keys WHERE aggregate_id = ?)",
               [e.originator_id.hex])


def admin_regranted(db: Database, e: InstanceAdmin.Regranted) -> None:
    db.execute("INSERT OR REPLACE INTO console_admins (email_key, email, created_at)"
               " SELECT email_key, email, ? FROM admin_keys WHERE aggregate_id = ?",
               [e.timestamp.isoformat(), e.originator_id.hex])


def member_invited(db: Database, e: Membership.Invited, position: int) -> None:
    db.execute("INSERT OR REPLACE INTO membership_keys (aggregate_id, project_id, email_key, email)"
               " VALUES (?, ?, ?, ?)", [e.originator_id.hex, e.project_id, e.email_key, e.email])
    db.execute("INSERT OR REPLACE INTO console_members (project_id, email_key, email, role, invited_by, created_at)"
               " VALUES (?, ?, ?, ?, ?, ?)",
               [e.project_id, e.email_key, e.email, e.role, e.by, e.timestamp.isoformat()])
    _log(db, position, e.project_id, e, e.email, e.by)


def member_role_changed(db: Database, e: Membership.RoleChanged, position: int) -> None:
    db.execute("UPDATE console_members SET role = ? WHERE (project_id, email_key) ="
               " (SELECT project_id, email_key FROM membership_keys WHERE aggregate_id = ?)",
               [e.role, e.originator_id.hex])
    _log_membership(db, position, e)


def member_removed(db: Database, e: Membership.Removed, position: int) -> None:
    db.execute("DELETE FROM console_members WHERE (project_id, email_key) ="
               " (SELECT project_id, email_key FROM membership_keys WHERE aggregate_id = ?)",
               [e.originator_id.hex])
    _log_membership(db, position, e)


def member_rejoined(db: Database, e: Membership.Rejoined, position: int) -> None:
    db.execute("INSERT OR REPLACE INTO console_members (project_id, email_key, email, role, invited_by, created_at)"
               " SELECT project_id, email_key, email, ?, ?, ? FROM membership_keys WHERE aggregate_id = ?",
               [e.role, e.by, e.timestamp.isoformat(), e.originator_id.hex])
    _log_membership(db, position, e)


def _log_membership(db: Database, position: int, e) -> None:
    owner = _owner(db, "SELECT project_id, email FROM membership_keys WHERE aggregate_id = ?", e.originator_id.hex)
    if owner is not None:
        _log(db, position, owner[0], e, owner[1], e.by)


# -- the project's log --------------------------------------------------------------------

def _log(db: Database, position: int, project_id: str | None, e, subject: str | None, actor: str | None) -> None:
    if project_id is None:
        return
    db.execute("INSERT OR IGNORE INTO project_events (position, project_id, type, timestamp, subject, actor,"
               " aggregate_id, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               [position, project_id, type(e).__qualname__, e.timestamp.isoformat(), subject or "", actor or "",
                e.originator_id.hex, e.originator_version])


def _owner(db: Database, sql: str, key: str) -> tuple[str, str] | None:
    row = db.execute(sql, [key]).fetchone()
    return (row[0], row[1]) if row else None


USER_OWNER = "SELECT project_id, sub FROM users WHERE user_id = ?"
FAMILY_OWNER = "SELECT project_id, sub FROM refresh_families WHERE family_key = ?"
PAYMENT_OWNER = "SELECT project_id, sub FROM payments WHERE aggregate_id = ?"
CLIENT_OWNER = "SELECT project_id, client_id FROM client_owners WHERE aggregate_id = ?"


def owned_by(sql: str, actor: str | None = None):
    """A handler logging an event of an aggregate whose project and subject `sql` finds by
    the aggregate's id; the actor is the event's `by`, else `actor`."""
    def handler(db: Database, e, position: int) -> None:
        owner = _owner(db, sql, e.originator_id.hex)
        if owner is not None:
            _log(db, position, owner[0], e, owner[1], getattr(e, "by", None) or actor)
    return handler


def naming(subject: str | None, actor: str | None = None):
    """A handler logging an event that names its project: `subject` is the field naming
    what it concerns, the actor is the event's `by`, else `actor`."""
    def handler(db: Database, e, position: int) -> None:
        _log(db, position, getattr(e, "project_id", None), e, getattr(e, subject, None) if subject else None,
             getattr(e, "by", None) or actor)
    return handler


def console_action(db: Database, e: ConsoleAction.Recorded, position: int) -> None:
    """The action, and its actor on each event it saved that names nobody (they come just
    before it in the log: one save)."""
    _log(db, position, e.project_id, e, e.target, e.actor)
    for aggregate_id, version in getattr(e, "changes", None) or ():
        db.execute("UPDATE project_events SET actor = ? WHERE aggregate_id = ? AND version = ? AND actor = ''",
                   [e.actor, aggregate_id, version])


def client_created(db: Database, e: Client.Created, position: int) -> None:
    db.execute("INSERT OR REPLACE INTO client_owners (aggregate_id, project_id, client_id) VALUES (?, ?, ?)",
               [e.originator_id.hex, e.project_id, e.client_id])
    _log(db, position, e.project_id, e, e.client_id,
         getattr(e, "by", None) or ("self" if getattr(e, "registered", False) else None))


# -- daily counts for the overview --------------------------------------------------------

def _count(db: Database, project_id: str, e, column: str) -> None:
    counts = {name: int(name == column) for name in ("signups", "signins", "tokens")}
    db.execute("INSERT INTO project_stats (project_id, day, signups, signins, tokens) VALUES (?, ?, ?, ?, ?)"
               f" ON CONFLICT(project_id, day) DO UPDATE SET {column} = {column} + 1",
               [project_id, e.timestamp.date().isoformat(), *counts.values()])


def user_registered(db: Database, e: User.Registered, position: int) -> None:
    _log(db, position, e.project_id, e, e.sub, "user")
    _count(db, e.project_id, e, "signups")
    db.execute("INSERT INTO project_totals (project_id, users) VALUES (?, 1)"
               " ON CONFLICT(project_id) DO UPDATE SET users = users + 1", [e.project_id])


def session_started(db: Database, e: BrowserSession.Started, position: int) -> None:
    _log(db, position, e.project_id, e, e.sub, "user")
    _count(db, e.project_id, e, "signins")
    db.execute("INSERT INTO user_activity (project_id, sub, last_day) VALUES (?, ?, ?)"
               " ON CONFLICT(project_id, sub) DO UPDATE SET last_day = excluded.last_day",
               [e.project_id, e.sub, e.timestamp.date().isoformat()])


def token_issued(db: Database, e: AccessToken.Issued) -> None:
    _count(db, e.project_id, e, "tokens")


def _events_of(aggregate: type, *names: str) -> list[type]:
    return [getattr(aggregate, name) for name in names]


HANDLERS = {
    InstanceAdmin.Granted: admin_granted,
    InstanceAdmin.Revoked: admin_revoked,
    InstanceAdmin.Regranted: admin_regranted,
    Membership.Invited: member_invited,
    Membership.RoleChanged: member_role_changed,
    Membership.Removed: member_removed,
    Membership.Rejoined: member_rejoined,
    ConsoleAction.Recorded: console_action,
    Client.Created: client_created,
    User.Registered: user_registered,
    BrowserSession.Started: session_started,
    AccessToken.Issued: token_issued,
    RefreshFamily.Started: naming("sub", "user"),
    **{cls: owned_by(USER_OWNER) for cls in _events_of(
        User, "TokensRevoked", "EmailVerified", "IdentityLinked", "PasswordChanged", "ClaimsChanged",
        "PlanAssigned", "PlanExpired", "Disabled", "Enabled")},
    **{cls: owned_by(FAMILY_OWNER) for cls in _events_of(RefreshFamily, "ReuseDetected", "Revoked")},
    **{cls: owned_by(PAYMENT_OWNER, "xendit") for cls in _events_of(
        Payment, "Failed", "Expired", "Succeeded", "AmountMismatched", "Settled")},
    Payment.Created: naming("sub", "api"),
    User.Erased: naming("sub"),  # the project's log keeps that it happened, and who asked
    **{cls: naming(None) for cls in _events_of(
        Project, "Created", "RegistrationPolicyChanged", "RedirectUriAdded", "PaymentsConfigured",
        "ProviderConfigured", "ProviderRemoved", "SignInPolicyChanged", "PostLogoutRedirectUrisChanged",
        "RefreshReuseGraceChanged", "Renamed", "RedirectUrisChanged", "SecretRotated", "PreviousSecretRevoked",
        "BrandingChanged", "ScopesChanged", "AccessTokenTtlChanged")},
    Project.WentLive: naming("live_project_id"),
    Project.ResourceAdded: naming("uri"),
    **{cls: owned_by(CLIENT_OWNER) for cls in _events_of(Client, "SecretRotated", "PreviousSecretRevoked", "Deleted")},
    Plan.Created: naming("key"),
    Plan.Changed: owned_by("SELECT project_id, key FROM plans WHERE plan_id = ?"),
    Plan.Archived: owned_by("SELECT project_id, key FROM plans WHERE plan_id = ?"),
}
