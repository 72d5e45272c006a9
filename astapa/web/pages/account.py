"""The account page (`/account`): people manage their own sign-in, through the hosted
session of the browser (an app links its users here once they are signed in).

Password, two-factor, PINs, passkeys, the apps signed in, and closing the account. Each
change that could lock the owner out, or let someone else in, asks again for what proves
the person: the current password (or a sign-in of the last ten minutes, for accounts
without one), or a code from the authenticator app. Every form posts with a CSRF token;
no page needs JavaScript except adding a passkey.
"""

from dataclasses import dataclass

from aiohttp import web

from astapa.app.accounts import SessionOwner
from astapa.domain.errors import (
    EmailTakenError,
    InvalidEmailError,
    PasskeyRejectedError,
    SecondFactorRejectedError,
    SessionEndedError,
    UserDisabledError,
    UserNotFoundError,
)
from astapa.domain.console import CONSOLE_PROJECT_ID
from astapa.domain.sessions import PIN
from astapa.domain.users import normalise_email
from astapa.passkeys import PasskeyError
from astapa.passwords import PasswordPolicyError, check_policy
from astapa.queries import account_page, user_password_hash
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clients_key,
    clock_key,
    csrf_key,
    passwords_key,
    reads_key,
    settings_key,
    throttles_key,
    writer_key,
)
from astapa.web.csrf import CsrfError, clear_cookie, cookie_name, set_cookie
from astapa.web.pages import Respond, message, page, render, see_other
from astapa.web.pages.enrolment import enrolment_view
from astapa.web.pages.flow import SESSION_COOKIE, minutes
from astapa.web.pages.links import may_mail_to
from astapa.web.pages.passkey import opened, passkey_name, registered, registration_offer
from astapa.web.pages.pin import browser_pin, pin_cookie
from astapa.web.pages.reauth import is_key, reauthenticated


DONE = {
    "password": "Password changed. You are signed out everywhere else.",
    "two_factor_off": "Two-factor sign-in is off.",
    "pin": "PIN forgotten.",
    "sign_in": "That app is signed out.",
    "passkey_added": "Passkey added. You can sign in with it now.",
    "passkey_removed": "Passkey removed.",
    "email_sent": "We mailed a link to your new address: your account uses it once you open the link.",
}


@dataclass
class Visit:
    """A request to the account page by the signed-in owner of the browser's session."""

    request: web.Request
    owner: SessionOwner
    cookie: str
    project_name: str
    pin_sign_in: bool
    fields: dict[str, str]
    has_password: bool

    @property
    def web_app(self) -> web.Application:
        return self.request.app

    async def run(self, command, *args):
        """A command of the application, on the writer; its value."""
        value, position = await self.web_app[writer_key].run(command, *args)
        await await_read_model(self.web_app, position)  # the page shows it at once
        return value


async def visit(request: web.Request, posted: bool) -> Visit:
    """The owner of this browser's live session, and on a POST its checked form; a page
    saying why not (Respond) otherwise."""
    web_app = request.app
    fields = await bodies.page_form(request) if posted else {}
    cookie = request.cookies.get(cookie_name(web_app[settings_key], SESSION_COOKIE), "")
    try:
        if not cookie:
            raise SessionEndedError("no session")
        owner, _ = await web_app[writer_key].run(web_app[application_key].session_of, cookie, web_app[clock_key].now())
    except (SessionEndedError, UserDisabledError, UserNotFoundError):
        raise Respond(message(request, "Sign in first", "Sign in to your app in this browser, then come back to"
                              " this page to manage your account.", 401)) from None
    if posted:
        try:
            web_app[csrf_key].check(request, fields.get("csrf_token"))
        except CsrfError:
            raise Respond(message(request, "This form has expired", "Go back, reload the page and try again.",
                                  403, back="/account", back_text="Your account")) from None
    project = await web_app[clients_key].project(owner.project_id)
    has_password = await web_app[reads_key].query(user_password_hash, owner.project_id, owner.sub) is not None
    return Visit(request, owner, cookie, project.name if project else "", bool(project and project.pin_sign_in),
                 fields, has_password)


