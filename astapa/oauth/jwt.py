"""RFC 9068 JWT access tokens: claims assembly and verification of our own tokens."""

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet


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


def verify_access_token(token: str, keys: KeySet, issuer: str, now: float) -> dict | None:
    """The claims of a genuine, unexpired access token of ours; None for anything else.

    Only RS256 is accepted and keys come only from our own key set, so `alg: none`, HMAC
    with the public key as secret, and `jku`/`jwk` header tricks all fail here.
    """
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 8192:
        return None
    try:
        decoded = jwt.decode(token, keys, algorithms=["RS256"])
    except (JoseError, ValueError, KeyError, TypeError):
        return None
    if decoded.header.get("typ") != "at+jwt":
        return None
    claims = decoded.claims
    exp, iss, jti = claims.get("exp"), claims.get("iss"), claims.get("jti")
    if not isinstance(exp, int) or now >= exp or iss != issuer or not isinstance(jti, str):
        return None
    return claims
