"""Mail to users: every message is an event before it is sent, and so is its outcome.

A message names what to say (its kind), to whom, and the link it carries by key; the link's
token is derived again when the message is rendered, so no event holds it and a message
sent again carries the same, still valid, link.
"""

from eventsourcing.domain import Aggregate, event

from astapa.domain.users import User

# Kinds with an action link (its purpose is the kind), and notices without one.
SIGNUP_ATTEMPT = "signup_attempt"
PASSWORD_CHANGED = "password_changed"
EMAIL_CHANGED = "email_changed"  # to the address an account had, once it changed
# A person was given a role in a project; the mail points at the console (no token: they
# sign in, or sign up, there with this address).
CONSOLE_INVITE = "console_invite"
# To a project's owners: a webhook was disabled after its deliveries failed for three days;
# the mail points at the console's webhooks page (no token).
WEBHOOK_DISABLED = "webhook_disabled"


class Message(Aggregate):
    @event("Queued")
    def __init__(
        self, project_id: str, to: str, kind: str, link_key: str | None, client_name: str,
        queued_at: float, sub: str | None = None,
    ) -> None:
        """`sub`: the user the message is for, when it is for one (whose personal data `to`
        is: astapa/store/personal_data.py); absent from older events."""
        self.project_id = project_id
        self.to = to
        self.sub = sub
        self.kind = kind
        self.link_key = link_key
        self.client_name = client_name
        self.queued_at = queued_at
        self.status = "queued"  # -> delivered | bounced | dropped

    @property
    def settled(self) -> bool:
        return self.status != "queued"

    @property
    def user_id(self) -> str | None:
        """The recipient's User aggregate id (hex), named by the delivery events: what the
        mail server answers may quote the address, and is sealed as theirs."""
        sub = getattr(self, "sub", None)  # messages queued before it was recorded
        return User.create_id(self.project_id, sub).hex if sub else None

    @event("Delivered")
    def deliver(self, transport: str, reply: str, user_id: str | None = None) -> None:
        self.status = "delivered"

    @event("DeliveryFailed")
    def fail(self, error: str, retry_at: float, user_id: str | None = None) -> None:
        """Not delivered this time (server down, a temporary refusal): tried again later
        (the `mail` read model counts the attempts and keeps `retry_at`)."""

    @event("Dropped")
    def drop(self, reason: str) -> None:
        """Not sent: its link can no longer be used (expired, used, or replaced while the
        message waited), so the mail would only mislead."""
        self.status = "dropped"

    @event("Bounced")
    def bounce(self, error: str, user_id: str | None = None) -> None:
        """Refused for good (a 5xx reply): not tried again."""
        self.status = "bounced"
