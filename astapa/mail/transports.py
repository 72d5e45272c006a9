"""Mail transports: SMTP with aiosmtplib (`ASTAPA_SMTP_URL`), or RFC 5322 `.eml` files under
DATA_DIR/outbox/. A transport raises TemporaryFailure (try again later) or PermanentFailure
(refused for good)."""

import asyncio
import os
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from astapa.config import SmtpTarget
from astapa.queries import QueuedMail
from astapa.store.files import private_directory, private_file


class Transport(Protocol):
    name: str

    async def send(self, message: EmailMessage, mail: QueuedMail) -> str:
        """Hand the message over; the server's reply. TemporaryFailure or PermanentFailure."""


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
        private_directory(self.directory)
        partial = self.directory / f".{name}.partial"
        with os.fdopen(private_file(partial), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, self.directory / name)
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
