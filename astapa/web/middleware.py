"""One error renderer and the security headers every response carries.

OAuthErrors become RFC 6749 JSON objects with Cache-Control: no-store; their private
detail is logged, never sent. Anything unexpected is a logged 500 with no detail.
"""

import logging

from aiohttp import web
from eventsourcing.persistence import PersistenceError

from astapa.domain.errors import DomainError
from astapa.oauth.errors import OAuthError, RequestTooLargeError, ServerError, TemporarilyUnavailableError
from astapa.web.errors import from_domain

log = logging.getLogger("astapa.web")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

_HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed"}
HTTPS_KEY = web.AppKey("https", bool)  # the issuer is https


def render_error(error: OAuthError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers={**NO_STORE, **error.headers})


@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OAuthError as e:
        if e.detail:
            log.info("%s %s -> %s (%s)", request.method, request.path, e.error, e.detail)
        return render_error(e)
    except DomainError as e:
        return render_error(from_domain(e))
    except PersistenceError as e:  # the store is unreachable (a PostgreSQL restart, say): 503
        log.warning("%s %s -> 503 (%s)", request.method, request.path, e)
        return render_error(TemporarilyUnavailableError(detail=repr(e)))
    except web.HTTPRequestEntityTooLarge:
        return render_error(RequestTooLargeError())
    except web.HTTPException as e:
        if e.status in _HTTP_ERRORS:
            allow = {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None
            return web.json_response({"error": _HTTP_ERRORS[e.status]}, status=e.status, headers=allow)
        raise
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return render_error(ServerError())


@web.middleware
async def security_headers(request: web.Request, handler) -> web.StreamResponse:
    response = await handler(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)  # pages set a CSP of their own
    if request.app[HTTPS_KEY]:  # behind a TLS terminator: browsers keep to https (C-69)
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response
