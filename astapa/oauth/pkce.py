"""RFC 7636 PKCE, S256 only (RFC 9700 §2.1.1: `plain` is refused)."""

import base64
import hashlib
import re

from astapa.oauth.errors import InvalidGrantError, InvalidRequestError

# §4.1: code-verifier = 43*128unreserved; §4.2: S256 gives 43 base64url characters.
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_challenge(challenge: str | None, method: str | None) -> str | None:
    """The challenge of an authorization request; a missing method means plain, refused."""
    if challenge is None:
        if method is not None:
            raise InvalidRequestError("code_challenge_method without code_challenge")
        return None
    if method != "S256":
        raise InvalidRequestError("code_challenge_method must be S256")
    if not CHALLENGE.match(challenge):
        raise InvalidRequestError("code_challenge must be 43 base64url characters (S256)")
    return challenge


def verifier_challenge(verifier: str | None) -> str | None:
    """S256 of the token request's verifier, to compare with the code's challenge."""
    if verifier is None:
        return None
    if not VERIFIER.match(verifier):
        raise InvalidGrantError(detail="malformed code_verifier")
    return s256(verifier)
