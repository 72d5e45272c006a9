"""End users: sign-up, sign-in, browser sessions, and revoking everything a user holds.

Sign-up also issues the verification link and queues its message, in the same save.

Passwords arrive here already hashed (bcrypt runs in a thread pool before the command);
a sign-in or sign-up issues the authorization code in the same save as the session.
"""

import secrets
from dataclasses import dataclass, replace

from astapa.app.tokens import TokenCommands
from astapa.crypto import LinkTokens, equals, random_key, random_secret, sha256_hex
from astapa.domain.codes import AuthorizationCode, CodeRequest
from astapa.domain.errors import DomainError, EmailTakenError, SessionEndedError, UserNotFoundError
from astapa.domain.ids import split_keyed_secret
from astapa.domain.links import CHANGE_EMAIL, MAGIC_LINK, RESET_PASSWORD, VERIFY_EMAIL, ActionLink
from astapa.domain.mail import Message
from astapa.domain.projects import Consent
from astapa.domain.sessions import MFA_ACR, MULTI_FACTOR, PASSWORD, PIN, BrowserSession
from astapa.domain.two_factor import TwoFactor
from astapa.domain.users import EmailIndex, User
from astapa.store.events import Decision

SUB_LIMIT = 2**53  # a sub fits a JSON number exactly (end_user_id may be sent as one)


@dataclass(frozen=True)
class SignedIn:
    code: str | None  # None: signed up, but the address must be verified first
    sub: str
    session_cookie: str | None  # set when a new browser session started
    consent: bool = False  # no code yet: a third-party client waits for the user's consent
    # No code yet: a second factor is due. The methods the first factor used (RFC 8176).
    second_factor: tuple[str, ...] | None = None
    enrolled: bool = True  # with second_factor: whether the user has one to give
    enrol: bool = False  # with second_factor: the project requires one, and the user sets it up now
    email: str = ""  # with second_factor: the user's address (what their authenticator app shows)
    epoch: int = 0  # with second_factor: the user's tokens epoch (a revoke-all ends the wait)


@dataclass(frozen=True)
class SessionOwner:
    """The user a browser's live session signs in, and how and when they signed in."""

    project_id: str
    sub: str
    email: str
    amr: tuple[str, ...]
    auth_time: int


def must_enrol(request: CodeRequest, user: User, now: float) -> bool:
    """The project requires two-factor sign-in, and this user's grace to set it up is over
    (it runs from when the project started requiring it, or from their sign-up)."""
    if request.two_factor_since is None:
        return False
    return now >= max(request.two_factor_since, user.created_on.timestamp()) + request.two_factor_grace


def new_sub() -> str:
    return str(secrets.randbelow(SUB_LIMIT - 1) + 1)


@dataclass(frozen=True)
class LinkRequest:
    """Where a link leads: the project, the client shown in the mail, and the raw query of
    the authorization request the link continues."""

    project_id: str
    client_name: str
    authorization: str


