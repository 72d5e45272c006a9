"""Typed application keys, one per resource the running service holds (aiohttp-demos'
typedefs): server.py sets each in the cleanup context that owns it, handlers read
`request.app[key]`. Also the one read-your-write wait, which reads two of them."""

from typing import Callable

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from astapa.app import AstapaApplication
from astapa.app.issuing import TokenIssuer
from astapa.clock import SystemClock
from astapa.config import Settings
from astapa.keys import SigningKeys
from astapa.mail.mailer import Mailer
from astapa.metrics import Metrics
from astapa.oauth.errors import TemporarilyUnavailableError
from astapa.passwords import Passwords
from astapa.payments.jobs import Payments
from astapa.providers.service import Providers
from astapa.queries import ReadModels
from astapa.second_factor import SeedBox
from astapa.store.backends import Backend
from astapa.store.vault import Vault
from astapa.store.writer import Writer
from astapa.web.context import Background, ClientCache, Readiness, Throttles
from astapa.web.csrf import Csrf
from astapa.web.middleware import HTTPS_KEY
from projections.runner import Runner

__all__ = ["HTTPS_KEY"]

settings_key = web.AppKey("settings", Settings)
clock_key = web.AppKey("clock", SystemClock)
# Discovery documents as served: name -> (bytes, ETag).
discovery_key = web.AppKey("discovery", dict[str, tuple[bytes, str]])

application_key = web.AppKey("application", AstapaApplication)  # the commands and the event store
writer_key = web.AppKey("writer", Writer)  # the one writer thread
runner_key = web.AppKey("runner", Runner)  # the projections following the log
reads_key = web.AppKey("reads", ReadModels)
clients_key = web.AppKey("clients", ClientCache)
signing_keys_key = web.AppKey("signing_keys", SigningKeys)
issuer_key = web.AppKey("issuer", TokenIssuer)
passwords_key = web.AppKey("passwords", Passwords)
csrf_key = web.AppKey("csrf", Csrf)
throttles_key = web.AppKey("throttles", Throttles)
# Seals what a page carries through a ceremony (a passkey challenge, a sign-in waiting for
# its second factor): a key of its own, apart from the one sealing two-factor keys in the log.
ceremonies_key = web.AppKey("ceremonies", SeedBox)
mailer_key = web.AppKey("mailer", Mailer)
payments_key = web.AppKey("payments", Payments)
providers_key = web.AppKey("providers", Providers)
scheduler_key = web.AppKey("scheduler", AsyncIOScheduler)
background_key = web.AppKey("background", Background)
readiness_key = web.AppKey("readiness", Readiness)
metrics_key = web.AppKey("metrics", Metrics)  # this server's own Prometheus registry
backend_key = web.AppKey("backend", Backend)  # where the shared state lives
vault_key = web.AppKey("vault", Vault)  # the secrets: signing keys, page keys, project secrets
leads_key = web.AppKey("leads", Callable[[], bool])  # whether this process runs the one-time jobs
# The console's refreshes under way, by the SHA-256 of the refresh token they rotate: tabs
# finding their tokens expired at once share one rotation (web/console/session.py).
console_rotations_key = web.AppKey("console_rotations", dict)


async def await_read_model(web_app: web.Application, position: int) -> None:
    """Read your write: wait until the read models include `position` (0: nothing was
    written). Past the configured wait the answer is 503; the write itself is kept."""
    if position and not await web_app[runner_key].wait(position, web_app[settings_key].projection_wait):
        raise TemporarilyUnavailableError(detail="change recorded, read models lagging")


async def run_each(web_app: web.Application, command: Callable, calls: list[tuple]) -> int:
    """The command once per argument tuple, concurrently (the writer commits them in
    groups); how many recorded something, once the read models show it."""
    positions = await web_app[writer_key].run_each(command, calls)
    if positions:
        await await_read_model(web_app, max(positions))
    return len(positions)
