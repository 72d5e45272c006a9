"""The console's people: instance admins, project members with their roles, the single-use
setup links that let a new admin choose a password, and the record of every change a
console user made.

People are known by their email address (its normalised key, users.normalise_email): they
sign in to the console as users of the built-in console project, whose sign-in waits for
a verified address, so an address in a membership is one its holder has proven.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import DomainError
from astapa.domain.ids import index_id

CONSOLE_PROJECT_ID = "proj_console"

OWNER, ADMIN, VIEWER = "owner", "admin", "viewer"
ROLES = (OWNER, ADMIN, VIEWER)
# What each role may do, in order: a role may do what every role after it may.
RANK = {OWNER: 3, ADMIN: 2, VIEWER: 1}


def may(role: str | None, needed: str) -> bool:
    """Whether `role` (None: no role) allows what `needed` allows."""
    return role is not None and RANK[role] >= RANK[needed]


class AdminNotFoundError(DomainError):
    """This address is no instance admin."""


class SetupLinkRejectedError(DomainError):
    """The setup link is unknown, used or expired."""


class MemberExistsError(DomainError):
    """This person is already a member of the project."""


class MemberNotFoundError(DomainError):
    """This person is not a member of the project."""


class LastOwnerError(DomainError):
    """A project keeps at least one owner."""


class InstanceAdmin(Aggregate):
    """Sees and changes every project, and the instance page."""

    @event("Granted")
    def __init__(self, email: str, email_key: str, by: str) -> None:
        self.email = email
        self.email_key = email_key
        self.revoked = False

    @staticmethod
    def create_id(email_key: str) -> UUID:
        return index_id("console-admin", email_key)

    @event("Revoked")
    def revoke(self, by: str) -> None:
        """No longer an instance admin (their console account stays, with its memberships)."""
        self.revoked = True

    @event("Regranted")
    def regrant(self, by: str) -> None:
        self.revoked = False


class SetupLink(Aggregate):
    """`astapa console add-admin`'s link: opened once within its lifetime, it lets the admin
    choose a password. Only the token's SHA-256 is kept; the aggregate's id derives from
    the token's key part (ids.split_keyed_secret)."""

    @event("Issued")
    def __init__(self, link_key: str, email: str, email_key: str, token_hash: str, expires_at: float) -> None:
        self.email = email
        self.email_key = email_key
        self.token_hash = token_hash
        self.expires_at = expires_at
        self.used = False

    @staticmethod
    def create_id(link_key: str) -> UUID:
        return index_id("console-setup", link_key)

    def check_usable(self, now: float) -> None:
        if self.used:
            raise SetupLinkRejectedError("used")
        if now >= self.expires_at:
            raise SetupLinkRejectedError("expired")

    @event("Used")
    def use(self) -> None:
        self.used = True


class Membership(Aggregate):
    """One person's role in one project. `by` names the console user who made the change."""

    @event("Invited")
    def __init__(self, project_id: str, email: str, email_key: str, role: str, by: str) -> None:
        self.project_id = project_id
        self.email = email
        self.email_key = email_key
        self.role = role
        self.removed = False

    @staticmethod
    def create_id(project_id: str, email_key: str) -> UUID:
        return index_id("console-member", f"{project_id}/{email_key}")

    @event("RoleChanged")
    def change_role(self, project_id: str, role: str, by: str) -> None:
        self.role = role

    @event("Removed")
    def remove(self, project_id: str, by: str) -> None:
        self.removed = True

    @event("Rejoined")
    def rejoin(self, project_id: str, role: str, by: str) -> None:
        """Invited again after being removed."""
        self.role = role
        self.removed = False


class ConsoleAction(Aggregate):
    """What a console user did, saved with the change itself (one decision): the project's
    events name who made each change, which peers' audit logs leave out. `target` names
    what was changed (a user's sub, a plan's key, a client id, an email address)."""

    @event("Recorded")
    def __init__(self, project_id: str, actor: str, action: str, target: str,
                 changes: list[list] | None = None) -> None:
        """`changes`: the [aggregate id (hex), version] of each event the change saved, so
        the project's log can name the actor on each of them too."""
        self.project_id = project_id
        self.actor = actor
        self.action = action
        self.target = target
        self.changes = list(changes or [])
