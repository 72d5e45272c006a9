"""Hosted pages: plain HTML forms that work without JavaScript (aiohttp-jinja2 templates)."""

import functools
import logging
import secrets
from typing import Awaitable, Callable

import aiohttp_jinja2
from aiohttp import web
from eventsourcing.persistence import PersistenceError

from astapa.domain.branding import Branding
from astapa.domain.errors import DomainError
from astapa.oauth.errors import OAuthError
from astapa.passwords import PasswordsBusyError
from astapa.web.errors import page_answer

log = logging.getLogger("astapa.pages")

# No script at all; styles only from our own origin; never framed (RFC 9700 §4.16).
# No form-action: browsers apply it to the redirect after a form, which goes to the client.
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
            "object-src 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store", "Pragma": "no-cache"}


def render(request: web.Request, template: str, context: dict, status: int = 200,
           brand: Branding | None = None, scripts: bool = False) -> web.Response:
    """A page; with `brand`, the project's logo and colour on it (base.html): its colour in
    a style element this answer's CSP allows by nonce, its logo from the logo's origin.
    `scripts`: the page loads our own script files (passkeys need one); never inline."""
    headers = PAGE_HEADERS
    if scripts:
        headers = {**PAGE_HEADERS, "Content-Security-Policy": PAGE_CSP + "; script-src 'self'"}
    if brand is not None:
        nonce = secrets.token_urlsafe(16)
        context = {**context, "brand": brand, "style_nonce": nonce}
        headers = {**headers, "Content-Security-Policy": headers["Content-Security-Policy"].replace(
            "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'").replace(
            "img-src 'self'", f"img-src 'self' {brand.logo_origin}".rstrip())}
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers.update(headers)
    return response


def message(request: web.Request, title: str, text: str, status: int = 400,
            back: str | None = None, back_text: str = "") -> web.Response:
    """A page with a title, a sentence, and optionally a link to go on with."""
    return render(request, "message.html", {"title": title, "text": text, "back": back,
                                            "back_text": back_text}, status=status)


def answer(request: web.Request, error: Exception) -> web.Response:
    shown = page_answer(error)
    response = message(request, shown.title, shown.text, status=shown.status)
    if shown.status == 503:  # the store is busy or unreachable: a second is enough to try again
        response.headers["Retry-After"] = "1"
    return response


class Respond(Exception):
    """Answer with this page now (a form shown again, say), from however deep it was decided."""

    def __init__(self, response: web.Response) -> None:
        super().__init__()
        self.response = response


def page(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Errors on a page are pages: friendly text, the detail only in the log."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:  # a page's form, never a JSON error
            return message(request, "Too long", "What you sent is too long; shorten it and try again.", 413)
        except web.HTTPException:
            raise
        except Respond as r:
            return r.response
        except PasswordsBusyError as e:  # the bcrypt queue is full: come back shortly
            log.warning("%s %s -> 429 (%s)", request.method, request.path, e)
            response = answer(request, e)
            response.headers["Retry-After"] = str(e.retry_after)
            return response
        except OAuthError as e:
            log.info("%s %s -> %s (%s)", request.method, request.path, e.error, e.detail or e.description)
            return answer(request, e)
        except DomainError as e:
            log.info("%s %s -> %r", request.method, request.path, e)
            return answer(request, e)
        except PersistenceError as e:  # the store is unreachable (a PostgreSQL restart, say)
            log.warning("%s %s -> 503 (%s)", request.method, request.path, e)
            return answer(request, e)
        except Exception as e:
            log.exception("unexpected error in %s %s", request.method, request.path)
            return answer(request, e)

    return wrapped


def see_other(location: str) -> web.Response:
    """303 after a form (never 307/308, which would re-post the password: RFC 9700 §4.12)."""
    return web.Response(status=303, headers={"Location": location, **PAGE_HEADERS})
