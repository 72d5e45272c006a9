"""Mail delivery: queued messages (events) rendered and sent, and the outcome recorded.

The mailer reads due messages from the `mail` read model, renders each one (a text and an
HTML part from templates/mail/, the action link derived from the link's key), hands it to
the transport, and records the outcome as an event: Delivered, DeliveryFailed with the
time of the next attempt (exponential backoff), or Bounced for a permanent 5xx refusal.
A message is never sent again once its delivery is recorded; one sent but not yet
recorded (a crash in between) is sent again with the same Message-ID. Transports: SMTP
with aiosmtplib (`ASTAPA_SMTP_URL`), or RFC 5322 `.eml` files under DATA_DIR/outbox/.
"""

import asyncio
import functools
import logging
import os
from dataclasses import dataclass
from email import headerregistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit
from uuid import UUID

import aiosmtplib
import jinja2

from astapa.config import ConfigError
from astapa.domain.errors import DomainError
from astapa.domain.links import MAGIC_LINK, RESET_PASSWORD, VERIFY_EMAIL
from astapa.domain.mail import PASSWORD_CHANGED, SIGNUP_ATTEMPT
from astapa.queries import QueuedMail, due_mail, queued_mail_after
from astapa.secrets import LinkTokens

log = logging.getLogger("astapa.mail")

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"

# Where each purpose's link lands (the page that asks for a button press).
LINK_PATHS = {
    VERIFY_EMAIL: "/auth/verify-email",
    RESET_PASSWORD: "/auth/reset-password",
    MAGIC_LINK: "/auth/magic-link",
}
SUBJECTS = {
    VERIFY_EMAIL: "Verify your email address for {client}",
    RESET_PASSWORD: "Reset your password for {client}",
    MAGIC_LINK: "Your sign-in link for {client}",
    PASSWORD_CHANGED: "Your password for {client} was changed",
    SIGNUP_ATTEMPT: "Someone tried to sign up to {client} with your address",
}


# -- configuration ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # implicit TLS from the first byte (smtps://)
    start_tls: bool | None  # True: required; None: when the server offers it


SCHEMES = {"smtp": (25, False, None), "smtp+starttls": (587, False, True), "smtps": (465, True, False)}