def show(v: Visit, template: str, status: int = 200, scripts: bool = False, **context) -> web.Response:
    csrf = v.web_app[csrf_key]
    token, new_cookie = csrf.token(v.request)
    response = render(v.request, template, {"email": v.owner.email, "app_name": v.project_name,
                                            "csrf_token": token, **context}, status=status, scripts=scripts)
    csrf.remember(response, new_cookie)
    return response


async def overview(v: Visit, status: int = 200, errors: dict | None = None) -> web.Response:
    web_app = v.web_app
    shown = await web_app[reads_key].query(account_page, v.owner.project_id, v.owner.sub, web_app[clock_key].now())
    two_factor, _ = await web_app[writer_key].run(web_app[application_key].two_factor_state, v.owner.project_id,
                                                  v.owner.sub)
    held = browser_pin(v.request, v.owner.project_id)
    new_passkey = registration_offer(web_app, "register", v.owner.project_id, v.project_name, v.owner.sub,
                                     v.owner.email, [key["credential_id"] for key in shown["passkeys"]])
    return show(v, "account.html", status, scripts=True, **shown, new_passkey=new_passkey,
                this_browser=v.cookie.partition(".")[0],
                email_changes=v.owner.project_id != CONSOLE_PROJECT_ID, two_factor=two_factor[0], recovery_left=two_factor[1],
                pin_sign_in=v.pin_sign_in, this_pin=held[0] if held else None,
                can_set_pin=v.pin_sign_in and list(v.owner.amr) != [PIN], errors=errors or {},
                notice=DONE.get(v.request.query.get("done", "")))


def done(what: str) -> web.Response:
    return see_other(f"/account?done={what}")


# -- the overview ---------------------------------------------------------------------------------

@page
async def show_account(request: web.Request) -> web.StreamResponse:
    """GET /account."""
    return await overview(await visit(request, posted=False))


@page
async def change_password(request: web.Request) -> web.StreamResponse:
    """POST /account/password: the current password, then the new one (the password
    policy of sign-up); every other session ends and a notice is mailed."""
    v = await visit(request, posted=True)
    new = v.fields.get("new_password", "")
    if error := await reauthenticate(v):
        return await overview(v, 401, {"current_password": error})
    try:
        check_policy(new)
    except PasswordPolicyError as e:
        return await overview(v, 400, {"new_password": str(e)})
    password_hash = await v.web_app[passwords_key].hash(new)
    cookie = await v.run(v.web_app[application_key].change_own_password, v.cookie, password_hash, v.project_name,
                         v.web_app[clock_key].now())
    response = done("password")
    set_cookie(response, v.web_app[settings_key], SESSION_COOKIE, cookie,
               max_age=v.web_app[settings_key].session_absolute_ttl)
    return response


async def reauthenticate(v: Visit, field: str = "current_password") -> str | None:
    """reauthenticated, with the password the form posted in `field`."""
    return await reauthenticated(v.web_app, v.owner, v.fields.get(field, ""))


# -- two-factor ---------------------------------------------------------------------------------

@page
async def show_two_factor(request: web.Request) -> web.StreamResponse:
    """GET /account/two-factor: a new seed to scan (QR code and text) and its first code."""
    v = await visit(request, posted=False)
    return _enrolment(v, *v.web_app[application_key].new_enrolment(v.owner.project_id, v.owner.sub))


def _enrolment(v: Visit, seed: str, sealed: str, status: int = 200, error: str | None = None) -> web.Response:
    return show(v, "account_two_factor.html", status, **enrolment_view(seed, sealed, v.owner.email, v.project_name),
                error=error, has_password=v.has_password)


