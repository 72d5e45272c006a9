"""Signing in to the console: it is an OAuth client of the built-in console project, like
any app of our users. /dashboard/login sends the browser to the hosted sign-in page with
the code flow and PKCE; /dashboard/callback redeems the code; the access token and the
refresh token are kept in HttpOnly cookies on /dashboard. Every console request checks the
access token as a resource server would (signature, expiry, revocation) and, once it has
expired, rotates the refresh token for a new one.
"""

import asyncio
from dataclasses import dataclass

from aiohttp import web

from astapa.console_queries import console_user
from astapa.crypto import equals, sha256_hex
from astapa.domain.console import CONSOLE_PROJECT_ID
from astapa.domain.errors import DomainError
from astapa.domain.refresh import split_refresh_token
from astapa.oauth.errors import OAuthError
from astapa.oauth.grants.outcomes import CodeRedemption, RefreshRotation
from astapa.oauth.jwt import verify_access_token
from astapa.oauth.pkce import s256
from astapa.queries import is_access_token_revoked, project_client_id
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clients_key,
    clock_key,
    console_rotations_key,
    csrf_key,
    issuer_key,
    reads_key,
    settings_key,
    signing_keys_key,
    writer_key,
)
from astapa.web.csrf import CsrfError, clear_cookie, cookie_name
from astapa.web.pages import message, page, see_other
from astapa.web.pages.flow import SESSION_COOKIE
from astapa.web.pages.own_clients import RESUMED, sign_in_request

PATH = "/dashboard"
FLOW_COOKIE = "astapa_console_flow"
ACCESS_COOKIE = "astapa_console_at"
REFRESH_COOKIE = "astapa_console_rt"


@dataclass(frozen=True)
class Viewer:
    """The signed-in console user."""

    sub: str
    email: str
    email_key: str
    admin: bool

    @property
    def actor(self) -> str:
        """How the log names this person's changes."""
        return f"console:{self.email}"


def callback_uri(issuer: str) -> str:
    return f"{issuer}{PATH}/callback"


async def console_client(web_app: web.Application):
    client_id = await web_app[reads_key].query(project_client_id, CONSOLE_PROJECT_ID)
    return await web_app[clients_key].get(client_id) if client_id else None


def _cookie(response: web.StreamResponse, web_app: web.Application, name: str, value: str,
            max_age: int | None) -> None:
    response.set_cookie(name, value, path=PATH, httponly=True, samesite="Lax",
                        secure=web_app[settings_key].secure_cookies, max_age=max_age)


def keep_tokens(response: web.StreamResponse, web_app: web.Application, body: dict) -> None:
    settings = web_app[settings_key]
    _cookie(response, web_app, ACCESS_COOKIE, body["access_token"], settings.refresh_idle_ttl)
    _cookie(response, web_app, REFRESH_COOKIE, body["refresh_token"], settings.refresh_idle_ttl)


def forget_tokens(response: web.StreamResponse) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE, FLOW_COOKIE):
        response.del_cookie(name, path=PATH)


def safe_next(value: str | None) -> str:
    """Only a console path: never another site (an open redirect)."""
    if value and value.startswith(PATH) and not value.startswith("//") and "\\" not in value \
            and all(0x20 < ord(c) < 0x7F for c in value):
        return value
    return PATH


@page
async def login(request: web.Request) -> web.StreamResponse:
    """GET /dashboard/login: an authorization request of the console's client, with PKCE
    (verifier, state and where to go after in an HttpOnly cookie). `?resume=1`: the console
    asks again by itself with prompt=none (see callback)."""
    web_app = request.app
    settings = web_app[settings_key]
    client = await console_client(web_app)
    if client is None:
        return message(request, "Console not ready", "The console is starting; try again in a moment.", 503)
    resume = request.query.get("resume") == "1"
    started = sign_in_request(client.client_id, callback_uri(settings.issuer), resume)
    response = web.HTTPFound(started.url)
    after = safe_next(request.query.get("next"))
    _cookie(response, web_app, FLOW_COOKIE, f"{started.state}.{started.verifier}.{after}", 600)
    raise response


@page
async def callback(request: web.Request) -> web.StreamResponse:
    """GET /dashboard/callback: check state, redeem the code with the PKCE verifier.

    A callback this browser is not waiting for (a setup or mailed link finished a sign-in
    started elsewhere) asks again with prompt=none, as the demo does: the browser is signed
    in at the hosted pages by then, so the answer is a code at once."""
    web_app = request.app
    settings = web_app[settings_key]
    state, _, rest = request.cookies.get(FLOW_COOKIE, "").partition(".")
    verifier, _, after = rest.partition(".")
    returned = request.query.get("state", "")
    resumed = returned.startswith(RESUMED)
    if "error" in request.query:  # nothing is forgotten: anyone can link here with an error
        return message(request, "Sign in again", "You are not signed in to the console.", 401,
                       back=f"{PATH}/login", back_text="Sign in")
    code = request.query.get("code")
    if not state or not code or not equals(returned, state):
        if resumed:
            return message(request, "Start again", "This sign-in was not started here, or it expired.", 400,
                           back=f"{PATH}/login", back_text="Sign in")
        raise web.HTTPFound(f"{PATH}/login?resume=1")
    client = await console_client(web_app)
    try:
        body = await web_app[issuer_key].redeem_code(CodeRedemption(
            client.client_id, code, callback_uri(settings.issuer), s256(verifier),
            settings.access_token_ttl, None, None))
    except (OAuthError, DomainError):
        return message(request, "Start again", "That sign-in cannot be used any more.", 400,
                       back=f"{PATH}/login", back_text="Sign in")
    response = see_other(safe_next(after))
    keep_tokens(response, web_app, body)
    response.del_cookie(FLOW_COOKIE, path=PATH)
    return response


