"""Client authentication: RFC 6749 §2.3.1 client_secret_basic and client_secret_post,
RFC 7523 §2.2 private_key_jwt (checked in web/oauth.py, which can fetch keys and record
the jti), and public clients, which only name themselves (`none`).

"The client MUST NOT use more than one authentication method in each request." Secrets are
compared as SHA-256 digests in constant time, and an unknown client_id costs the same
comparisons as a known one. After a rotation the previous secret works too, until its time.
"""

import base64
import binascii
from dataclasses import dataclass, replace
from urllib.parse import unquote_plus

from astapa.crypto import equals, sha256_hex
from astapa.domain.clients import SECRET_METHODS, ClientRecord
from astapa.oauth.client_keys import JWT_BEARER, AssertionRefused, claimed_client_id
from astapa.oauth.errors import InvalidClientError, InvalidRequestError
from astapa.oauth.request import OAuthRequest

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="astapa"'}
_NO_SUCH_CLIENT = sha256_hex("no such client")


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str | None
    method: str  # "client_secret_basic" | "client_secret_post" | "private_key_jwt" | "none"
    assertion: str | None = None


def invalid_client(detail: str) -> InvalidClientError:
    # RFC 9110 §15.5.2: a 401 response always carries a challenge.
    return InvalidClientError(detail=detail, headers=BASIC_CHALLENGE)


def credentials(request: OAuthRequest) -> Credentials:
    body_id, body_secret = request.get("client_id"), request.get("client_secret")
    header = request.authorization
    assertion_type, assertion = request.get("client_assertion_type"), request.get("client_assertion")
    if assertion_type is not None or assertion is not None:
        if assertion_type != JWT_BEARER:
            raise InvalidRequestError(f"client_assertion_type must be {JWT_BEARER}")
        if assertion is None:
            raise InvalidRequestError("client_assertion is required")
        if body_secret is not None or (header is not None and header[:6].lower() == "basic "):
            raise InvalidRequestError("use one client authentication method, not two")
        try:
            client_id = claimed_client_id(assertion)
        except AssertionRefused as e:
            raise invalid_client(str(e)) from None
        if body_id is not None and body_id != client_id:
            raise invalid_client("client_id differs from the assertion's sub")
        return Credentials(client_id, None, "private_key_jwt", assertion)
    if header is not None and header[:6].lower() == "basic ":
        if body_secret is not None:
            raise InvalidRequestError("use one client authentication method, not two")
        client_id, secret = _parse_basic(header[6:])
        if body_id is not None and body_id != client_id:
            raise InvalidRequestError("client_id in the body differs from the Authorization header")
        return Credentials(client_id, secret, "client_secret_basic")
    if body_id is None:
        raise invalid_client("no client credentials")
    if body_secret is None:
        return Credentials(body_id, None, "none")  # a public client, if it is one
    return Credentials(body_id, body_secret, "client_secret_post")


def _parse_basic(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_client("malformed Basic credentials") from None
    if ":" not in decoded:
        raise invalid_client("malformed Basic credentials")
    client_id, secret = decoded.split(":", 1)
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if not client_id or not secret:
        raise invalid_client("empty Basic credentials")
    return client_id, secret


def authenticate(client: ClientRecord | None, creds: Credentials, now: float) -> ClientRecord:
    """Secrets and public clients; private_key_jwt is checked by the caller. A secret is
    the current one, or the previous one while `now` is before its end."""
    if creds.method == "none":
        if client is None:
            raise invalid_client("unknown client_id")
        if not client.is_public:
            raise invalid_client("client authentication is required")
        return client
    if creds.method not in SECRET_METHODS or creds.client_secret is None:
        raise invalid_client(f"{creds.method} is not checked here")
    uses_secret = client is not None and client.auth_method in SECRET_METHODS and client.secret_hash
    expected = client.secret_hash if uses_secret else _NO_SUCH_CLIENT
    has_previous = bool(uses_secret and client.previous_secret_hash and client.previous_secret_valid_until
                        and now < client.previous_secret_valid_until)
    previous = client.previous_secret_hash if has_previous else _NO_SUCH_CLIENT
    presented = sha256_hex(creds.client_secret)
    # Both comparisons always, and `|`/`&`, not `or`/`and`: the time taken does not tell
    # which secret matched, or whether one did.
    current_matches = equals(presented, expected)
    previous_matches = equals(presented, previous) & has_previous
    if client is None:
        raise invalid_client("unknown client_id")
    if not uses_secret:
        raise invalid_client(f"the client authenticates with {client.auth_method}")
    if not current_matches | previous_matches:
        raise invalid_client("wrong client secret")
    return client if current_matches else replace(client, by_previous_secret=True)
