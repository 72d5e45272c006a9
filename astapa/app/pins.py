"""PIN sign-in: setting a PIN for a browser, and signing in with it (domain/pins.py).

The pages hash and check the PIN in the bcrypt pool; these commands decide around it:
`set_pin` after a full sign-in, `pin_to_try` (counts the try before the check),
`pin_was_wrong` (forgets the PIN at the tenth wrong one in a row) and `sign_in_with_pin`.
"""

from dataclasses import dataclass

from astapa.app.accounts import AccountCommands
from astapa.domain.codes import CodeRequest
from astapa.domain.errors import DomainError, PinRejectedError, SessionEndedError
from astapa.domain.pins import MAX_WRONG_IN_A_ROW, PinCredential
from astapa.domain.sessions import PIN
from astapa.store.events import Decision

FORGOTTEN_AFTER_WRONG = "ten wrong PINs in a row"


@dataclass(frozen=True)
class PinTry:
    """A try counted: the hash to check the PIN against, and the tries left after this one."""

    pin_hash: str
    tries_left: int


class PinCommands(AccountCommands):
    def set_pin(self, session_cookie: str, pin_key: str, pin_hash: str, replaces: str | None,
                now: float) -> Decision:
        """A PIN for this browser's signed-in user; the browser's earlier PIN (`replaces`,
        when it is this user's) is forgotten in the same save. A session begun with a PIN
        sets none: a PIN is set after a full sign-in."""
        session, user = self._current_session(session_cookie, now)
        if list(session.amr) == [PIN]:
            raise SessionEndedError("a PIN sign-in")
        made: list = []
        old = self._pin(replaces) if replaces else None
        if old is not None and (old.project_id, old.sub) == (user.project_id, user.sub):
            old.forget("replaced")
            made.append(old)
        made.append(PinCredential(pin_key=pin_key, project_id=user.project_id, sub=user.sub, pin_hash=pin_hash,
                                  tokens_epoch=user.tokens_epoch, set_at=now,
                                  replaces=old.pin_key if made else None))
        return Decision(made, user.sub)

    def pin_to_try(self, pin_key: str, project_id: str) -> Decision:
        """Count a try of this browser's PIN before it is checked (PinTry). A PIN that can
        no longer be used raises PinRejectedError, forgetting it first when it died with
        its user's tokens or had ten tries without a right one."""
        credential = self._pin(pin_key)
        if credential is None:
            raise PinRejectedError("unknown")
        user = self._user(credential.project_id, credential.sub, read_only=True)
        try:
            credential.check_usable(project_id, user.tokens_epoch)
            user.check_can_sign_in()
        except PinRejectedError as e:
            if e.args[0] == "user tokens revoked":
                credential.forget(e.args[0])
                return Decision([credential], error=e)
            raise
        if credential.used_up:  # the last try never finished: it counts as wrong
            credential.forget(FORGOTTEN_AFTER_WRONG)
            return Decision([credential], error=PinRejectedError("forgotten"))
        credential.attempt()
        return Decision([credential], PinTry(credential.pin_hash, MAX_WRONG_IN_A_ROW - credential.tries))

    def pin_was_wrong(self, pin_key: str) -> Decision:
        """The counted try was wrong: the tenth in a row forgets the PIN. The value: whether
        it is forgotten."""
        credential = self._pin(pin_key)
        if credential is None or credential.forgotten:
            return Decision([], True)
        if not credential.used_up:
            return Decision([], False)
        credential.forget(FORGOTTEN_AFTER_WRONG)
        return Decision([credential], True)

    def sign_in_with_pin(self, request: CodeRequest, pin_key: str, now: float,
                         require_verified: bool = False) -> Decision:
        """The PIN was right: its count starts again, and the user signs in (amr `pin`)
        unless the PIN was forgotten meanwhile (ten wrong tries at once)."""
        credential = self._pin(pin_key)
        if credential is None:
            raise PinRejectedError("unknown")
        user = self._user(credential.project_id, credential.sub, read_only=True)
        credential.check_usable(request.project_id, user.tokens_epoch)
        user.check_can_sign_in()
        if require_verified:
            user.check_verified()
        credential.accept()
        return self._signed_in(request, user, [credential], now, [PIN])

    def forget_pin(self, project_id: str, sub: str, pin_key: str, reason: str) -> Decision:
        """The user (or the page, for a browser signing out) forgets one of their PINs."""
        credential = self._pin(pin_key)
        if credential is None or (credential.project_id, credential.sub) != (project_id, sub):
            return Decision([])
        credential.forget(reason)
        return Decision([credential])

    def _pin(self, pin_key: str) -> PinCredential | None:
        try:
            return self.load(PinCredential.create_id(pin_key), _NoPin)
        except _NoPin:
            return None


class _NoPin(DomainError):
    """No PIN was set with this key."""
