"""PIN sign-in on the hosted pages (domain/pins.py says how a PIN is kept).

`/auth/pin` sets a PIN for the browser in use, for the project of its signed-in user,
after a full sign-in. The browser keeps the PIN's credential in a cookie of its own per
project, for as long as browsers keep cookies; the login page then offers "Sign in with
PIN" (authorize.py calls `offer` and `sign_in`).
"""

from aiohttp import web

from astapa.crypto import random_key, random_secret
from astapa.domain.errors import (
    EmailNotVerifiedError,
    PinRejectedError,
    SessionEndedError,
    UserDisabledError,
    UserNotFoundError,
)
from astapa.domain.ids import split_keyed_secret
from astapa.oauth.authorize import AuthorizationRequest
from astapa.pins import MAX_DIGITS, MIN_DIGITS, PinPolicyError, check_pin, pin_secret
from astapa.queries import pin_holder
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clients_key,
    clock_key,
    csrf_key,
    metrics_key,
    passwords_key,
    reads_key,
    settings_key,
    throttles_key,
    writer_key,
)
from astapa.web.csrf import CsrfError, clear_cookie, cookie_name, set_cookie
from astapa.web.pages import Respond, message, page, render
from astapa.web.pages.flow import SESSION_COOKIE, authorization, form, minutes, received, to_client
from astapa.web.pages.reauth import reauthenticated, signed_in_lately

PIN_COOKIE_AGE = 400 * 86400  # the longest browsers keep a cookie
NO_PIN_HERE = "This browser's PIN no longer works. Sign in with your email."


def pin_cookie(project_id: str) -> str:
    """One cookie per project: a browser may hold PINs for several apps of one server."""
    return f"astapa_pin_{project_id}"


def browser_pin(request: web.Request, project_id: str) -> tuple[str, str] | None:
    """This browser's PIN credential for the project: (pin_key, secret), or None."""
    value = request.cookies.get(cookie_name(request.app[settings_key], pin_cookie(project_id)))
    return split_keyed_secret(value) if value else None


async def offer(request: web.Request, authz: AuthorizationRequest) -> str | None:
    """Whose PIN this browser holds for the client's project (their email), when the
    project offers PIN sign-in and the PIN still works; None: offer no PIN."""
    if not authz.client.pin_sign_in or (parts := browser_pin(request, authz.client.project_id)) is None:
        return None
    return await request.app[reads_key].query(pin_holder, parts[0], authz.client.project_id)


