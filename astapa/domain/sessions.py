"""Browser sessions on the hosted pages: a signed-in user coming back gets a code at once.

The cookie holds `<session_key>.<secret>`; the events hold the secret's SHA-256. A session
ends at sign-out, expires after an idle time and an absolute time, and dies with the user's
tokens (revoke-all, password reset, disable).
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

# How a person signed in: RFC 8176's values where it has one. It has none for a mailed
# link or for a sign-in at Google or GitHub: "email" and "fed" are the values identity
# providers commonly use for them.
PASSWORD = "pwd"
PIN = "pin"
EMAIL_LINK = "email"
FEDERATED = "fed"
ONE_TIME_CODE = "otp"
MULTI_FACTOR = "mfa"
HARDWARE_KEY = "hwk"
SOFTWARE_KEY = "swk"
USER_VERIFIED = "user"

# The authentication context a client may ask for with `acr_values` (OIDC Core §3.1.2.1):
# a sign-in with more than one factor, under the name OpenID's PAPE policy gives it (as
# other servers use it for step-up). Tokens then carry it as `acr`.
MFA_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
ACR_VALUES = (MFA_ACR,)


def with_second_factor(amr: list[str] | tuple[str, ...], method: str) -> list[str]:
    """A sign-in's methods once a second factor (`method`) was proven too."""
    return [*dict.fromkeys([*amr, method, MULTI_FACTOR])]


class BrowserSession(Aggregate):
    @event("Started")
    def __init__(
        self,
        session_key: str,
        project_id: str,
        sub: str,
        secret_hash: str,
        auth_time: int,
        tokens_epoch: int,
        idle_expires_at: float,
        absolute_expires_at: float,
        amr: list[str] | None = None,  # how the user signed in (absent from older events)
    ) -> None:
        self.project_id = project_id
        self.sub = sub
        self.secret_hash = secret_hash
        self.auth_time = auth_time
        self.tokens_epoch = tokens_epoch
        self.idle_expires_at = idle_expires_at
        self.absolute_expires_at = absolute_expires_at
        self.amr = list(amr or [])
        self.ended = False

    @staticmethod
    def create_id(session_key: str) -> UUID:
        return UUID(hex=session_key)

    def is_live(self, now: float) -> bool:
        return not self.ended and now < min(self.idle_expires_at, self.absolute_expires_at)

    @event("Used")
    def use(self, idle_expires_at: float) -> None:
        self.idle_expires_at = idle_expires_at

    def end(self, reason: str) -> None:
        if not self.ended:
            self._ended(reason=reason)

    @event("Ended")
    def _ended(self, reason: str) -> None:
        self.ended = True