@page
async def logout(request: web.Request) -> web.StreamResponse:
    """POST /dashboard/logout: the console's tokens and the hosted-pages session both end."""
    web_app = request.app
    form = await bodies.page_form(request)
    try:
        web_app[csrf_key].check(request, form.get("csrf_token"))
    except CsrfError:
        return message(request, "Start again", "This form has expired.", 403, back=PATH, back_text="Console")
    app = web_app[application_key]
    cookie = request.cookies.get(cookie_name(web_app[settings_key], SESSION_COOKIE))
    if cookie:
        try:
            await web_app[writer_key].run(app.end_session, cookie, web_app[clock_key].now())
        except DomainError:
            pass  # already ended
    await _revoke_tokens(request, web_app)
    response = message(request, "You are signed out", "You signed out of the Astapa console.", 200,
                       back=f"{PATH}/login", back_text="Sign in again")
    forget_tokens(response)
    clear_cookie(response, web_app[settings_key], SESSION_COOKIE)
    return response


# The tokens of a refresh made while answering this request: the answer sets them as cookies.
REFRESHED = web.RequestKey("console_tokens", dict)




async def _revoke_tokens(request: web.Request, web_app: web.Application) -> None:
    """The console's refresh token family ends, and with it its access tokens (as RFC 7009
    revocation does): cookies copied before the sign-out open nothing afterwards."""
    parts = split_refresh_token(request.cookies.get(REFRESH_COOKIE, ""))
    client = await console_client(web_app)
    if parts is None or client is None:
        return
    app = web_app[application_key]
    _, position = await web_app[writer_key].run(app.revoke_refresh_family, family_key=parts[0],
                                                by_client_id=client.client_id)
    await await_read_model(web_app, position)


class SignInNeeded(Exception):
    """No valid console sign-in in this browser."""


async def viewer_of(request: web.Request) -> Viewer:
    """The console user of this request: from the access token cookie, or after rotating
    the refresh token (the new cookies are set on the answer: see REFRESHED)."""
    web_app = request.app
    claims = await _claims(request, web_app)
    account = await web_app[reads_key].query(console_user, claims["sub"])
    if account is None or account["disabled"] or not account["email_verified"]:
        raise SignInNeeded()
    return Viewer(claims["sub"], account["email"], account["email_key"], bool(account["admin"]))


async def _claims(request: web.Request, web_app: web.Application) -> dict:
    settings, now = web_app[settings_key], web_app[clock_key].now()
    keys = web_app[signing_keys_key].current().verify_keys
    token = request.cookies.get(ACCESS_COOKIE, "")
    claims = verify_access_token(token, keys, settings.issuer, now) if token else None
    if claims is None:
        claims = await _refreshed(request, web_app)
    client = await console_client(web_app)
    # Only the console's own tokens: another client of the console project (one an admin
    # was tricked into approving, say) holds tokens of that project too.
    if client is None or claims.get("client_id") != client.client_id or claims.get("iss") != settings.issuer \
            or claims.get("project_id") != CONSOLE_PROJECT_ID or "sid" not in claims:
        raise SignInNeeded()
    if await web_app[reads_key].query(is_access_token_revoked, claims["jti"], claims["sid"]):
        raise SignInNeeded()
    return claims


async def _refreshed(request: web.Request, web_app: web.Application) -> dict:
    settings = web_app[settings_key]
    parts = split_refresh_token(request.cookies.get(REFRESH_COOKIE, ""))
    client = await console_client(web_app)
    if parts is None or client is None:
        raise SignInNeeded()
    key = sha256_hex(request.cookies[REFRESH_COOKIE])
    rotating = web_app[console_rotations_key]
    rotation = rotating.get(key)
    if rotation is None:  # the first request to find the tokens expired rotates them ...
        rotation = rotating[key] = asyncio.ensure_future(web_app[issuer_key].refresh(RefreshRotation(
            client.client_id, *parts, None, settings.access_token_ttl, None, None, client.refresh_reuse_grace)))
        rotation.add_done_callback(lambda _: rotating.pop(key, None))
    try:  # ... and the others that arrive meanwhile (other tabs) share its answer
        body = await asyncio.shield(rotation)
    except (OAuthError, DomainError):
        raise SignInNeeded() from None
    request[REFRESHED] = body
    claims = verify_access_token(body["access_token"], web_app[signing_keys_key].current().verify_keys,
                                 settings.issuer, web_app[clock_key].now())
    if claims is None:
        raise SignInNeeded()
    return claims
