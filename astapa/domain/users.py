"""End users of a project and the index that keeps their email addresses unique."""

import unicodedata
from types import MappingProxyType
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import (
    EmailNotVerifiedError,
    InvalidEmailError,
    LinkRejectedError,
    UserDisabledError,
)
from astapa.domain.ids import index_id

DEFAULT_CLAIMS = {"plan": "free"}


class User(Aggregate):
    """One account of one project; `sub` is a decimal string of a positive integer < 2^53."""

    # The newest mailed link of each purpose (purpose -> link key). Replaced, never changed
    # in place, so this read-only class-level default also serves snapshots taken before
    # it existed. (Not annotated: annotated attributes become dataclass fields.)
    links = MappingProxyType({})

    @event("Registered")
    def __init__(self, project_id: str, sub: str, email: str, password_hash: str) -> None:
        self.project_id = project_id
        self.sub = sub
        self.email = email
        self.password_hash = password_hash
        self.email_verified = False
        self.disabled = False
        self.custom_claims = dict(DEFAULT_CLAIMS)
        # Refresh families and sessions started in an earlier epoch are dead: revoking all
        # of a user's tokens (revoke API, password reset, disable) starts a new epoch.
        self.tokens_epoch = 0

    @staticmethod
    def create_id(project_id: str, sub: str) -> UUID:
        return index_id("user", f"{project_id}/{sub}")

    def check_can_sign_in(self) -> None:
        if self.disabled:
            raise UserDisabledError(self.project_id, self.sub)

    @event("TokensRevoked")
    def revoke_tokens(self, reason: str) -> None:
        """Every refresh token and browser session the user has stops working."""
        self.tokens_epoch += 1

    @event("LinkIssued")
    def issue_link(self, purpose: str, link_key: str) -> None:
        """A new link of this purpose; any older one of the same purpose is dead."""
        self.links = {**self.links, purpose: link_key}

    def check_current_link(self, purpose: str, link_key: str) -> None:
        if self.links.get(purpose) != link_key:
            raise LinkRejectedError("superseded")

    @event("EmailVerified")
    def verify_email(self, email: str) -> None:
        """`email` is the address the link was mailed to (it must still be the user's)."""
        self.email_verified = True

    def check_verified(self) -> None:
        if not self.email_verified:
            raise EmailNotVerifiedError(self.project_id, self.sub)

    @event("PasswordChanged")
    def change_password(self, password_hash: str, reason: str) -> None:
        self.password_hash = password_hash

    def claims(self) -> dict:
        """The identity claims a token carries, as they are now."""
        return {
            "email": self.email,
            "email_verified": self.email_verified,
            "custom_claims": dict(self.custom_claims),
        }


class EmailIndex(Aggregate):
    """One per (project, normalised email): a second registration collides on its version."""

    @event("Registered")
    def __init__(self, project_id: str, email_key: str, sub: str) -> None:
        self.project_id = project_id
        self.sub = sub

    @staticmethod
    def create_id(project_id: str, email_key: str) -> UUID:
        return index_id("email", f"{project_id}/{email_key}")


def normalise_email(value: str) -> tuple[str, str]:
    """(address as kept and mailed, key for uniqueness and lookup), normalised once.

    Unicode NFC; the domain lower-cased and IDNA-encoded (non-ASCII domains become
    punycode); the key also case-folds the local part. `mıke@` (dotless ı) stays distinct
    from `mike@` (C-88). Raises InvalidEmailError.
    """
    email = unicodedata.normalize("NFC", value.strip())
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or len(email) > 254 or "@" in local \
            or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in email):
        raise InvalidEmailError()
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidEmailError() from None
    if "." not in domain.strip(".") or domain.startswith(".") or ".." in domain:
        raise InvalidEmailError()
    return f"{local}@{domain}", f"{local.casefold()}@{domain}"
