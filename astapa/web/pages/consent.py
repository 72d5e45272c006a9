"""The consent page: a third-party client (one that registered itself or is known by its
metadata document) gets a code only once the signed-in user allows what it asks for.
The answer is remembered per user and client; asking for more asks again; denying sends
`access_denied` back to the client."""

from aiohttp import web

from astapa.domain.errors import (
    EmailNotVerifiedError,
    SessionEndedError,
    UserDisabledError,
    UserNotFoundError,
)
from astapa.oauth.authorize import PageError
from astapa.oauth.errors import AccessDeniedError
from astapa.web import bodies
from astapa.web.appkeys import application_key, clock_key, csrf_key, settings_key, writer_key
from astapa.web.csrf import CsrfError, cookie_name
from astapa.web.pages.flow import (
    SESSION_COOKIE,
    authorization,
    consent_page,
    form,
    redirect_errors,
    to_client,
)

SIGN_IN_AGAIN = "Your sign-in has ended. Sign in again to continue."


@redirect_errors
async def consent(request: web.Request) -> web.StreamResponse:
    """POST /auth/consent: Allow issues the code (and remembers the answer); Deny returns
    access_denied to the client."""
    web_app = request.app
    fields = await bodies.page_form(request)
    authz = await authorization(web_app, fields.get("authorization", ""))
    if not authz.client.third_party:
        raise PageError("this application does not ask for consent")
    try:
        web_app[csrf_key].check(request, fields.get("csrf_token"))
    except CsrfError:
        return consent_page(request, web_app, authz, status=403, error="This form has expired. Please try again.")
    action = fields.get("action")
    if action == "cancel":
        raise authz.refuse(AccessDeniedError("the user denied the request"))
    if action != "allow":
        return consent_page(request, web_app, authz, status=400, error="Choose Allow or Deny.")
    cookie = request.cookies.get(cookie_name(web_app[settings_key], SESSION_COOKIE))
    if not cookie:
        return form(request, web_app, authz, "login", status=401, error=SIGN_IN_AGAIN)
    try:
        signed_in, _ = await web_app[writer_key].run(web_app[application_key].grant_consent,
                                                     authz.code_request(), cookie,
                                            web_app[clock_key].now(), authz.client.require_verified_email)
    except (SessionEndedError, UserDisabledError, UserNotFoundError, EmailNotVerifiedError):
        return form(request, web_app, authz, "login", status=401, error=SIGN_IN_AGAIN)
    return to_client(request, web_app, authz, signed_in)
