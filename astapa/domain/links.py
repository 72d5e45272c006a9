"""One-time links mailed to a user: verify their address, reset their password, sign in.

A link's aggregate id derives from its random key; the token in the mail is the key and a
MAC of it, and events keep only the token's SHA-256. A link is single-use by its version,
bound to one user and one purpose, and carries the authorization request it continues
(the raw query string), so it completes the flow in any browser. The user records the
newest link of each purpose; an older one is dead even before it expires.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import LinkRejectedError
from astapa.domain.ids import index_id

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
MAGIC_LINK = "magic_link"
CHANGE_EMAIL = "change_email"  # mailed to the new address; the link's email is that address
PURPOSES = (VERIFY_EMAIL, RESET_PASSWORD, MAGIC_LINK, CHANGE_EMAIL)


class ActionLink(Aggregate):
    @event("Issued")
    def __init__(
        self,
        link_key: str,
        purpose: str,
        project_id: str,
        sub: str,
        email: str,
        token_hash: str,
        authorization: str,
        issued_at: float,
        expires_at: float,
    ) -> None:
        self.link_key = link_key
        self.purpose = purpose
        self.project_id = project_id
        self.sub = sub
        self.email = email
        self.token_hash = token_hash
        self.authorization = authorization
        self.issued_at = issued_at
        self.expires_at = expires_at
        self.used = False

    @staticmethod
    def create_id(link_key: str) -> UUID:
        return index_id("link", link_key)

    def is_live(self, now: float) -> bool:
        return not self.used and now < self.expires_at

    def check_usable(self, purpose: str, now: float) -> None:
        """The token was already compared with token_hash (in constant time)."""
        if purpose != self.purpose:
            raise LinkRejectedError("purpose")
        if self.used:
            raise LinkRejectedError("used")
        if now >= self.expires_at:
            raise LinkRejectedError("expired")

    @event("Used")
    def use(self) -> None:
        self.used = True
