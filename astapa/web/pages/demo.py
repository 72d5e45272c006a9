"""`astapa serve --demo`: a tiny client app inside the server, to try the whole flow.

/demo starts an authorization request with PKCE (verifier and state in an HttpOnly
cookie), /demo/callback exchanges the code server-side and shows the decoded tokens, and
its Refresh button rotates the refresh token (kept in an HttpOnly cookie on /demo).
"""

import json
import secrets
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt

from astapa.app import DEMO_PROJECT_ID
from astapa.domain.refresh import split_refresh_token
from astapa.web.appkeys import context_key
from astapa.web.context import Context
from astapa.domain.errors import DomainError
from astapa.oauth.errors import OAuthError
from astapa.oauth.pkce import s256
from astapa.queries import project_client_id
from astapa.crypto import equals
from astapa.web.csrf import CsrfError
from astapa.web.pages import message, page, render

FLOW_COOKIE = "astapa_demo_flow"
REFRESH_COOKIE = "astapa_demo_refresh"


def callback_uri(issuer: str) -> str:
    return f"{issuer}/demo/callback"


async def demo_client(ctx: Context):
    client_id = await ctx.reads.query(project_client_id, DEMO_PROJECT_ID)
    return await ctx.clients.get(client_id) if client_id else None


@page
async def home(request: web.Request) -> web.StreamResponse:
    """GET /demo: what the demo shows, and the button that starts it."""
    return render(request, "demo.html", {"title": "Astapa demo", "tokens": None})


@page
async def start(request: web.Request) -> web.StreamResponse:
    """GET /demo/start: what an app does before sending its user to the sign-in page."""
    ctx = request.app[context_key]
    client = await demo_client(ctx)
    if client is None:
        return message(request, "Demo not ready", "The demo project does not exist yet.", 503)
    verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    query = urlencode({
        "response_type": "code", "client_id": client.client_id,
        "redirect_uri": callback_uri(ctx.settings.issuer), "scope": "openid email",
        "state": state, "code_challenge": s256(verifier), "code_challenge_method": "S256",
        "nonce": secrets.token_urlsafe(16),
    })
    response = web.HTTPFound(f"/auth/login?{query}")
    response.set_cookie(FLOW_COOKIE, f"{state}.{verifier}", path="/demo", httponly=True,
                        samesite="Lax", secure=ctx.settings.secure_cookies, max_age=600)
    raise response


@page
async def callback(request: web.Request) -> web.StreamResponse:
    """GET /demo/callback: check state, exchange the code (with the PKCE verifier)."""
    ctx = request.app[context_key]
    if "error" in request.query:
        return message(request, "Sign-in did not complete",
                       f"The sign-in page answered {request.query.get('error')!s}: "
                       f"{request.query.get('error_description', '')}")
    state, _, verifier = request.cookies.get(FLOW_COOKIE, "").partition(".")
    code = request.query.get("code")
    if not state or not code or not equals(request.query.get("state", ""), state):
        return message(request, "Start again", "This sign-in was not started here, or it expired.")
    client = await demo_client(ctx)
    if client is None:
        return message(request, "Demo not ready", "The demo project does not exist yet.", 503)
    try:
        body = await ctx.issuer.redeem_code(
            client.client_id, code, callback_uri(ctx.settings.issuer), s256(verifier),
            ctx.settings.access_token_ttl)
    except (OAuthError, DomainError):
        return message(request, "Start again", "That code cannot be used any more.")
    response = tokens_page(request, ctx, body)
    response.del_cookie(FLOW_COOKIE, path="/demo")
    return response


@page
async def refresh(request: web.Request) -> web.StreamResponse:
    """POST /demo/refresh: rotate the refresh token, show the new tokens."""
    ctx = request.app[context_key]
    posted = await request.post()
    token = posted.get("csrf_token")
    try:
        ctx.csrf.check(request, token if isinstance(token, str) else None)
    except CsrfError:
        return message(request, "Start again", "This form has expired.", 403)
    parts = split_refresh_token(request.cookies.get(REFRESH_COOKIE, ""))
    client = await demo_client(ctx)
    if parts is None or client is None:
        return message(request, "Start again", "There is no refresh token in this browser.")
    try:
        body = await ctx.issuer.refresh(client.client_id, *parts, None, ctx.settings.access_token_ttl)
    except (OAuthError, DomainError):
        return message(request, "Start again", "The refresh token no longer works (revoked, "
                       "expired or already used).", 400)
    return tokens_page(request, ctx, body)


def tokens_page(request: web.Request, ctx: Context, body: dict) -> web.Response:
    token, new_cookie = ctx.csrf.token(request)
    shown = [("Access token", body["access_token"])]
    if "id_token" in body:
        shown.append(("ID token", body["id_token"]))
    tokens = []
    for label, value in shown:
        decoded = jwt.decode(value, ctx.keys().verify_keys, algorithms=["RS256"])
        tokens.append({"label": label, "header": json.dumps(decoded.header, indent=2),
                       "claims": json.dumps(decoded.claims, indent=2)})
    response = render(request, "demo.html", {
        "title": "Signed in", "tokens": tokens, "csrf_token": token,
        "expires_in": body["expires_in"],
    })
    ctx.csrf.remember(response, new_cookie)
    response.set_cookie(REFRESH_COOKIE, body["refresh_token"], path="/demo", httponly=True,
                        samesite="Lax", secure=ctx.settings.secure_cookies,
                        max_age=ctx.settings.refresh_idle_ttl)
    return response