class AccountCommands(TokenCommands):
    link_tokens: LinkTokens | None = None  # set by the server (its key lives in DATA_DIR/keys)

    def ttl(self, purpose: str) -> int:
        return {VERIFY_EMAIL: self.lifetimes.verify_link, RESET_PASSWORD: self.lifetimes.reset_link,
                MAGIC_LINK: self.lifetimes.magic_link, CHANGE_EMAIL: self.lifetimes.verify_link}[purpose]

    def register_user(
        self, request: CodeRequest, where: LinkRequest, email: str, email_key: str,
        password_hash: str | None, now: float, sign_in: bool = True, mail: bool = True,
        sub: str | None = None, amr: list[str] | None = None, credential=None,
    ) -> Decision:
        """A new account, its email index and (unless a mail limit was reached: mail=False)
        its verification link and mail, and (unless the project waits for a verified
        address: sign_in=False) a session and a code, in one save. Two sign-ups with one
        address collide on the index's version; a random sub that is already taken collides
        on the user's, and the retry draws another. A sign-up with a passkey and no password
        gives `sub` (its passkey's user handle was made from it), `amr`, and `credential`,
        a function making the passkey's aggregate for the new user."""
        sub = sub or new_sub()
        index = self._take_email(request.project_id, email_key, sub)
        user = User(project_id=request.project_id, sub=sub, email=email, password_hash=password_hash)
        # The user's events come first: the read models key the index's row by the user.
        made = [user, index, *([credential(user)] if credential else [])]
        if mail:
            _, link, message = self._new_link(user, VERIFY_EMAIL, where, now)
            made += [link, message]
        if not sign_in:
            return Decision(made, SignedIn(None, sub, None))
        return self._signed_in(request, user, made, now, amr or [PASSWORD])

    def sign_in(self, request: CodeRequest, sub: str, now: float, require_verified: bool = False,
                amr: list[str] | None = None) -> Decision:
        """The password (or what `amr` names) was checked; a new session (never the old
        one: no fixation)."""
        user = self._user(request.project_id, sub, read_only=True)
        user.check_can_sign_in()
        if require_verified:
            user.check_verified()
        return self._signed_in(request, user, [], now, amr or [PASSWORD])

    def resume_session(
        self, request: CodeRequest, cookie: str, now: float, max_age: int | None,
        require_verified: bool = False,
    ) -> Decision:
        """A signed-in user coming back gets a code without the form."""
        session, user = self._resumed(request, cookie, now, max_age, require_verified)
        if request.acr == MFA_ACR and MULTI_FACTOR not in session.amr:  # step-up
            if not self.two_factor_enabled(user):  # setting one up takes a fresh sign-in, never a session
                raise SessionEndedError("a second factor to set up")
            return Decision([session], SignedIn(None, user.sub, None, second_factor=tuple(session.amr),
                                                email=user.email, epoch=user.tokens_epoch))
        codes, value = self._issue_code(request, user, session, now)
        return Decision([session, *codes],
                        SignedIn(value, session.sub, None, consent=value is None))

    def grant_consent(
        self, request: CodeRequest, cookie: str, now: float, require_verified: bool = False,
    ) -> Decision:
        """The signed-in user allowed a third-party client the scopes asked for at the
        resource asked for: remembered (per user, client and resource), and the code
        issued, in one save."""
        session, user = self._resumed(request, cookie, now, None, require_verified)
        if request.acr == MFA_ACR and MULTI_FACTOR not in session.amr:  # the second factor comes first
            raise SessionEndedError("a second factor is due")
        consent_id = Consent.create_id(request.project_id, user.sub, request.client_id)
        if self.exists(consent_id):
            consent: Consent = self.load(consent_id, _NoConsent)
            if not consent.covers(request.scopes, request.resource):
                consent.extend(scopes=sorted(request.scopes), resource=request.resource)
        else:
            consent = Consent(project_id=request.project_id, sub=user.sub, client_id=request.client_id,
                              scopes=sorted(request.scopes), resource=request.resource)
        code, value = self._new_code(request, user, session, now)
        return Decision([consent, session, code], SignedIn(value, user.sub, None))

    def _resumed(self, request: CodeRequest, cookie: str, now: float, max_age: int | None,
                 require_verified: bool) -> tuple[BrowserSession, User]:
        """The live session of this browser in the request's project, and its user, who may
        still sign in; the session's idle time starts again."""
        session = self._live_session(cookie, now)
        if session.project_id != request.project_id:
            raise SessionEndedError("another project")
        if max_age is not None and now - session.auth_time > max_age:
            raise SessionEndedError("max_age")
        user = self._user(session.project_id, session.sub, read_only=True)
        user.check_can_sign_in()
        if require_verified:
            user.check_verified()
        if session.tokens_epoch != user.tokens_epoch:
            raise SessionEndedError("user tokens revoked")
        session.use(idle_expires_at=now + self.lifetimes.session_idle)
        return session, user

    def session_of(self, cookie: str, now: float) -> Decision:
        """Whose this browser's live session is, and how they signed in: SessionOwner;
        SessionEndedError when there is none. Records nothing."""
        session, user = self._current_session(cookie, now)
        return Decision([], SessionOwner(session.project_id, session.sub, user.email, tuple(session.amr),
                                         session.auth_time))

    def end_session(self, cookie: str, now: float) -> Decision:
        try:
            session = self._live_session(cookie, now)
        except SessionEndedError:
            return Decision([])
        session.end("signed out")
        return Decision([session])

    def end_session_of(self, cookie: str, now: float, project_id: str | None, sub: str | None) -> Decision:
        """RP-initiated logout with an ID token naming (project_id, sub): the browser's live
        session ends when it is theirs ("ended"). "none": the browser has no live session;
        "other": it is someone else's, or nobody was named, and nothing ends."""
        try:
            session = self._live_session(cookie, now)
        except SessionEndedError:
            return Decision([], "none")
        if project_id is None or (session.project_id, session.sub) != (project_id, sub):
            return Decision([], "other")
        session.end("signed out by the application")
        return Decision([session], "ended")

    def revoke_user_tokens(self, project_id: str, sub: str | None, email_key: str | None) -> Decision:
        """Every refresh token and session of one user stops working (POST /api/platform/revoke)."""
        if sub is None:
            index = self._email_holder(project_id, email_key or "")
            if index is None:
                raise UserNotFoundError(project_id)
            sub = index.sub
        user = self._user(project_id, sub)
        user.revoke_tokens(reason="revoked by project")
        return Decision([user], sub)

    # -- parts ------------------------------------------------------------------------------

    def _new_link(self, user: User, purpose: str, where: LinkRequest,
                  now: float) -> tuple[User, ActionLink, Message]:
        """The user's newest link of this purpose, and its message (the user changes too)."""
        assert self.link_tokens is not None, "the server sets link_tokens before serving"
        key = random_key()
        link = ActionLink(
            link_key=key, purpose=purpose, project_id=user.project_id, sub=user.sub,
            email=user.email, token_hash=sha256_hex(self.link_tokens.token(purpose, key)),
            authorization=where.authorization, issued_at=now, expires_at=now + self.ttl(purpose),
        )
        user.issue_link(purpose, key)
        return user, link, self._message(user, purpose, key, where, now)

    @staticmethod
    def _message(user: User, kind: str, link_key: str | None, where: LinkRequest, now: float) -> Message:
        return Message(project_id=user.project_id, to=user.email, kind=kind, link_key=link_key,
                       client_name=where.client_name, queued_at=now, sub=user.sub)

    def _start_session(self, user: User, now: float, amr: list[str]) -> tuple[BrowserSession, str]:
        """A new browser session, signed in now by the methods `amr` names (RFC 8176)."""
        key, secret = random_key(), random_secret()
        session = BrowserSession(
            session_key=key, project_id=user.project_id, sub=user.sub,
            secret_hash=sha256_hex(secret), auth_time=int(now), tokens_epoch=user.tokens_epoch,
            idle_expires_at=now + self.lifetimes.session_idle,
            absolute_expires_at=now + self.lifetimes.session_absolute, amr=amr,
        )
        return session, f"{key}.{secret}"

    def _current_session(self, cookie: str, now: float) -> tuple[BrowserSession, User]:
        """The browser's live session and its user, who may still sign in, in the user's
        current tokens epoch (a revoke-all ends every session at once); SessionEndedError."""
        session = self._live_session(cookie, now)
        user = self._user(session.project_id, session.sub)
        if session.tokens_epoch != user.tokens_epoch:
            raise SessionEndedError("user tokens revoked")
        user.check_can_sign_in()
        return session, user

    def _live_session(self, cookie: str, now: float) -> BrowserSession:
        parts = split_keyed_secret(cookie)
        if parts is None:
            raise SessionEndedError("malformed")
        key, secret = parts
        session: BrowserSession = self.load(
            BrowserSession.create_id(key), lambda: SessionEndedError("unknown")
        )
        if not equals(sha256_hex(secret), session.secret_hash) or not session.is_live(now):
            raise SessionEndedError("ended or expired")
        return session

    def _signed_in(self, request: CodeRequest, user: User, changed: list, now: float, amr: list[str]) -> Decision:
        """`changed`, a new browser session for `user` (never an old one: no fixation),
        signed in by the methods `amr` names, and the code, in one save; no code while a
        third-party client waits for consent. A user with two-factor sign-in, or a client
        asking for it (acr_values), gets no session until the second factor (SignedIn's
        second_factor says which methods the first one used)."""
        if MULTI_FACTOR not in amr:
            due = SignedIn(None, user.sub, None, second_factor=tuple(amr), email=user.email, epoch=user.tokens_epoch)
            if self.two_factor_enabled(user):
                return Decision(changed, due)
            if request.acr == MFA_ACR or must_enrol(request, user, now):
                # They set it up now, after a first factor that proves them; a PIN alone does not.
                return Decision(changed, replace(due, enrolled=False, enrol=list(amr) != [PIN]))
        session, cookie = self._start_session(user, now, amr)
        codes, value = self._issue_code(request, user, session, now)
        return Decision([*changed, session, *codes], SignedIn(value, user.sub, cookie, consent=value is None))

    def _email_holder(self, project_id: str, email_key: str) -> EmailIndex | None:
        """The index of an address an account holds; None when none does (never did, or
        its account moved to another address)."""
        index_id = EmailIndex.create_id(project_id, email_key)
        if not self.exists(index_id):
            return None
        index: EmailIndex = self.load(index_id, lambda: UserNotFoundError(project_id))
        return None if index.released else index

    def _take_email(self, project_id: str, email_key: str, sub: str) -> EmailIndex:
        """The address's index, naming `sub` from now on: a new one, or a released one
        claimed again. EmailTakenError while an account holds it (and two at once collide
        on the index's version)."""
        index_id = EmailIndex.create_id(project_id, email_key)
        if not self.exists(index_id):
            return EmailIndex(project_id=project_id, email_key=email_key, sub=sub)
        index: EmailIndex = self.load(index_id, lambda: UserNotFoundError(project_id))
        if not index.released:
            raise EmailTakenError(project_id)
        index.claim(project_id=project_id, email_key=email_key, sub=sub)
        return index

    def two_factor_enabled(self, user: User) -> bool:
        aggregate_id = TwoFactor.create_id(user.project_id, user.sub)
        return self.exists(aggregate_id) and self.load(aggregate_id, DomainError, read_only=True).enabled

    def _prove_address(self, user: User, email: str) -> None:
        """A mailbox proven (a mailed link, a provider vouching): the address is verified,
        and whatever signed in before may have been someone who registered it (C-99), so
        every earlier session and refresh token ends."""
        user.verify_email(email)
        user.revoke_tokens(reason="email verified")

    def _issue_code(
        self, request: CodeRequest, user: User, session: BrowserSession, now: float
    ) -> tuple[list[AuthorizationCode], str | None]:
        """The code, or none while a third-party client still needs the user's consent."""
        if request.consent and (request.prompt_consent or not self._consented(request, user.sub)):
            return [], None
        code, value = self._new_code(request, user, session, now)
        return [code], value

    def _consented(self, request: CodeRequest, sub: str) -> bool:
        try:
            consent: Consent = self.load(Consent.create_id(request.project_id, sub, request.client_id),
                                         _NoConsent, read_only=True)
        except _NoConsent:
            return False
        return consent.covers(request.scopes, request.resource)

    def _new_code(
        self, request: CodeRequest, user: User, session: BrowserSession, now: float
    ) -> tuple[AuthorizationCode, str]:
        """A code for the session's sign-in: its time and methods go into the tokens."""
        value = random_secret()
        code = AuthorizationCode(
            code_hash=sha256_hex(value), project_id=request.project_id, client_id=request.client_id,
            redirect_uri=request.redirect_uri, sub=user.sub, scopes=list(request.scopes),
            code_challenge=request.code_challenge, nonce=request.nonce, resource=request.resource,
            auth_time=session.auth_time, session_key=session.id.hex, expires_at=now + self.lifetimes.code,
            amr=list(session.amr), acr=request.acr if MULTI_FACTOR in session.amr else None,
        )
        return code, value


class _NoConsent(DomainError):
    """The user has not consented to this client yet."""
