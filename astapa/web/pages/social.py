"""Continue with Google or GitHub: the trip to the provider and back (checklist section J).

The sign-in and sign-up forms post `action=google|github`. We answer with a redirect to the
provider carrying a fresh `state` (recorded as an ExternalSignIn, with a hash of this
browser's binding cookie), PKCE S256 and, for Google, a nonce. The provider sends the
browser back to `/auth/callback/{provider}`; the state must be ours, unused, unexpired and
started in this browser. Then the code is exchanged server-side and the account it proves
goes through the linking rules (astapa.app.identities). Every failure is a page a person
can act on: the sign-in form with a message, or, when the state cannot be trusted, a page
that never redirects.
"""

import asyncio
import logging

from aiohttp import web

from astapa.app import LinkOffer
from astapa.crypto import random_key, random_secret
from astapa.domain.errors import (
    EmailNotVerifiedError,
    ExternalSignInError,
    ProviderEmailUntrustedError,
    ProviderEmailUnverifiedError,
    UserDisabledError,
)
from astapa.domain.identities import DENIED, FAILED, PROVIDER_NAMES, PROVIDERS
from astapa.oauth.authorize import AuthorizationRequest, without_login_hint
from astapa.providers import ProviderError
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clock_key,
    providers_key,
    reads_key,
    settings_key,
    throttles_key,
    writer_key,
)
from astapa.web.csrf import clear_cookie, cookie_name, set_cookie
from astapa.web.pages import message, see_other
from astapa.web.pages.flow import authorization, email_of, form, minutes, redirect_errors, to_client
from astapa.web.pages.links import send_verification

log = logging.getLogger("astapa.social")

BINDING_COOKIE = "astapa_external"
UNAVAILABLE = "{name} isn't answering right now. Try again in a moment, or sign in another way."
NOT_CONFIRMED = "We couldn't confirm your {name} sign-in. Try again, or sign in another way."
NOT_SET_UP = "{name} sign-in isn't set up for this app. Sign in another way."


def callback_uri(web_app: web.Application, provider: str) -> str:
    """What each project registers at Google and GitHub as its redirect URI."""
    return f"{web_app[settings_key].issuer}/auth/callback/{provider}"


def binding_of(request: web.Request, web_app: web.Application) -> str | None:
    value = request.cookies.get(cookie_name(web_app[settings_key], BINDING_COOKIE))
    return value if value and 20 <= len(value) <= 100 else None


async def start(request: web.Request, web_app: web.Application, authz: AuthorizationRequest, provider: str,
                mode: str, email: str) -> web.Response:
    """POST of the sign-in or sign-up form with action=google|github (CSRF checked)."""
    app, providers, throttles = web_app[application_key], web_app[providers_key], web_app[throttles_key]
    name = PROVIDER_NAMES[provider]
    client = None
    if provider in authz.client.providers:
        client = await asyncio.get_running_loop().run_in_executor(
            None, providers.client, authz.client.project_id, provider)
        if client is None:
            log.warning("project %s has %s sign-in on but no client secret file", authz.client.project_id, name)
    if client is None:
        return form(request, web_app, authz, mode, email=email, status=400, error=NOT_SET_UP.format(name=name))
    ip = request.remote or "-"
    wait = throttles.external_ip.retry_after(ip)
    if wait:
        response = form(request, web_app, authz, mode, email=email, status=429,
                        error=f"Too many attempts. Try again in {minutes(wait)}.")
        response.headers["Retry-After"] = str(wait)
        return response
    throttles.external_ip.fail(ip)
    binding = binding_of(request, web_app) or random_secret()
    state = f"{random_key()}.{random_secret()}"
    now = web_app[clock_key].now()
    try:
        url = await providers.by_name[provider].authorization_url(
            client, callback_uri(web_app, provider), state, providers.nonce(state),
            providers.challenge(state), authz.login_hint, now)
    except ProviderError as e:
        log.warning("%s sign-in could not start: %s", name, e)
        return form(request, web_app, authz, mode, email=email, status=502, error=UNAVAILABLE.format(name=name))
    # The login_hint went to the provider above; the trip, an event with no person to seal
    # it under, does not keep it.
    await web_app[writer_key].run(app.start_external_sign_in, authz.client.project_id, provider,
                                  without_login_hint(authz.query), state, binding, now)
    response = see_other(url)
    set_cookie(response, web_app[settings_key], BINDING_COOKIE, binding, max_age=app.lifetimes.link_offer
               + app.lifetimes.external_sign_in)
    return response


