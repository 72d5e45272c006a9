"""The second step of a sign-in: a code from the user's authenticator app, or a recovery
code (this module checks it; flow.second_factor_page shows the form).

The first factor passed (a password, a mailed link, Google or GitHub, a PIN, or a live
session when the client asked for more with acr_values); the page carries that outcome
sealed under the service's second-factor key for ten minutes, and nothing is recorded
until the code is right. Wrong codes count in the sign-in throttles, per user and per
address.
"""

import json

from aiohttp import web

from astapa.domain.errors import (
    EmailNotVerifiedError,
    SecondFactorRejectedError,
    SessionEndedError,
    UserDisabledError,
    UserNotFoundError,
)
from astapa.oauth.authorize import AuthorizationRequest
from astapa.second_factor import SealError
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    ceremonies_key,
    clock_key,
    csrf_key,
    metrics_key,
    settings_key,
    throttles_key,
    writer_key,
)
from astapa.web.csrf import CsrfError, cookie_name, set_cookie
from astapa.app.accounts import SignedIn
from astapa.web.pages import render
from astapa.web.pages.flow import (
    PENDING_FOR,
    SESSION_COOKIE,
    authorization,
    enrolment_page,
    form,
    minutes,
    pending_for,
    redirect_errors,
    second_factor_page,
    to_client,
)

WRONG_CODE = "That code is not right. Try again with a new code from your app, or a recovery code."


@redirect_errors
async def verify(request: web.Request) -> web.StreamResponse:
    """POST /auth/second-factor."""
    web_app = request.app
    fields = await bodies.page_form(request)
    authz = await authorization(web_app, fields.get("authorization", ""))
    try:
        pending = json.loads(web_app[ceremonies_key].open(fields.get("pending", ""), pending_for(authz)))
    except (SealError, ValueError):
        pending = None
    if pending is None or web_app[clock_key].now() >= pending["until"]:
        return form(request, web_app, authz, "login", status=400, error="That took too long. Please sign in again.")
    again = _Again(request, authz, pending, fields.get("pending", ""))
    try:
        web_app[csrf_key].check(request, fields.get("csrf_token"))
    except CsrfError:
        return again(403, "This form has expired. Please try again.")
    if pending.get("continue"):
        return await _continue(request, authz, pending)
    throttles = web_app[throttles_key].sign_in(authz.client.mode)
    account, ip = f"{authz.client.project_id}/second-factor:{pending['sub']}", request.remote or "-"
    if wait := max(throttles.account.retry_after(account), throttles.ip.retry_after(ip)):
        response = again(429, f"Too many attempts. Try again in {minutes(wait)}.")
        response.headers["Retry-After"] = str(wait)
        return response
    # Each try counts against the user before its check (a right code clears the count),
    # so guesses sent at once cannot outrun the limit; against the address only if wrong.
    throttles.account.fail(account)
    if pending.get("enrol"):
        response = await _enrol(request, authz, pending, fields, again)
        if response.status == 200:
            throttles.account.clear(account)
        elif response.status == 400:  # a wrong first code
            throttles.ip.fail(ip)
        return response
    try:
        signed_in, _ = await web_app[writer_key].run(
            web_app[application_key].sign_in_with_second_factor, authz.code_request(), pending["sub"],
            pending["amr"], fields.get("code", "")[:64], web_app[clock_key].now(),
            authz.client.require_verified_email, pending.get("epoch", 0))
    except SecondFactorRejectedError:
        web_app[metrics_key].sign_in("wrong_credentials")
        throttles.ip.fail(ip)
        return again(401, WRONG_CODE)
    except (UserDisabledError, UserNotFoundError, EmailNotVerifiedError, SessionEndedError):
        return form(request, web_app, authz, "login", status=401, error="Please sign in again.")
    throttles.account.clear(account)
    web_app[metrics_key].sign_in("success")
    return to_client(request, web_app, authz, signed_in)


