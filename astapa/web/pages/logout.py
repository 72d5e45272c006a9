"""Signing out: the hosted sign-out page (/auth/logout) and OpenID Connect RP-Initiated
Logout 1.0 at each issuer's end_session_endpoint (/oauth/logout and
/projects/{project_id}/oauth/logout), GET or POST.

Signing out ends the browser session on the server, not only in the browser. A link alone
never signs anyone out: the user presses "Sign out" on the confirmation form (a POST with
its CSRF token), unless the relying party sends an ID token this issuer signed for the
user signed in here, which is proof enough (§2). Afterwards the browser goes back to the
relying party's post-logout redirect URI, when it named one registered for it, with its
`state`; otherwise it sees "You are signed out". A request that cannot be honoured is
refused on a page, and never redirected.
"""

import logging

from aiohttp import web

from astapa.oauth import logout as rules
from astapa.oauth.client_metadata import DocumentError
from astapa.oauth.jwt import verify_id_token_hint
from astapa.oauth.servers import AuthServer, server_for
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    clients_key,
    clock_key,
    csrf_key,
    settings_key,
    signing_keys_key,
    writer_key,
)
from astapa.web.csrf import CsrfError, clear_cookie, cookie_name
from astapa.web.pages import message, page, render, see_other
from astapa.web.pages.flow import SESSION_COOKIE

log = logging.getLogger("astapa.pages")


@page
async def end_session(request: web.Request) -> web.StreamResponse:
    """GET and POST {issuer}/oauth/logout (the end_session_endpoint)."""
    web_app = request.app
    settings = web_app[settings_key]
    server = server_for(settings.issuer, request.match_info.get("project_id"))
    if server is None or (server.project_id is not None
                          and await web_app[clients_key].project(server.project_id) is None):
        return message(request, "Not found", "There is no such sign-in service here.", status=404)
    try:
        params = await _parameters(request)
        hint = None
        if "id_token_hint" in params:
            hint = rules.Hint.of(verify_id_token_hint(
                params["id_token_hint"], web_app[signing_keys_key].current().verify_keys, server.issuer))
        logout = await _logout_request(web_app, server, params, hint)
    except rules.LogoutRefused as e:
        return refused(request, e)
    cookie = request.cookies.get(cookie_name(settings, SESSION_COOKIE))
    if cookie is None and request.method == "POST" and _cross_site(request, settings.issuer):
        # Browsers keep the SameSite=Lax session cookie from another site's POST: whether
        # someone is signed in here cannot be known, so the user is asked.
        return confirmation(request, web_app, logout, server.project_id)
    outcome = "none"
    if cookie:
        project_id, sub = logout.subject or (None, None)
        outcome, _ = await web_app[writer_key].run(web_app[application_key].end_session_of, cookie,
                                                   web_app[clock_key].now(), project_id, sub)
    if outcome == "other":  # someone is signed in, and nothing proves the request is theirs
        return confirmation(request, web_app, logout, server.project_id)
    return signed_out(request, web_app, logout, clear=cookie is not None)


@page
async def show_logout(request: web.Request) -> web.StreamResponse:
    """GET /auth/logout: a confirmation form; signing out never happens on a GET."""
    return confirmation(request, request.app, None, None)


@page
async def logout(request: web.Request) -> web.StreamResponse:
    """POST /auth/logout, the confirmation form: the session ends on the server, not only
    in the browser; then back to the relying party whose logout request the form carries."""
    web_app = request.app
    settings = web_app[settings_key]
    posted = await bodies.page_form(request)
    carried = posted.get("logout_request")
    try:
        server, logout = await _carried_request(web_app, carried) if carried else (None, None)
    except rules.LogoutRefused as e:
        return refused(request, e)
    try:
        web_app[csrf_key].check(request, posted.get("csrf_token"))
    except CsrfError:
        return confirmation(request, web_app, logout, server.project_id if server else None)
    cookie = request.cookies.get(cookie_name(settings, SESSION_COOKIE))
    if cookie:
        await web_app[writer_key].run(web_app[application_key].end_session, cookie, web_app[clock_key].now())
    return signed_out(request, web_app, logout, clear=True)


def confirmation(request: web.Request, web_app: web.Application, logout: rules.LogoutRequest | None,
                 project_id: str | None) -> web.Response:
    """The "Sign out" form, carrying the relying party's request (if any) to the POST."""
    csrf = web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    client = logout.client if logout is not None else None
    response = render(request, "logout.html", {
        "csrf_token": token,
        "logout_request": logout.carried(project_id) if logout is not None else None,
        "client_name": client.shown_name if client is not None else None,
    }, brand=client.branding if client is not None else None)
    csrf.remember(response, new_cookie)
    return response


def signed_out(request: web.Request, web_app: web.Application, logout: rules.LogoutRequest | None,
               clear: bool) -> web.Response:
    """Back to the relying party, or "You are signed out" with somewhere to go on: the demo
    when it is on (its Sign out button posts here), else the server's front page."""
    settings = web_app[settings_key]
    url = logout.return_url() if logout is not None else None
    if url is not None:
        response = see_other(url)
    else:
        back, back_text = ("/demo", "Back to the demo") if settings.demo else ("/", "Go to the start page")
        response = render(request, "message.html", {"title": "You are signed out",
                                                    "text": "You can close this page.",
                                                    "back": back, "back_text": back_text})
    if clear:
        clear_cookie(response, settings, SESSION_COOKIE)
    return response


def refused(request: web.Request, error: rules.LogoutRefused) -> web.Response:
    log.info("%s %s -> logout refused (%s)", request.method, request.path, error)
    return message(request, "This sign-out request is not valid",
                   "The application asked to sign you out in a way this server cannot accept. "
                   "Nothing was changed. Go back to the application and try again.", status=400)


async def _parameters(request: web.Request) -> dict[str, str]:
    """A GET's query, or a POST's form body (application/x-www-form-urlencoded, §2)."""
    if request.method != "POST":
        return rules.query_parameters(request.rel_url.raw_query_string)
    body = await bodies.read(request)
    if not body.strip():
        return {}
    if bodies.media_type(request) not in ("", bodies.FORM):
        raise rules.LogoutRefused("the body must be application/x-www-form-urlencoded")
    try:
        return rules.parameters(bodies.form_pairs(body, repeatable=None))
    except bodies.BodyError as e:
        raise rules.LogoutRefused(e.description) from None


async def _logout_request(web_app: web.Application, server: AuthServer, params: dict[str, str],
                          hint: rules.Hint | None) -> rules.LogoutRequest:
    client_id = rules.client_id_of(params, hint)
    client = None
    if client_id is not None:
        try:
            client = await web_app[clients_key].lookup(client_id, server.project_id)
        except DocumentError as e:
            raise rules.LogoutRefused(f"client metadata document: {e}") from None
    return rules.validate(params, client, hint)


async def _carried_request(web_app: web.Application, carried: str) -> tuple[AuthServer, rules.LogoutRequest]:
    """The relying party's request as the confirmation form carried it, checked again."""
    project_id, params = rules.uncarried(carried)
    server = server_for(web_app[settings_key].issuer, project_id)
    if server is None:
        raise rules.LogoutRefused("no such issuer")
    return server, await _logout_request(web_app, server, params, None)


def _cross_site(request: web.Request, issuer: str) -> bool:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    return origin not in (None, "null") and not issuer.startswith(origin + "/") and issuer != origin
