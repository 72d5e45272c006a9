"""Erasing a person (DELETE /api/platform/users/{sub}, `astapa user erase`): crypto-shredding.

Their personal data is sealed in the events under a key of theirs kept outside the log
(astapa/store/personal_data.py); erasing records `User.Erased` and then deletes that key,
so every copy of every event that held their data reads "[erased]" from then on, and the
log itself (and its hash chain) is not rewritten.

In the same save as `User.Erased`: every token and session ends (a new tokens epoch, as
revoke-all does: refresh tokens, sessions and PINs die by it, and access tokens fail
introspection with their refresh family), their address is released (so it can sign up
again, as a new account), and so are their Google and GitHub accounts, their second factor
is turned off. The key is deleted after the save: when the process dies in between, the
first process to read the event deletes it (PersonalDataMapper.erased), before any read
model passes the event.

Erasing again changes nothing and answers the same (idempotent), and deletes the key if a
crash left it.

Copies of their mail in the development outbox (DATA_DIR/outbox, when no SMTP server is
set) are deleted by every server that reads the erasure: the event lists the messages'
ids, which name the files. Mail already handed to an SMTP server is beyond our reach.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astapa.app.accounts import AccountCommands
from astapa.domain.errors import DomainError, InvalidEmailError
from astapa.domain.identities import Identity
from astapa.domain.two_factor import TwoFactor
from astapa.domain.users import EmailIndex, User, normalise_email
from astapa.store.backends import THROTTLE_LOG
from astapa.store import sealing
from astapa.store.events import Decision
from astapa.store.personal_data import ERASED

log = logging.getLogger("astapa.erasure")


@dataclass(frozen=True)
class Erasure:
    project_id: str
    sub: str
    already: bool  # erased before this call

    def view(self) -> dict:
        return {"project_id": self.project_id, "sub": self.sub, "erased": True}


class ErasureCommands(AccountCommands):
    outbox_dir: Path | None = None  # set by the server when mail goes to the outbox
    # The store's backend (set by the server and the CLI): its shared throttle log forgets
    # an erased person's address (forget_throttled_address) before their key goes.
    throttle_backend: Any = None

    def erase_user(self, project_id: str, sub: str, by: str, messages: list[str] | None = None) -> Decision:
        """Everything above but the key's deletion (erase_person_key, once this is saved).
        `messages`: the ids of mail queued for them (the mail read model's). UserNotFoundError
        for a sub the project never had."""
        sealing.require_sealed(self)  # an unsealed log's plaintext would outlive the erasure
        user = self._user(project_id, sub)
        if user.erased:
            return Decision([], Erasure(project_id, sub, already=True))
        released = [*self._released_address(user), *self._released_identities(user)]
        factor = self._second_factor_off(user)
        user.revoke_tokens(reason="erased")
        # The address from the user itself, as it is now (a read model may lag behind).
        email = None if user.email == ERASED else user.email
        user.erase(project_id=project_id, sub=sub, by=by, messages=sorted(messages or []), email=email)
        # The user's events last: the read models drop the user's rows at `Erased`, after
        # everything else of theirs in this save.
        return Decision([*released, *factor, user], Erasure(project_id, sub, already=False))

    def erase_person_key(self, project_id: str, sub: str) -> None:
        """Once the erasure is saved, what follows it (idempotent, and what a retry after a
        failure here, or a crash, finishes): the throttle log forgets their address, then
        their key is deleted (their sealed fields read as erased), then the store forgets
        what it remembers of them; as every process reading the erasure does
        (PersonalDataMapper.erased). Raises what the key store or the throttle log raise
        (the caller answers 503: retrying is safe)."""
        user: User = self._user(project_id, sub, read_only=True)
        if not user.erased:
            return
        erasure = next(e for e in self.repository.event_store.get(user.id, desc=True) if isinstance(e, User.Erased))
        self.mapper.erased(erasure)

    def before_key_deletion(self, erasure: Any) -> None:
        super().before_key_deletion(erasure)
        email = getattr(erasure, "email", None)  # ERASED: another process deleted the key first, and forgot
        if self.throttle_backend is not None and email and email != ERASED:
            forget_throttled_address(self.throttle_backend, erasure.project_id, email)

    def on_erasure(self, erasure: Any) -> None:
        super().on_erasure(erasure)
        if self.outbox_dir is not None:
            forget_outbox_mail(self.outbox_dir, getattr(erasure, "messages", None) or [])

    def _released_address(self, user: User) -> list[EmailIndex]:
        if user.email == ERASED:  # a crash after an earlier key deletion: nothing to find it by
            return []
        try:
            email_key = normalise_email(user.email)[1]
        except InvalidEmailError:
            return []
        index = self._email_holder(user.project_id, email_key)
        if index is None or index.sub != user.sub:
            return []
        index.release(reason="erased")
        return [index]

    def _released_identities(self, user: User) -> list[Identity]:
        """The user's linked Google and GitHub accounts, found in their own history (the
        user keeps no state of them): an erasure is rare, and reads it once."""
        linked = {(e.provider, e.subject) for e in self.repository.event_store.get(user.id)
                  if isinstance(e, User.IdentityLinked) and e.subject != ERASED}
        released = []
        for provider, subject in sorted(linked):
            identity_id = Identity.create_id(user.project_id, provider, subject)
            if not self.exists(identity_id):
                continue
            identity: Identity = self.load(identity_id, _Missing)
            if identity.sub == user.sub and not identity.released:
                identity.release(reason="erased")
                released.append(identity)
        return released

    def _second_factor_off(self, user: User) -> list[TwoFactor]:
        factor_id = TwoFactor.create_id(user.project_id, user.sub)
        if not self.exists(factor_id):
            return []
        factor: TwoFactor = self.load(factor_id, _Missing)
        if not factor.enabled:
            return []
        factor.disable(reason="erased")
        return [factor]


def forget_throttled_address(backend: Any, project_id: str, email: str | None) -> None:
    """The shared throttle log counts mail and sign-in failures per address (`project/email
    key`): its hits for an erased person's address go (with workers or a cluster; a single
    server counts in memory only)."""
    if not email or email == ERASED:
        return
    try:
        key = f"{project_id}/{normalise_email(email)[1]}"
    except InvalidEmailError:
        return
    if not backend.postgres and not (backend.data_dir / THROTTLE_LOG).exists():
        return
    throttle_log = backend.throttle_log()
    try:
        throttle_log.forget(key)
    finally:
        throttle_log.close()


def forget_outbox_mail(outbox: Path, message_ids: list[str]) -> int:
    """Delete the outbox's copies of these messages (transports.OutboxTransport names each
    file `<queued time>-<message id>.eml`); how many went."""
    wanted = {m.lower() for m in message_ids}
    if not wanted or not outbox.is_dir():
        return 0
    gone = 0
    for path in outbox.glob("*.eml"):
        if _message_id(path.stem) in wanted:
            try:
                path.unlink()
                gone += 1
            except FileNotFoundError:
                pass
            except OSError as e:
                log.warning("cannot delete %s after an erasure: %s", path.name, e)
    return gone


def _message_id(stem: str) -> str:
    """The message id (hex) of an outbox file's name, `<15 digits>-<uuid>`."""
    return stem.partition("-")[2].replace("-", "").lower()


class _Missing(DomainError):
    """An aggregate just found to exist is gone: never, as nothing deletes aggregates."""
