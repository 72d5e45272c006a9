"""Authorization codes (RFC 6749 §4.1.2): single use, short-lived, bound to their request.

A code's aggregate id derives from the code's SHA-256, so redeeming is a load by id; the
events hold only the hash. Redemption is single-use by the aggregate's version.
"""

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import CodeRejectedError
from astapa.domain.ids import index_id


class AuthorizationCode(Aggregate):
    @event("Issued")
    def __init__(
        self,
        code_hash: str,
        project_id: str,
        client_id: str,
        redirect_uri: str,
        sub: str,
        scopes: list[str],
        code_challenge: str | None,
        nonce: str | None,
        resource: str | None,
        auth_time: int,
        session_key: str,
        expires_at: float,
        amr: list[str] | None = None,  # RFC 8176 methods of the sign-in (absent: older events)
        acr: str | None = None,  # the assurance the sign-in met, when one was asked for
    ) -> None:
        self.project_id = project_id
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.sub = sub
        self.scopes = list(scopes)
        self.code_challenge = code_challenge
        self.nonce = nonce
        self.resource = resource
        self.auth_time = auth_time
        self.session_key = session_key
        self.expires_at = expires_at
        self.amr = list(amr or [])
        self.acr = acr
        self.redeemed = False
        self.burnt = False
        self.family_key: str | None = None

    @staticmethod
    def create_id(code_hash: str) -> UUID:
        return index_id("code", code_hash)

    def check_redeemable(self, client_id: str, redirect_uri: str | None, now: float) -> None:
        """Raises CodeRejectedError; the caller burns the code for a binding failure."""
        if self.redeemed:
            raise CodeRejectedError("redeemed")
        if self.burnt:
            raise CodeRejectedError("burnt")
        if now >= self.expires_at:
            raise CodeRejectedError("expired")
        if client_id != self.client_id:
            raise CodeRejectedError("client")
        if redirect_uri != self.redirect_uri:
            raise CodeRejectedError("redirect_uri")

    @event("Redeemed")
    def redeem(self, family_key: str) -> None:
        self.redeemed = True
        self.family_key = family_key

    @event("Burnt")
    def burn(self, reason: str) -> None:
        """A failed binding check: the code can never be redeemed (RFC 6819 §5.2.4.4)."""
        self.burnt = True


@dataclass(frozen=True)
class CodeRequest:
    """A validated authorization request: what the code will be bound to."""

    project_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    nonce: str | None
    resource: str | None
    consent: bool = False  # a third-party client: the user's consent comes first
    prompt_consent: bool = False  # prompt=consent: ask even if already granted
    acr: str | None = None  # the authentication context asked for (acr_values), if we offer it
    # The project requires two-factor sign-in since then (epoch seconds; None: it does not),
    # with this grace for each user without it (from then, or from their sign-up).
    two_factor_since: float | None = None
    two_factor_grace: int = 0
