"""Random ids and secrets, hashes for lookups, constant-time comparison.

Client secrets and tokens are high-entropy random strings, so SHA-256 (not bcrypt) is the
right hash for them: it is what events and read models keep, and lookups stay cheap.
"""

import base64
import hashlib
import hmac
import os
import secrets
import threading


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret (client secrets, token material)."""
    return secrets.token_urlsafe(nbytes)


class _RandomPool(threading.local):
    """The OS CSPRNG's bytes, drawn 4 KiB at a time (one getrandom call instead of one per
    secret: system calls are the expensive part here). Per thread, and dropped after a
    fork, so no two threads or processes ever hand out the same bytes."""

    SIZE = 4096

    def __init__(self) -> None:
        self.buffer, self.pid = b"", os.getpid()

    def take(self, n: int) -> bytes:
        if len(self.buffer) < n or self.pid != os.getpid():
            self.buffer, self.pid = os.urandom(max(self.SIZE, n)), os.getpid()
        value, self.buffer = self.buffer[:n], self.buffer[n:]
        return value


_pool = _RandomPool()


def random_secret(nbytes: int = 32) -> str:
    """Like secrets.token_urlsafe, from the pooled CSPRNG bytes (codes, refresh secrets)."""
    return base64.urlsafe_b64encode(_pool.take(nbytes)).rstrip(b"=").decode("ascii")


def random_key() -> str:
    """32 hex digits (128 random bits): the key of a refresh family or a session."""
    return _pool.take(16).hex()


def new_public_id(prefix: str, nbytes: int = 12) -> str:
    """A public identifier such as ``proj_3f9a...``; never chosen by a client."""
    return f"{prefix}_{secrets.token_hex(nbytes)}"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def equals(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def keyed_mac(secret: bytes, message: str) -> str:
    """HMAC-SHA256 of `message` under `secret`, base64url without padding (43 characters)."""
    mac = hmac.new(secret, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


class TokenIds:
    """Unique, unpredictable token ids (jti) as 32 hex digits.

    Drawn from the OS CSPRNG like secrets.token_hex, but 256 at a time: one getrandom
    syscall per 256 tokens on the hot path. Not thread-safe; one instance per event loop.
    """

    BATCH = 256

    def __init__(self) -> None:
        self._pool = b""

    def next(self) -> str:
        if not self._pool:
            self._pool = os.urandom(16 * self.BATCH)
        value, self._pool = self._pool[:16], self._pool[16:]
        return value.hex()


class LinkTokens:
    """Tokens of mailed links: `<link key>.<HMAC-SHA256(secret, purpose/key), base64url>`.

    The key is 128 random bits and names the link's aggregate; events keep only the
    token's SHA-256. Because the token can be derived again from the key, a message sent
    again (or rendered after a restart) carries the same link, and no event holds it.
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def token(self, purpose: str, link_key: str) -> str:
        return f"{link_key}.{keyed_mac(self._secret, f'{purpose}/{link_key}')}"
