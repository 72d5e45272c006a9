"""Two-factor sign-in: TOTP codes (RFC 6238), recovery codes, and the sealed TOTP seed.

Why this module looks the way it does:

* Every authenticator app speaks only the RFC 6238 defaults (SHA-1, 6 digits, 30 s steps),
  so those are fixed here rather than configurable; pyotp computes the codes.
* A TOTP code is a password that lives 30 seconds. RFC 6238 §5.2 says the verifier must not
  accept the same one twice, so `accepted_step` returns the time step it matched and refuses
  any step not after the last one accepted; the caller records that step in an event.
* Time is always passed in: the domain replays events, and tests pin the clock.
* The seed is a shared secret the server must read back, so it cannot be hashed like a
  password. It is sealed with AES-256-GCM before it goes into an event, with the account it
  belongs to as associated data, so a sealed seed copied onto another account fails to open.
* Recovery codes are random, high-entropy, one-time strings: a keyed SHA-256 (HMAC with a
  per-user salt) is the right hash for them, not bcrypt (same reasoning as astapa/crypto.py).

Nothing here touches the store or the web: it is pure functions and one small class.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DIGITS = 6
STEP_SECONDS = 30
_CODE = re.compile(r"[0-9]{6}")  # ASCII only: str.isdigit() would also take "١٢٣٤٥٦"


class SecondFactorError(ValueError):
    """A second-factor value the caller should never have passed (bad key, bad label)."""


class SealError(SecondFactorError):
    """A sealed seed that does not open: tampered with, another key, or another account."""


# --- TOTP --------------------------------------------------------------------------------


def new_totp_seed() -> str:
    """A fresh seed: 32 base32 characters, 160 bits (RFC 4226 §4 recommends 160)."""
    return pyotp.random_base32(32)  # pyotp draws from secrets.SystemRandom


def _totp(seed: str) -> pyotp.TOTP:
    # Spelled out so a change in pyotp's defaults cannot silently break enrolled apps.
    return pyotp.TOTP(seed, digits=DIGITS, digest=hashlib.sha1, interval=STEP_SECONDS)


def provisioning_uri(seed: str, account_name: str, issuer_name: str) -> str:
    """The otpauth:// URI an authenticator app scans (Google's Key Uri Format)."""
    # The label is "issuer:account"; the format forbids a colon inside either part, and
    # some apps split the label on the first one even when it is percent-encoded.
    if not account_name or ":" in account_name or ":" in issuer_name:
        raise SecondFactorError("account and issuer names must be non-empty and have no ':'")
    return _totp(seed).provisioning_uri(name=account_name, issuer_name=issuer_name)


def _normal_code(code: str) -> str | None:
    """The six ASCII digits the user meant, or None. Apps show "123 456"; users paste it."""
    if not isinstance(code, str):
        return None
    code = code.strip().replace(" ", "")
    return code if _CODE.fullmatch(code) else None


def accepted_step(seed: str, code: str, now: float, last_step: int | None,
                  window: int = 1) -> int | None:
    """The time step `code` is valid for, within `window` steps either side of `now`, or None.

    Steps at or before `last_step` are refused, so each code (and any older one) works
    once (RFC 6238 §5.2). ±1 step tolerates a phone clock a little off and a code typed
    just as it rolled over, without widening the guessing odds much (3 codes in 10^6).
    """
    if window < 0:
        raise SecondFactorError("window must not be negative")
    wanted = _normal_code(code)
    if wanted is None:
        return None
    totp = _totp(seed)
    current = totp.timecode(now)
    accepted = None
    # Every candidate is computed and compared, match or not: the time taken says nothing
    # about which step (if any) matched.
    for step in range(current - window, current + window + 1):
        if step < 0:  # the epoch's first steps; HOTP counters are never negative
            continue
        matches = hmac.compare_digest(totp.generate_otp(step).encode(), wanted.encode())
        fresh = last_step is None or step > last_step
        if matches and fresh and accepted is None:
            accepted = step
    return accepted


# --- Recovery codes ----------------------------------------------------------------------

