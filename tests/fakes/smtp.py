"""A real SMTP server for tests, not a mock.

aiosmtpd's Controller runs a genuine SMTP server in its own thread on a loopback port, so
the code under test talks SMTP over TCP exactly as it would to a production relay. The
server keeps what it received across stop() and start() on the same port, so a test can
take the mail server down, let the application notice, and bring it back on the same
address. With credentials, AUTH PLAIN or LOGIN is required before MAIL FROM (over plain
TCP: fine on loopback, never in production). reject_next() makes the next RCPT (or DATA)
answer with an error, to exercise permanent failures.
"""

import email
import email.policy
import ssl  # noqa: F401 (annotations)
import threading
import time
import warnings
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.fakes.base import HOST, free_port



@dataclass(frozen=True)
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage
    raw: bytes




class SmtpServer:
    def __init__(self, port: int | None = None, credentials: tuple[str, str] | None = None,
                 tls: "ssl.SSLContext | None" = None) -> None:
        """`tls`: offer STARTTLS with this server context and require it before MAIL."""
        self.port = free_port() if port is None else port
        self.credentials = credentials
        self.tls = tls
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._rejection: tuple[str, str] | None = None  # (command, reply)
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        if self.credentials is None:
            return f"smtp://{HOST}:{self.port}"
        user, password = (quote(part, safe="") for part in self.credentials)
        return f"smtp://{user}:{password}@{HOST}:{self.port}"

    def start(self) -> None:
        assert self._controller is None, "SMTP server already running"
        # A fresh Controller each time: a stopped one has closed its event loop.
        controller = _Controller(self, hostname=HOST, port=self.port, server_hostname="smtp.test")
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "SmtpServer":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def messages(self) -> list[EmailMessage]:
        return [received.message for received in self.received]

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            received = self.received
            if len(received) >= count:
                return received
            if time.monotonic() >= deadline:
                raise AssertionError(f"expected {count} message(s) within {timeout}s, {len(received)} arrived")
            time.sleep(0.02)

    def reject_next(self, code: int = 550, text: str = "5.1.1 mailbox unavailable", at: str = "RCPT") -> None:
        """The next RCPT TO (or DATA, with at="DATA") gets this reply instead of 250."""
        assert at in ("RCPT", "DATA"), at
        with self._lock:
            self._rejection = (at, f"{code} {text}")

    def _take_rejection(self, command: str) -> str | None:
        with self._lock:
            if self._rejection is None or self._rejection[0] != command:
                return None
            reply, self._rejection = self._rejection[1], None
            return reply

    def _keep(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert self.credentials is not None
        expected = LoginPassword(*(part.encode() for part in self.credentials))
        if isinstance(auth_data, LoginPassword) and auth_data == expected:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False: aiosmtpd then answers 535 itself (the default, True, sends nothing).
        return AuthResult(success=False, handled=False)


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rejection = self.owner._take_rejection("RCPT")
        if rejection is not None:
            return rejection
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rejection = self.owner._take_rejection("DATA")
        if rejection is not None:
            return rejection
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.owner._keep(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"


class _Controller(Controller):
    def __init__(self, owner: SmtpServer, **kwargs) -> None:
        super().__init__(_Handler(owner), **kwargs)
        self.owner = owner

    def factory(self) -> SMTP:
        if self.owner.tls is not None:
            options = {"tls_context": self.owner.tls, "require_starttls": True}
            if self.owner.credentials is not None:
                options.update(auth_required=True, authenticator=self.owner._authenticate)
            return SMTP(self.handler, **self.SMTP_kwargs, **options)
        if self.owner.credentials is None:
            return SMTP(self.handler, **self.SMTP_kwargs)
        with warnings.catch_warnings():
            # Deliberate: AUTH over plain TCP, on loopback only.
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return SMTP(self.handler, **self.SMTP_kwargs, auth_required=True, auth_require_tls=False,
                        authenticator=self.owner._authenticate)
