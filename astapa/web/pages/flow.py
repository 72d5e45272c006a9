"""What every hosted page of the authorization flow shares: the validated request, the
redirect of errors to the client, and the way back to the client with a code."""

import json
from urllib.parse import urlsplit

from aiohttp import web

from astapa.domain.errors import InvalidEmailError
from astapa.domain.identities import PROVIDER_NAMES
from astapa.domain.users import normalise_email
from astapa.oauth.authorize import (
    LOOPBACK_HOSTS,
    AuthorizationRequest,
    PageError,
    carry,
    client_id_of,
    error_url,
    parse_query,
    response_url,
    uncarry,
    validate,
)
from astapa.oauth.client_metadata import DocumentError
from astapa.oauth.errors import OAuthError
from astapa.oauth.servers import server_for
from astapa.web.appkeys import application_key, ceremonies_key, clients_key, clock_key, csrf_key, settings_key
from astapa.web.csrf import set_cookie
from astapa.web.pages import message, page, render, see_other
from astapa.web.pages.enrolment import enrolment_view
from astapa.web.pages.passkey import sign_in_offer

SESSION_COOKIE = "astapa_session"


async def authorization(web_app: web.Application, carried: str) -> AuthorizationRequest:
    """The authorization request a page carries (see authorize.carry), validated."""
    project_id, query = uncarry(carried)
    server = server_for(web_app[settings_key].issuer, project_id)
    if server is None:
        raise PageError("this authorization server does not exist")
    params, repeated = parse_query(query)
    try:
        client = await web_app[clients_key].lookup(client_id_of(params, repeated), server.project_id)
    except DocumentError as e:
        raise PageError("this application's client metadata document cannot be used",
                        detail=str(e)) from None
    return validate(query, client, server)


def received(request: web.Request) -> str:
    """The authorization request of a GET, carried as the pages carry it: a project's
    authorization endpoint adds the prefix; the pages' own query already has it."""
    return carry(request.match_info.get("project_id"), request.rel_url.raw_query_string)


