"""The console's commands: its built-in project, instance admins and their setup links,
project members, and the record of who changed what.

The console changes projects, users and plans through the same commands as the CLI and
the management API; `by_console` runs any of them and saves, in the same decision, a
ConsoleAction naming the console user.
"""

from typing import Callable

from astapa.app.accounts import AccountCommands, new_sub
from astapa.crypto import equals, random_key, random_secret, sha256_hex
from astapa.domain.console import (
    CONSOLE_PROJECT_ID,
    OWNER,
    AdminNotFoundError,
    ConsoleAction,
    InstanceAdmin,
    LastOwnerError,
    MemberExistsError,
    MemberNotFoundError,
    Membership,
    SetupLink,
    SetupLinkRejectedError,
)
from astapa.domain.errors import DomainError, ProjectNotFoundError
from astapa.domain.ids import split_keyed_secret
from astapa.domain.mail import CONSOLE_INVITE, Message
from astapa.domain.projects import Project
from astapa.domain.sessions import EMAIL_LINK
from astapa.domain.users import User
from astapa.store.events import Decision

SETUP_LINK_TTL = 24 * 3600
CONSOLE_REUSE_GRACE = 30  # seconds (domain/refresh.py)
CALLBACK_PATH = "/dashboard/callback"  # under the issuer: the console client's redirect URI


class StaleFormError(DomainError):
    """The form was shown for an earlier version of what it changes."""


