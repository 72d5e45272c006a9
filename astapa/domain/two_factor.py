"""A user's second factor: a TOTP authenticator app, and recovery codes for when it is lost.

The seed sits in events only sealed (AES-256-GCM under the service's second-factor key,
astapa/second_factor.py), recovery codes only as keyed hashes. The last accepted time step
is recorded with each code, so a code works once (RFC 6238 §5.2) even across processes:
two sign-ins with one code collide on the aggregate's version, and the retry finds the step
used.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.ids import index_id


class TwoFactor(Aggregate):
    @event("Enabled")
    def __init__(self, project_id: str, sub: str, sealed_seed: str, step: int, recovery_salt: str,
                 recovery_hashes: list[str]) -> None:
        """Turned on with the first code the app showed (its time step)."""
        self.project_id = project_id
        self.sub = sub
        self._turn_on(sealed_seed, step, recovery_salt, recovery_hashes)

    def _turn_on(self, sealed_seed: str, step: int, recovery_salt: str, recovery_hashes: list[str]) -> None:
        self.sealed_seed = sealed_seed
        self.last_step = step
        self.recovery_salt = recovery_salt
        self.recovery_hashes = list(recovery_hashes)
        self.enabled = True

    @staticmethod
    def create_id(project_id: str, sub: str) -> UUID:
        return index_id("two-factor", f"{project_id}/{sub}")

    @event("EnabledAgain")
    def enable_again(self, sealed_seed: str, step: int, recovery_salt: str, recovery_hashes: list[str]) -> None:
        """Turned on again after being turned off: a new seed and new recovery codes."""
        self._turn_on(sealed_seed, step, recovery_salt, recovery_hashes)

    @event("CodeAccepted")
    def accept_code(self, step: int) -> None:
        self.last_step = step

    @event("RecoveryCodeUsed")
    def use_recovery_code(self, index: int) -> None:
        """A recovery code signed in instead of the app: it never works again."""
        self.recovery_hashes[index] = ""

    @event("RecoveryCodesRenewed")
    def renew_recovery_codes(self, recovery_salt: str, recovery_hashes: list[str]) -> None:
        self.recovery_salt = recovery_salt
        self.recovery_hashes = list(recovery_hashes)

    @property
    def recovery_codes_left(self) -> int:
        return sum(1 for h in self.recovery_hashes if h)

    @event("Disabled")
    def disable(self, reason: str) -> None:
        self.enabled = False
        self.sealed_seed = ""
        self.recovery_hashes = []
