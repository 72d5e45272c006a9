"""What a grant decides to issue: the grant checks its request and returns one of these;
app/issuing.py carries it out (no protocol module reaches the writer or the store)."""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class CodeRedemption:
    """RFC 6749 §4.1.3: redeem `code` and issue tokens for its user."""

    client_id: str
    code: str
    redirect_uri: str | None
    verifier_challenge: str | None
    ttl: int
    resource: str | None
    issuer: str | None  # None: the service's
    # The project's refresh lifetimes: after a PIN sign-in, and after any other (None:
    # the server's default).
    pin_refresh_ttl: int = 30 * 86400
    refresh_ttl: int | None = None


@dataclass(frozen=True)
class RefreshRotation:
    """RFC 6749 §6: rotate the family's refresh token and issue new tokens; the previous
    token is taken as a retry within `reuse_grace` seconds of its rotation (the project's)."""

    client_id: str
    family_key: str
    secret: str
    scopes: list[str] | None
    ttl: int
    resource: str | None
    issuer: str | None
    reuse_grace: int = 0
    # Whether the family's resource may still be the audience (the project's resources now).
    audience_allowed: Callable[[str | None], bool] = lambda audience: True


@dataclass(frozen=True)
class ClientToken:
    """RFC 6749 §4.4: an access token for the client itself."""

    client_id: str
    project_id: str
    scopes: list[str]
    audience: str
    ttl: int
    issuer: str


TokenRequest = CodeRedemption | RefreshRotation | ClientToken
