"""Mailed links: asking for one (which queues its message), and using one.

Asking never says whether the address has an account: an unknown address, or a user who
may not have the link, simply decides nothing. Asking again while the newest link of that
purpose for the same authorization request still has most of its life re-sends that link
(a new message, the same token); otherwise a new link replaces it. Using a link checks the
token, the purpose, single use and expiry, and that it is still the user's newest; then it
does its job and signs the user in to the authorization request it carries, in one save.
"""

from astapa.app.accounts import AccountCommands, LinkRequest
from astapa.crypto import equals, sha256_hex
from astapa.domain.codes import CodeRequest
from astapa.domain.errors import LinkRejectedError, UserNotFoundError
from astapa.domain.ids import split_keyed_secret
from astapa.domain.links import RESET_PASSWORD, VERIFY_EMAIL, ActionLink
from astapa.domain.mail import PASSWORD_CHANGED, SIGNUP_ATTEMPT
from astapa.domain.sessions import EMAIL_LINK
from astapa.domain.users import User
from astapa.store.events import Decision


class LinkCommands(AccountCommands):
    # -- asking -----------------------------------------------------------------------------

    def send_link(self, purpose: str, where: LinkRequest, email_key: str, now: float) -> Decision:
        """POST forgot-password, magic link, resend verification: mail the user a link."""
        index = self._email_holder(where.project_id, email_key)
        if index is None:
            return Decision([])
        user = self._user(where.project_id, index.sub)
        if user.disabled or (purpose == VERIFY_EMAIL and user.email_verified):
            return Decision([])
        current = self._current_link(user, purpose)
        if current is not None and current.authorization == where.authorization \
                and current.is_live(now) and current.expires_at - now > self.ttl(purpose) / 2:
            return Decision([self._message(user, purpose, current.link_key, where, now)])
        return Decision(list(self._new_link(user, purpose, where, now)))

    def notify_signup_attempt(self, where: LinkRequest, email_key: str, now: float) -> Decision:
        """Someone signed up with a taken address: its owner hears of it (C-80)."""
        index = self._email_holder(where.project_id, email_key)
        if index is None:
            raise UserNotFoundError(where.project_id)
        user = self._user(where.project_id, index.sub, read_only=True)
        return Decision([self._message(user, SIGNUP_ATTEMPT, None, where, now)])

    def _current_link(self, user: User, purpose: str) -> ActionLink | None:
        key = user.links.get(purpose)
        if key is None:
            return None
        return self.load(ActionLink.create_id(key), lambda: LinkRejectedError("missing"), read_only=True)

    # -- using ------------------------------------------------------------------------------

    def link_of(self, token: str, read_only: bool = True) -> ActionLink:
        """The link a token names, if the token is right (nothing is used)."""
        parts = split_keyed_secret(token)
        if parts is None:
            raise LinkRejectedError("malformed")
        link: ActionLink = self.load(ActionLink.create_id(parts[0]), lambda: LinkRejectedError("unknown"),
                                     read_only=read_only)
        if not equals(sha256_hex(token), link.token_hash):
            raise LinkRejectedError("token")
        return link

    def usable_link(self, purpose: str, token: str, now: float) -> ActionLink:
        """The link, if using it now would work (read-only: opening a link uses nothing)."""
        link = self.link_of(token)
        link.check_usable(purpose, now)
        user = self._user(link.project_id, link.sub, read_only=True)
        user.check_current_link(purpose, link.link_key)
        user.check_can_sign_in()
        return link

    def use_link(self, purpose: str, token: str, request: CodeRequest, client_name: str, now: float,
                 password_hash: str | None = None) -> Decision:
        """Verify the address, set the new password, or just sign in; then a new session and
        a code for the link's authorization request."""
        link = self.link_of(token, read_only=False)
        link.check_usable(purpose, now)
        user = self._user(link.project_id, link.sub)
        user.check_current_link(purpose, link.link_key)
        user.check_can_sign_in()
        link.use()
        changed: list = [link, user]
        proves_address = not user.email_verified and user.email == link.email  # any mailed link does
        if purpose == RESET_PASSWORD:
            assert password_hash is not None
            if proves_address:
                user.verify_email(link.email)
            user.change_password(password_hash, reason="reset")
            # Every refresh token and session the user had dies (which C-99 asks of a
            # proven address too); the new session below belongs to the new epoch.
            user.revoke_tokens(reason="password reset")
            changed.append(self._message(user, PASSWORD_CHANGED, None, LinkRequest(
                link.project_id, client_name, link.authorization), now))
        elif proves_address:
            self._prove_address(user, link.email)
        return self._signed_in(request, user, changed, now, [EMAIL_LINK])