@page
async def change_two_factor(request: web.Request) -> web.StreamResponse:
    """POST /account/two-factor: action=enable (the sealed seed and its first code: the
    recovery codes are shown once), disable or renew (a code from the app, or a recovery
    code)."""
    v = await visit(request, posted=True)
    app, now = v.web_app[application_key], v.web_app[clock_key].now()
    action, code = v.fields.get("action"), v.fields.get("code", "")[:64]
    throttle = v.web_app[throttles_key].sign_in("live").account
    account = f"{v.owner.project_id}/second-factor:{v.owner.sub}"
    if action not in ("enable", "renew", "disable"):
        return await overview(v, 400, {"code": "Choose what to do."})
    if wait := throttle.retry_after(account):
        return await overview(v, 429, {"code": f"Too many attempts. Try again in {minutes(wait)}."})
    if action == "enable" and (error := await reauthenticate(v)):  # a stolen session turns nothing on
        seed, sealed = _reopened(v)
        return _enrolment(v, seed, sealed, 401, error)
    throttle.fail(account)  # counted before the check (a right code clears it): no racing the limit
    try:
        if action == "enable":
            codes = await v.run(app.enable_two_factor, v.owner.project_id, v.owner.sub, v.fields.get("sealed", ""),
                                code, now)
        elif action == "renew":
            codes = await v.run(app.renew_recovery_codes, v.owner.project_id, v.owner.sub, code, now)
        else:
            await v.run(app.disable_two_factor, v.owner.project_id, v.owner.sub, code, now, "turned off by the user")
            codes = None
    except SecondFactorRejectedError as e:
        if action == "enable" and e.args[0] == "wrong":
            seed, sealed = _reopened(v)
            return _enrolment(v, seed, sealed, 400, "That code is not right. Type the code your app shows now.")
        return await overview(v, 400, {"code": "That code is not right." if e.args[0] == "wrong"
                                       else "Two-factor sign-in is already on." if action == "enable"
                                       else "Two-factor sign-in is off."})
    throttle.clear(account)
    return show(v, "account_recovery_codes.html", codes=codes) if codes is not None else done("two_factor_off")


def _reopened(v: Visit) -> tuple[str, str]:
    """The seed the form carried, to show again after a wrong first code (or a new one)."""
    app = v.web_app[application_key]
    sealed = v.fields.get("sealed", "")
    try:
        return app.enrolment_seed(v.owner.project_id, v.owner.sub, sealed), sealed
    except ValueError:
        return app.new_enrolment(v.owner.project_id, v.owner.sub)


# -- email -----------------------------------------------------------------------------------------

@page
async def change_email(request: web.Request) -> web.StreamResponse:
    """POST /account/email: the new address (new_email) and the current password; a link
    to confirm it goes to the new address."""
    v = await visit(request, posted=True)
    if v.owner.project_id == CONSOLE_PROJECT_ID:  # console roles belong to the address
        return await overview(v, 400, {"new_email": "The console's members are known by their address: an owner"
                                       " invites the new one instead."})
    try:
        email, key = normalise_email(v.fields.get("new_email", ""))
    except InvalidEmailError:
        return await overview(v, 400, {"new_email": "Enter a valid email address."})
    if key == normalise_email(v.owner.email)[1]:
        return await overview(v, 400, {"new_email": "This is the address your account uses already."})
    if error := await reauthenticate(v, "email_password"):
        return await overview(v, 401, {"email_password": error})
    if not may_mail_to(request, v.owner.project_id, key):  # the link forms' mail limits
        return await overview(v, 429, {"new_email": "Too many mails to this address or from here. Try again in"
                                       " an hour."})
    try:
        await v.run(v.web_app[application_key].request_email_change, v.cookie, email, key, v.project_name,
                    v.web_app[clock_key].now())
    except EmailTakenError:
        return await overview(v, 409, {"new_email": "An account with this email already exists."})
    return done("email_sent")


