"""create_app(settings): the aiohttp application, used by `astapa serve` and by the tests."""

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import threading
from functools import partial
from pathlib import Path
from time import time as wall_clock
from typing import Callable

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from astapa import logs
from astapa.app import AstapaApplication, Lifetimes
from astapa.app.issuing import TokenIssuer
from astapa.clock import SystemClock
from astapa.config import ConfigError, Settings, parse_smtp_url
from astapa.crypto import LinkTokens
from astapa.second_factor import SeedBox
from astapa.domain.errors import ConflictError, KeyRingMissingError
from astapa.domain.links import CHANGE_EMAIL, MAGIC_LINK, RESET_PASSWORD, VERIFY_EMAIL
from astapa.keys import SigningKeys, generate_key
from astapa.mail.compose import Composer, default_sender
from astapa.mail.mailer import Mailer
from astapa.mail.transports import OutboxTransport, SmtpTransport
from astapa.metrics import Metrics
from astapa.oauth.discovery import authorization_server_metadata, openid_configuration
from astapa.passwords import Passwords
from astapa.payments.credentials import ProjectKeys
from astapa.payments.jobs import Payments
from astapa.providers.service import Providers
from astapa.queries import ReadModels
from astapa.scheduler import start_scheduler
from astapa.store.files import PRIVATE_DIRECTORY, private_directory, tighten
from astapa.store import sealing
from astapa.store.person_keys import PersonKeysUnavailable
from astapa.store.backends import Backend
from astapa.store.vault import Vault
from astapa.store.writer import Writer
from astapa.web.appkeys import (
    application_key,
    backend_key,
    background_key,
    clients_key,
    console_rotations_key,
    clock_key,
    csrf_key,
    discovery_key,
    issuer_key,
    leads_key,
    mailer_key,
    metrics_key,
    passwords_key,
    payments_key,
    providers_key,
    readiness_key,
    reads_key,
    runner_key,
    scheduler_key,
    settings_key,
    signing_keys_key,
    ceremonies_key,
    throttles_key,
    vault_key,
    writer_key,
)
from astapa.web.context import Background, ClientCache, Readiness, Throttles, off_loop
from astapa.web.csrf import Csrf, load_page_key
from astapa.web.documents import Documents
from astapa.web.metrics import count_requests
from astapa.web.middleware import HTTPS_KEY, errors, security_headers
from astapa.web.oauth import document
from astapa.web.console.session import callback_uri as console_callback_uri
from astapa.web.pages.demo import callback_uri
from astapa.web.routes import setup_routes
from astapa.web.shared_throttles import SharedThrottles
from astapa.webhooks.follower import Follower
from astapa.webhooks.sender import Sender
from astapa.webhooks.service import Webhooks
from projections.runner import Runner

log = logging.getLogger("astapa")

MAX_BODY = 64 * 1024
LOCK_FILE = "astapa.lock"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NewKey = Callable[[Vault], tuple[str, dict]]  # as generate_key: a new signing key, kept in the vault


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


def require_sealed_log(app: AstapaApplication) -> None:
    """A log written before personal data was sealed is migrated before any server starts on
    it: its plaintext would outlive every erasure, and read models built now would miss
    what the migration adds (astapa/store/sealing.py)."""
    try:
        sealing.require_sealed(app)
        if not app.postgres:
            app.person_keys()  # a missing or foreign person-keys.db: refused now, not at the first sign-in
    except sealing.LogNotSealedError as e:
        raise ConfigError(str(e)) from None
    except PersonKeysUnavailable as e:
        raise ConfigError(str(e)) from None


def ensure_key_ring(app: AstapaApplication, vault: Vault, new_key: NewKey = generate_key) -> None:
    """First start: a current key and a published next key. (Two nodes starting at once
    may both make keys: one key ring is saved, the other's keys stay unused in the vault.)"""
    try:
        app.key_ring()
    except KeyRingMissingError:
        try:
            app.execute(app.create_key_ring, new_key(vault), new_key(vault))
        except ConflictError:
            app.key_ring()


