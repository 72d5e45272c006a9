"""What people change about their own account, on the account page (web/pages/account.py).

Each command starts from the browser's live session, so it can only touch the account
signed in there; the page checks the re-authentication each asks for (the current
password, or a code from the authenticator app) before calling it.
"""

from astapa.app.accounts import LinkRequest
from astapa.app.passkeys import PasskeyCommands
from astapa.app.pins import PinCommands
from astapa.app.two_factor import TwoFactorCommands
from astapa.crypto import random_key, sha256_hex
from astapa.domain.errors import DomainError, EmailTakenError
from astapa.domain.links import CHANGE_EMAIL, ActionLink
from astapa.domain.mail import EMAIL_CHANGED, PASSWORD_CHANGED, Message
from astapa.domain.refresh import RefreshFamily
from astapa.domain.sessions import PASSWORD, BrowserSession
from astapa.domain.users import normalise_email
from astapa.store.events import Decision


class SelfServiceCommands(TwoFactorCommands, PinCommands, PasskeyCommands):
    def change_own_password(self, session_cookie: str, password_hash: str, client_name: str,
                            now: float) -> Decision:
        """A new password (the page checked the current one): every session and refresh
        token the user had ends, this browser gets a new session, and a notice is mailed.
        The value: the new session's cookie."""
        session, user = self._current_session(session_cookie, now)
        user.change_password(password_hash, reason="changed by the user")
        user.revoke_tokens(reason="password changed")
        session.end("password changed")
        fresh, cookie = self._start_session(user, now, [PASSWORD])
        notice = self._message(user, PASSWORD_CHANGED, None, LinkRequest(user.project_id, client_name, ""), now)
        return Decision([user, session, fresh, notice], cookie)

    def request_email_change(self, session_cookie: str, email: str, email_key: str, client_name: str,
                             now: float) -> Decision:
        """A link to confirm `email` as the user's address, mailed to it (the page checked
        the current password). EmailTakenError while an account holds that address."""
        _, user = self._current_session(session_cookie, now)
        if self._email_holder(user.project_id, email_key) is not None:
            raise EmailTakenError(user.project_id)
        assert self.link_tokens is not None, "the server sets link_tokens before serving"
        key = random_key()
        link = ActionLink(link_key=key, purpose=CHANGE_EMAIL, project_id=user.project_id, sub=user.sub, email=email,
                          token_hash=sha256_hex(self.link_tokens.token(CHANGE_EMAIL, key)), authorization="",
                          issued_at=now, expires_at=now + self.ttl(CHANGE_EMAIL))
        user.issue_link(CHANGE_EMAIL, key)
        message = Message(project_id=user.project_id, to=email, kind=CHANGE_EMAIL, link_key=key,
                          client_name=client_name, queued_at=now, sub=user.sub)
        return Decision([user, link, message])

    def confirm_email_change(self, token: str, client_name: str, now: float) -> Decision:
        """The link mailed to the new address was opened: the address is the user's, and
        verified; the old one is released (another account may take it) and told. The
        value: the new address."""
        link = self.link_of(token, read_only=False)
        link.check_usable(CHANGE_EMAIL, now)
        user = self._user(link.project_id, link.sub)
        user.check_current_link(CHANGE_EMAIL, link.link_key)
        user.check_can_sign_in()
        old = self._email_holder(user.project_id, normalise_email(user.email)[1])
        taken = self._take_email(user.project_id, normalise_email(link.email)[1], user.sub)
        link.use()
        notice = self._message(user, EMAIL_CHANGED, None, LinkRequest(user.project_id, client_name, ""), now)
        user.change_email(email=link.email, previous=user.email)
        made = [link, user, taken, notice]  # the user's events before the index's (read models)
        if old is not None and old.sub == user.sub:
            old.release(reason="email changed")
            made.append(old)
        return Decision(made, link.email)

    def end_own_sign_in(self, session_cookie: str, family_key: str, now: float) -> Decision:
        """One app's sign-in (a refresh token family) of this browser's user ends."""
        session = self._live_session(session_cookie, now)
        try:
            family: RefreshFamily = self.load(RefreshFamily.create_id(family_key), _Unknown)
        except _Unknown:
            return Decision([])
        if (family.project_id, family.sub) != (session.project_id, session.sub):
            return Decision([])
        family.revoke("signed out by the user")
        return Decision([family])

    def end_own_browser_session(self, session_cookie: str, session_key: str, now: float) -> Decision:
        """Another browser of this user is signed out of the hosted pages (its apps' sign-ins
        are their own: end_own_sign_in)."""
        session, _ = self._current_session(session_cookie, now)
        try:
            other: BrowserSession = self.load(BrowserSession.create_id(session_key), _Unknown)
        except _Unknown:
            return Decision([])
        if (other.project_id, other.sub) != (session.project_id, session.sub):
            return Decision([])
        other.end("signed out by the user")
        return Decision([other])

    def sign_out_everywhere(self, session_cookie: str, now: float) -> Decision:
        """Every session, refresh token and PIN of this browser's user ends, this one too."""
        session = self._live_session(session_cookie, now)
        user = self._user(session.project_id, session.sub)
        user.revoke_tokens(reason="signed out everywhere by the user")
        session.end("signed out everywhere")
        return Decision([user, session])

    def close_own_account(self, session_cookie: str, now: float) -> Decision:
        """The user closes their account: it is disabled (everything it held ends) and can
        no longer sign in. Erasing the person from the log is a later feature; until then
        the project's operators can see the disabled account."""
        session = self._live_session(session_cookie, now)
        decision = self.set_disabled(session.project_id, session.sub, True, by="user")
        session.end("account closed")
        return Decision([*decision.aggregates, session])


class _Unknown(DomainError):
    """No such refresh token family or browser session."""
