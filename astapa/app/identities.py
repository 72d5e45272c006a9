"""Google and GitHub sign-in: starting a trip to the provider, and deciding what its answer
means for accounts (see domain/identities.py).

The linking rules (checklist C-96 to C-101):
- An upstream identity already linked signs in its user.
- Otherwise, when the provider's address belongs to an account, they are linked silently
  only when the provider vouches for the address (`email_trusted`) and the account's
  address is verified too. Any other case ends in a link offer: the account's owner signs
  in here (password) in the same browser, and the identity is linked then.
- Otherwise a new account is made from it, with its address verified, when the provider
  vouches for the address. When it does not (a Google account on a domain Google does not
  run), no account is made: the person signs up with their address, verifies it, and then
  accepts the link by signing in.
- An address the provider does not call verified makes no account and no link.
"""

from dataclasses import dataclass

from astapa.app.accounts import AccountCommands, new_sub
from astapa.crypto import equals, sha256_hex
from astapa.domain.codes import CodeRequest
from astapa.domain.errors import (
    EmailNotVerifiedError,
    ExternalSignInError,
    InvalidEmailError,
    ProviderEmailUntrustedError,
    ProviderEmailUnverifiedError,
    UserDisabledError,
)
from astapa.domain.identities import (
    FAILED,
    REFUSED,
    REGISTERED,
    SIGNED_IN,
    ExternalSignIn,
    Identity,
)
from astapa.domain.ids import split_keyed_secret
from astapa.domain.sessions import FEDERATED, PASSWORD
from astapa.domain.users import User, normalise_email
from astapa.store.events import Decision


@dataclass(frozen=True)
class UpstreamAccount:
    """What a provider said about the person: `email_verified` as the provider reports it;
    `email_trusted` when it also speaks for the address (C-97)."""

    provider: str
    subject: str
    email: str
    email_verified: bool
    email_trusted: bool


@dataclass(frozen=True)
class LinkOffer:
    """The address has an account that must sign in to accept the link."""

    email: str
    provider: str


