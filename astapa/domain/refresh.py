"""Refresh token families (RFC 9700 §4.14.2): one per sign-in, rotated on every use.

The token names its family (`<family_key>.<secret>`); the family keeps only the SHA-256 of
the current generation and of the one before it. Presenting anything but the current
generation, with the right client, is reuse: the whole family is revoked. One exception,
the reuse grace, so that a refresh response lost on its way does not sign the user out:
the previous generation presented again within the project's grace after its rotation,
while the current one was never used, is a retry. It gets a new generation, which
supersedes the unused one (presenting that one later is reuse); a second retry of the
same rotation is refused without revoking anything. So at any moment exactly one token of
a family works. Families live at most 90 days, so their histories stay short; a
snapshotting interval keeps even busy ones cheap to load.
"""

import hmac
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import RefreshRejectedError
from astapa.domain.ids import split_keyed_secret

# A refresh token is `<family_key>.<secret>`: the grant loads the family by its key.
split_refresh_token = split_keyed_secret

# The reuse grace, in seconds: a project's setting (`--refresh-reuse-grace`). 0, the default,
# is strict: an already-rotated token revokes its family, whatever the timing.
DEFAULT_REUSE_GRACE = 0
MAX_REUSE_GRACE = 300

# How long a family lives, from its sign-in: a project's settings (`--refresh-ttl` for a
# password, magic link or social sign-in, whose default is the server's 90 days;
# `--pin-refresh-ttl` for a PIN sign-in). Families live at most a year.
DEFAULT_PIN_REFRESH_TTL = 30 * 86400
MIN_REFRESH_TTL = 60
MAX_REFRESH_TTL = 365 * 86400


class RefreshFamily(Aggregate):
    # The generation before the current one: its SHA-256, when it was rotated (None in
    # rotations recorded before the grace existed: no grace for them), and whether a retry
    # of it was already answered. Class-level defaults serve older events and snapshots.
    previous_hash: str | None = None
    rotated_at: float | None = None
    retried = False
    amr: tuple[str, ...] = ()  # how the user signed in (absent from older events: not said)
    acr: str | None = None

    @event("Started")
    def __init__(
        self,
        family_key: str,
        project_id: str,
        client_id: str,
        sub: str,
        scopes: list[str],
        resource: str | None,
        auth_time: int,
        token_hash: str,
        tokens_epoch: int,
        started_at: float,
        idle_expires_at: float,
        absolute_expires_at: float,
        amr: list[str] | None = None,  # RFC 8176 methods of the sign-in (absent: older events)
        acr: str | None = None,  # the assurance the sign-in met, when one was asked for
    ) -> None:
        self.family_key = family_key
        self.project_id = project_id
        self.client_id = client_id
        self.sub = sub
        self.scopes = list(scopes)
        self.resource = resource
        self.auth_time = auth_time
        self.token_hash = token_hash
        self.tokens_epoch = tokens_epoch
        self.started_at = started_at
        self.idle_expires_at = idle_expires_at
        self.absolute_expires_at = absolute_expires_at
        self.generation = 1
        self.revoked = False
        self.amr = list(amr or [])
        self.acr = acr

    @staticmethod
    def create_id(family_key: str) -> UUID:
        return UUID(hex=family_key)

    def check_usable(self, client_id: str, now: float, user_tokens_epoch: int) -> None:
        """Checks that do not depend on the secret. A foreign client is not reuse (C-40)."""
        if client_id != self.client_id:
            raise RefreshRejectedError("client")
        if self.revoked:
            raise RefreshRejectedError("revoked")
        if self.tokens_epoch != user_tokens_epoch:
            raise RefreshRejectedError("user tokens revoked")
        if now >= self.absolute_expires_at:
            raise RefreshRejectedError("absolute expiry")
        if now >= self.idle_expires_at:
            raise RefreshRejectedError("idle expiry")

    @event("Rotated")
    def rotate(self, token_hash: str, idle_expires_at: float, rotated_at: float | None = None) -> None:
        """The current generation was used: a new one replaces it. `rotated_at` (absent
        from events older than the reuse grace) starts the previous token's grace."""
        self.previous_hash, self.rotated_at, self.retried = self.token_hash, rotated_at, False
        self.token_hash = token_hash
        self.idle_expires_at = min(idle_expires_at, self.absolute_expires_at)
        self.generation += 1

    def is_retry(self, token_hash: str, now: float, grace: float) -> bool:
        """Whether `token_hash` is the previous generation presented again less than `grace`
        seconds after its rotation (so the current generation was never used): a client
        retrying after a lost response. A retry already answered is refused, revoking
        nothing: RefreshRejectedError("retried")."""
        if self.previous_hash is None or self.rotated_at is None or now >= self.rotated_at + grace:
            return False
        if not hmac.compare_digest(token_hash, self.previous_hash):
            return False
        if self.retried:
            raise RefreshRejectedError("retried")
        return True

    @event("RotationRetried")
    def retry_rotation(self, superseded_generation: int, token_hash: str, idle_expires_at: float) -> None:
        """The previous generation came back within the reuse grace: a new generation
        replaces `superseded_generation`, which was never used and no longer works."""
        self.retried = True
        self.token_hash = token_hash
        self.idle_expires_at = min(idle_expires_at, self.absolute_expires_at)
        self.generation += 1

    def detect_reuse(self) -> None:
        """An earlier generation was presented: revoke everything this family issued."""
        self._reuse_detected(generation=self.generation)
        self.revoke("reuse")

    @event("ReuseDetected")
    def _reuse_detected(self, generation: int) -> None:
        pass

    def revoke(self, reason: str) -> None:
        if not self.revoked:
            self._revoked(reason=reason)

    @event("Revoked")
    def _revoked(self, reason: str) -> None:
        self.revoked = True
