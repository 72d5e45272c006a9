"""Composing: a queued message as an email, a text and an HTML part from templates/mail/,
with the action link derived from the link's key."""

import functools
from email import headerregistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from astapa.crypto import LinkTokens
from astapa.domain.links import CHANGE_EMAIL, MAGIC_LINK, RESET_PASSWORD, VERIFY_EMAIL
from astapa.domain.mail import CONSOLE_INVITE, EMAIL_CHANGED, PASSWORD_CHANGED, SIGNUP_ATTEMPT, WEBHOOK_DISABLED
from astapa.queries import QueuedMail

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "mail"

# Where each purpose's link lands (the page that asks for a button press).
LINK_PATHS = {
    VERIFY_EMAIL: "/auth/verify-email",
    RESET_PASSWORD: "/auth/reset-password",
    MAGIC_LINK: "/auth/magic-link",
    CHANGE_EMAIL: "/auth/change-email",
}
SUBJECTS = {
    VERIFY_EMAIL: "Verify your email address for {client}",
    RESET_PASSWORD: "Reset your password for {client}",
    MAGIC_LINK: "Your sign-in link for {client}",
    PASSWORD_CHANGED: "Your password for {client} was changed",
    CHANGE_EMAIL: "Confirm your new email address for {client}",
    EMAIL_CHANGED: "Your email address for {client} was changed",
    SIGNUP_ATTEMPT: "Someone tried to sign up to {client} with your address",
    CONSOLE_INVITE: "You were invited to {client} in the Astapa console",
    WEBHOOK_DISABLED: "A webhook of {client} was disabled",
}


DEFAULT_ACCENT = "#1f6feb"  # the button's colour unless the project chose its own (checked: WCAG AA)


class _HeaderClasses(headerregistry.HeaderRegistry):
    """The standard header registry, remembering the class it builds for each header name
    (the standard one builds a new class for every header set: most of composing's time)."""

    @functools.lru_cache(maxsize=None)  # noqa: B019 (one instance, lives as long as the process)
    def __getitem__(self, name: str) -> type:
        return super().__getitem__(name)


# CRLF line ends and 8bit parts: links stay on one line in the raw message (quoted-printable
# would fold them), which keeps the .eml files greppable.
MAIL_POLICY = SMTP.clone(header_factory=_HeaderClasses())


class Composer:
    """A queued message as an email: text and HTML parts, one absolute link under the issuer."""

    def __init__(self, issuer: str, sender: str, link_tokens: LinkTokens, lifetimes: dict[str, int]):
        self.issuer = issuer
        self.sender = sender
        self.domain = sender.rpartition("@")[2].rstrip(">") or "localhost"
        self.link_tokens = link_tokens
        self.lifetimes = lifetimes
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                      autoescape=jinja2.select_autoescape(["html"]),
                                      undefined=jinja2.StrictUndefined)

    def link(self, mail: QueuedMail) -> str | None:
        if mail.kind in (CONSOLE_INVITE, WEBHOOK_DISABLED):
            return f"{self.issuer}/dashboard"
        if mail.link_key is None:
            return None
        token = self.link_tokens.token(mail.kind, mail.link_key)
        return f"{self.issuer}{LINK_PATHS[mail.kind]}?token={token}"

    def compose(self, mail: QueuedMail) -> EmailMessage:
        client = mail.client_name or "your account"
        brand = mail.branding
        values = {"client": client, "link": self.link(mail), "issuer": self.issuer,
                  "valid_for": duration(self.lifetimes.get(mail.kind, 0)),
                  "accent": brand.primary_color if brand and brand.primary_color else DEFAULT_ACCENT,
                  "logo": brand.logo_url if brand else ""}
        message = EmailMessage(policy=MAIL_POLICY)
        message["From"] = self.sender
        message["To"] = mail.recipient
        message["Subject"] = SUBJECTS[mail.kind].format(client=client)
        message["Date"] = formatdate(mail.queued_at, usegmt=True)
        message["Message-ID"] = f"<{mail.message_id}@{self.domain}>"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(self.env.get_template(f"{mail.kind}.txt").render(values), cte="8bit")
        message.add_alternative(self.env.get_template(f"{mail.kind}.html").render(values), subtype="html",
                                cte="8bit")
        return message


def default_sender(issuer: str) -> str:
    host = urlsplit(issuer).hostname or "localhost"
    domain = host if any(c.isalpha() for c in host) and ":" not in host else "localhost"
    return formataddr(("Astapa", f"no-reply@{domain}"))


def duration(seconds: int) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return "1 hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, seconds // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
