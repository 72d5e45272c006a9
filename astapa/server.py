"""create_app(settings): the aiohttp application, used by `astapa serve` and by the tests."""

import asyncio
import fcntl
import logging
import os
import socket
from time import time as wall_clock
import sqlite3
import threading
from contextlib import ExitStack
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from astapa import logs
from astapa.app import AstapaApplication, Lifetimes
from astapa.web.appkeys import context_key
from astapa.clock import SystemClock
from astapa.config import ConfigError, Settings
from astapa.web.context import ClientCache, Context, ReadModels
from astapa.domain.errors import KeyRingMissingError
from astapa.domain.links import MAGIC_LINK, RESET_PASSWORD, VERIFY_EMAIL
from astapa.keys import build_snapshot, generate_key
from astapa.config import parse_smtp_url
from astapa.mail.compose import Composer, default_sender
from astapa.mail.mailer import Mailer
from astapa.mail.transports import OutboxTransport, SmtpTransport
from astapa.web.documents import Documents
from astapa.oauth.discovery import authorization_server_metadata, openid_configuration
from astapa.passwords import Passwords
from astapa.payments.credentials import ProjectKeys
from astapa.payments.jobs import Payments
from astapa.providers.service import Providers
from astapa.queries import longest_token_ttl
from astapa.scheduler import start_scheduler
from astapa.crypto import LinkTokens
from astapa.web.throttle import Throttle
from astapa.app.issuing import TokenIssuer
from astapa.web.csrf import Csrf, load_page_key
from astapa.web.pages.demo import callback_uri
from astapa.web.middleware import HTTPS_KEY, errors, security_headers
from astapa.web.oauth import document
from astapa.web.routes import setup_routes
from astapa.store.writer import Writer
from projections.runner import Runner

log = logging.getLogger("astapa")

MAX_BODY = 64 * 1024
LOCK_FILE = "astapa.lock"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class AccessLogger(AbstractAccessLogger):
    """Method, path (never the query string, which may hold secrets), status, duration.

    Formatted here and queued straight to the log writer, skipping the logging module's
    per-record machinery on the event loop; through the logger when no writer runs.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        message = f"{request.method} {request.path} {response.status} {time * 1000:.1f}ms"
        writer = logs.current
        if writer is None:
            self.logger.info("%s", message)
        elif self.logger.isEnabledFor(logging.INFO):
            writer.put(f"{logs.timestamp(wall_clock())} INFO {self.logger.name} {message}")


def lock_data_dir(data_dir: Path) -> int:
    """Hold an exclusive lock on the data dir while serving; a second server is refused."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(f"another astapa server is using data dir {str(data_dir)!r}") from None
    return fd


def ensure_key_ring(app: AstapaApplication, keys_dir: Path) -> None:
    """First start: a current key and a published next key."""
    try:
        app.key_ring()
    except KeyRingMissingError:
        app.execute(app.create_key_ring, generate_key(keys_dir), generate_key(keys_dir))


def create_app(settings: Settings, clock: SystemClock | None = None) -> web.Application:
    web_app = web.Application(middlewares=[security_headers, errors], client_max_size=MAX_BODY)
    web_app[HTTPS_KEY] = settings.secure_cookies
    web_app.cleanup_ctx.append(lambda a: service(a, settings, clock or SystemClock()))
    aiohttp_jinja2.setup(web_app, loader=jinja2.FileSystemLoader(TEMPLATES))
    setup_routes(web_app, demo_pages=settings.demo)
    return web_app


