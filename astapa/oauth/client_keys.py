"""RFC 7523 §2.2 client authentication with a JWT signed by the client's own key
(`private_key_jwt`), and the public keys such a client registers.

The assertion must be signed with an asymmetric algorithm by one of the client's keys,
and carry `iss` = `sub` = the client_id, an `aud` naming this authorization server (its
issuer or its token endpoint), an `exp` in the next hour, and a `jti`; the caller makes
the jti single-use. Keys are public only: a JWK with private parts is refused, as is any
symmetric key (that would be a shared secret by another name).
"""

import json
import math
from dataclasses import dataclass
from functools import lru_cache

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
KEY_TYPES = ("RSA", "EC", "OKP")
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
MAX_KEYS = 10
MAX_ASSERTION = 8192
MAX_LIFETIME = 3600  # an assertion may not be valid for longer: its jti is kept that long
SKEW = 60


class AssertionRefused(Exception):
    """The assertion is refused; the message is for the logs. `signature`: no registered
    key verifies it (the client may have rotated its keys)."""

    def __init__(self, message: str, signature: bool = False) -> None:
        super().__init__(message)
        self.signature = signature


def public_key_set(value: object) -> dict:
    """One public JWK or a JWK Set, as a JWK Set; ValueError says what is wrong."""
    if isinstance(value, dict) and "keys" in value:
        keys = value["keys"]
    elif isinstance(value, dict):
        keys = [value]
    else:
        raise ValueError("a JWK or a JWK Set (a JSON object) is needed")
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS:
        raise ValueError(f"a JWK Set holds 1 to {MAX_KEYS} keys")
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in KEY_TYPES:
            raise ValueError("each key must be an RSA, EC or OKP public JWK")
        if any(member in key for member in PRIVATE_MEMBERS):
            raise ValueError("the JWK holds a private key; register the public key only")
    try:
        KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError, TypeError, KeyError) as e:
        raise ValueError(f"the JWK cannot be used: {e}") from None
    return {"keys": keys}


def key_set_from_json(text: str) -> dict:
    """A public JWK or JWK Set as pasted into a form: see public_key_set."""
    try:
        value = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise ValueError("the key is not JSON") from None
    return public_key_set(value)


def load_key_file(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return public_key_set(json.load(f))
    except OSError as e:
        raise ValueError(f"cannot read {path!r}: {e.strerror or e}") from None
    except json.JSONDecodeError:
        raise ValueError(f"{path!r} is not JSON") from None


def claimed_client_id(assertion: str) -> str:
    """The `sub` of an assertion, unverified: which client to check it against."""
    if not isinstance(assertion, str) or len(assertion) > MAX_ASSERTION or assertion.count(".") != 2:
        raise AssertionRefused("malformed assertion")
    try:
        claims = json.loads(extract_compact(assertion.encode("ascii")).payload,
                            parse_constant=_not_json, parse_float=_finite)
    except (JoseError, ValueError, UnicodeEncodeError, TypeError, RecursionError):
        raise AssertionRefused("malformed assertion") from None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub:
        raise AssertionRefused("assertion without sub")
    return sub


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")  # RFC 8259 §6: no NaN or Infinity


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise ValueError("a number too large to be finite")
    return value


def _time(value: object) -> bool:
    """A NumericDate (RFC 7519 §2): a finite JSON number."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@lru_cache(maxsize=1024)
def _imported(jwks: str) -> KeySet:
    """Parsing keys costs more than verifying with them: once per key set."""
    return KeySet.import_key_set(json.loads(jwks))


@dataclass(frozen=True)
class VerifiedAssertion:
    jti: str
    expires_at: float


def verify_assertion(assertion: str, jwks: dict, client_id: str, audiences: set[str],
                     now: float) -> VerifiedAssertion:
    """RFC 7523 §3 for a client assertion; AssertionRefused names the failed check."""
    try:
        decoded = jwt.decode(assertion, _imported(json.dumps(jwks, sort_keys=True)), algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError, KeyError) as e:
        raise AssertionRefused(f"signature: {type(e).__name__}", signature=True) from None
    claims = decoded.claims
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRefused("iss and sub must both be the client_id")
    aud = claims.get("aud")
    named = set(aud) if isinstance(aud, list) and all(isinstance(a, str) for a in aud) else {aud}
    if not named & audiences:
        raise AssertionRefused(f"aud {aud!r} does not name this server")
    exp = claims.get("exp")
    if not _time(exp) or exp <= now:
        raise AssertionRefused("expired or without exp")
    if exp > now + MAX_LIFETIME:
        raise AssertionRefused("exp is more than an hour away")
    for name in ("iat", "nbf"):
        value = claims.get(name)
        if value is not None and (not _time(value) or value > now + SKEW):
            raise AssertionRefused(f"{name} is not a NumericDate or is in the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
        raise AssertionRefused("without jti")
    return VerifiedAssertion(jti, exp)
