"""PINs: a short secret that signs a person in again, from one browser only.

A PIN alone is guessable (a million 6-digit values), so it never works alone: setting one
gives the browser a random credential (the cookie holds `<pin_key>.<secret>`) and the
server keeps only a slow hash of the credential's secret and the PIN together
(astapa/pins.py). Another browser has no credential, so nothing to try the PIN with; a
stolen credential still needs the PIN, and ten wrong PINs in a row forget it (NIST SP
800-63B §5.2.2 for activation secrets).

Each try is counted before the PIN is checked (`attempt`), so concurrent guesses cannot
outrun the count: a right PIN resets it (`accept`), and a try that never finished counts
as wrong. A PIN dies with the user's tokens (revoke-all, password reset, disable) by the
tokens epoch it was set under.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import PinRejectedError

MAX_WRONG_IN_A_ROW = 10


class PinCredential(Aggregate):
    @event("Set")
    def __init__(self, pin_key: str, project_id: str, sub: str, pin_hash: str, tokens_epoch: int,
                 set_at: float, replaces: str | None = None) -> None:
        """`replaces`: the key of the PIN this browser had before, forgotten in the same save."""
        self.pin_key = pin_key
        self.project_id = project_id
        self.sub = sub
        self.pin_hash = pin_hash
        self.tokens_epoch = tokens_epoch
        self.tries = 0  # since the last right PIN, counted before each check
        self.forgotten = False

    @staticmethod
    def create_id(pin_key: str) -> UUID:
        return UUID(hex=pin_key)

    def check_usable(self, project_id: str, user_tokens_epoch: int) -> None:
        if self.forgotten:
            raise PinRejectedError("forgotten")
        if self.project_id != project_id:
            raise PinRejectedError("project")
        if self.tokens_epoch != user_tokens_epoch:
            raise PinRejectedError("user tokens revoked")

    @property
    def used_up(self) -> bool:
        return self.tries >= MAX_WRONG_IN_A_ROW

    @event("Attempted")
    def attempt(self) -> None:
        """A try is about to be checked: it counts as wrong until `accept` says otherwise."""
        self.tries += 1

    @event("Accepted")
    def accept(self) -> None:
        self.tries = 0

    def forget(self, reason: str) -> None:
        if not self.forgotten:
            self._forgotten(reason=reason)

    @event("Forgotten")
    def _forgotten(self, reason: str) -> None:
        self.forgotten = True