class ConsoleCommands(AccountCommands):
    def ensure_console_project(self, redirect_uri: str) -> Decision:
        """The console's own project, made once at the first start; served under another
        issuer later, its one redirect URI becomes that issuer's callback (the console is
        served under one issuer at a time). Sign-in waits for a verified address: members
        are known by their address."""
        project_id = Project.create_id(CONSOLE_PROJECT_ID)
        if self.exists(project_id):
            project: Project = self.repository.get(project_id)
            if project.redirect_uris == [redirect_uri]:
                return Decision([], None)
            project.change_redirect_uris(project_id=CONSOLE_PROJECT_ID, redirect_uris=[redirect_uri], by=None)
            return Decision([project], None)
        # A grace for refresh retries, as the demo's: two tabs (or a form and a page) may both
        # find the console's access token expired and rotate the same refresh token at once.
        return self.create_project("Astapa console", [redirect_uri], "live", [],
                                   project_id=CONSOLE_PROJECT_ID, require_verified_email=True,
                                   refresh_reuse_grace=CONSOLE_REUSE_GRACE)

    def console_issuer(self) -> str | None:
        """The issuer the server last served the console under (its newest callback)."""
        project_id = Project.create_id(CONSOLE_PROJECT_ID)
        if not self.exists(project_id):
            return None
        project: Project = self.repository.get(project_id)
        return project.redirect_uris[-1].removesuffix(CALLBACK_PATH)

    # -- instance admins --------------------------------------------------------------------

    def add_admin(self, email: str, email_key: str, now: float, by: str = "cli") -> Decision:
        """An instance admin (once), and a new setup link: value {"email", "token"}."""
        made: list = []
        admin_id = InstanceAdmin.create_id(email_key)
        if not self.exists(admin_id):
            made.append(InstanceAdmin(email=email, email_key=email_key, by=by))
        else:
            admin: InstanceAdmin = self.repository.get(admin_id)
            if admin.revoked:
                admin.regrant(by=by)
                made.append(admin)
        key, secret = random_key(), random_secret()
        token = f"{key}.{secret}"
        made.append(SetupLink(link_key=key, email=email, email_key=email_key, token_hash=sha256_hex(token),
                              expires_at=now + SETUP_LINK_TTL))
        return Decision(made, {"email": email, "token": token})

    def remove_admin(self, email_key: str, by: str = "cli") -> Decision:
        """No longer an instance admin: value {"email", "admin": false}. Their console
        account stays (a member of projects, they keep those)."""
        admin_id = InstanceAdmin.create_id(email_key)
        if not self.exists(admin_id):
            raise AdminNotFoundError(email_key)
        admin: InstanceAdmin = self.repository.get(admin_id)
        if not admin.revoked:
            admin.revoke(by=by)
        return Decision([admin], {"email": admin.email, "admin": False})

    def setup_link(self, token: str, now: float, read_only: bool = True) -> SetupLink:
        parts = split_keyed_secret(token)
        if parts is None:
            raise SetupLinkRejectedError("malformed")
        link: SetupLink = self.load(SetupLink.create_id(parts[0]), lambda: SetupLinkRejectedError("unknown"),
                                    read_only=read_only)
        if not equals(sha256_hex(token), link.token_hash):
            raise SetupLinkRejectedError("token")
        link.check_usable(now)
        return link

    def complete_setup(self, token: str, password_hash: str, now: float) -> Decision:
        """The admin chose a password: their console account (made now, or the one they
        had, whose other sessions end), verified, and a session; value: the session cookie.
        The link came from the operator, who vouches for the address."""
        link = self.setup_link(token, now, read_only=False)
        link.use()
        made: list = [link]
        index = self._email_holder(CONSOLE_PROJECT_ID, link.email_key)
        if index is not None:
            user = self._user(CONSOLE_PROJECT_ID, index.sub)
            user.check_can_sign_in()
            user.change_password(password_hash, reason="console setup")
            user.revoke_tokens(reason="console setup")
        else:
            sub = new_sub()
            user = User(project_id=CONSOLE_PROJECT_ID, sub=sub, email=link.email, password_hash=password_hash)
            made.append(self._take_email(CONSOLE_PROJECT_ID, link.email_key, sub))
        if not user.email_verified:
            user.verify_email(link.email)
        session, cookie = self._start_session(user, now, [EMAIL_LINK])
        made[1:1] = [user]  # the user's events before its index's (the read models key by user)
        return Decision([*made, session], cookie)

    # -- members ----------------------------------------------------------------------------

    def invite_member(self, project_id: str, email: str, email_key: str, role: str, by: str,
                      now: float) -> Decision:
        """A role in the project for this address, and a mail saying so (with the console's
        address: the person signs in, or signs up, with this address there)."""
        project = self._project(project_id)
        membership_id = Membership.create_id(project_id, email_key)
        if self.exists(membership_id):
            membership: Membership = self.repository.get(membership_id)
            if not membership.removed:
                raise MemberExistsError(email_key)
            membership.rejoin(project_id=project_id, role=role, by=by)
        else:
            membership = Membership(project_id=project_id, email=email, email_key=email_key, role=role, by=by)
        message = Message(project_id=CONSOLE_PROJECT_ID, to=email, kind=CONSOLE_INVITE, link_key=None,
                          client_name=project.name, queued_at=now)
        return Decision([membership, message], {"project_id": project_id, "email": email, "role": role})

    def change_member_role(self, project_id: str, email_key: str, role: str, by: str,
                           owners: list[str] | None = None) -> Decision:
        """`owners`: the project's owners' keys (owners_of), to find another owner before an
        owner's role goes down."""
        membership = self._member(project_id, email_key)
        if membership.role == OWNER and role != OWNER:
            self._check_other_owner(project_id, email_key, owners)
        if membership.role != role:
            membership.change_role(project_id=project_id, role=role, by=by)
        return Decision([membership], {"project_id": project_id, "email": membership.email, "role": role})

    def remove_member(self, project_id: str, email_key: str, by: str, owners: list[str] | None = None) -> Decision:
        membership = self._member(project_id, email_key)
        if membership.role == OWNER:
            self._check_other_owner(project_id, email_key, owners)
        membership.remove(project_id=project_id, by=by)
        return Decision([membership], {"project_id": project_id, "email": membership.email, "removed": True})

    def _check_other_owner(self, project_id: str, email_key: str, owners: list[str] | None = None) -> None:
        """Owners are few; their memberships are read by the keys the caller passes (from
        the read model), or, with none, the change is refused as the last owner's."""
        for other in owners or ():
            if other == email_key:
                continue
            membership_id = Membership.create_id(project_id, other)
            if self.exists(membership_id):
                member: Membership = self.repository.get(membership_id)
                if member.role == OWNER and not member.removed:
                    return
        raise LastOwnerError(project_id)

    def _member(self, project_id: str, email_key: str) -> Membership:
        membership: Membership = self.load(Membership.create_id(project_id, email_key),
                                           lambda: MemberNotFoundError(email_key))
        if membership.removed:
            raise MemberNotFoundError(email_key)
        return membership

    def _project(self, project_id: str) -> Project:
        return self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id), read_only=True)

    def create_owned_project(self, name: str, redirect_uris: list[str], owner_email: str, owner_key: str,
                             by: str) -> Decision:
        """A project made in the console: its maker is its first owner, in the same save."""
        decision = self.create_project(name, redirect_uris, "sandbox", [], by=by)
        project_id = decision.value["project_id"]
        decision.aggregates.append(Membership(project_id=project_id, email=owner_email, email_key=owner_key,
                                              role=OWNER, by=by))
        return self._recorded(decision, project_id, by, "create project", project_id)

    def go_live_with_members(self, project_id: str, members: list[str], going_live: tuple[str, str] | None,
                             by: str, *args, **kwargs) -> Decision:
        """go_live (golive.py; `args` and `kwargs` are its), and in the same save the
        sandbox's members with their roles on the twin, so those who ran the sandbox run
        the twin. `members`: their keys, from the read model (no aggregate lists them),
        each read again here; `going_live`: (address, key) of the person going live, made
        an owner of the twin when not an instance admin (None), so they can open it."""
        decision = self.go_live(project_id, *args, by=by, **kwargs)
        live_id = decision.value["project_id"]
        copies: dict[str, Membership] = {}
        for email_key in members:
            membership_id = Membership.create_id(project_id, email_key)
            if self.exists(membership_id):
                member: Membership = self.repository.get(membership_id)
                if not member.removed:
                    copies[email_key] = Membership(project_id=live_id, email=member.email, email_key=email_key,
                                                   role=member.role, by=by)
        if going_live is not None and getattr(copies.get(going_live[1]), "role", None) != OWNER:
            copies[going_live[1]] = Membership(project_id=live_id, email=going_live[0], email_key=going_live[1],
                                               role=OWNER, by=by)
        decision.aggregates.extend(copies.values())
        return decision

    # -- who changed what -------------------------------------------------------------------

    def by_console(self, actor: str, project_id: str, action: str, target: str, command: Callable[..., Decision],
                   *args, expected_version: int | None = None, **kwargs) -> Decision:
        """`command` (one of this application's), and a ConsoleAction naming `actor`, in one
        save. With `expected_version`, the project must be as the form showed it (a stale
        form is refused, nothing changes)."""
        if expected_version is not None:
            project: Project = self._project(project_id)
            if project.version != expected_version:
                raise StaleFormError(project_id)
        decision = command(*args, **kwargs)
        return decision if decision.error is not None else self._recorded(decision, project_id, actor, action,
                                                                          target)

    @staticmethod
    def _recorded(decision: Decision, project_id: str, actor: str, action: str, target: str) -> Decision:
        """`decision` and, saved with it, a ConsoleAction naming `actor` and each event."""
        changes = [[aggregate.id.hex, e.originator_version]
                   for aggregate in decision.aggregates for e in aggregate.pending_events]
        decision.aggregates.append(ConsoleAction(project_id=project_id, actor=actor, action=action, target=target,
                                                 changes=changes))
        return decision

    def project_version(self, project_id: str) -> int:
        return self._project(project_id).version
