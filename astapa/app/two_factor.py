"""Two-factor sign-in with an authenticator app (TOTP), and recovery codes.

Turning it on takes a code from the app, so a seed the app never got cannot lock anyone
out; the seed travels to the page and back sealed under the service's second-factor key
(astapa/second_factor.py) and is kept, sealed again for the account, only once a code
proves it. Recovery codes are shown once and kept as keyed hashes. A sign-in whose first
factor passed (AccountCommands._signed_in says when a second is due) ends here.
"""

import secrets

from astapa.app.accounts import AccountCommands
from astapa.domain.codes import CodeRequest
from astapa.domain.errors import DomainError, SecondFactorRejectedError, SessionEndedError
from astapa.domain.sessions import ONE_TIME_CODE, with_second_factor
from astapa.domain.two_factor import TwoFactor
from astapa.domain.users import User
from astapa.second_factor import (
    SeedBox,
    SealError,
    accepted_step,
    match_recovery_code,
    new_recovery_codes,
    new_totp_seed,
    recovery_code_hash,
)
from astapa.store.events import Decision


class TwoFactorCommands(AccountCommands):
    seed_box: SeedBox | None = None  # set by the server (its key lives in the vault)

    def new_enrolment(self, project_id: str, sub: str) -> tuple[str, str]:
        """A fresh seed (shown to the user) and the same sealed for this account's form."""
        seed = new_totp_seed()
        return seed, self._box().seal(seed, _enrolment(project_id, sub))

    def enrolment_seed(self, project_id: str, sub: str, sealed_enrolment: str) -> str:
        """The seed a page's enrolment form carries (to show it again); SealError."""
        return self._box().open(sealed_enrolment, _enrolment(project_id, sub))

    def enable_two_factor(self, project_id: str, sub: str, sealed_enrolment: str, code: str,
                          now: float) -> Decision:
        """The app shows codes for the enrolment's seed: two-factor is on. The value: the
        recovery codes, shown once."""
        try:
            seed = self._box().open(sealed_enrolment, _enrolment(project_id, sub))
        except SealError:
            raise SecondFactorRejectedError("enrolment") from None
        step = accepted_step(seed, code, now, None)
        if step is None:
            raise SecondFactorRejectedError("wrong")
        user = self._user(project_id, sub, read_only=True)
        user.check_can_sign_in()
        codes, salt, hashes = _recovery_codes()
        sealed = self._box().seal(seed, _account(project_id, sub))
        current = self._two_factor(project_id, sub)
        if current is None:
            current = TwoFactor(project_id=project_id, sub=sub, sealed_seed=sealed, step=step,
                                recovery_salt=salt, recovery_hashes=hashes)
        elif current.enabled:
            raise SecondFactorRejectedError("enabled already")
        else:
            current.enable_again(sealed_seed=sealed, step=step, recovery_salt=salt, recovery_hashes=hashes)
        return Decision([current], codes)

    def disable_two_factor(self, project_id: str, sub: str, code: str, now: float, reason: str) -> Decision:
        """Off, with a code from the app or a recovery code (whoever holds a session alone
        cannot turn it off)."""
        two_factor = self._enabled(project_id, sub)
        self._prove(two_factor, code, now)
        two_factor.disable(reason=reason)
        return Decision([two_factor])

    def renew_recovery_codes(self, project_id: str, sub: str, code: str, now: float) -> Decision:
        """New recovery codes (the old ones stop working), with a code from the app."""
        two_factor = self._enabled(project_id, sub)
        self._prove(two_factor, code, now)
        codes, salt, hashes = _recovery_codes()
        two_factor.renew_recovery_codes(recovery_salt=salt, recovery_hashes=hashes)
        return Decision([two_factor], codes)

    def sign_in_with_second_factor(self, request: CodeRequest, sub: str, first: list[str], code: str,
                                   now: float, require_verified: bool = False, epoch: int = 0) -> Decision:
        """The first factor (`first`: its methods) passed a while ago on this page, in the
        user's tokens `epoch`; with a right code (or recovery code) the user signs in with
        both."""
        user = self._pending_user(request.project_id, sub, epoch)
        if require_verified:
            user.check_verified()
        two_factor = self._enabled(request.project_id, sub)
        self._prove(two_factor, code, now)
        return self._signed_in(request, user, [two_factor], now, with_second_factor(first, ONE_TIME_CODE))

    def enrol_and_sign_in(self, request: CodeRequest, sub: str, first: list[str], sealed_enrolment: str,
                          code: str, now: float, require_verified: bool = False, epoch: int = 0) -> Decision:
        """A user whose project requires two-factor sign-in sets it up while signing in (the
        first factor, `first`, passed): two-factor on, and a session with both factors, in
        one save. The value: (the session's cookie, the recovery codes)."""
        user = self._pending_user(request.project_id, sub, epoch)
        enabled = self.enable_two_factor(request.project_id, sub, sealed_enrolment, code, now)
        if require_verified:
            user.check_verified()
        session, cookie = self._start_session(user, now, with_second_factor(first, ONE_TIME_CODE))
        return Decision([*enabled.aggregates, session], (cookie, enabled.value))

    def reset_two_factor(self, project_id: str, sub: str, by: str) -> Decision:
        """An operator turns a user's second factor off (a lost phone, or one set up by
        someone else): they sign in with their first factor again, and may set it up anew."""
        two_factor = self._two_factor(project_id, sub)
        if two_factor is None or not two_factor.enabled:
            return Decision([])
        two_factor.disable(reason=f"turned off by {by}")
        return Decision([two_factor])

    def two_factor_state(self, project_id: str, sub: str) -> Decision:
        """(enabled, recovery codes left). Records nothing."""
        two_factor = self._two_factor(project_id, sub)
        if two_factor is None or not two_factor.enabled:
            return Decision([], (False, 0))
        return Decision([], (True, two_factor.recovery_codes_left))

    # -- parts ------------------------------------------------------------------------------

    def _pending_user(self, project_id: str, sub: str, epoch: int) -> User:
        """The user of a sign-in waiting for its second factor, while it may go on: a
        revoke-all since its first factor (a new tokens epoch) ends it."""
        user = self._user(project_id, sub, read_only=True)
        if user.tokens_epoch != epoch:
            raise SessionEndedError("user tokens revoked")
        user.check_can_sign_in()
        return user

    def _prove(self, two_factor: TwoFactor, code: str, now: float) -> None:
        """Records the code's use: its time step, or the recovery code spent. A wrong code
        raises SecondFactorRejectedError("wrong")."""
        seed = self._box().open(two_factor.sealed_seed, _account(two_factor.project_id, two_factor.sub))
        step = accepted_step(seed, code, now, two_factor.last_step)
        if step is not None:
            two_factor.accept_code(step=step)
            return
        index = match_recovery_code(code, two_factor.recovery_salt, two_factor.recovery_hashes)
        if index is None or not two_factor.recovery_hashes[index]:
            raise SecondFactorRejectedError("wrong")
        two_factor.use_recovery_code(index=index)

    def _enabled(self, project_id: str, sub: str) -> TwoFactor:
        two_factor = self._two_factor(project_id, sub)
        if two_factor is None or not two_factor.enabled:
            raise SecondFactorRejectedError("not enabled")
        return two_factor

    def _two_factor(self, project_id: str, sub: str) -> TwoFactor | None:
        try:
            return self.load(TwoFactor.create_id(project_id, sub), _NotEnrolled)
        except _NotEnrolled:
            return None

    def _box(self) -> SeedBox:
        assert self.seed_box is not None, "the server sets seed_box before serving"
        return self.seed_box


class _NotEnrolled(DomainError):
    """The user never turned two-factor on."""


def _enrolment(project_id: str, sub: str) -> str:
    return f"totp-enrolment:{project_id}/{sub}"


def _account(project_id: str, sub: str) -> str:
    return f"totp:{project_id}/{sub}"


def _recovery_codes() -> tuple[list[str], str, list[str]]:
    """Ten recovery codes (shown once), the salt and their keyed hashes (kept)."""
    codes, salt = new_recovery_codes(), secrets.token_hex(16)
    return codes, salt, [recovery_code_hash(code, salt) for code in codes]
