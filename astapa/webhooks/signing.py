"""Standard Webhooks signatures (https://www.standardwebhooks.com): the receiver checks
`webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`,
keyed with the base64-decoded part of the secret after `whsec_`."""

import base64
import hashlib
import hmac

from astapa.domain.webhooks import SECRET_PREFIX


def signing_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, message_id, timestamp, body),
        "Content-Type": "application/json",
        "User-Agent": "Astapa-Webhooks",
    }