def create_app(settings: Settings, clock: SystemClock | None = None,
               new_key: NewKey = generate_key) -> web.Application:
    """`new_key` makes the signing keys of a first start (the tests hand out pre-made keys)."""
    web_app = web.Application(middlewares=[count_requests, security_headers, errors], client_max_size=MAX_BODY)
    web_app[HTTPS_KEY] = settings.secure_cookies
    web_app[settings_key] = settings
    web_app[clock_key] = clock or SystemClock()
    web_app[discovery_key] = {
        "openid-configuration": document(openid_configuration(settings.issuer)),
        "oauth-authorization-server": document(authorization_server_metadata(settings.issuer)),
    }
    # One cleanup context per resource, started in this order and stopped in reverse.
    web_app.cleanup_ctx.extend([
        metrics, data_dir_lock, vault, partial(event_store, new_key=new_key), read_models, writer, page_security,
        shared_throttles, signing, client_cache, mailer, payments, providers, background, leadership, webhooks,
        scheduler, serving,
    ])
    aiohttp_jinja2.setup(web_app, loader=jinja2.FileSystemLoader(TEMPLATES))
    setup_routes(web_app, demo_pages=settings.demo)
    return web_app


async def metrics(web_app: web.Application):
    """This server's own Prometheus registry, first: every other part may count into it."""
    web_app[metrics_key] = Metrics()
    yield


async def data_dir_lock(web_app: web.Application):
    """The data dir, this user's only (as are its databases, keys and outbox: store/files.py),
    locked while serving (by the supervisor, when workers share it)."""
    settings = web_app[settings_key]
    private_directory(settings.data_dir)
    tighten(settings.outbox_dir, PRIVATE_DIRECTORY)
    web_app[backend_key] = Backend(settings.data_dir, settings.store_url, settings.secret_key, settings.shared_store)
    fd = lock_data_dir(settings.data_dir) if not settings.worker else None
    yield
    if fd is not None:
        os.close(fd)


async def vault(web_app: web.Application):
    """The secrets: files under the data dir, or sealed in the PostgreSQL store."""
    vault = web_app[vault_key] = await off_loop(web_app[backend_key].vault)
    yield
    if hasattr(vault, "close"):
        vault.close()


async def event_store(web_app: web.Application, new_key: NewKey = generate_key):
    """The commands and the event store: durable, with a key ring (and the demo project)."""
    settings = web_app[settings_key]
    app = await off_loop(web_app[backend_key].event_store, AstapaApplication)
    vault = web_app[vault_key]
    try:
        await off_loop(app.check_durability)
        await off_loop(require_sealed_log, app)
        app.lifetimes = lifetimes(settings)
        await off_loop(ensure_key_ring, app, vault, new_key)
        if settings.demo:
            await off_loop(app.execute, app.create_demo_project, callback_uri(settings.issuer))
        await off_loop(app.execute, app.ensure_console_project, console_callback_uri(settings.issuer))
        app.throttle_backend = web_app[backend_key]  # an erasure forgets its hits there (app/erasure.py)
        app.link_tokens = LinkTokens(await off_loop(load_page_key, vault, "links.key"))
        app.seed_box = SeedBox(await off_loop(load_page_key, vault, "second-factor.key"))
        web_app[ceremonies_key] = SeedBox(await off_loop(load_page_key, vault, "ceremonies.key"))
        web_app[application_key] = app
        yield
    finally:
        app.close()


async def read_models(web_app: web.Application):
    """The projections, caught up with the log before anything reads them."""
    settings = web_app[settings_key]
    runner = Runner(web_app[application_key], settings.read_db)
    fresh = partial(runner.reach_head, settings.projection_wait) if settings.shared_store else None
    reads = ReadModels(settings.read_db, fresh=fresh)
    try:
        await off_loop(runner.catch_up)
        web_app[runner_key] = runner
        web_app[reads_key] = reads
        yield
    finally:
        reads.close()
        runner.stop()


