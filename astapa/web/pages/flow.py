"""What every hosted page of the authorization flow shares: the validated request, the
redirect of errors to the client, and the way back to the client with a code."""

from aiohttp import web

from astapa.appkeys import context_key
from astapa.context import Context
from astapa.domain.errors import InvalidEmailError
from astapa.domain.identities import PROVIDER_NAMES
from astapa.domain.users import normalise_email
from astapa.oauth.authorize import (
    AuthorizationRequest,
    client_id_of,
    error_url,
    parse_query,
    response_url,
    validate,
)
from astapa.oauth.errors import OAuthError
from astapa.web.csrf import set_cookie
from astapa.web.pages import page, render, see_other

SESSION_COOKIE = "astapa_session"


async def authorization(ctx: Context, query: str) -> AuthorizationRequest:
    params, repeated = parse_query(query)
    client = await ctx.clients.get(client_id_of(params, repeated))
    return validate(query, client)


def redirect_errors(handler):
    """Errors that may go back to the client do (RFC 6749 §4.1.2.1); the rest are pages."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except OAuthError as e:
            if e.redirect_uri is None:
                raise
            return see_other(error_url(e, request.app[context_key].settings.issuer))

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return page(wrapped)


def to_client(ctx: Context, authz: AuthorizationRequest, signed_in) -> web.Response:
    response = see_other(response_url(authz.redirect_uri, {
        "code": signed_in.code, "state": authz.state, "iss": ctx.settings.issuer}))
    if signed_in.session_cookie is not None:
        set_cookie(response, ctx.settings, SESSION_COOKIE, signed_in.session_cookie,
                   max_age=ctx.settings.session_absolute_ttl)
    return response


def email_of(value: str) -> tuple[str, str | None]:
    try:
        return normalise_email(value)
    except InvalidEmailError:
        return value.strip()[:254], None


def minutes(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def form(request: web.Request, ctx: Context, authz: AuthorizationRequest, mode: str, email: str = "",
         status: int = 200, error: str | None = None, notice: str | None = None,
         link_offer: str | None = None) -> web.Response:
    """The sign-in or sign-up page. `link_offer`: the state of a Google or GitHub sign-in
    whose identity the password sign-in posted from this page will link."""
    token, new_cookie = ctx.csrf.token(request)
    response = render(request, "authorize.html", {
        "mode": mode,
        "client_name": authz.client.name,
        "query": authz.query,
        "csrf_token": token,
        "email": email[:254],
        "error": error,
        "notice": notice,
        "link_offer": link_offer,
        "providers": [(name, PROVIDER_NAMES[name]) for name in authz.client.providers if name in PROVIDER_NAMES],
    }, status=status)
    ctx.csrf.remember(response, new_cookie)
    return response
