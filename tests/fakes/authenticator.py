"""A software passkey authenticator, with the browser's part folded in, so tests and
benchmarks can register and sign in without a browser.

It speaks WebAuthn's JSON wire format: `register` takes the options JSON the server made
(webauthn.options_to_json) and answers a RegistrationResponseJSON string, `sign_in` takes
request options and answers an AuthenticationResponseJSON string, both exactly what
passkeys.js posts. Keys are EC P-256 (ES256, COSE alg -7), attestation is "none", flags
say user present and verified, and every sign-in raises the sign count by one.

It plays the browser too (clientDataJSON, the origin), and it always uses its own rp_id
and origin, whatever the options say. A real browser would refuse options for another
RP; this one signs anyway, so tests can check that the *server* refuses a response made
for another RP id or origin. `user_verified = False` makes responses without the UV flag,
and `synced=True` sets the backup flags of a synced (multi-device) passkey.
"""

import base64
import hashlib
import json
import os
import struct
import uuid
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

# Authenticator data flags (WebAuthn §6.1): user present, user verified, backup eligible,
# backed up, attested credential data included.
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
ES256 = -7
# A made-up AAGUID, so a test can tell this authenticator's passkeys apart.
AAGUID = uuid.UUID("50f7a0e5-0000-4000-8000-00000000a57a")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """One discoverable credential held by the authenticator."""

    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


class SoftAuthenticator:
    def __init__(self, rp_id: str, origin: str, *, synced: bool = False) -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.synced = synced
        self.user_verified = True  # False: responses without the UV flag
        self.credentials: dict[bytes, Credential] = {}

    # -- the ceremonies --------------------------------------------------------------

    def register(self, options_json: str) -> str:
        """navigator.credentials.create(): a new P-256 credential for the options' user;
        its RegistrationResponseJSON."""
        options = json.loads(options_json)
        if ES256 not in [p.get("alg") for p in options.get("pubKeyCredParams", [])]:
            raise ValueError("the options do not allow ES256, the only algorithm here")
        excluded = {unb64url(c["id"]) for c in options.get("excludeCredentials", [])}
        if excluded & self.credentials.keys():  # the browser's InvalidStateError
            raise ValueError("this authenticator already holds an excluded credential")
        credential = Credential(id=os.urandom(16), key=ec.generate_private_key(ec.SECP256R1()),
                                rp_id=self.rp_id, user_handle=unb64url(options["user"]["id"]))
        self.credentials[credential.id] = credential
        client_data = self._client_data("webauthn.create", options["challenge"])
        auth_data = self._auth_data(credential, AT) + self._attested(credential)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({
            "id": b64url(credential.id), "rawId": b64url(credential.id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                         "transports": ["internal"], "publicKeyAlgorithm": ES256,
                         "authenticatorData": b64url(auth_data)},
            "clientExtensionResults": {"credProps": {"rk": True}}, "authenticatorAttachment": "platform",
        })

    def sign_in(self, options_json: str, credential_id: bytes | None = None) -> str:
        """navigator.credentials.get(): an assertion by `credential_id`, else by the one
        allowed credential held, else (discoverable) by the newest for this RP id; its
        AuthenticationResponseJSON. The sign count rises by one."""
        options = json.loads(options_json)
        credential = self._choose(options, credential_id)
        credential.sign_count += 1
        client_data = self._client_data("webauthn.get", options["challenge"])
        auth_data = self._auth_data(credential)
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                        ec.ECDSA(hashes.SHA256()))  # DER, as WebAuthn's ES256
        return json.dumps({
            "id": b64url(credential.id), "rawId": b64url(credential.id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature), "userHandle": b64url(credential.user_handle)},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        })

    # -- the parts -------------------------------------------------------------------

    def _choose(self, options: dict, credential_id: bytes | None) -> Credential:
        if credential_id is not None:
            return self.credentials[credential_id]
        allowed = [unb64url(c["id"]) for c in options.get("allowCredentials", [])]
        mine = [c for c in self.credentials.values()
                if c.rp_id == self.rp_id and (not allowed or c.id in allowed)]
        if not mine:  # the browser's NotAllowedError
            raise LookupError("no credential for this RP on this authenticator")
        return mine[-1]

    def _client_data(self, kind: str, challenge: str) -> bytes:
        # Compact JSON in the browser's key order; the server hashes these exact bytes.
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                           "crossOrigin": False}, separators=(",", ":")).encode()

    def _auth_data(self, credential: Credential, extra_flags: int = 0) -> bytes:
        flags = UP | extra_flags | (UV if self.user_verified else 0) | (BE | BS if self.synced else 0)
        rp_id_hash = hashlib.sha256(credential.rp_id.encode()).digest()
        return rp_id_hash + bytes([flags]) + struct.pack(">I", credential.sign_count)

    @staticmethod
    def _attested(credential: Credential) -> bytes:
        """Attested credential data: AAGUID, the id's length and the id, the COSE key."""
        numbers = credential.key.public_key().public_numbers()
        cose_key = {1: 2, 3: ES256, -1: 1,  # kty EC2, alg ES256, crv P-256
                    -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        return AAGUID.bytes + struct.pack(">H", len(credential.id)) + credential.id + cbor2.dumps(cose_key)