async def writer(web_app: web.Application):
    """The one writer thread; stopping drains queued commands before the store closes."""
    writer = Writer(web_app[application_key], on_commit=web_app[runner_key].nudge)
    writer.start()
    web_app[writer_key] = writer
    yield
    writer.stop()


async def page_security(web_app: web.Application):
    """Password checks (bcrypt, in a pool), the pages' CSRF key and the throttles."""
    settings = web_app[settings_key]
    # Its dummy hash (for unknown emails) is a bcrypt at full cost: off the loop too.
    passwords = await off_loop(lambda: Passwords(settings.bcrypt_cost, hash_queue=settings.bcrypt_hash_queue,
                                                 check_queue=settings.bcrypt_check_queue))
    web_app[passwords_key] = passwords
    web_app[csrf_key] = Csrf(await off_loop(load_page_key, web_app[vault_key]), settings)
    web_app[throttles_key] = Throttles.from_settings(settings, web_app[clock_key])
    yield
    passwords.close()


async def shared_throttles(web_app: web.Application):
    """Workers and nodes count failures together, through the store (shared_throttles.py)."""
    if not web_app[settings_key].shared_store:
        yield
        return
    sharing = SharedThrottles(web_app[throttles_key], await off_loop(web_app[backend_key].throttle_log))
    await sharing.start()
    task = asyncio.create_task(sharing.run())
    yield
    task.cancel()
    with contextlib.suppress(BaseException):
        await sharing.sync()  # what was counted last goes out before this process does
    sharing.close()


async def signing(web_app: web.Application):
    """The signing keys, rebuilt when the key ring changes or a retired key's tokens have
    all expired, and the token issuer that signs with them."""
    settings, clock, runner = web_app[settings_key], web_app[clock_key], web_app[runner_key]
    keys = SigningKeys(web_app[vault_key], settings.access_token_ttl, clock)
    await off_loop(keys.load, runner.conn)
    runner.listeners.append(lambda changed: keys.reload(changed, runner.conn))
    issuer = TokenIssuer(settings.issuer, web_app[application_key], web_app[writer_key], keys.current, clock,
                         on_issued=web_app[metrics_key].token_issued)
    web_app[signing_keys_key] = keys
    web_app[issuer_key] = issuer
    watcher = asyncio.create_task(drop_expired_keys(keys, clock, web_app[reads_key]))
    yield
    watcher.cancel()
    issuer.close()


async def client_cache(web_app: web.Application):
    """Clients by id, and clients known by their metadata document."""
    settings = web_app[settings_key]
    documents = Documents(web_app[clock_key], settings.cimd_allow_http_loopback,
                          settings.client_document_timeout,
                          settings.client_document_max_bytes, settings.cimd_ca_file)
    fresh = partial(reach_head, web_app) if settings.shared_store else None
    clients = ClientCache(web_app[reads_key], documents, fresh)
    web_app[runner_key].listeners.append(clients.invalidate)
    web_app[clients_key] = clients
    web_app[console_rotations_key] = {}
    yield
    await documents.close()


async def reach_head(web_app: web.Application) -> None:
    """Until this process has applied every event the store holds now (see ClientCache).
    SQLite answers the head's query in microseconds, without waiting on a writer: on the
    loop. PostgreSQL's is a round trip: off it. A store that cannot be asked is not waited
    for: the read models answer as they are."""
    settings, runner = web_app[settings_key], web_app[runner_key]
    try:
        if settings.store_url is None:
            head = runner.head()
        else:
            head = await asyncio.get_running_loop().run_in_executor(web_app[reads_key].pool, runner.head)
    except Exception as e:
        log.warning("cannot read the log's head (%s): reading the read models as they are", e)
        return
    if head > runner.visible_position:
        await runner.wait(head, settings.projection_wait)


async def mailer(web_app: web.Application):
    mailer = build_mailer(web_app)
    web_app[runner_key].listeners.append(mailer.on_read_models(asyncio.get_running_loop()))
    web_app[mailer_key] = mailer
    yield
    await mailer.stop()