# -- passkeys ----------------------------------------------------------------------------------------

@page
async def change_passkeys(request: web.Request) -> web.StreamResponse:
    """POST /account/passkeys: action=passkey adds the passkey the browser just created
    (its response to the page's options); action=remove removes one (credential_id)."""
    v = await visit(request, posted=True)
    app, now = v.web_app[application_key], v.web_app[clock_key].now()
    if v.fields.get("action") == "remove":
        await v.run(app.remove_passkey, v.cookie, v.fields.get("credential_id", "")[:2048], now)
        return done("passkey_removed")
    if error := await reauthenticate(v):  # whoever holds the session alone adds no way in
        return await overview(v, 401, {"passkey": error})
    state = opened(v.web_app, "register", v.owner.project_id, v.fields.get("passkey_state", ""))
    if state is None or state.get("sub") != v.owner.sub:
        return await overview(v, 400, {"passkey": "That took too long. Please try again."})
    try:
        passkey = await registered(v.web_app, state, v.fields.get("passkey_response", ""))
        await v.run(app.register_passkey, v.cookie, passkey, passkey_name(v.web_app), now)
    except (PasskeyError, PasskeyRejectedError) as e:
        text = str(e) if isinstance(e, PasskeyError) else "This passkey is registered already."
        return await overview(v, 400, {"passkey": text})
    return done("passkey_added")


# -- PINs, sign-ins, closing -------------------------------------------------------------------------

@page
async def forget_pin(request: web.Request) -> web.StreamResponse:
    """POST /account/pins: forget one of the user's PINs (pin_key), in any browser."""
    v = await visit(request, posted=True)
    pin_key = v.fields.get("pin_key", "")[:64]
    if not is_key(pin_key):
        return done("pin")
    await v.run(v.web_app[application_key].forget_pin, v.owner.project_id, v.owner.sub, pin_key,
                "forgotten by the user")
    response = done("pin")
    held = browser_pin(request, v.owner.project_id)
    if held is not None and held[0] == pin_key:
        clear_cookie(response, v.web_app[settings_key], pin_cookie(v.owner.project_id))
    return response


@page
async def end_sign_ins(request: web.Request) -> web.StreamResponse:
    """POST /account/sign-ins: sign one app out (family_key), or everything everywhere."""
    v = await visit(request, posted=True)
    app, now = v.web_app[application_key], v.web_app[clock_key].now()
    if v.fields.get("action") == "everywhere":
        await v.run(app.sign_out_everywhere, v.cookie, now)
        response = message(request, "Signed out everywhere", "Every app and browser signed in to your account"
                           " is signed out, this one too.", 200)
        clear_cookie(response, v.web_app[settings_key], SESSION_COOKIE)
        return response
    family_key, session_key = v.fields.get("family_key", "")[:64], v.fields.get("session_key", "")[:64]
    if is_key(family_key):
        await v.run(app.end_own_sign_in, v.cookie, family_key, now)
    elif is_key(session_key):
        await v.run(app.end_own_browser_session, v.cookie, session_key, now)
    return done("sign_in")


@page
async def close_account(request: web.Request) -> web.StreamResponse:
    """POST /account/close: with the address typed again and re-authentication, the
    account is closed (disabled: it can never sign in again, and everything it held ends)."""
    v = await visit(request, posted=True)
    if v.fields.get("confirm_email", "").strip().lower() != v.owner.email.lower():
        return await overview(v, 400, {"confirm_email": "Type your email address to confirm."})
    if error := await reauthenticate(v, "close_password"):
        return await overview(v, 401, {"close_password": error})
    await v.run(v.web_app[application_key].close_own_account, v.cookie, v.web_app[clock_key].now())
    response = message(request, "Account closed", "Your account is closed: it cannot sign in any more, and every"
                       " app it was signed in to is signed out.", 200)
    clear_cookie(response, v.web_app[settings_key], SESSION_COOKIE)
    return response
