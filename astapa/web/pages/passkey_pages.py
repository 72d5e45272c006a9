"""The passkey pages: signing in with a passkey (the login form's passkey button) and
signing up with one and no password (the sign-up form's, then a page that creates it).
The ceremonies' state and options are astapa/web/pages/passkey.py's."""

import hashlib
import logging

from aiohttp import web

from astapa.app.accounts import new_sub
from astapa.app.passkeys import credential_key
from astapa.domain.errors import (
    EmailNotVerifiedError,
    EmailTakenError,
    PasskeyRejectedError,
    UserDisabledError,
    UserNotFoundError,
)
from astapa.oauth.authorize import AuthorizationRequest
from astapa.passkeys import PasskeyError, credential_id_of, verify_authentication
from astapa.queries import passkey_by_credential
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    background_key,
    clock_key,
    csrf_key,
    metrics_key,
    reads_key,
    writer_key,
)
from astapa.web.context import off_loop
from astapa.web.pages import render
from astapa.web.pages.flow import email_of, form, to_client
from astapa.web.pages.links import SIGN_UP_SENT, check_inbox, link_request, may_mail
from astapa.web.pages.passkey import (
    NOT_HERE,
    opened,
    passkey_name,
    registered,
    registration_offer,
    relying_party,
    unb64,
)

log = logging.getLogger(__name__)


async def sign_in(request: web.Request, authz: AuthorizationRequest, posted: dict[str, str]) -> web.StreamResponse:
    """POST /auth/login with action=passkey: verify, then sign the passkey's user in."""
    web_app = request.app
    project_id = authz.client.project_id
    state = opened(web_app, "sign-in", project_id, posted.get("passkey_state", ""))
    if state is None:
        return form(request, web_app, authz, "login", status=400, error="That took too long. Please try again.")
    response = posted.get("passkey_response", "")
    credential_id = credential_id_of(response)
    stored = await web_app[reads_key].query(passkey_by_credential, credential_key(credential_id)) \
        if credential_id else None
    if stored is None or stored["project_id"] != project_id:
        web_app[metrics_key].sign_in("wrong_credentials")
        return form(request, web_app, authz, "login", status=401, error=NOT_HERE)
    rp_id, origin = relying_party(web_app)
    try:
        count = await off_loop(verify_authentication, response, state["challenge"], rp_id, origin,
                               unb64(stored["public_key"]), stored["sign_count"])
        signed_in, _ = await web_app[writer_key].run(
            web_app[application_key].sign_in_with_passkey, authz.code_request(), credential_key(credential_id),
            count, hashlib.sha256(state["challenge"]).hexdigest(), web_app[clock_key].now(),
            authz.client.require_verified_email)
    except (PasskeyError, PasskeyRejectedError, UserDisabledError, UserNotFoundError) as e:
        log.info("passkey sign-in refused: %r (%r)", e, e.__cause__)
        web_app[metrics_key].sign_in("wrong_credentials")
        return form(request, web_app, authz, "login", status=401, error="This passkey could not be verified.")
    except EmailNotVerifiedError:
        return form(request, web_app, authz, "login", status=403, error="Verify your email address first.")
    web_app[metrics_key].sign_in("success")
    return to_client(request, web_app, authz, signed_in)


def signup_page(request: web.Request, authz: AuthorizationRequest, email: str, offer: dict,
                status: int = 200, error: str | None = None) -> web.Response:
    """The second step of a sign-up with a passkey: create it on this device."""
    csrf = request.app[csrf_key]
    token, new_cookie = csrf.token(request)
    response = render(request, "passkey_signup.html", {
        "client_name": authz.client.shown_name, "query": authz.query, "csrf_token": token, "email": email,
        "passkey": offer, "error": error,
    }, status=status, brand=authz.client.branding, scripts=True)
    csrf.remember(response, new_cookie)
    return response


async def finish_signup(request: web.Request, authz: AuthorizationRequest, posted: dict[str, str],
                        ) -> web.StreamResponse:
    """POST /auth/signup with action=passkey: the account, its passkey, its session and
    code (or its verification mail) in one save."""
    web_app = request.app
    state = opened(web_app, "sign-up", authz.client.project_id, posted.get("passkey_state", ""))
    if state is None:
        return form(request, web_app, authz, "signup", status=400, error="That took too long. Please try again.")
    email = state["email"]
    email, key = email_of(email)
    try:
        passkey = await registered(web_app, state, posted.get("passkey_response", ""))
    except PasskeyError as e:
        log.info("passkey sign-up refused: %r", e.__cause__)
        return signup_page(request, authz, email, _again(web_app, authz, state), 400, str(e))
    required = authz.client.require_verified_email
    try:
        signed_in, position = await web_app[writer_key].run(
            web_app[application_key].register_user_with_passkey, authz.code_request(), link_request(authz), email,
            key, state["sub"], passkey, passkey_name(web_app), web_app[clock_key].now(), not required,
            may_mail(request, web_app, authz, key))
    except (EmailTakenError, PasskeyRejectedError):
        if not required:
            return form(request, web_app, authz, "signup", email=email, status=409,
                        error="An account with this email already exists.", error_field="email")
        # As a password sign-up: the same page as a new account; the owner is told by mail.
        if may_mail(request, web_app, authz, key):
            web_app[background_key].later(web_app[writer_key].run(
                web_app[application_key].notify_signup_attempt, link_request(authz), key, web_app[clock_key].now()))
        return check_inbox(request, web_app, authz, SIGN_UP_SENT.format(email=email), email, resend=True)
    await await_read_model(web_app, position)
    if signed_in.code is None and not signed_in.consent and signed_in.second_factor is None:
        return check_inbox(request, web_app, authz, SIGN_UP_SENT.format(email=email), email, resend=True)
    return to_client(request, web_app, authz, signed_in)


def _again(web_app: web.Application, authz: AuthorizationRequest, state: dict) -> dict:
    return registration_offer(web_app, "sign-up", authz.client.project_id, authz.client.shown_name, state["sub"],
                              state["email"], [])


async def start_signup(request: web.Request, authz: AuthorizationRequest, posted: dict[str, str]) -> web.Response:
    """POST /auth/signup with action=passkey_start: the address, then the page that
    creates the passkey (the account is made only once it exists)."""
    email, key = email_of(posted.get("email", ""))
    if not key:
        return form(request, request.app, authz, "signup", email=email, status=400,
                    error="Enter a valid email address.", error_field="email")
    offer = registration_offer(request.app, "sign-up", authz.client.project_id, authz.client.shown_name,
                               new_sub(), email, [])
    return signup_page(request, authz, email, offer)