async def _enrol(request: web.Request, authz: AuthorizationRequest, pending: dict, fields: dict[str, str],
                 again) -> web.Response:
    """The project requires two-factor sign-in: with the first code of the key shown, it is
    on, the user is signed in with both factors, and sees their recovery codes once before
    going on (the session then takes them to the client)."""
    web_app = request.app
    try:
        (cookie, codes), _ = await web_app[writer_key].run(
            web_app[application_key].enrol_and_sign_in, authz.code_request(), pending["sub"], pending["amr"],
            fields.get("sealed", ""), fields.get("code", "")[:64], web_app[clock_key].now(),
            authz.client.require_verified_email, pending.get("epoch", 0))
    except SecondFactorRejectedError as e:
        if e.args[0] == "enabled already":  # set up meanwhile (another tab): a code is asked instead
            return again(401, "Two-factor sign-in is on already: type a code from your app.", enrol=False)
        return again(400, "That code is not right. Type the code your app shows now.", sealed=fields.get("sealed", ""))
    except (UserDisabledError, UserNotFoundError, EmailNotVerifiedError, SessionEndedError):
        return form(request, web_app, authz, "login", status=401, error="Please sign in again.")
    web_app[metrics_key].sign_in("success")
    csrf = web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    go_on = web_app[ceremonies_key].seal(json.dumps({
        "sub": pending["sub"], "continue": True, "until": web_app[clock_key].now() + PENDING_FOR}), pending_for(authz))
    response = render(request, "second_factor_codes.html", {
        "codes": codes, "query": authz.query, "client_name": authz.client.shown_name, "csrf_token": token,
        "pending": go_on}, brand=authz.client.branding)
    csrf.remember(response, new_cookie)
    set_cookie(response, web_app[settings_key], SESSION_COOKIE, cookie, max_age=web_app[settings_key].session_absolute_ttl)
    return response


async def _continue(request: web.Request, authz: AuthorizationRequest, pending: dict) -> web.StreamResponse:
    """After the recovery codes: the session the set-up started (this user's, with both
    factors) gets the code for the client, whatever the request's prompt asked of the
    sign-in it just was."""
    web_app = request.app
    cookie = request.cookies.get(cookie_name(web_app[settings_key], SESSION_COOKIE), "")
    try:
        signed_in, _ = await web_app[writer_key].run(
            web_app[application_key].resume_session, authz.code_request(), cookie, web_app[clock_key].now(), None,
            authz.client.require_verified_email)
    except (SessionEndedError, UserDisabledError, UserNotFoundError, EmailNotVerifiedError):
        signed_in = None
    if signed_in is None or signed_in.sub != pending["sub"]:
        return form(request, web_app, authz, "login", status=401, error="Please sign in again.")
    return to_client(request, web_app, authz, signed_in)


class _Again:
    """The code's form again, with the same pending sign-in."""

    def __init__(self, request: web.Request, authz: AuthorizationRequest, pending: dict, sealed: str) -> None:
        self.request, self.authz, self.pending, self.sealed = request, authz, pending, sealed

    def __call__(self, status: int, error: str, enrol: bool | None = None, sealed: str = "") -> web.Response:
        if self.pending.get("continue"):  # after the recovery codes: no code form to show again
            return form(self.request, self.request.app, self.authz, "login", status=status, error=error)
        enrol = self.pending.get("enrol", False) if enrol is None else enrol
        shown = SignedIn(None, self.pending["sub"], None, second_factor=tuple(self.pending["amr"]), enrolled=not enrol,
                         enrol=enrol, email=self.pending.get("email", ""), epoch=self.pending.get("epoch", 0))
        if enrol:
            return enrolment_page(self.request, self.authz, shown, status, error, self.sealed,
                                  self._reopened(sealed))
        return second_factor_page(self.request, self.authz, shown, status, error,
                                  None if enrol is False and self.pending.get("enrol") else self.sealed)

    def _reopened(self, sealed: str) -> tuple[str, str] | None:
        """The key the form carried, to show again after a wrong first code."""
        app = self.request.app[application_key]
        try:
            return app.enrolment_seed(self.authz.client.project_id, self.pending["sub"], sealed), sealed
        except ValueError:
            return None
