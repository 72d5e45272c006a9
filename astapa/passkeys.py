"""Passkeys (WebAuthn): a thin wrapper around py_webauthn, so the rest of Astapa never
touches WebAuthn's wire format or its cryptography.

Why a wrapper at all: the library is correct but wide. It takes many options we must
always set the same way (discoverable credentials, user verification required, no
attestation), and it raises a dozen exception types, plus plain ValueError, KeyError or
TypeError on some malformed input. Callers here get four narrow functions with our policy
baked in, and exactly one exception, PasskeyError, whose message is safe to show to the
user on a page (it never echoes what the library or the browser said).

The ceremonies themselves stay in the library: nothing in this module parses CBOR, hashes
client data or checks a signature. The only parsing done here is the look-up of a
response's credential id and user handle, which the caller needs *before* verification
to find the stored public key; those functions never raise.

The relying party id is the issuer URL's host name and the expected origin is the issuer's
scheme://host[:port]. Browsers refuse an IP address as an RP id, so passkeys need an
issuer with a domain name (http://localhost works: browsers treat it as a secure context).
"""

import base64
import binascii
import json
import re
import struct
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import webauthn
from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as CryptoUnsupportedAlgorithm
from webauthn.helpers import (
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

# A browser's response is a few hundred bytes to a few KiB (an attestation certificate
# chain is the largest part); anything far bigger is an attack on the JSON parser.
MAX_RESPONSE_CHARS = 64 * 1024
TIMEOUT_MS = 120_000
# ES256 first: every platform authenticator supports it. EdDSA next (security keys),
# RS256 last (Windows Hello). The same list is enforced when a key is registered.
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
# WebAuthn's own limits: a user handle is 1-64 bytes, a credential id at most 1023.
MAX_USER_HANDLE = 64
MAX_CREDENTIAL_ID = 1023
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
SAFE_MESSAGE = "This passkey could not be verified."

# Everything the library (or what it calls) raises on a response it refuses or cannot
# read. Catching these, and not Exception, keeps real bugs loud.
_REFUSALS = (WebAuthnException, InvalidSignature, CryptoUnsupportedAlgorithm, ValueError,
             TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError,
             struct.error)


class PasskeyError(ValueError):
    """A passkey response that was refused or could not be read. The message is safe to
    show; the library's reason is kept as __cause__ for the logs."""

    def __init__(self, message: str = SAFE_MESSAGE) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class RegisteredPasskey:
    """What to store for a newly registered passkey (public_key is COSE, as the library
    expects it back in verify_authentication)."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    backed_up: bool
    device_type: str  # "single_device" or "multi_device" (synced passkey)


def rp_id_of(issuer: str) -> str:
    """The relying party id: the issuer URL's host name, lower case, no port."""
    host = urlsplit(issuer).hostname
    if not host:
        raise ValueError(f"issuer has no host name: {issuer!r}")
    return host


def origin_of(issuer: str) -> str:
    """The origin browsers put in clientDataJSON for pages under `issuer`: scheme://host
    with the port only when it is not the scheme's default (that is how origins serialise)."""
    parts = urlsplit(issuer)
    scheme, host, port = parts.scheme.lower(), rp_id_of(issuer), parts.port
    if ":" in host:  # an IPv6 literal keeps its brackets in an origin
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def registration_options(rp_id: str, rp_name: str, user_handle: bytes, user_name: str,
                         exclude: list[bytes]) -> tuple[str, bytes]:
    """Options for navigator.credentials.create() as JSON, and the challenge to keep
    server-side until the response comes back. `exclude`: the user's existing credential
    ids, so an authenticator that already holds one does not make a second."""
    # The library silently invents a random handle when given none: refuse instead, or
    # the passkey would point at nobody.
    if not isinstance(user_handle, bytes) or not 0 < len(user_handle) <= MAX_USER_HANDLE:
        raise ValueError("user_handle must be 1 to 64 bytes")
    options = webauthn.generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=user_handle,
        user_name=user_name,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        # Discoverable ("resident") so sign-in needs no user name; UV so the passkey
        # alone is two factors (possession and PIN/biometric).
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=cid) for cid in exclude],
        supported_pub_key_algs=ALGORITHMS,
    )
    return webauthn.options_to_json(options), options.challenge


