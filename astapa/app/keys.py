"""The signing key ring: a current key and a published next key."""

from astapa.domain.errors import KeyRingMissingError
from astapa.domain.keys import KeyRing
from astapa.store.events import Decision, EventStore


class KeyCommands(EventStore):
    def key_ring(self) -> KeyRing:
        return self.load(KeyRing.create_id(), KeyRingMissingError)

    def create_key_ring(self, current: tuple[str, dict], next_: tuple[str, dict]) -> Decision:
        """First start: a current key and a published next key (PEMs already on disk)."""
        try:
            return Decision([], self.key_ring())
        except KeyRingMissingError:
            pass
        ring = KeyRing(
            current_kid=current[0], current_jwk=current[1], next_kid=next_[0], next_jwk=next_[1]
        )
        return Decision([ring], ring)

    def rotate_keys(self, next_: tuple[str, dict]) -> Decision:
        """The published next key signs from now on, `next_` (its PEM already on disk) is
        published in its place: `astapa keys rotate` and the console's button. Value: the
        kids that sign and come next."""
        ring = self.key_ring()
        ring.rotate(
            activated_kid=ring.next_kid,
            retired_kid=ring.current_kid,
            next_kid=next_[0],
            next_jwk=next_[1],
        )
        return Decision([ring], {"current_kid": ring.current_kid, "next_kid": ring.next_kid})
