"""RFC 6749 §2.3.1 client authentication: client_secret_basic and client_secret_post.

"The client MUST NOT use more than one authentication method in each request." Secrets are
compared as SHA-256 digests in constant time, and an unknown client_id costs the same
comparison as a known one.
"""

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from astapa.oauth.errors import InvalidClientError, InvalidRequestError
from astapa.oauth.request import OAuthRequest
from astapa.queries import ClientRecord
from astapa.secrets import equals, sha256_hex

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="astapa"'}
_NO_SUCH_CLIENT = sha256_hex("no such client")


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    method: str  # "client_secret_basic" | "client_secret_post"


def invalid_client(detail: str) -> InvalidClientError:
    # RFC 9110 §15.5.2: a 401 response always carries a challenge.
    return InvalidClientError(detail=detail, headers=BASIC_CHALLENGE)


def credentials(request: OAuthRequest) -> Credentials:
    body_id, body_secret = request.get("client_id"), request.get("client_secret")
    header = request.authorization
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
        raise invalid_client("no client secret")  # TODO(issue-9): public clients
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


def authenticate(client: ClientRecord | None, creds: Credentials) -> ClientRecord:
    expected = client.secret_hash if client is not None else _NO_SUCH_CLIENT
    matches = equals(sha256_hex(creds.client_secret), expected)
    if client is None:
        raise invalid_client("unknown client_id")
    if not matches:
        raise invalid_client("wrong client secret")
    return client
