"""Passkeys: registering one for the signed-in user (the account page), signing up with
one and no password, and signing in with one (domain/passkeys.py).

The pages verify the WebAuthn response (astapa/passkeys.py, off the event loop and off
the writer); these commands record what was verified, and check what only the log knows:
that the passkey is still registered to this project, that its count rose, and that the
challenge was never answered before.
"""

import base64

from astapa.app.accounts import AccountCommands, LinkRequest
from astapa.domain.codes import CodeRequest
from astapa.domain.errors import DomainError, PasskeyRejectedError
from astapa.domain.passkeys import Passkey, PasskeyChallenge, passkey_amr
from astapa.passkeys import RegisteredPasskey
from astapa.store.events import Decision

CHALLENGE_KEPT = 600  # seconds a sign-in challenge is answerable (and its record kept)


def credential_key(credential_id: bytes) -> str:
    """A credential id as the log and the read models name it: base64url, unpadded."""
    return base64.urlsafe_b64encode(credential_id).rstrip(b"=").decode("ascii")


class PasskeyCommands(AccountCommands):
    def register_passkey(self, session_cookie: str, passkey: RegisteredPasskey, name: str, now: float) -> Decision:
        """A passkey for the browser's signed-in user."""
        _, user = self._current_session(session_cookie, now)
        return Decision([self._new_passkey(passkey, user.project_id, user.sub, name)])

    def remove_passkey(self, session_cookie: str, credential_id: str, now: float) -> Decision:
        session = self._live_session(session_cookie, now)
        passkey = self._passkey(credential_id)
        if passkey is None or (passkey.project_id, passkey.sub) != (session.project_id, session.sub):
            return Decision([])
        passkey.remove(by="user")
        return Decision([passkey])

    def register_user_with_passkey(self, request: CodeRequest, where: LinkRequest, email: str, email_key: str,
                                   sub: str, passkey: RegisteredPasskey, name: str, now: float,
                                   sign_in: bool = True, mail: bool = True) -> Decision:
        """A new account with a passkey and no password (register_user)."""
        def credential(user):
            return self._new_passkey(passkey, user.project_id, user.sub, name)

        return self.register_user(request, where, email, email_key, None, now, sign_in, mail, sub=sub,
                                  amr=passkey_amr(passkey.backed_up), credential=credential)

    def sign_in_with_passkey(self, request: CodeRequest, credential_id: str, sign_count: int,
                             challenge_hash: str, now: float, require_verified: bool = False) -> Decision:
        """The response was verified against the passkey's key: its user signs in, unless
        the passkey was removed meanwhile, the count went back, or the challenge was
        answered before (a replayed response)."""
        passkey = self._passkey(credential_id)
        if passkey is None:
            raise PasskeyRejectedError("unknown")
        passkey.check_usable(request.project_id)
        passkey.check_count(sign_count)
        if self.exists(PasskeyChallenge.create_id(challenge_hash)):
            raise PasskeyRejectedError("challenge used")
        user = self._user(passkey.project_id, passkey.sub, read_only=True)
        user.check_can_sign_in()
        if require_verified:
            user.check_verified()
        passkey.use(sign_count=sign_count)
        answered = PasskeyChallenge(challenge_hash=challenge_hash, expires_at=now + CHALLENGE_KEPT)
        return self._signed_in(request, user, [passkey, answered], now, passkey.amr)

    def _new_passkey(self, passkey: RegisteredPasskey, project_id: str, sub: str, name: str) -> Passkey:
        key = credential_key(passkey.credential_id)
        if self.exists(Passkey.create_id(key)):
            raise PasskeyRejectedError("registered already")
        return Passkey(credential_id=key, project_id=project_id, sub=sub, sign_count=passkey.sign_count,
                       public_key=base64.urlsafe_b64encode(passkey.public_key).decode("ascii"),
                       backed_up=passkey.backed_up, aaguid=passkey.aaguid, name=name[:100])

    def _passkey(self, credential_id: str) -> Passkey | None:
        try:
            return self.load(Passkey.create_id(credential_id), _NoPasskey)
        except _NoPasskey:
            return None


class _NoPasskey(DomainError):
    """No passkey with this credential id."""
