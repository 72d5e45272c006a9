"""RFC 9068 JWT access tokens and OIDC ID tokens: claims assembly, and verification of our
own access tokens."""

import base64
import hashlib

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from astapa.oauth.servers import accepts_issuer


def access_token_claims(
    issuer: str, client_id: str, project_id: str, subject: str, scopes: list[str],
    audience: str, issued_at: int, expires_at: int, jti: str,
) -> dict:
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": expires_at,
        "iat": issued_at,
        "jti": jti,
        "client_id": client_id,
        "project_id": project_id,
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    return claims


def sign_in_claims(auth_time: int, amr: tuple[str, ...] | list[str], acr: str | None) -> dict:
    """How and when the user signed in (OIDC Core §2, RFC 8176): `auth_time`, `amr` when
    it was recorded (sign-ins before it was are not described), `acr` when the client
    asked for one."""
    claims: dict = {"auth_time": auth_time}
    if amr:
        claims["amr"] = list(amr)
    if acr is not None:
        claims["acr"] = acr
    return claims


def user_access_token_claims(
    issuer: str, client_id: str, project_id: str, subject: str, user_claims: dict,
    scopes: list[str], audience: str, issued_at: int, expires_at: int, jti: str, sid: str,
    sign_in: dict,
) -> dict:
    """The contract's end-user token: identity, project, the user's custom claims as they
    are now, `sid` naming the sign-in (refresh family) it came from, and how and when the
    user signed in (`sign_in`: sign_in_claims)."""
    claims = access_token_claims(
        issuer, client_id, project_id, subject, scopes, audience, issued_at, expires_at, jti
    )
    claims.update(user_claims)
    claims.update(sign_in)
    claims["sid"] = sid
    return claims


def id_token_claims(
    issuer: str, client_id: str, subject: str, user_claims: dict, scopes: list[str],
    issued_at: int, expires_at: int, nonce: str | None, sign_in: dict,
    access_token: str | None = None,
) -> dict:
    """OIDC Core §2 and §3.1.3.6: `aud` is the client, `at_hash` binds the access token;
    `sign_in` (sign_in_claims) says how and when the user signed in."""
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "exp": expires_at,
        "iat": issued_at,
        **sign_in,
    }
    if access_token is not None:
        claims["at_hash"] = at_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    if "email" in scopes:
        claims["email"] = user_claims["email"]
        claims["email_verified"] = user_claims["email_verified"]
    return claims


def at_hash(access_token: str) -> str:
    """The left half of the SHA-256 of the token, base64url without padding (RS256)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def verify_access_token(token: str, keys: KeySet, issuer: str, now: float) -> dict | None:
    """The claims of a genuine, unexpired access token of ours; None for anything else.

    Its issuer is the service's or, for a token from a project's own authorization
    server, that project's. Only RS256 is accepted and keys come only from our own key set, so `alg: none`, HMAC
    with the public key as secret, and `jku`/`jwk` header tricks all fail here.
    """
    decoded = _signed_by_us(token, keys)
    if decoded is None or decoded.header.get("typ") != "at+jwt":
        return None
    claims = decoded.claims
    exp, jti = claims.get("exp"), claims.get("jti")
    if not isinstance(exp, int) or now >= exp or not accepts_issuer(issuer, claims) \
            or not isinstance(jti, str):
        return None
    return claims


def verify_id_token_hint(token: str, keys: KeySet, issuer: str) -> dict | None:
    """The claims of an ID token `issuer` signed, expired or not (OpenID Connect
    RP-Initiated Logout 1.0 §2 takes an expired one as a hint too); None for anything else.
    Only RS256 and our own keys, as for access tokens; an access token (`typ` at+jwt) is no
    ID token."""
    decoded = _signed_by_us(token, keys)
    if decoded is None:
        return None
    claims = decoded.claims
    if decoded.header.get("typ") != "JWT" or claims.get("iss") != issuer \
            or not isinstance(claims.get("sub"), str) or not isinstance(claims.get("aud"), str):
        return None
    return claims


def _signed_by_us(token: object, keys: KeySet):
    """The decoded JWT when RS256 with one of `keys` signed it (claims not yet checked)."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 8192:
        return None
    try:
        return jwt.decode(token, keys, algorithms=["RS256"])
    except (JoseError, ValueError, KeyError, TypeError):
        return None