def parse_smtp_url(url: str) -> SmtpTarget:
    """smtp://[user:password@]host[:port] (STARTTLS when offered), smtp+starttls:// (STARTTLS
    required), smtps:// (TLS from the start). User and password are percent-decoded."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"ASTAPA_SMTP_URL is not a URL: {url!r}") from None
    if parts.scheme not in SCHEMES or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        raise ConfigError("ASTAPA_SMTP_URL must look like smtp://[user:password@]host[:port] "
                          "(or smtp+starttls://, smtps://)")
    default_port, use_tls, start_tls = SCHEMES[parts.scheme]
    return SmtpTarget(
        hostname=parts.hostname, port=port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls, start_tls=start_tls,
    )


# -- transports ------------------------------------------------------------------------------

class TemporaryFailure(Exception):
    """Try again later: the server is down or slow, or refused for now (4xx)."""


class PermanentFailure(Exception):
    """The server refused this message for good (a 5xx reply to its recipient or data)."""


class SmtpTransport:
    name = "smtp"

    def __init__(self, target: SmtpTarget, timeout: float = 30.0) -> None:
        self.target = target
        self.timeout = timeout

    async def send(self, message: EmailMessage, mail: QueuedMail) -> str:
        t = self.target
        try:
            _, reply = await aiosmtplib.send(
                message, hostname=t.hostname, port=t.port, username=t.username, password=t.password,
                use_tls=t.use_tls, start_tls=t.start_tls, timeout=self.timeout)
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [r.code for r in e.recipients]
            failure = PermanentFailure if all(500 <= c < 600 for c in codes) else TemporaryFailure
            raise failure(f"recipient refused: {codes}") from None
        except (aiosmtplib.SMTPDataError, aiosmtplib.SMTPRecipientRefused) as e:
            failure = PermanentFailure if 500 <= e.code < 600 else TemporaryFailure
            raise failure(f"{e.code} {e.message}") from None
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as e:
            # Down, slow, TLS or credentials wrong, sender refused: the operator can fix
            # these, so the message waits rather than being given up.
            raise TemporaryFailure(f"{type(e).__name__}: {e}") from None
        return reply


class OutboxTransport:
    """Each message as an RFC 5322 `.eml` file, written atomically. The name derives from
    the message, so a message written again replaces its file rather than doubling it."""

    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage, mail: QueuedMail) -> str:
        name = f"{int(mail.queued_at * 1000):015d}-{mail.message_id}.eml"  # oldest first by name
        data = message.as_bytes()
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._write, name, data)
        except OSError as e:
            raise TemporaryFailure(f"cannot write the outbox: {e.strerror or e}") from None
        return f"written {name}"

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = self.directory / f".{name}.partial"
        with open(partial, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, self.directory / name)
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- composing -------------------------------------------------------------------------------

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
        if mail.link_key is None:
            return None
        token = self.link_tokens.token(mail.kind, mail.link_key)
        return f"{self.issuer}{LINK_PATHS[mail.kind]}?token={token}"

    def compose(self, mail: QueuedMail) -> EmailMessage:
        client = mail.client_name or "your account"
        values = {"client": client, "link": self.link(mail), "issuer": self.issuer,
                  "valid_for": duration(self.lifetimes.get(mail.kind, 0))}
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


# -- the mailer ------------------------------------------------------------------------------

class Mailer:
    """Delivers due messages, one sweep at a time; a nudge asks for another sweep."""

    BATCH = 50
    CONCURRENCY = 8

    def __init__(self, ctx, transport, composer: Composer, retry_base: float, retry_max: float) -> None:
        self.ctx = ctx
        self.transport = transport
        self.composer = composer
        self.retry_base = retry_base
        self.retry_max = retry_max
        self._wanted = False
        self._task: asyncio.Task | None = None
        # Sent in this process but perhaps not yet recorded: never sent twice.
        self._sent: dict[str, str] = {}
        # After a start, every queued message is tried once, due or not (a restart is often
        # how an operator fixes what kept mail from going out): a pass in queue order.
        self._start_cursor: tuple[float, str] | None = (-1.0, "")

    def nudge(self) -> None:
        """Sweep now (or again, after the sweep under way). Call on the event loop."""
        self._wanted = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._sweeps())

    def on_read_models(self, loop: asyncio.AbstractEventLoop) -> Callable[[set[str]], None]:
        """A projection listener: new mail in the read model means a sweep."""
        def listener(changed: set[str]) -> None:
            if "mail" in changed:
                loop.call_soon_threadsafe(self.nudge)
        return listener

    async def tick(self) -> None:
        """The scheduler's job: retries fall due as the clock moves."""
        self.nudge()

    async def stop(self) -> None:
        if self._task is not None:
            self._wanted = False
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 10)
            except Exception:
                log.warning("mail sweep still running at shutdown; its messages stay queued")

    async def _sweeps(self) -> None:
        while self._wanted:
            self._wanted = False
            try:
                while await self.sweep() == self.BATCH:
                    pass
            except Exception:
                log.exception("mail sweep failed; the next one retries")

    async def sweep(self) -> int:
        ctx = self.ctx
        if self._start_cursor is not None:
            due = await ctx.reads.query(queued_mail_after, self._start_cursor, self.BATCH)
            self._start_cursor = (due[-1].queued_at, due[-1].message_id) if len(due) == self.BATCH else None
        else:
            due = await ctx.reads.query(due_mail, ctx.clock.now(), self.BATCH)
        # A few sends at a time; each outcome is recorded outside its slot, so the records
        # share commits while the next sends go on. The sweep ends once the read model shows
        # every outcome, so the next sweep cannot pick a message again.
        slots = asyncio.Semaphore(self.CONCURRENCY)
        outcomes = await asyncio.gather(*(self._deliver(mail, slots) for mail in due),
                                        return_exceptions=True)
        positions = [0]
        for outcome in outcomes:
            if isinstance(outcome, BaseException):  # recorded next time (see _deliver)
                log.warning("mail outcome not recorded yet: %r", outcome)
            else:
                positions.append(outcome)
        await ctx.runner.wait(max(positions), ctx.settings.projection_wait)
        return len(due)

    async def _deliver(self, mail: QueuedMail, slots: asyncio.Semaphore) -> int:
        """Send (unless this process already did) and record the outcome; its position."""
        app, reply = self.ctx.app, self._sent.get(mail.message_id)
        if reply is None and mail.link_key is not None:
            dead = await self._dead_link(mail)
            if dead:
                log.info("mail %s (%s) dropped: its link %s", mail.message_id, mail.kind, dead)
                return await self._record(app.record_dropped, mail, f"link {dead}")
        if reply is None:
            try:
                async with slots:
                    reply = await self.transport.send(self.composer.compose(mail), mail)
            except PermanentFailure as e:
                log.warning("mail %s (%s) bounced: %s", mail.message_id, mail.kind, e)
                return await self._record(app.record_failure, mail, str(e), None)
            except TemporaryFailure as e:
                delay = min(self.retry_base * 2 ** mail.attempts, self.retry_max)
                log.warning("mail %s (%s) not delivered, retrying in %ds: %s",
                            mail.message_id, mail.kind, delay, e)
                return await self._record(app.record_failure, mail, str(e), self.ctx.clock.now() + delay)
            self._sent[mail.message_id] = reply
        log.info("mail %s (%s) delivered by %s", mail.message_id, mail.kind, self.transport.name)
        position = await self._record(app.record_delivery, mail, self.transport.name, reply)
        self._sent.pop(mail.message_id, None)
        return position

    async def _dead_link(self, mail: QueuedMail) -> str | None:
        """Why the message's link can no longer be used, or None while it can."""
        token = self.composer.link_tokens.token(mail.kind, mail.link_key)
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.ctx.reads.pool, self.ctx.app.usable_link, mail.kind, token, self.ctx.clock.now())
        except DomainError as e:
            return str(e.args[0]) if e.args else type(e).__name__
        return None

    async def _record(self, command, mail: QueuedMail, *args) -> int:
        _, position = await self.ctx.writer.run(command, UUID(mail.message_id), *args)
        return position