class IdentityCommands(AccountCommands):
    def start_external_sign_in(self, project_id: str, provider: str, authorization: str, state: str,
                               binding: str, now: float) -> Decision:
        parts = split_keyed_secret(state)
        assert parts is not None, "the caller makes the state"
        trip = ExternalSignIn(
            key=parts[0], project_id=project_id, provider=provider, authorization=authorization,
            state_hash=sha256_hex(state), binding_hash=sha256_hex(binding), started_at=now,
            expires_at=now + self.lifetimes.external_sign_in)
        return Decision([trip])

    def external_trip(self, state: str, binding: str | None, read_only: bool = True) -> ExternalSignIn:
        """The trip a state names, if the state is right and this is the browser that
        started it (compared in constant time). Nothing is used."""
        parts = split_keyed_secret(state)
        if parts is None:
            raise ExternalSignInError("malformed")
        trip: ExternalSignIn = self.load(ExternalSignIn.create_id(parts[0]),
                                         lambda: ExternalSignInError("unknown"), read_only=read_only)
        state_ok = equals(sha256_hex(state), trip.state_hash)
        binding_ok = equals(sha256_hex(binding or ""), trip.binding_hash)
        if not (state_ok and binding_ok):
            raise ExternalSignInError("state" if not state_ok else "another browser")
        return trip

    def claim_external_sign_in(self, state: str, binding: str | None, now: float) -> Decision:
        """The browser is back with a code: this callback goes on to the provider, alone."""
        trip = self.external_trip(state, binding, read_only=False)
        trip.check_callback(now)
        trip.claim()
        return Decision([trip])

    def end_external_sign_in(self, state: str, binding: str | None, outcome: str, reason: str,
                             now: float) -> Decision:
        """The provider said no, or could not be used: the state is spent."""
        trip = self.external_trip(state, binding, read_only=False)
        if trip.returned:
            trip.check_claimed()
        else:
            trip.check_callback(now)
        trip.end(outcome, None, reason)
        return Decision([trip])

    def sign_in_external(self, request: CodeRequest, state: str, binding: str | None,
                         account: UpstreamAccount, now: float, require_verified: bool = False) -> Decision:
        """The provider's answer, checked: sign in, link, offer a link, or a new account.
        Value: SignedIn or LinkOffer."""
        trip = self.external_trip(state, binding, read_only=False)
        trip.check_claimed()
        project_id = trip.project_id
        if not account.email_verified:
            trip.end(REFUSED, None, "email not verified")
            return Decision([trip], error=ProviderEmailUnverifiedError(account.provider))
        try:
            email, email_key = normalise_email(account.email)
        except InvalidEmailError:
            trip.end(FAILED, None, "unusable email")
            return Decision([trip], error=ProviderEmailUnverifiedError(account.provider))
        linked = self._linked_identity(project_id, account.provider, account.subject)
        if linked is not None:
            user = self._user(project_id, linked.sub, read_only=True)
            return self._external_session(request, trip, user, [], now, require_verified)
        index = self._email_holder(project_id, email_key)
        if index is not None:
            user = self._user(project_id, index.sub)
            if not (account.email_trusted and user.email_verified):
                trip.offer_link(account.subject, email, account.email_trusted, user.sub,
                                now + self.lifetimes.link_offer, project_id=project_id)
                return Decision([trip], LinkOffer(user.email, account.provider))
            identity = self._new_identity(project_id, account.provider, account.subject, user.sub, email)
            user.link_identity(account.provider, account.subject, email, how="verified_email")
            return self._external_session(request, trip, user, [user, identity], now, require_verified)
        if not account.email_trusted:
            # An account made from it would hold the address with an identity its owner
            # never approved, and keep it after the owner takes the address back.
            trip.end(REFUSED, None, "email not vouched for")
            return Decision([trip], error=ProviderEmailUntrustedError(account.provider))
        user = User(project_id=project_id, sub=new_sub(), email=email, password_hash=None)
        index = self._take_email(project_id, email_key, user.sub)
        identity = self._new_identity(project_id, account.provider, account.subject, user.sub, email)
        user.link_identity(account.provider, account.subject, email, how="registered")
        user.verify_email(email)
        trip.end(REGISTERED, user.sub)
        return self._signed_in(request, user, [user, index, identity, trip], now, [FEDERATED])

    def sign_in_linking(self, request: CodeRequest, sub: str, state: str, binding: str | None, now: float,
                        require_verified: bool = False) -> Decision:
        """The password was checked. With a live link offer for this very account from this
        browser, the identity is linked in the same save as the sign-in. An account whose
        address is not verified links only when the provider vouched for that same address
        (which verifies it, and ends every session begun before: C-99); otherwise, and for
        any offer that cannot be used, this is a plain sign-in."""
        try:
            trip = self.external_trip(state, binding, read_only=False)
            offer = trip.check_offer(sub, now)
            if trip.project_id != request.project_id:
                raise ExternalSignInError("another project")
        except ExternalSignInError:
            return self.sign_in(request, sub, now, require_verified)
        user = self._user(request.project_id, sub)
        user.check_can_sign_in()
        if self._linked_identity(trip.project_id, trip.provider, offer["subject"]) is not None:
            return self.sign_in(request, sub, now, require_verified)
        if not user.email_verified:
            same = offer["email_trusted"] and _email_key(offer["email"]) == _email_key(user.email)
            if not same:
                return self.sign_in(request, sub, now, require_verified)
            self._prove_address(user, user.email)
        identity = self._new_identity(trip.project_id, trip.provider, offer["subject"], sub, offer["email"])
        user.link_identity(trip.provider, offer["subject"], offer["email"], how="signed_in")
        trip.accept_offer()
        return self._signed_in(request, user, [user, identity, trip], now, [PASSWORD])

    def _linked_identity(self, project_id: str, provider: str, subject: str) -> Identity | None:
        """The identity index of an upstream account linked to a user; None when it never
        was, or its user was erased (released)."""
        identity_id = Identity.create_id(project_id, provider, subject)
        if not self.exists(identity_id):
            return None
        identity: Identity = self.load(identity_id, lambda: ExternalSignInError("identity"), read_only=True)
        return None if identity.released else identity

    def _new_identity(self, project_id: str, provider: str, subject: str, sub: str, email: str) -> Identity:
        """The upstream account linked to `sub`: a new index, or a released one linked again
        (two links at once collide on its version)."""
        identity_id = Identity.create_id(project_id, provider, subject)
        if not self.exists(identity_id):
            return Identity(project_id=project_id, provider=provider, subject=subject, sub=sub, email=email)
        identity: Identity = self.load(identity_id, lambda: ExternalSignInError("identity"))
        if not identity.released:
            raise ExternalSignInError("identity")
        identity.relink(project_id=project_id, sub=sub, email=email)
        return identity

    def _external_session(self, request: CodeRequest, trip: ExternalSignIn, user: User, changed: list,
                          now: float, require_verified: bool) -> Decision:
        """Sign `user` in for the trip (which ends either way)."""
        try:
            user.check_can_sign_in()
            if require_verified:
                user.check_verified()
        except (UserDisabledError, EmailNotVerifiedError) as e:
            trip.end(SIGNED_IN if isinstance(e, EmailNotVerifiedError) else REFUSED, user.sub, type(e).__name__)
            return Decision([trip], error=e)
        trip.end(SIGNED_IN, user.sub)
        return self._signed_in(request, user, [*changed, trip], now, [FEDERATED])


def _email_key(email: str) -> str | None:
    try:
        return normalise_email(email)[1]
    except InvalidEmailError:
        return None
