"""`astapa serve --demo`: a tiny client app inside the server, to try the whole flow.

/demo starts an authorization request with PKCE (verifier and state in an HttpOnly
cookie), /demo/callback exchanges the code server-side and shows the decoded tokens (a
callback it is not waiting for, from a mailed link or a reload, asks again with
prompt=none), and its Refresh button rotates the refresh token (kept in an HttpOnly cookie
on /demo) and shows what changed in the access token.
"""

import json

from aiohttp import web
from joserfc import jwt

from astapa.app import DEMO_PROJECT_ID
from astapa.crypto import equals
from astapa.domain.errors import DomainError
from astapa.domain.refresh import split_refresh_token
from astapa.oauth.errors import OAuthError
from astapa.oauth.grants.outcomes import CodeRedemption, RefreshRotation
from astapa.oauth.pkce import s256
from astapa.queries import project_client_id
from astapa.web import bodies
from astapa.web.appkeys import clients_key, csrf_key, issuer_key, reads_key, settings_key, signing_keys_key
from astapa.web.csrf import CsrfError
from astapa.web.pages import message, page, render
from astapa.web.pages.own_clients import RESUMED, sign_in_request

FLOW_COOKIE = "astapa_demo_flow"
REFRESH_COOKIE = "astapa_demo_refresh"


def callback_uri(issuer: str) -> str:
    return f"{issuer}/demo/callback"


async def demo_client(web_app: web.Application):
    client_id = await web_app[reads_key].query(project_client_id, DEMO_PROJECT_ID)
    return await web_app[clients_key].get(client_id) if client_id else None


@page
async def home(request: web.Request) -> web.StreamResponse:
    """GET /demo: what the demo shows, and the button that starts it."""
    return render(request, "demo.html", {"title": "Astapa demo", "tokens": None})


@page
async def start(request: web.Request) -> web.StreamResponse:
    """GET /demo/start: what an app does before sending its user to the sign-in page.
    `?resume=1`: the demo asks again by itself (see callback), without a form (prompt=none)."""
    web_app = request.app
    settings = web_app[settings_key]
    client = await demo_client(web_app)
    if client is None:
        return message(request, "Demo not ready", "The demo project does not exist yet.", 503)
    resume = request.query.get("resume") == "1"
    started = sign_in_request(client.client_id, callback_uri(settings.issuer), resume)
    response = web.HTTPFound(started.url)
    response.set_cookie(FLOW_COOKIE, f"{started.state}.{started.verifier}", path="/demo", httponly=True,
                        samesite="Lax", secure=settings.secure_cookies, max_age=600)
    raise response


@page
async def callback(request: web.Request) -> web.StreamResponse:
    """GET /demo/callback: check state, exchange the code (with the PKCE verifier).

    A callback this browser is not waiting for is not a dead end: a mailed link (the
    verification link sent at sign-up, say) continues the sign-in it was asked from, whose
    state this page has already used (or forgotten, in another browser), and a reloaded
    callback carries a used code. Its code cannot be redeemed without the verifier, so the
    demo asks again, as an app would, with prompt=none: the link has just signed this
    browser in, so the answer is a new code at once. A resumed sign-in that fails too gets
    a page, never another round (a browser that keeps no cookies would loop)."""
    web_app = request.app
    settings = web_app[settings_key]
    state, _, verifier = request.cookies.get(FLOW_COOKIE, "").partition(".")
    returned = request.query.get("state", "")
    resumed = returned.startswith(RESUMED)
    if "error" in request.query:
        error = request.query.get("error", "")
        if resumed and error in ("login_required", "consent_required", "interaction_required"):
            response = message(request, "Sign in again", "You are not signed in to the demo any "
                               "more (you signed out, or the session ended).",
                               back="/demo/start", back_text="Sign in to the demo")
        else:
            response = message(request, "Sign-in did not complete",
                               f"The sign-in page answered {error}: "
                               f"{request.query.get('error_description', '')}",
                               back="/demo", back_text="Back to the demo")
        response.del_cookie(FLOW_COOKIE, path="/demo")
        return response
    code = request.query.get("code")
    if not state or not code or not equals(returned, state):
        if resumed:
            return message(request, "Start again", "This sign-in was not started here, or it expired.",
                           back="/demo/start", back_text="Sign in to the demo")
        raise web.HTTPFound("/demo/start?resume=1")
    client = await demo_client(web_app)
    if client is None:
        return message(request, "Demo not ready", "The demo project does not exist yet.", 503)
    try:
        body = await web_app[issuer_key].redeem_code(CodeRedemption(
            client.client_id, code, callback_uri(settings.issuer), s256(verifier),
            settings.access_token_ttl, None, None))
    except (OAuthError, DomainError):
        return message(request, "Start again", "That code cannot be used any more.",
                       back="/demo/start", back_text="Sign in to the demo")
    response = tokens_page(request, web_app, body)
    response.del_cookie(FLOW_COOKIE, path="/demo")
    return response


