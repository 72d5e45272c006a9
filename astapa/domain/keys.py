"""The signing key ring: one current key, one published next key, retired keys.

The next key is in the JWKS from the moment it is made, so when a rotation activates it,
JWKS sets that clients cached earlier already hold it. Private keys never enter events:
only kid and public JWK do (the PEM lives under DATA_DIR/keys).
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.ids import index_id


class KeyRing(Aggregate):
    @event("Created")
    def __init__(self, current_kid: str, current_jwk: dict, next_kid: str, next_jwk: dict) -> None:
        self.current_kid = current_kid
        self.next_kid = next_kid
        self.retired_kids: list[str] = []

    @staticmethod
    def create_id() -> UUID:
        return index_id("keyring", "signing")

    @event("Rotated")
    def rotate(self, activated_kid: str, retired_kid: str, next_kid: str, next_jwk: dict) -> None:
        """The next key signs from now on; the current one is retired, a new next is published."""
        self.retired_kids.append(retired_kid)
        self.current_kid = activated_kid
        self.next_kid = next_kid