async def payments(web_app: web.Application):
    settings = web_app[settings_key]
    payments = Payments(settings, web_app[application_key], web_app[writer_key], web_app[runner_key],
                        web_app[reads_key], web_app[clock_key], ProjectKeys(web_app[vault_key]))
    web_app[payments_key] = payments
    yield
    await payments.close()


async def providers(web_app: web.Application):
    """Google and GitHub sign-in."""
    settings = web_app[settings_key]
    providers = Providers(
        web_app[vault_key], await off_loop(load_page_key, web_app[vault_key], "external.key"),
        settings.google_discovery_url, settings.github_url, settings.github_api_url, settings.provider_timeout)
    web_app[providers_key] = providers
    yield
    await providers.close()


async def background(web_app: web.Application):
    """Work answered before it finished gets its time at shutdown."""
    work = Background()
    web_app[background_key] = work
    yield
    await work.drain(SHUTDOWN_TIMEOUT)


async def leadership(web_app: web.Application):
    """The one process of a cluster (or of the workers) that sends mail, ends plans and
    settles payments. Every process tries to lead each second; when the leader dies, its
    lock goes with it and another takes over, resuming from the log."""
    if not web_app[settings_key].shared_store:
        web_app[leads_key] = lambda: True
        yield
        return
    lead = await off_loop(web_app[backend_key].leadership, "jobs")
    mailer = web_app[mailer_key]
    state = {"leads": False}

    async def keep_trying() -> None:
        while True:
            try:  # a store that does not answer within the interval is not led
                leads = await asyncio.wait_for(off_loop(lead.try_lead), LEAD_INTERVAL)
            except Exception as e:
                log.warning("cannot reach the store to lead the jobs (%s)", e or type(e).__name__)
                leads = False
            if leads and not state["leads"]:
                log.info("this process now runs the one-time jobs (mail, plans, payments)")
                mailer.nudge()
            state["leads"] = leads
            await asyncio.sleep(LEAD_INTERVAL)

    web_app[leads_key] = lambda: state["leads"]
    mailer.leads = web_app[leads_key]
    task = asyncio.create_task(keep_trying())
    yield
    task.cancel()
    state["leads"] = False  # no job starts any more here; the mail under way finishes first
    await mailer.stop()
    await off_loop(lead.close)


async def webhooks(web_app: web.Application):
    """The follower of the log that schedules webhook deliveries, and the sender; they act
    only while this process leads the jobs (leadership)."""
    settings, app = web_app[settings_key], web_app[application_key]
    app.webhook_box = SeedBox(await off_loop(load_page_key, web_app[vault_key], "webhooks.key"))
    runner, reads, clock = web_app[runner_key], web_app[reads_key], web_app[clock_key]
    follower = Follower(app, web_app[writer_key], runner, reads, clock, web_app[leads_key])
    sender = Sender(app, web_app[writer_key], runner, reads, clock, settings.webhook_allow_http_loopback,
                    settings.webhook_timeout, settings.projection_wait)
    service = Webhooks(follower, sender)
    runner.listeners.append(service.on_read_models(asyncio.get_running_loop()))
    service.start()
    yield
    await service.stop()


async def scheduler(web_app: web.Application):
    settings = web_app[settings_key]
    jobs = start_scheduler(settings, web_app[clock_key], web_app[application_key], web_app[writer_key],
                           web_app[runner_key], web_app[reads_key], web_app[mailer_key], web_app[payments_key],
                           web_app[leads_key])
    web_app[scheduler_key] = jobs
    yield
    jobs.shutdown(wait=False)


async def serving(web_app: web.Application):
    """Every part is up: follow the log, send mail left queued by the last run, answer ok."""
    settings = web_app[settings_key]
    readiness = web_app[readiness_key] = Readiness()
    web_app[runner_key].start(settings.poll_interval)
    stopping = threading.Event()
    await off_loop(web_app[backend_key].follow_notifications, web_app[runner_key].nudge, stopping)
    web_app[mailer_key].nudge()
    readiness.ready = True
    log.info("astapa serving %s (data dir %s%s)", settings.issuer, settings.data_dir,
             f", worker {settings.worker}" if settings.worker else "")
    if settings.demo and settings.worker <= 1:
        print(f"Demo: open {settings.issuer}/demo in a browser, sign up, and see your tokens.", flush=True)
        print(f"Console: {settings.issuer}/dashboard; make its first admin with"
              " `.venv/bin/astapa console add-admin --email YOU@EXAMPLE.COM` and open the link it prints.", flush=True)
    yield
    readiness.ready = False
    stopping.set()


