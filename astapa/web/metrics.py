"""GET /metrics and the middleware that counts every answer by route.

The scrape is open to loopback clients (a Prometheus or an agent on the same machine), and
to any address that sends ASTAPA_METRICS_TOKEN as a bearer token. The peer is the TCP peer,
never a forwarded header (a client could write those): behind a reverse proxy every request
comes from the proxy, so either the proxy keeps /metrics to itself or the token is used.
"""

import asyncio
import ipaddress
import time

from aiohttp import web

from astapa.crypto import equals
from astapa.metrics import CONTENT_TYPE
from astapa.oauth.errors import InvalidTokenError
from astapa.queries import queued_mail_count
from astapa.web.appkeys import metrics_key, reads_key, runner_key, settings_key

UNMATCHED = "unmatched"  # the route label of a 404 or 405: the path asked for is never a label


def route_label(request: web.Request) -> str:
    """The matched route's name (every route has one: routes.py), else its path pattern."""
    route = request.match_info.route
    if route.name:
        return route.name
    return route.resource.canonical if route.resource is not None else UNMATCHED


@web.middleware
async def count_requests(request: web.Request, handler) -> web.StreamResponse:
    """Outermost, so it sees the status every other middleware settled on. A request the
    client abandoned (cancelled) was never answered and is not counted."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as e:  # redirects and the like, raised rather than returned
        _observe(request, e.status, started)
        raise
    except Exception:
        _observe(request, 500, started)
        raise
    _observe(request, response.status, started)
    return response


def _observe(request: web.Request, status: int, started: float) -> None:
    request.app[metrics_key].request(route_label(request), request.method, status, time.perf_counter() - started)


def is_loopback(remote: str | None) -> bool:
    """127.0.0.0/8 and ::1 (and IPv4 mapped into IPv6); a Unix socket or no peer is not."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def may_scrape(remote: str | None, authorization: str, token: str | None) -> bool:
    """Loopback always; anyone else with the configured token, compared in constant time."""
    if is_loopback(remote):
        return True
    scheme, _, presented = authorization.partition(" ")
    return token is not None and scheme.lower() == "bearer" and equals(presented.strip(), token)


async def metrics(request: web.Request) -> web.Response:
    """The gauges are read now, off the event loop (the lag reads the event store, the mail
    queue read.db); the counters are already in memory."""
    web_app = request.app
    if not may_scrape(request.remote, request.headers.get("Authorization", ""), web_app[settings_key].metrics_token):
        raise InvalidTokenError("metrics: not a loopback client, and not the metrics token")
    reads, runner = web_app[reads_key], web_app[runner_key]
    lag, queued = await asyncio.gather(
        asyncio.get_running_loop().run_in_executor(reads.pool, runner.lag), reads.query(queued_mail_count))
    body = web_app[metrics_key].render(lag, queued)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})
