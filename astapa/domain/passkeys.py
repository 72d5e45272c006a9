"""Passkeys (WebAuthn credentials) people registered, one aggregate per credential.

A passkey is found by its credential id (index_id of its base64url text), which a sign-in
response names; its user handle is never personal data (passkey_user_handle). The public
key is kept as COSE bytes (base64url), and the sign count as the authenticator last gave
it: a count that does not rise where it used to count is a cloned authenticator, and
refused. Each challenge signs in once (PasskeyChallenge, like ClientAssertion's jti).
"""

import hashlib
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import PasskeyRejectedError
from astapa.domain.ids import index_id
from astapa.domain.sessions import HARDWARE_KEY, MULTI_FACTOR, SOFTWARE_KEY, USER_VERIFIED


def passkey_user_handle(project_id: str, sub: str) -> bytes:
    """The WebAuthn user handle of a user: stable, 16 bytes, and not their email or sub."""
    return hashlib.sha256(f"astapa-passkey/{project_id}/{sub}".encode()).digest()[:16]


def passkey_amr(backed_up: bool) -> list[str]:
    """RFC 8176: a synced passkey is a software key, a device-bound one a hardware key;
    user verification (required) makes it two factors on its own."""
    return [SOFTWARE_KEY if backed_up else HARDWARE_KEY, USER_VERIFIED, MULTI_FACTOR]


class Passkey(Aggregate):
    @event("Registered")
    def __init__(self, credential_id: str, project_id: str, sub: str, public_key: str, sign_count: int,
                 backed_up: bool, aaguid: str, name: str) -> None:
        self.credential_id = credential_id
        self.project_id = project_id
        self.sub = sub
        self.public_key = public_key
        self.sign_count = sign_count
        self.backed_up = backed_up
        self.aaguid = aaguid
        self.name = name
        self.removed = False

    @staticmethod
    def create_id(credential_id: str) -> UUID:
        return index_id("passkey", credential_id)

    def check_usable(self, project_id: str) -> None:
        if self.removed:
            raise PasskeyRejectedError("removed")
        if self.project_id != project_id:
            raise PasskeyRejectedError("another project")

    def check_count(self, new_count: int) -> None:
        """A counting authenticator's count always rises; one that never counts stays 0."""
        if (new_count or self.sign_count) and new_count <= self.sign_count:
            raise PasskeyRejectedError("sign count did not rise")

    @property
    def amr(self) -> list[str]:
        return passkey_amr(self.backed_up)

    @event("Used")
    def use(self, sign_count: int) -> None:
        self.sign_count = sign_count

    def remove(self, by: str) -> None:
        if not self.removed:
            self._removed(by=by)

    @event("Removed")
    def _removed(self, by: str) -> None:
        self.removed = True


class PasskeyChallenge(Aggregate):
    """A sign-in challenge that was answered: a second use collides on version 1."""

    @event("Answered")
    def __init__(self, challenge_hash: str, expires_at: float) -> None:
        self.expires_at = expires_at

    @staticmethod
    def create_id(challenge_hash: str) -> UUID:
        return index_id("passkey-challenge", challenge_hash)
