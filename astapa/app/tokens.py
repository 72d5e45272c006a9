"""Tokens: access tokens on the record, authorization codes redeemed, refresh families rotated.

Every refusal that must leave a trace (a reused code or refresh token revokes its family, a
code presented with the wrong binding is burnt) is a Decision with events and an error.
"""

from dataclasses import dataclass
from typing import Callable

from astapa.crypto import equals, random_key, random_secret, sha256_hex
from astapa.domain.codes import AuthorizationCode
from astapa.domain.errors import (
    ClientAssertionReusedError,
    CodeRejectedError,
    DomainError,
    RefreshRejectedError,
    ResourceMismatchError,
    ScopeNotGrantedError,
    UserNotFoundError,
)
from astapa.domain.projects import ClientAssertion
from astapa.domain.refresh import DEFAULT_PIN_REFRESH_TTL, RefreshFamily
from astapa.domain.resources import same_resource
from astapa.domain.sessions import PIN
from astapa.domain.tokens import AccessToken
from astapa.domain.users import User
from astapa.store.events import Decision, EventStore


@dataclass(frozen=True)
class Lifetimes:
    """How long things live, in seconds (Settings carries the configured values)."""

    code: int = 60
    refresh_idle: int = 30 * 86400
    refresh_absolute: int = 90 * 86400
    session_idle: int = 3600
    session_absolute: int = 10 * 3600
    verify_link: int = 24 * 3600
    reset_link: int = 15 * 60
    magic_link: int = 15 * 60
    external_sign_in: int = 10 * 60  # a trip to Google or GitHub and back
    link_offer: int = 10 * 60  # signing in to accept a Google or GitHub link


@dataclass(frozen=True)
class UserGrant:
    """What a redeemed code or a rotated refresh token entitles the client to."""

    project_id: str
    client_id: str
    sub: str
    scopes: tuple[str, ...]
    resource: str | None
    auth_time: int
    nonce: str | None
    family_key: str
    refresh_token: str
    user_claims: dict
    amr: tuple[str, ...] = ()  # RFC 8176: how the user signed in (empty: not recorded)
    acr: str | None = None


@dataclass(frozen=True)
class RefreshTokenState:
    """An active refresh token, as introspection reports it."""

    project_id: str
    client_id: str
    sub: str
    scopes: tuple[str, ...]
    expires_at: int
    auth_time: int
    amr: tuple[str, ...]