@page
async def refresh(request: web.Request) -> web.StreamResponse:
    """POST /demo/refresh: rotate the refresh token, show the new tokens and, against the
    access token the page showed before (its claims come back in the form), what changed."""
    web_app = request.app
    posted = await bodies.page_form(request)
    try:
        web_app[csrf_key].check(request, posted.get("csrf_token"))
    except CsrfError:
        return message(request, "Start again", "This form has expired.", 403,
                       back="/demo", back_text="Back to the demo")
    parts = split_refresh_token(request.cookies.get(REFRESH_COOKIE, ""))
    client = await demo_client(web_app)
    if parts is None or client is None:
        return message(request, "Start again", "There is no refresh token in this browser.",
                       back="/demo/start", back_text="Sign in to the demo")
    try:
        body = await web_app[issuer_key].refresh(RefreshRotation(
            client.client_id, *parts, None, web_app[settings_key].access_token_ttl, None, None,
            client.refresh_reuse_grace))
    except (OAuthError, DomainError):
        return message(request, "Start again", "The refresh token no longer works (revoked, "
                       "expired or already used).", 400,
                       back="/demo/start", back_text="Sign in to the demo")
    before = {claim: value for claim in COMPARED
              if isinstance(value := posted.get(f"previous_{claim}"), str)}
    return tokens_page(request, web_app, body, before)


# The access token's claims a refresh is compared on: what changes, and what must not.
COMPARED = ("iat", "exp", "jti", "sub", "sid")


def tokens_page(request: web.Request, web_app: web.Application, body: dict, before: dict[str, str] | None = None) -> web.Response:
    settings, csrf = web_app[settings_key], web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    shown = [("Access token", body["access_token"])]
    if "id_token" in body:
        shown.append(("ID token", body["id_token"]))
    tokens, access = [], {}
    for label, value in shown:
        decoded = jwt.decode(value, web_app[signing_keys_key].current().verify_keys, algorithms=["RS256"])
        tokens.append({"label": label, "header": json.dumps(decoded.header, indent=2),
                       "claims": json.dumps(decoded.claims, indent=2)})
        if label == "Access token":
            access = {claim: str(decoded.claims[claim]) for claim in COMPARED if claim in decoded.claims}
    changes = None
    if before is not None:
        changes = [{"claim": claim, "before": before.get(claim, "")[:100], "after": after,
                    "changed": before.get(claim) != after} for claim, after in access.items()]
    response = render(request, "demo.html", {
        "title": "Signed in", "tokens": tokens, "csrf_token": token,
        "expires_in": body["expires_in"], "access": access, "changes": changes,
    })
    csrf.remember(response, new_cookie)
    response.set_cookie(REFRESH_COOKIE, body["refresh_token"], path="/demo", httponly=True,
                        samesite="Lax", secure=settings.secure_cookies,
                        max_age=settings.refresh_idle_ttl)
    return response