def authentication_options(rp_id: str) -> tuple[str, bytes]:
    """Options for navigator.credentials.get() as JSON, and the challenge to keep. No
    allowCredentials: the authenticator offers its discoverable passkeys for this RP, and
    the response's user handle says whose it is."""
    options = webauthn.generate_authentication_options(
        rp_id=rp_id,
        timeout=TIMEOUT_MS,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return webauthn.options_to_json(options), options.challenge


def verify_registration(response_json: str, challenge: bytes, rp_id: str,
                        origin: str) -> RegisteredPasskey:
    """Check a navigator.credentials.create() response against the challenge we issued;
    the passkey to store. Raises PasskeyError on any refusal."""
    credential = _parse(response_json)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
            supported_pub_key_algs=ALGORITHMS,
        )
        # The library checks the key's algorithm but not that it is a key: a point off
        # the curve would be stored, then fail every sign-in. Load it now to refuse it.
        decoded_public_key_to_cryptography(decode_credential_public_key(verified.credential_public_key))
    except _REFUSALS as e:
        raise PasskeyError() from e
    return RegisteredPasskey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        backed_up=verified.credential_backed_up,
        device_type=verified.credential_device_type.value,
    )


def verify_authentication(response_json: str, challenge: bytes, rp_id: str, origin: str,
                          public_key: bytes, sign_count: int) -> int:
    """Check a navigator.credentials.get() response against the challenge we issued and
    the stored key of the credential it names; the new sign count to store. The library
    refuses a count that did not rise (a cloned authenticator), except 0 -> 0 (passkeys
    that do not count). Raises PasskeyError on any refusal."""
    credential = _parse(response_json)
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=public_key,
            credential_current_sign_count=sign_count,
            require_user_verification=True,
        )
    except _REFUSALS as e:
        raise PasskeyError() from e
    return verified.new_sign_count


def credential_id_of(response_json: str) -> bytes | None:
    """The credential id an authentication response names (rawId, else id), to look up
    its stored key; None for anything malformed. Never raises: this runs on untrusted input
    before any verification."""
    try:
        credential = _parse(response_json)
    except PasskeyError:
        return None
    raw = credential.get("rawId")
    found = _base64url(raw if isinstance(raw, str) else credential.get("id"))
    return found if found and len(found) <= MAX_CREDENTIAL_ID else None


def user_handle_of(response_json: str) -> bytes | None:
    """The user handle in an authentication response (whose passkey this is); None when
    absent or malformed. Never raises."""
    try:
        response = _parse(response_json).get("response")
    except PasskeyError:
        return None
    if not isinstance(response, dict):
        return None
    found = _base64url(response.get("userHandle"))
    return found if found and len(found) <= MAX_USER_HANDLE else None


def _parse(response_json: Any) -> dict:
    """The response as a dict, size-checked before parsing; PasskeyError otherwise. Parsing
    here (and handing the library a dict) also catches what json.loads raises on deeply
    nested input, RecursionError, which the library does not."""
    if not isinstance(response_json, str) or len(response_json) > MAX_RESPONSE_CHARS:
        raise PasskeyError()
    try:
        parsed = json.loads(response_json)
    except (ValueError, RecursionError) as e:
        raise PasskeyError() from e
    if not isinstance(parsed, dict):
        raise PasskeyError()
    return parsed


def _base64url(value: Any) -> bytes | None:
    """Strict base64url (padding optional): the standard decoder silently skips characters
    outside the alphabet, which would let two different strings name one credential."""
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value):
        return None
    value = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