class TokenCommands(EventStore):
    lifetimes: Lifetimes = Lifetimes()

    # -- access tokens ------------------------------------------------------------------

    def issue_access_token(
        self,
        jti: str,
        client_id: str,
        project_id: str,
        subject: str,
        scopes: list[str],
        audience: str,
        expires_at: int,
    ) -> Decision:
        token = AccessToken(
            jti=jti,
            client_id=client_id,
            project_id=project_id,
            subject=subject,
            scopes=scopes,
            audience=audience,
            expires_at=expires_at,
        )
        return Decision([token])

    def revoke_access_token(self, jti: str, by_client_id: str) -> Decision:
        try:
            token: AccessToken = self.load(AccessToken.create_id(jti), _Unknown)
        except _Unknown:
            return Decision([])
        token.revoke(by_client_id=by_client_id)
        return Decision([token])

    # -- authorization codes (RFC 6749 §4.1.3) --------------------------------------------

    def redeem_code(
        self, code: str, client_id: str, redirect_uri: str | None, verifier_challenge: str | None,
        now: float, resource: str | None = None, refresh_ttl: int | None = None,
        pin_refresh_ttl: int = DEFAULT_PIN_REFRESH_TTL,
    ) -> Decision:
        """Single use by the code's version. The family started lives `pin_refresh_ttl`
        seconds after a PIN sign-in, `refresh_ttl` (None: the server's default) after any
        other (the project's settings). A second redemption revokes the family the
        first one started (RFC 6749 §4.1.2); a binding failure burns the code. A token
        request naming a resource must name the code's (RFC 8707 §2.2; already matched
        against the project's resources, so compared as registered)."""
        record: AuthorizationCode = self.load(
            AuthorizationCode.create_id(sha256_hex(code)), lambda: CodeRejectedError("unknown")
        )
        try:
            record.check_redeemable(client_id, redirect_uri, now)
            _check_pkce(record.code_challenge, verifier_challenge)
        except CodeRejectedError as e:
            return self._refuse_code(record, e)
        if resource is not None and not same_resource(resource, record.resource):
            raise ResourceMismatchError(resource, record.resource)
        user = self._user(record.project_id, record.sub, read_only=True)
        try:
            user.check_can_sign_in()
        except DomainError as e:
            return Decision([], error=CodeRejectedError("user", repr(e)))
        ttl = pin_refresh_ttl if PIN in record.amr else refresh_ttl or self.lifetimes.refresh_absolute
        family, refresh_token = self._start_family(record, user, now, ttl)
        record.redeem(family_key=family.family_key)
        grant = UserGrant(
            project_id=record.project_id, client_id=client_id, sub=record.sub,
            scopes=tuple(record.scopes), resource=record.resource, auth_time=record.auth_time,
            nonce=record.nonce, family_key=family.family_key, refresh_token=refresh_token,
            user_claims=user.claims(now), amr=tuple(record.amr), acr=record.acr,
        )
        return Decision([record, family], grant)

    def _refuse_code(self, record: AuthorizationCode, error: CodeRejectedError) -> Decision:
        reason = error.args[0]
        if reason == "redeemed" and record.family_key is not None:
            family: RefreshFamily = self.load(RefreshFamily.create_id(record.family_key), _Unknown)
            family.revoke("code reused")
            return Decision([family], error=error)
        if reason in ("client", "redirect_uri", "pkce"):
            record.burn(reason=reason)
            return Decision([record], error=error)
        return Decision([], error=error)

    def _start_family(self, record: AuthorizationCode, user: User, now: float,
                      ttl: int) -> tuple[RefreshFamily, str]:
        """A family living `ttl` seconds at most, and never idle longer than the server's
        idle time."""
        family_key, secret = random_key(), random_secret()
        family = RefreshFamily(
            family_key=family_key, project_id=record.project_id, client_id=record.client_id,
            sub=record.sub, scopes=record.scopes, resource=record.resource,
            auth_time=record.auth_time, token_hash=sha256_hex(secret), tokens_epoch=user.tokens_epoch,
            started_at=now, idle_expires_at=now + min(self.lifetimes.refresh_idle, ttl),
            absolute_expires_at=now + ttl, amr=list(record.amr), acr=record.acr,
        )
        return family, f"{family_key}.{secret}"

    # -- refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2) -------------------------------------

    def rotate_refresh(
        self, family_key: str, secret: str, client_id: str, scopes: list[str] | None, now: float,
        resource: str | None = None, reuse_grace: float = 0,
        audience_allowed: Callable[[str | None], bool] = lambda audience: True,
    ) -> Decision:
        """One use per generation: the version of the family decides which of two
        concurrent refreshes wins; the loser presents a rotated token, which is reuse,
        unless it is the previous generation within `reuse_grace` seconds of its rotation
        (the project's; see RefreshFamily): the first such retry gets a new generation that
        supersedes the unused one, a second is refused without revoking."""
        family: RefreshFamily = self.load(
            RefreshFamily.create_id(family_key), lambda: RefreshRejectedError("unknown")
        )
        user = self._user(family.project_id, family.sub, read_only=True)
        family.check_usable(client_id, now, user.tokens_epoch)
        user.check_can_sign_in()
        presented = sha256_hex(secret)
        current = equals(presented, family.token_hash)
        if not current and not family.is_retry(presented, now, reuse_grace):
            family.detect_reuse()
            return Decision([family], error=RefreshRejectedError("reuse"))
        if scopes is not None and not set(scopes) <= set(family.scopes):
            raise ScopeNotGrantedError(sorted(set(scopes) - set(family.scopes)))
        if resource is not None and not same_resource(resource, family.resource):
            raise ResourceMismatchError(resource, family.resource)
        if not audience_allowed(family.resource):  # e.g. another project registered it since
            raise ResourceMismatchError(resource, family.resource)
        new_secret = random_secret()
        idle_expires_at = now + self.lifetimes.refresh_idle
        if current:
            family.rotate(token_hash=sha256_hex(new_secret), idle_expires_at=idle_expires_at, rotated_at=now)
        else:
            family.retry_rotation(superseded_generation=family.generation, token_hash=sha256_hex(new_secret),
                                  idle_expires_at=idle_expires_at)
        grant = UserGrant(
            project_id=family.project_id, client_id=client_id, sub=family.sub,
            scopes=tuple(scopes if scopes is not None else family.scopes), resource=family.resource,
            auth_time=family.auth_time, nonce=None, family_key=family_key,
            refresh_token=f"{family_key}.{new_secret}", user_claims=user.claims(now),
            amr=tuple(family.amr), acr=family.acr,
        )
        return Decision([family], grant)

    def inspect_refresh_token(self, family_key: str, secret: str, now: float) -> Decision:
        """RFC 7662 for a refresh token: what it grants while it is its family's current
        generation and would be accepted by the grant (not revoked, not expired, its user
        still able to sign in); None for anything else. Records nothing."""
        try:
            family: RefreshFamily = self.load(RefreshFamily.create_id(family_key), _Unknown, read_only=True)
            user = self._user(family.project_id, family.sub, read_only=True)
            family.check_usable(family.client_id, now, user.tokens_epoch)
            user.check_can_sign_in()
        except DomainError:
            return Decision([], None)
        if not equals(sha256_hex(secret), family.token_hash):
            return Decision([], None)
        return Decision([], RefreshTokenState(
            project_id=family.project_id, client_id=family.client_id, sub=family.sub,
            scopes=tuple(family.scopes), expires_at=int(min(family.idle_expires_at, family.absolute_expires_at)),
            auth_time=family.auth_time, amr=tuple(family.amr)))

    def revoke_refresh_family(self, family_key: str, by_client_id: str) -> Decision:
        """RFC 7009 for a refresh token: the whole family, and only by its own client."""
        try:
            family: RefreshFamily = self.load(RefreshFamily.create_id(family_key), _Unknown)
        except _Unknown:
            return Decision([])
        if family.client_id != by_client_id:
            return Decision([])
        family.revoke("revoked by client")
        return Decision([family])

    # -- private_key_jwt assertions (RFC 7523 §3) -------------------------------------------

    def use_client_assertion(self, client_id: str, jti_hash: str, expires_at: float) -> Decision:
        """Each jti once per client: a second use (or a concurrent one, which collides on
        the aggregate's version and is retried into this check) is refused."""
        aggregate_id = ClientAssertion.create_id(client_id, jti_hash)
        if self.exists(aggregate_id):
            raise ClientAssertionReusedError(client_id)
        return Decision([ClientAssertion(client_id=client_id, jti_hash=jti_hash, expires_at=expires_at)])

    def _user(self, project_id: str, sub: str, read_only: bool = False) -> User:
        return self.load(User.create_id(project_id, sub), lambda: UserNotFoundError(project_id, sub),
                         read_only=read_only)


class _Unknown(DomainError):
    """An aggregate a revocation names does not exist: nothing to do (RFC 7009 §2.2)."""


def _check_pkce(challenge: str | None, verifier_challenge: str | None) -> None:
    """RFC 7636 §4.6, and no downgrade (RFC 9700 §4.8.2): a verifier without a challenge
    is refused as firmly as a challenge without a verifier."""
    if challenge is None and verifier_challenge is None:
        return
    if challenge is None or verifier_challenge is None or not equals(challenge, verifier_challenge):
        raise CodeRejectedError("pkce")