@redirect_errors
async def callback(request: web.Request) -> web.StreamResponse:
    """GET /auth/callback/{provider}: where Google and GitHub send the browser back."""
    web_app = request.app
    app, writer, providers = web_app[application_key], web_app[writer_key], web_app[providers_key]
    provider = request.match_info["provider"]
    if provider not in PROVIDERS:
        raise web.HTTPNotFound()
    name = PROVIDER_NAMES[provider]
    query = request.rel_url.query
    state, binding, now = query.get("state", "")[:200], binding_of(request, web_app), web_app[clock_key].now()
    try:
        trip = await asyncio.get_running_loop().run_in_executor(
            web_app[reads_key].pool, app.external_trip, state, binding)
        trip.check_callback(now)
        if trip.provider != provider:
            raise ExternalSignInError("provider")
    except ExternalSignInError as e:
        log.info("%s callback refused: %s", name, e.args[0])
        return spent(request, name)
    authz = await authorization(web_app, trip.authorization)

    async def give_up(outcome: str, reason: str, status: int, text: str) -> web.Response:
        try:
            await writer.run(app.end_external_sign_in, state, binding, outcome, reason[:200], now)
        except ExternalSignInError:
            return spent(request, name)
        return form(request, web_app, authz, "login", status=status, error=text)

    if "error" in query:
        if query["error"] == "access_denied":
            return await give_up(DENIED, "access_denied", 400, f"You cancelled signing in with {name}.")
        return await give_up(DENIED, query["error"], 400, NOT_CONFIRMED.format(name=name))
    code = query.get("code", "")
    if not code or len(code) > 2048:
        return await give_up(FAILED, "no code", 400, NOT_CONFIRMED.format(name=name))
    client = await asyncio.get_running_loop().run_in_executor(
        None, providers.client, authz.client.project_id, provider)
    if client is None or provider not in authz.client.providers:
        return await give_up(FAILED, "not configured", 400, NOT_SET_UP.format(name=name))
    try:  # one callback per trip goes on to the provider
        await writer.run(app.claim_external_sign_in, state, binding, now)
    except ExternalSignInError:
        return spent(request, name)
    try:
        account = await providers.by_name[provider].account(
            client, callback_uri(web_app, provider), code, providers.verifier(state), providers.nonce(state),
            now)
    except ProviderError as e:
        log.warning("%s sign-in failed: %s", name, e)
        if e.unavailable:
            return await give_up(FAILED, str(e), 502, UNAVAILABLE.format(name=name))
        return await give_up(FAILED, str(e), 400, NOT_CONFIRMED.format(name=name))
    try:
        outcome, position = await writer.run(
            app.sign_in_external, authz.code_request(), state, binding, account,
            now, authz.client.require_verified_email)
    except ExternalSignInError:
        return spent(request, name)
    except ProviderEmailUnverifiedError:
        return form(request, web_app, authz, "login", status=400, error=(
            f"Your {name} account has no verified email address. Verify it at {name}, "
            "or sign up with your email."))
    except ProviderEmailUntrustedError:
        return form(request, web_app, authz, "signup", email=account.email, status=400, error=(
            f"{name} can't confirm that {account.email} is yours. Sign up with your email here; "
            f"once it is verified, Continue with {name} offers to link."))
    except UserDisabledError:
        return form(request, web_app, authz, "login", status=403, error="This account can't sign in.")
    except EmailNotVerifiedError:
        email, key = email_of(account.email)
        return await send_verification(request, web_app, authz, email, key or "")
    await await_read_model(web_app, position)
    if isinstance(outcome, LinkOffer):
        return form(request, web_app, authz, "login", email=outcome.email, link_offer=state, notice=(
            f"You already have an account with {outcome.email}. Sign in to it to link your {name} account; "
            f"after that, Continue with {name} signs you in."))
    response = to_client(request, web_app, authz, outcome)
    clear_cookie(response, web_app[settings_key], BINDING_COOKIE)
    return response


def spent(request: web.Request, name: str) -> web.Response:
    """The state is unknown, used, expired, or from another browser: we cannot tell where
    to go back to, so nothing redirects."""
    return message(request, "This sign-in can't continue",
                   f"This {name} sign-in has expired, was already used, or was started in another browser. "
                   "Go back to the app and sign in again.", status=400)