# Crockford's base32, lowercase: no i, l, o or u, so nothing reads as another character.
# 32 symbols = 5 bits each; 12 of them = 60 bits per code.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_GROUPS, _RECOVERY_GROUP_LENGTH = 3, 4
# Crockford's decoding rule: the letters left out are read as the digits they look like.
_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})


def new_recovery_codes(n: int = 10) -> list[str]:
    """`n` distinct one-time codes such as ``7k3m-q9xa-2bde`` (60 random bits each)."""
    codes: list[str] = []
    while len(codes) < n:  # a repeat is a 2^-60 event; still, the codes must be distinct
        code = "-".join("".join(secrets.choice(RECOVERY_ALPHABET)
                                for _ in range(_RECOVERY_GROUP_LENGTH))
                        for _ in range(_RECOVERY_GROUPS))
        if code not in codes:
            codes.append(code)
    return codes


def _normal_recovery_code(code: str) -> str:
    """What the user meant: case, spaces and dashes do not matter, nor o/0 or l/1."""
    return code.lower().replace(" ", "").replace("-", "").strip().translate(_LOOKALIKES)


def recovery_code_hash(code: str, user_salt: str) -> str:
    """HMAC-SHA256 of the normalised code keyed with the user's salt, as hex.

    The salt makes equal codes of two users hash differently, and a stolen table of
    hashes useless against other users.
    """
    if not user_salt:
        raise SecondFactorError("a recovery code needs a non-empty per-user salt")
    normal = _normal_recovery_code(code)
    return hmac.new(user_salt.encode("utf-8"), normal.encode("utf-8"), hashlib.sha256).hexdigest()


def match_recovery_code(code: str, user_salt: str, hashes: list[str]) -> int | None:
    """The index in `hashes` of the hash of `code`, or None.

    Compared against every hash, with no early exit, so timing does not reveal which one
    matched. Input that cannot be a recovery code is refused before any hashing: that
    reveals only the public format.
    """
    if not isinstance(code, str):
        return None
    normal = _normal_recovery_code(code)
    if len(normal) != _RECOVERY_GROUPS * _RECOVERY_GROUP_LENGTH or \
            not all(c in RECOVERY_ALPHABET for c in normal):
        return None
    candidate = recovery_code_hash(normal, user_salt).encode("ascii")
    found = None
    for index, stored in enumerate(hashes):
        if hmac.compare_digest(candidate, stored.encode("utf-8")) and found is None:
            found = index
    return found


# --- Sealing the seed --------------------------------------------------------------------

_SEAL_VERSION = "v1."  # names the scheme, so a later one can sit beside it in old events
_NONCE_BYTES = 12  # AES-GCM's standard nonce; random, as each seed is sealed only a few times
_TAG_BYTES = 16


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict base64url without padding: anything but the one encoding `_b64` makes fails,
    so a sealed value has exactly one spelling."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise SealError("sealed seed is not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise SealError("sealed seed is not base64url") from error
    if _b64(raw) != text:  # stray trailing bits would otherwise decode to the same bytes
        raise SealError("sealed seed is not canonical base64url")
    return raw


class SeedBox:
    """Seals TOTP seeds with AES-256-GCM so events never hold one in clear.

    `associated` (e.g. ``"totp:<project>/<sub>"``) is authenticated, not stored: a sealed
    seed opens only for the account it was sealed for.
    """

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != 32:
            raise SecondFactorError("a SeedBox key is 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def seal(self, seed: str, associated: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, seed.encode("utf-8"), associated.encode("utf-8"))
        return _SEAL_VERSION + _b64(nonce + sealed)

    def open(self, sealed: str, associated: str) -> str:
        if not isinstance(sealed, str) or not sealed.startswith(_SEAL_VERSION):
            raise SealError("not a v1 sealed seed")
        raw = _unb64(sealed[len(_SEAL_VERSION):])
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise SealError("sealed seed is too short")
        nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        try:
            seed = self._aead.decrypt(nonce, body, associated.encode("utf-8"))
        except InvalidTag as error:  # tampered, another key, or another account
            raise SealError("sealed seed does not open") from error
        return seed.decode("utf-8")