def lifetimes(settings: Settings) -> Lifetimes:
    return Lifetimes(
        code=settings.code_ttl, refresh_idle=settings.refresh_idle_ttl,
        refresh_absolute=settings.refresh_absolute_ttl, session_idle=settings.session_idle_ttl,
        session_absolute=settings.session_absolute_ttl, verify_link=settings.verify_link_ttl,
        reset_link=settings.reset_link_ttl, magic_link=settings.magic_link_ttl,
    )


def build_mailer(web_app: web.Application) -> Mailer:
    settings, app = web_app[settings_key], web_app[application_key]
    if settings.smtp_url:
        transport = SmtpTransport(parse_smtp_url(settings.smtp_url))
    else:
        transport = OutboxTransport(settings.outbox_dir)
        app.outbox_dir = settings.outbox_dir  # an erasure deletes its copies there (app/erasure.py)
    composer = Composer(settings.issuer, settings.mail_from or default_sender(settings.issuer),
                        app.link_tokens, {VERIFY_EMAIL: settings.verify_link_ttl,
                                          RESET_PASSWORD: settings.reset_link_ttl,
                                          MAGIC_LINK: settings.magic_link_ttl,
                                          CHANGE_EMAIL: settings.verify_link_ttl})
    return Mailer(app, web_app[writer_key], web_app[runner_key], web_app[reads_key], web_app[clock_key],
                  transport, composer, settings.mail_retry_base, settings.mail_retry_max, settings.projection_wait)


async def drop_expired_keys(keys: SigningKeys, clock: SystemClock, reads: ReadModels) -> None:
    """A retired key leaves the JWKS once every token it signed has expired; a snapshot
    whose rebuild failed is built again.

    Checked every second against the injected clock, so tests move time instead of sleeping.
    """
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(1.0)
        try:
            if keys.due:
                await loop.run_in_executor(reads.pool, reads.run, keys.load)
        except Exception:
            log.exception("refreshing the signing keys failed; retrying in a second")


def bind(host: str, port: int, shared: bool = False, listen: bool = True) -> socket.socket:
    """Take the port before anything starts, so a port in use changes nothing on disk.
    `shared`: workers each listen on the port (SO_REUSEPORT: the kernel spreads the
    connections over them)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listen:
            sock.listen(1024)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


# In-flight requests get this long to finish after SIGTERM: the writer's deadline plus a
# margin. (aiohttp drops a request body that arrives after shutdown began; such a request
# would otherwise hold the shutdown for as long as this allows.)
SHUTDOWN_TIMEOUT = 12
LEAD_INTERVAL = 1.0


def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT; in-flight requests finish first."""
    web.run_app(
        create_app(settings),
        sock=bind(settings.host, settings.port, shared=settings.workers > 1),
        access_log_class=AccessLogger,
        print=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        handle_signals=True,
    )
    log.info("astapa stopped")


def supervise(settings: Settings, argv: list[str]) -> int:
    """`--workers N`: hold the data dir and the port, and run N workers (astapa/workers.py).
    The port is held bound, never listening, so nothing but a worker takes it meanwhile."""
    from astapa.workers import Supervisor

    private_directory(settings.data_dir)
    fd = lock_data_dir(settings.data_dir)
    held = bind(settings.host, settings.port, shared=True, listen=False)
    try:
        log.info("astapa serving %s with %d workers (data dir %s)", settings.issuer, settings.workers,
                 settings.data_dir)
        return Supervisor(settings, argv).run()
    finally:
        held.close()
        os.close(fd)
