"""Sign-in through Google or GitHub: the round trip to the provider, and the identity index.

An ExternalSignIn is one trip to a provider. Its id derives from the random key in the
`state` we send, and it keeps only hashes of the state and of the browser's binding cookie,
so a callback is accepted once, in the browser that started it, before it expires (C-100):
the first callback records `Returned` before it calls the provider, and any other one for
the same trip is refused.
The PKCE verifier and the OIDC nonce are MACs of the state under a server key: nothing
secret is stored. When the provider's address belongs to an account that may not be linked
silently, the trip ends with a link offer bound to that upstream identity and that account:
signing in to the account with its password in the same browser accepts it, once (C-101).

An Identity is the index of one upstream account, (project, provider, provider subject):
one user per identity, never keyed on email (C-96). Linking collides on its version.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import ExternalSignInError
from astapa.domain.ids import index_id

GOOGLE = "google"
GITHUB = "github"
PROVIDERS = (GOOGLE, GITHUB)
PROVIDER_NAMES = {GOOGLE: "Google", GITHUB: "GitHub"}

# How an ExternalSignIn ended.
SIGNED_IN = "signed_in"  # an identity already linked, or one linked silently now
REGISTERED = "registered"  # a new account
OFFERED = "offered"  # the address has an account that must sign in first to link
REFUSED = "refused"  # the provider's address is not verified
DENIED = "denied"  # the user said no at the provider, or the provider answered an error
FAILED = "failed"  # the provider could not be reached, or answered something we refuse


class ExternalSignIn(Aggregate):
    @event("Started")
    def __init__(self, key: str, project_id: str, provider: str, authorization: str, state_hash: str,
                 binding_hash: str, started_at: float, expires_at: float) -> None:
        self.key = key
        self.project_id = project_id
        self.provider = provider
        self.authorization = authorization
        self.state_hash = state_hash
        self.binding_hash = binding_hash
        self.expires_at = expires_at
        self.returned = False  # a callback claimed the trip: no other callback may use it
        self.outcome: str | None = None
        self.offer: dict | None = None  # subject, email, email_trusted, sub: what may be linked
        self.offer_expires_at = 0.0
        self.offer_accepted = False

    @staticmethod
    def create_id(key: str) -> UUID:
        return index_id("external-sign-in", key)

    def check_callback(self, now: float) -> None:
        """The state and binding were compared already (in constant time)."""
        if self.outcome is not None or self.returned:
            raise ExternalSignInError("used")
        if now >= self.expires_at:
            raise ExternalSignInError("expired")

    @event("Returned")
    def claim(self) -> None:
        """The browser came back with a code: this callback, and no other, goes on to the
        provider (so a duplicate never spends the code or the trip under the first one)."""
        self.returned = True

    def check_claimed(self) -> None:
        if self.outcome is not None or not self.returned:
            raise ExternalSignInError("used")

    @event("Ended")
    def end(self, outcome: str, sub: str | None, reason: str | None = None) -> None:
        self.outcome = outcome

    @event("LinkOffered")
    def offer_link(self, subject: str, email: str, email_trusted: bool, sub: str, expires_at: float,
                   project_id: str | None = None) -> None:
        """The upstream identity may be linked to user `sub` once that user signs in here.
        `project_id` (the trip's) makes the event say whose personal data it holds; absent
        from older events."""
        self.outcome = OFFERED
        self.offer = {"subject": subject, "email": email, "email_trusted": email_trusted, "sub": sub}
        self.offer_expires_at = expires_at

    def check_offer(self, sub: str, now: float) -> dict:
        if self.offer is None or self.offer_accepted:
            raise ExternalSignInError("no offer")
        if self.offer["sub"] != sub:
            raise ExternalSignInError("another account")
        if now >= self.offer_expires_at:
            raise ExternalSignInError("offer expired")
        return self.offer

    @event("OfferAccepted")
    def accept_offer(self) -> None:
        self.offer_accepted = True


class Identity(Aggregate):
    """One upstream account of one project, and the user it signs in. Released when that
    user is erased: the account may then make or join another user (Relinked)."""

    released = False  # class-level default: identities linked before they could be released

    @event("Linked")
    def __init__(self, project_id: str, provider: str, subject: str, sub: str, email: str) -> None:
        self.project_id = project_id
        self.provider = provider
        self.subject = subject
        self.sub = sub
        self.email = email

    @staticmethod
    def create_id(project_id: str, provider: str, subject: str) -> UUID:
        return index_id("identity", f"{project_id}/{provider}/{subject}")

    @event("Released")
    def release(self, reason: str) -> None:
        self.released = True

    @event("Relinked")
    def relink(self, project_id: str, sub: str, email: str) -> None:
        """A released identity, linked to `sub` (named in full: whose personal data `email` is)."""
        self.sub = sub
        self.email = email
        self.released = False