async def sign_in(request: web.Request, authz: AuthorizationRequest, posted: dict[str, str]) -> web.StreamResponse:
    """POST /auth/login with action=pin: the try is counted, then the PIN checked in the
    bcrypt pool with this browser's credential; the tenth wrong one in a row forgets it."""
    web_app = request.app
    app, writer = web_app[application_key], web_app[writer_key]
    project_id = authz.client.project_id
    parts = browser_pin(request, project_id) if authz.client.pin_sign_in else None
    if parts is None:
        return _no_pin(request, authz, "This browser has no PIN for this app. Sign in with your email.")
    pin_key, secret = parts
    holder = await offer(request, authz)
    pin = posted.get("pin", "").replace(" ", "")
    if not (pin.isascii() and pin.isdigit() and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        return _pin_form(request, authz, holder, 400, f"Enter your PIN: {MIN_DIGITS} to {MAX_DIGITS} digits.")
    throttles = web_app[throttles_key].sign_in(authz.client.mode)
    account, ip = f"{project_id}/pin:{pin_key}", request.remote or "-"
    if wait := max(throttles.account.retry_after(account), throttles.ip.retry_after(ip)):
        web_app[metrics_key].sign_in("throttled")
        response = _pin_form(request, authz, holder, 429, f"Too many attempts. Try again in {minutes(wait)}.")
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        tried, _ = await writer.run(app.pin_to_try, pin_key, project_id)
    except (PinRejectedError, UserDisabledError, UserNotFoundError):
        return _no_pin(request, authz, NO_PIN_HERE)
    if not await web_app[passwords_key].verify(pin_secret(secret, pin), tried.pin_hash):
        web_app[metrics_key].sign_in("wrong_credentials")
        throttles.account.fail(account)
        throttles.ip.fail(ip)
        forgotten, _ = await writer.run(app.pin_was_wrong, pin_key)
        if forgotten:
            return _no_pin(request, authz, "Ten wrong PINs in a row: this browser's PIN is forgotten."
                                           " Sign in with your email.", 401)
        left = "1 try" if tried.tries_left == 1 else f"{tried.tries_left} tries"
        return _pin_form(request, authz, holder, 401, f"Wrong PIN. {left} left before it is forgotten.")
    throttles.account.clear(account)
    try:
        signed_in, _ = await writer.run(app.sign_in_with_pin, authz.code_request(), pin_key,
                                        web_app[clock_key].now(), authz.client.require_verified_email)
    except (PinRejectedError, UserDisabledError, UserNotFoundError):
        return _no_pin(request, authz, NO_PIN_HERE)
    except EmailNotVerifiedError:
        return _pin_form(request, authz, holder, 403, "Verify your email address first: sign in with your email.")
    web_app[metrics_key].sign_in("success")
    return to_client(request, web_app, authz, signed_in)


def _pin_form(request: web.Request, authz: AuthorizationRequest, holder: str | None, status: int,
              error: str) -> web.Response:
    return form(request, request.app, authz, "login", status=status, error=error, error_field="pin",
                pin_offer=holder)


def _no_pin(request: web.Request, authz: AuthorizationRequest, error: str, status: int = 400) -> web.Response:
    """The login form without the PIN, and the browser's dead credential dropped."""
    response = form(request, request.app, authz, "login", status=status, error=error)
    clear_cookie(response, request.app[settings_key], pin_cookie(authz.client.project_id))
    return response


# -- /auth/pin: setting a PIN ---------------------------------------------------------------------

@page
async def show_set_pin(request: web.Request) -> web.StreamResponse:
    """GET /auth/pin[?the authorization request]: the form, for a signed-in user whose
    project offers PIN sign-in."""
    owner, authz = await _signed_in_here(request, received(request))
    return _set_form(request, owner, authz)


@page
async def set_pin(request: web.Request) -> web.StreamResponse:
    """POST /auth/pin: set (or, with action=forget, forget) this browser's PIN."""
    web_app = request.app
    fields = await bodies.page_form(request)
    owner, authz = await _signed_in_here(request, fields.get("authorization", ""))
    try:
        web_app[csrf_key].check(request, fields.get("csrf_token"))
    except CsrfError:
        return _set_form(request, owner, authz, 403, "This form has expired. Please try again.")
    held = browser_pin(request, owner.project_id)
    if fields.get("action") == "forget":
        if held is not None:
            await web_app[writer_key].run(web_app[application_key].forget_pin, owner.project_id, owner.sub,
                                          held[0], "forgotten by the user")
        response = _done(request, authz, "PIN forgotten", "This browser no longer signs in with a PIN.")
        clear_cookie(response, web_app[settings_key], pin_cookie(owner.project_id))
        return response
    try:
        pin = check_pin(fields.get("pin", "")[:64], fields.get("pin_repeat", "")[:64])
    except PinPolicyError as e:
        return _set_form(request, owner, authz, 400, str(e), "pin_repeat" if "same" in str(e) else "pin")
    # A PIN is a way in for 400 days: a session alone, unless just signed in, sets none.
    if not signed_in_lately(web_app, owner) and (
            error := await reauthenticated(web_app, owner, fields.get("current_password", "")[:1024])):
        return _set_form(request, owner, authz, 401, error, "current_password")
    pin_key, secret = random_key(), random_secret()
    pin_hash = await web_app[passwords_key].hash(pin_secret(secret, pin))
    cookie = request.cookies.get(cookie_name(web_app[settings_key], SESSION_COOKIE), "")
    try:
        _, position = await web_app[writer_key].run(web_app[application_key].set_pin, cookie, pin_key, pin_hash,
                                                    held[0] if held else None, web_app[clock_key].now())
    except SessionEndedError:
        raise Respond(_sign_in_first(request, authz)) from None
    await await_read_model(web_app, position)  # the login page offers it as soon as this answers
    response = _done(request, authz, "PIN set", "In this browser you can now sign in with your PIN.")
    set_cookie(response, web_app[settings_key], pin_cookie(owner.project_id), f"{pin_key}.{secret}",
               max_age=PIN_COOKIE_AGE)
    return response


async def _signed_in_here(request: web.Request, carried: str):
    """This browser's signed-in user (SessionOwner) and the authorization request the page
    carries (None without one); a page saying why not otherwise (Respond)."""
    web_app = request.app
    authz = await authorization(web_app, carried) if carried else None
    cookie = request.cookies.get(cookie_name(web_app[settings_key], SESSION_COOKIE))
    try:
        if not cookie:
            raise SessionEndedError("no session")
        owner, _ = await web_app[writer_key].run(web_app[application_key].session_of, cookie, web_app[clock_key].now())
    except (SessionEndedError, UserDisabledError, UserNotFoundError):
        raise Respond(_sign_in_first(request, authz)) from None
    if authz is not None and authz.client.project_id != owner.project_id:
        raise Respond(_sign_in_first(request, authz))
    project = await web_app[clients_key].project(owner.project_id)
    if project is None or not project.pin_sign_in:
        raise Respond(message(request, "No PIN sign-in", "This app does not offer sign-in with a PIN.", 403))
    if list(owner.amr) == ["pin"]:
        raise Respond(message(request, "Sign in again first",
                              "A PIN is set after signing in with your password, a mailed link or another"
                              " account. Sign out, then sign in that way.", 403))
    return owner, authz


def _sign_in_first(request: web.Request, authz: AuthorizationRequest | None) -> web.Response:
    back = f"/auth/login?{authz.query}&prompt=login" if authz is not None else None
    return message(request, "Sign in first", "Sign in to set a PIN for this browser.", 401,
                   back=back, back_text="Sign in")


def _set_form(request: web.Request, owner, authz: AuthorizationRequest | None, status: int = 200,
              error: str | None = None, error_field: str | None = None) -> web.Response:
    csrf = request.app[csrf_key]
    token, new_cookie = csrf.token(request)
    response = render(request, "pin.html", {
        "email": owner.email, "query": authz.query if authz is not None else "", "csrf_token": token,
        "has_pin": browser_pin(request, owner.project_id) is not None, "error": error,
        "error_field": error_field if error else None, "min_digits": MIN_DIGITS, "max_digits": MAX_DIGITS,
        "ask_password": not signed_in_lately(request.app, owner),
    }, status=status, brand=authz.client.branding if authz is not None else None)
    csrf.remember(response, new_cookie)
    return response


def _done(request: web.Request, authz: AuthorizationRequest | None, title: str, text: str) -> web.Response:
    if authz is None:
        return message(request, title, text, 200)
    return message(request, title, text, 200, back=f"/auth/login?{authz.query}", back_text="Continue")

