"""The second step of a sign-in: a code from the user's authenticator app, or a recovery code.

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
    UserDisabledError,
    UserNotFoundError,
)
from astapa.oauth.authorize import AuthorizationRequest
from astapa.second_factor import SealError
from astapa.web import bodies
from astapa.web.appkeys import application_key, clock_key, csrf_key, metrics_key, throttles_key, writer_key
from astapa.web.csrf import CsrfError
from astapa.web.pages import message, render
from astapa.web.pages.flow import authorization, form, minutes, redirect_errors, to_client

PENDING_FOR = 600  # seconds to type the code
WRONG_CODE = "That code is not right. Try again with a new code from your app, or a recovery code."


def second_factor_page(request: web.Request, authz: AuthorizationRequest, signed_in, status: int = 200,
                       error: str | None = None, pending: str | None = None) -> web.Response:
    """The code's form; or, when the client asked for a second factor the user has not set
    up, a page saying how to set it up."""
    web_app = request.app
    if not signed_in.enrolled:
        return message(request, "Two-factor sign-in needed",
                       "This app asks for sign-in with a second factor. Turn on two-factor sign-in on your"
                       " account page first, then sign in again.", 403, back="/account", back_text="Your account")
    if pending is None:
        pending = web_app[application_key].seed_box.seal(json.dumps({
            "sub": signed_in.sub, "amr": list(signed_in.second_factor),
            "until": web_app[clock_key].now() + PENDING_FOR}), _pending(authz))
    csrf = web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    response = render(request, "second_factor.html", {
        "client_name": authz.client.shown_name, "query": authz.query, "csrf_token": token,
        "pending": pending, "error": error,
    }, status=status, brand=authz.client.branding)
    csrf.remember(response, new_cookie)
    return response


@redirect_errors
async def verify(request: web.Request) -> web.StreamResponse:
    """POST /auth/second-factor."""
    web_app = request.app
    fields = await bodies.page_form(request)
    authz = await authorization(web_app, fields.get("authorization", ""))
    try:
        pending = json.loads(web_app[application_key].seed_box.open(fields.get("pending", ""), _pending(authz)))
    except (SealError, ValueError):
        pending = None
    if pending is None or web_app[clock_key].now() >= pending["until"]:
        return form(request, web_app, authz, "login", status=400, error="That took too long. Please sign in again.")
    again = _Again(request, authz, pending, fields.get("pending", ""))
    try:
        web_app[csrf_key].check(request, fields.get("csrf_token"))
    except CsrfError:
        return again(403, "This form has expired. Please try again.")
    throttles = web_app[throttles_key].sign_in(authz.client.mode)
    account, ip = f"{authz.client.project_id}/second-factor:{pending['sub']}", request.remote or "-"
    if wait := max(throttles.account.retry_after(account), throttles.ip.retry_after(ip)):
        response = again(429, f"Too many attempts. Try again in {minutes(wait)}.")
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        signed_in, _ = await web_app[writer_key].run(
            web_app[application_key].sign_in_with_second_factor, authz.code_request(), pending["sub"],
            pending["amr"], fields.get("code", "")[:64], web_app[clock_key].now(),
            authz.client.require_verified_email)
    except SecondFactorRejectedError:
        web_app[metrics_key].sign_in("wrong_credentials")
        throttles.account.fail(account)
        throttles.ip.fail(ip)
        return again(401, WRONG_CODE)
    except (UserDisabledError, UserNotFoundError, EmailNotVerifiedError):
        return form(request, web_app, authz, "login", status=401, error="Please sign in again.")
    throttles.account.clear(account)
    web_app[metrics_key].sign_in("success")
    return to_client(request, web_app, authz, signed_in)


class _Again:
    """The code's form again, with the same pending sign-in."""

    def __init__(self, request: web.Request, authz: AuthorizationRequest, pending: dict, sealed: str) -> None:
        self.request, self.authz, self.pending, self.sealed = request, authz, pending, sealed

    def __call__(self, status: int, error: str) -> web.Response:
        from astapa.app import SignedIn

        shown = SignedIn(None, self.pending["sub"], None, second_factor=tuple(self.pending["amr"]))
        return second_factor_page(self.request, self.authz, shown, status, error, self.sealed)


def _pending(authz: AuthorizationRequest) -> str:
    """What a pending sign-in is sealed for: the project and client it continues to."""
    return f"pending-sign-in:{authz.client.project_id}/{authz.client.client_id}"