def redirect_errors(handler):
    """Errors that may go back to the client do (RFC 6749 §4.1.2.1); the rest are pages."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except OAuthError as e:
            if e.redirect_uri is None:
                raise
            return see_other(error_url(e, request.app[settings_key].issuer))

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return page(wrapped)


def to_client(request: web.Request, web_app: web.Application, authz: AuthorizationRequest, signed_in) -> web.Response:
    """Back to the client with the code; or first the second factor's page, when one is
    due; or, for a third-party client the user has not yet allowed what it asks for, the
    consent page first."""
    settings = web_app[settings_key]
    if signed_in.second_factor is not None:
        return second_factor_page(request, authz, signed_in)
    if signed_in.consent:
        response = consent_page(request, web_app, authz)
    else:
        response = see_other(response_url(authz.redirect_uri, {
            "code": signed_in.code, "state": authz.state, "iss": authz.issuer}))
    if signed_in.session_cookie is not None:
        set_cookie(response, settings, SESSION_COOKIE, signed_in.session_cookie,
                   max_age=settings.session_absolute_ttl)
    return response


def email_of(value: str) -> tuple[str, str | None]:
    try:
        return normalise_email(value)
    except InvalidEmailError:
        return value.strip()[:254], None


def minutes(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def form(request: web.Request, web_app: web.Application, authz: AuthorizationRequest, mode: str, email: str = "",
         status: int = 200, error: str | None = None, notice: str | None = None,
         link_offer: str | None = None, error_field: str | None = None,
         error_link: tuple[str, str] | None = None, pin_offer: str | None = None) -> web.Response:
    """The sign-in or sign-up page. `link_offer`: the state of a Google or GitHub sign-in
    whose identity the password sign-in posted from this page will link. `error_field`
    ("email" or "password"): the field the error is about, which gets the focus (the
    autofocus attribute: no script), aria-invalid and the error as its description;
    `error_link`: (text, href) of a link after the error's text; `pin_offer`: the email whose
    PIN this browser holds (pin.offer), which the sign-in page offers first."""
    csrf = web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    response = render(request, "authorize.html", {
        "mode": mode,
        "client_name": authz.client.shown_name,
        "query": authz.query,
        "csrf_token": token,
        "email": email[:254],
        "error": error,
        "error_field": error_field if error else None,
        "error_link": error_link if error else None,
        "notice": notice,
        "link_offer": link_offer,
        "pin_offer": pin_offer if mode == "login" and not link_offer else None,
        "passkey": sign_in_offer(web_app, authz.client.project_id) if mode == "login" and not link_offer else None,
        "providers": [(name, PROVIDER_NAMES[name]) for name in authz.client.providers if name in PROVIDER_NAMES],
    }, status=status, brand=authz.client.branding, scripts=True)
    csrf.remember(response, new_cookie)
    return response


def consent_page(request: web.Request, web_app: web.Application, authz: AuthorizationRequest,
                 status: int = 200, error: str | None = None) -> web.Response:
    """Names the client, where it sends the user back (the host, plainly) and what it asks
    for; a client whose redirect URIs are all on this machine gets a warning."""
    csrf = web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    redirect = urlsplit(authz.redirect_uri)
    response = render(request, "consent.html", {
        "client_name": authz.client.shown_name,
        "client_id": authz.client.client_id,
        "redirect_host": redirect.hostname or redirect.scheme,
        "local_only": all((urlsplit(u).hostname or "") in LOOPBACK_HOSTS for u in authz.client.redirect_uris),
        "scopes": [(scope, SCOPE_TEXT.get(scope, scope)) for scope in authz.scopes],
        "resource": authz.resource,
        "query": authz.query,
        "csrf_token": token,
        "error": error,
    }, status=status, brand=authz.client.branding)
    csrf.remember(response, new_cookie)
    return response


SCOPE_TEXT = {
    "openid": "Know who you are",
    "email": "See your email address",
    "profile": "See your basic profile",
    "offline_access": "Stay signed in to act for you when you are away",
}


PENDING_FOR = 600  # seconds to type a second factor's code


def second_factor_page(request: web.Request, authz: AuthorizationRequest, signed_in, status: int = 200,
                       error: str | None = None, pending: str | None = None) -> web.Response:
    """The code's form; or, for a user with no second factor yet (the project requires one,
    or the client asked for one), the page that sets it up."""
    web_app = request.app
    if signed_in.enrol:
        return enrolment_page(request, authz, signed_in, status, error, pending)
    if not signed_in.enrolled:  # a PIN alone sets no second factor up
        return message(request, "Sign in another way first",
                       f"{authz.client.shown_name} asks for sign-in with a second factor. Sign in with your"
                       " password, a mailed link or another account to set it up.", 403,
                       back=f"/auth/login?{authz.query}", back_text="Sign in")
    if pending is None:
        pending = sealed_pending(web_app, authz, signed_in)
    csrf = web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    response = render(request, "second_factor.html", {
        "client_name": authz.client.shown_name, "query": authz.query, "csrf_token": token,
        "pending": pending, "error": error,
    }, status=status, brand=authz.client.branding)
    csrf.remember(response, new_cookie)
    return response


def sealed_pending(web_app: web.Application, authz: AuthorizationRequest, signed_in) -> str:
    """A sign-in waiting for its second factor, sealed for the page to carry (ten minutes)."""
    return web_app[ceremonies_key].seal(json.dumps({
        "sub": signed_in.sub, "amr": list(signed_in.second_factor), "enrol": signed_in.enrol,
        "email": signed_in.email, "epoch": signed_in.epoch,
        "until": web_app[clock_key].now() + PENDING_FOR}), pending_for(authz))


def enrolment_page(request: web.Request, authz: AuthorizationRequest, signed_in, status: int = 200,
                   error: str | None = None, pending: str | None = None,
                   enrolment: tuple[str, str] | None = None) -> web.Response:
    """The project requires two-factor sign-in and this user's grace is over: they set it
    up now, with the key shown (`enrolment`: the seed and its sealed form, kept after a
    wrong code), before they go on."""
    web_app = request.app
    seed, sealed = enrolment or web_app[application_key].new_enrolment(authz.client.project_id, signed_in.sub)
    csrf = web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    response = render(request, "second_factor_enrol.html", {
        "client_name": authz.client.shown_name, "query": authz.query, "csrf_token": token, "error": error,
        "pending": pending or sealed_pending(web_app, authz, signed_in),
        **enrolment_view(seed, sealed, signed_in.email, authz.client.shown_name),
    }, status=status, brand=authz.client.branding)
    csrf.remember(response, new_cookie)
    return response


def pending_for(authz: AuthorizationRequest) -> str:
    """What a sign-in waiting for its second factor is sealed for: the project and client
    it continues to."""
    return f"pending-sign-in:{authz.client.project_id}/{authz.client.client_id}"
