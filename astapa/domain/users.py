"""End users of a project and the index that keeps their email addresses unique."""

import unicodedata
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import InvalidEmailError, UserDisabledError
from astapa.domain.ids import index_id

DEFAULT_CLAIMS = {"plan": "free"}


class User(Aggregate):
    """One account of one project; `sub` is a decimal string of a positive integer < 2^53."""

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
