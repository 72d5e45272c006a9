"""Signing keys: private PEMs in the vault (store/vault.py), public JWKs in events.

The server holds a KeySnapshot: the key that signs now, the keys that verify, and the JWKS
bytes with their ETag. The projection thread builds a new snapshot whenever the key ring
changes (and when a retired key's tokens have all expired) and swaps it in whole, so the
request path only ever reads one immutable object.
"""

import functools
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from astapa.clock import SystemClock
from astapa.queries import longest_token_ttl
from astapa.store.vault import Vault

# A retired key stays in the JWKS this long after the longest-lived token it could have
# signed has expired: covers the projection's polling lag and clock skew.
RETIRED_KEY_SLACK = 300


def etag_of(body: bytes) -> str:
    """A strong ETag for cached response bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def generate_key(vault: Vault, key: RSAKey | None = None) -> tuple[str, dict]:
    """Make an RSA-2048 key (or take `key`, made beforehand: the tests reuse theirs), keep
    its private PEM in the vault (durably: the key-ring event that names this kid is saved
    after this returns), return (kid, public JWK)."""
    key = key or RSAKey.generate_key(2048, private=True)
    kid = key.thumbprint()
    vault.create(f"{kid}.pem", key.as_pem(private=True))
    public = key.as_dict(private=False)
    public.update(kid=kid, use="sig", alg="RS256")
    return kid, public


def load_private_key(vault: Vault, kid: str) -> RSAKey:
    pem = vault.read(f"{kid}.pem")
    if pem is None:
        raise FileNotFoundError(f"the private key {kid} is not in the vault")
    return _import_private_key(pem, kid)


@functools.lru_cache(maxsize=8)
def _import_private_key(pem: bytes, kid: str) -> RSAKey:
    """Importing a private key validates it (some 45 ms for RSA-2048): the same PEM, read
    again when the snapshot is rebuilt (or by the tests' servers, which reuse their keys), is
    imported once."""
    return RSAKey.import_key(pem, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass(frozen=True)
class KeySnapshot:
    signing_kid: str
    signing_key: RSAKey
    verify_keys: KeySet
    jwks_body: bytes
    jwks_etag: str
    valid_until: float  # when a retired key leaves the JWKS; rebuild by then

    def sign(self, claims: dict, typ: str = "at+jwt") -> str:
        header = {"alg": "RS256", "kid": self.signing_kid, "typ": typ}
        return jwt.encode(header, claims, self.signing_key)


def build_snapshot(conn: sqlite3.Connection, vault: Vault, now: float, max_ttl: int) -> KeySnapshot | None:
    """Read signing_keys and the PEM of the current key; None before the ring exists."""
    rows = conn.execute("SELECT kid, public_jwk, state, retired_at FROM signing_keys").fetchall()
    current = [r for r in rows if r["state"] == "current"]
    if not current:
        return None
    published, valid_until = [], float("inf")
    for row in sorted(rows, key=lambda r: (_STATE_ORDER[r["state"]], r["kid"])):
        if row["state"] == "retired":
            listed_until = datetime.fromisoformat(row["retired_at"]).timestamp() + max_ttl + RETIRED_KEY_SLACK
            if listed_until <= now:
                continue
            valid_until = min(valid_until, listed_until)
        published.append(json.loads(row["public_jwk"]))
    body = json.dumps({"keys": published}, separators=(",", ":")).encode()
    kid = current[0]["kid"]
    return KeySnapshot(
        signing_kid=kid,
        signing_key=load_private_key(vault, kid),
        verify_keys=KeySet([RSAKey.import_key(jwk) for jwk in published]),
        jwks_body=body,
        jwks_etag=etag_of(body),
        valid_until=valid_until,
    )


_STATE_ORDER = {"current": 0, "next": 1, "retired": 2}


class SigningKeys:
    """The snapshot requests sign and verify with, built from read.db and the vault's PEMs,
    one build at a time.

    The projection thread rebuilds when the key ring changes; the expiry watcher rebuilds
    when a retired key's tokens have all expired. Each build reads inside the lock, so a
    build can never replace a newer snapshot with an older read.
    """

    def __init__(self, vault: Vault, default_ttl: int, clock: SystemClock) -> None:
        self.vault = vault
        self.default_ttl = default_ttl
        self.clock = clock
        self._snapshot: KeySnapshot | None = None
        self.stale = False
        self._lock = threading.Lock()

    def current(self) -> KeySnapshot:
        assert self._snapshot is not None, "signing keys are loaded before the server serves"
        return self._snapshot

    def load(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            max_ttl = longest_token_ttl(conn, self.default_ttl)
            self._snapshot = build_snapshot(conn, self.vault, self.clock.now(), max_ttl)
            self.stale = False

    def reload(self, changed: set[str], conn: sqlite3.Connection) -> None:
        """A projection listener: the key ring changed. Should the new key not load (the
        vault in PostgreSQL unreachable for a moment), the snapshot is marked stale and the
        expiry watcher (server.drop_expired_keys) tries again each second."""
        if "keys" in changed:
            try:
                self.load(conn)
            except Exception:
                self.stale = True
                raise

    @property
    def due(self) -> bool:
        """Whether the snapshot must be built again now: it is stale, or a retired key's
        tokens have all expired."""
        return self.stale or self.clock.now() >= self.current().valid_until
