"""The consent page: a third-party client (one that registered itself or is known by its
metadata document) gets a code only once the signed-in user allows what it asks for.
The answer is remembered per user and client; asking for more asks again; denying sends
`access_denied` back to the client."""

from aiohttp import web

from astapa.web.appkeys import context_key
from astapa.domain.errors import (
    EmailNotVerifiedError,
    SessionEndedError,
    UserDisabledError,
    UserNotFoundError,
)
from astapa.oauth.authorize import PageError
from astapa.oauth.errors import AccessDeniedError
from astapa.web.csrf import CsrfError, cookie_name
from astapa.web.pages.flow import SESSION_COOKIE, authorization, consent_page, form, redirect_errors, to_client

SIGN_IN_AGAIN = "Your sign-in has ended. Sign in again to continue."


@redirect_errors
async def consent(request: web.Request) -> web.StreamResponse:
    """POST /auth/consent: Allow issues the code (and remembers the answer); Deny returns
    access_denied to the client."""
    ctx = request.app[context_key]
    posted = await request.post()
    fields = {k: v for k, v in posted.items() if isinstance(v, str)}
    authz = await authorization(ctx, fields.get("authorization", ""))
    if not authz.client.third_party:
        raise PageError("this application does not ask for consent")
    try:
        ctx.csrf.check(request, fields.get("csrf_token"))
    except CsrfError:
        return consent_page(request, ctx, authz, status=403, error="This form has expired. Please try again.")
    action = fields.get("action")
    if action == "cancel":
        raise authz.refuse(AccessDeniedError("the user denied the request"))
    if action != "allow":
        return consent_page(request, ctx, authz, status=400, error="Choose Allow or Deny.")
    cookie = request.cookies.get(cookie_name(ctx.settings, SESSION_COOKIE))
    if not cookie:
        return form(request, ctx, authz, "login", status=401, error=SIGN_IN_AGAIN)
    try:
        signed_in, _ = await ctx.writer.run(ctx.app.grant_consent, authz.code_request(), cookie,
                                            ctx.clock.now(), authz.client.require_verified_email)
    except (SessionEndedError, UserDisabledError, UserNotFoundError, EmailNotVerifiedError):
        return form(request, ctx, authz, "login", status=401, error=SIGN_IN_AGAIN)
    return to_client(request, ctx, authz, signed_in)