async def service(web_app: web.Application, settings: Settings, clock: SystemClock):
    """Start the service's parts in order; tear them down in reverse order."""
    loop = asyncio.get_running_loop()
    with ExitStack() as stack:
        lock_fd = lock_data_dir(settings.data_dir)
        stack.callback(os.close, lock_fd)

        app = AstapaApplication(settings.events_db)
        stack.callback(app.close)
        await loop.run_in_executor(None, app.check_durability)

        runner = Runner(app, settings.read_db)
        stack.callback(runner.stop)
        await loop.run_in_executor(None, runner.catch_up)
        app.lifetimes = lifetimes(settings)
        await loop.run_in_executor(None, ensure_key_ring, app, settings.keys_dir)
        if settings.demo:
            await loop.run_in_executor(None, app.execute, app.create_demo_project,
                                       callback_uri(settings.issuer))
        await loop.run_in_executor(None, runner.catch_up)
        # Its dummy hash (for unknown emails) is a bcrypt at full cost: off the loop too.
        passwords = await loop.run_in_executor(None, Passwords, settings.bcrypt_cost)
        stack.callback(passwords.close)
        page_key = await loop.run_in_executor(None, load_page_key, settings.keys_dir)
        app.link_tokens = LinkTokens(
            await loop.run_in_executor(None, load_page_key, settings.keys_dir, "links.key"))

        reads = ReadModels(settings.read_db)
        stack.callback(reads.close)
        writer = Writer(app, on_commit=runner.nudge)
        ctx = Context(
            settings=settings, clock=clock, app=app, writer=writer, runner=runner, reads=reads,
            clients=ClientCache(reads, Documents(
                clock, settings.cimd_allow_http_loopback, settings.client_document_timeout,
                settings.client_document_max_bytes, settings.cimd_ca_file)),
            issuer=None,  # type: ignore[arg-type]
            passwords=passwords, csrf=Csrf(page_key, settings),
            account_throttle=Throttle(clock, settings.login_failures_per_account,
                                      settings.login_failure_window),
            ip_throttle=Throttle(clock, settings.login_failures_per_ip, settings.login_failure_window),
            client_auth_throttle=Throttle(clock, settings.client_auth_failures,
                                          settings.token_failure_window),
            grant_throttle=Throttle(clock, settings.grant_failures, settings.token_failure_window),
            mail_throttle=Throttle(clock, settings.mails_per_address, settings.mail_window),
            link_ip_throttle=Throttle(clock, settings.link_requests_per_ip, settings.mail_window),
            external_ip_throttle=Throttle(clock, settings.external_sign_ins_per_ip, settings.mail_window),
            registration_throttle=Throttle(clock, settings.registrations_per_ip, settings.mail_window),
        )
        ctx.mailer = mailer = build_mailer(ctx, app.link_tokens)
        ctx.payments = Payments(ctx, ProjectKeys(settings.keys_dir))
        ctx.providers = Providers(
            settings.keys_dir, await loop.run_in_executor(None, load_page_key, settings.keys_dir, "external.key"),
            settings.google_discovery_url, settings.github_url, settings.github_api_url, settings.provider_timeout)
        ctx.issuer = TokenIssuer(settings.issuer, app, writer, ctx.keys, clock)
        stack.callback(ctx.issuer.close)
        ctx.discovery = {
            "openid-configuration": document(openid_configuration(settings.issuer)),
            "oauth-authorization-server": document(authorization_server_metadata(settings.issuer)),
        }

        keys = KeyLoader(ctx)
        await loop.run_in_executor(None, keys.load, runner.conn)
        runner.listeners += [ctx.clients.invalidate, lambda changed: keys.reload(changed, runner.conn),
                             mailer.on_read_models(loop)]
        writer.start()
        stack.callback(writer.stop)  # drains queued commands before the store closes
        runner.start(settings.poll_interval)
        web_app[context_key] = ctx
        watcher = asyncio.create_task(drop_expired_keys(ctx, keys))
        ctx.scheduler = scheduler = start_scheduler(ctx, mailer)
        mailer.nudge()  # mail left queued by the last run
        ctx.ready = True
        log.info("astapa serving %s (data dir %s)", settings.issuer, settings.data_dir)
        if settings.demo:
            print(f"Demo: open {settings.issuer}/demo in a browser, sign up, and see your tokens.",
                  flush=True)
        try:
            yield
        finally:
            ctx.ready = False
            watcher.cancel()
            scheduler.shutdown(wait=False)
            if ctx.background:
                await asyncio.wait(list(ctx.background), timeout=SHUTDOWN_TIMEOUT)
            await mailer.stop()
            await ctx.payments.close()
            await ctx.providers.close()
            await ctx.clients.documents.close()


def lifetimes(settings: Settings) -> Lifetimes:
    return Lifetimes(
        code=settings.code_ttl, refresh_idle=settings.refresh_idle_ttl,
        refresh_absolute=settings.refresh_absolute_ttl, session_idle=settings.session_idle_ttl,
        session_absolute=settings.session_absolute_ttl, verify_link=settings.verify_link_ttl,
        reset_link=settings.reset_link_ttl, magic_link=settings.magic_link_ttl,
    )


def build_mailer(ctx: Context, link_tokens: LinkTokens) -> Mailer:
    settings = ctx.settings
    if settings.smtp_url:
        transport = SmtpTransport(parse_smtp_url(settings.smtp_url))
    else:
        transport = OutboxTransport(settings.outbox_dir)
    composer = Composer(settings.issuer, settings.mail_from or default_sender(settings.issuer),
                        link_tokens, {VERIFY_EMAIL: settings.verify_link_ttl,
                                      RESET_PASSWORD: settings.reset_link_ttl,
                                      MAGIC_LINK: settings.magic_link_ttl})
    return Mailer(ctx, transport, composer, settings.mail_retry_base, settings.mail_retry_max)


class KeyLoader:
    """Builds the key snapshot from read.db and the PEM files, one build at a time.

    The projection thread rebuilds when the key ring changes; the expiry watcher rebuilds
    when a retired key's tokens have all expired. Each build reads inside the lock, so a
    build can never replace a newer snapshot with an older read.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()

    def load(self, conn: sqlite3.Connection) -> None:
        settings = self.ctx.settings
        with self._lock:
            max_ttl = longest_token_ttl(conn, settings.access_token_ttl)
            self.ctx.snapshot = build_snapshot(conn, settings.keys_dir, self.ctx.clock.now(), max_ttl)

    def reload(self, changed: set[str], conn: sqlite3.Connection) -> None:
        if "keys" in changed:
            self.load(conn)


async def drop_expired_keys(ctx: Context, keys: KeyLoader) -> None:
    """A retired key leaves the JWKS once every token it signed has expired.

    Checked every second against the injected clock, so tests move time instead of sleeping.
    """
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(1.0)
        try:
            if ctx.clock.now() >= ctx.keys().valid_until:
                await loop.run_in_executor(ctx.reads.pool, ctx.reads.run, keys.load)
        except Exception:
            log.exception("refreshing the signing keys failed; retrying in a second")


def bind(host: str, port: int) -> socket.socket:
    """Take the port before anything starts, so a port in use changes nothing on disk."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


# In-flight requests get this long to finish after SIGTERM: the writer's deadline plus a
# margin. (aiohttp drops a request body that arrives after shutdown began; such a request
# would otherwise hold the shutdown for as long as this allows.)
SHUTDOWN_TIMEOUT = 12


def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT; in-flight requests finish first."""
    web.run_app(
        create_app(settings),
        sock=bind(settings.host, settings.port),
        access_log_class=AccessLogger,
        print=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        handle_signals=True,
    )
    log.info("astapa stopped")
