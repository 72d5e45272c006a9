"""Mailed links: asking for one, and opening one (RFC-less, but see SECURITY-CHECKLIST §I).

Asking (forgot password, a magic link, the verification mail again) answers the same page
whether or not the address has an account: the command that decides runs after the answer,
and only what the client sent shapes the page. Opening a link (GET, HEAD) only shows a page
with a button; the POST from that page uses the link up, so mail scanners that fetch links
cannot. Every link leads back into the authorization request it was asked from.
"""

import asyncio
from dataclasses import dataclass

from aiohttp import web

from astapa.app import LinkRequest
from astapa.domain.clients import ClientRecord
from astapa.domain.errors import LinkRejectedError, UserDisabledError, UserNotFoundError
from astapa.domain.links import MAGIC_LINK, RESET_PASSWORD, VERIFY_EMAIL, ActionLink
from astapa.mail.compose import duration
from astapa.oauth.authorize import AuthorizationRequest
from astapa.passwords import PasswordPolicyError, check_policy
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    background_key,
    clock_key,
    csrf_key,
    passwords_key,
    reads_key,
    throttles_key,
    writer_key,
)
from astapa.web.csrf import CsrfError
from astapa.web.pages import Respond, message, render
from astapa.web.pages.flow import authorization, email_of, minutes, received, redirect_errors, to_client


@dataclass(frozen=True)
class Asking:
    """The page that asks for a link of one purpose, and what it says once asked."""

    title: str
    lead: str
    action: str
    button: str
    button_value: str
    sent: str


ASKING = {
    RESET_PASSWORD: Asking(
        "Reset your password", "Enter your account's email address and we will send you a link "
        "to choose a new password.", "/auth/forgot-password", "Send reset link", "send",
        "If an account exists for {email}, we have sent it a link to choose a new password. "
        "The link works for {valid_for}."),
    MAGIC_LINK: Asking(
        "Sign in with a link", "Enter your account's email address and we will send you a "
        "link that signs you in.", "/auth/login", "Email me a sign-in link", "magic_link",
        "If an account exists for {email}, we have sent it a sign-in link. "
        "The link works for {valid_for}."),
    VERIFY_EMAIL: Asking(
        "Verify your email address", "Enter your account's email address and we will send "
        "the verification link again.", "/auth/resend-verification", "Send the link again",
        "resend",
        "If {email} has an account waiting to be verified, we have sent it the link again. "
        "The link works for {valid_for}."),
}
SIGN_UP_SENT = "We have sent a link to {email}. Open it to verify your address and continue."


@dataclass(frozen=True)
class Landing:
    """The page a mailed link opens: a button that uses the link."""

    path: str
    title: str
    lead: str
    button: str
    new_password: bool = False


LANDINGS = {
    VERIFY_EMAIL: Landing("/auth/verify-email", "Verify your email address",
                          "Confirm {email} for {client}.", "Verify email address"),
    MAGIC_LINK: Landing("/auth/magic-link", "Sign in to {client}", "Continue as {email}.", "Sign in"),
    RESET_PASSWORD: Landing("/auth/reset-password", "Choose a new password",
                            "For {email} at {client}.", "Set new password", new_password=True),
}


# -- asking ------------------------------------------------------------------------------------

def asking_form(request: web.Request, web_app: web.Application, authz: AuthorizationRequest, purpose: str,
                email: str = "", status: int = 200, error: str | None = None,
                error_field: str | None = None) -> web.Response:
    csrf = web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    asking = ASKING[purpose]
    response = render(request, "email_request.html", {
        "title": asking.title, "lead": asking.lead, "action": asking.action, "button": asking.button,
        "button_value": asking.button_value, "query": authz.query, "csrf_token": token,
        "email": email[:254], "error": error, "error_field": error_field if error else None,
    }, status=status, brand=authz.client.branding)
    csrf.remember(response, new_cookie)
    return response


def check_inbox(request: web.Request, web_app: web.Application, authz: AuthorizationRequest, text: str,
                email: str, resend: bool) -> web.Response:
    csrf = web_app[csrf_key]
    token, new_cookie = csrf.token(request)
    response = render(request, "check_inbox.html", {
        "text": text, "query": authz.query, "csrf_token": token, "email": email[:254], "resend": resend,
    }, brand=authz.client.branding)
    csrf.remember(response, new_cookie)
    return response


def link_request(authz: AuthorizationRequest) -> LinkRequest:
    return LinkRequest(authz.client.project_id, authz.client.shown_name, authz.query)


def may_mail(request: web.Request, web_app: web.Application, authz: AuthorizationRequest,
             email_key: str) -> bool:
    """At most `mails_per_address` action mails per address, and `mails_per_ip` per client
    IP that causes them, per hour, counted whether or not the address has an account; past
    either, nothing is sent and the answer is the same."""
    return may_mail_to(request, authz.client.project_id, email_key)


def may_mail_to(request: web.Request, project_id: str, email_key: str) -> bool:
    """may_mail, for a page that carries no authorization request (the account page)."""
    throttles = request.app[throttles_key]
    address, ip = f"{project_id}/{email_key}", request.remote or "-"
    if throttles.mail.retry_after(address) or throttles.mail_ip.retry_after(ip):
        return False
    throttles.mail.fail(address)
    throttles.mail_ip.fail(ip)
    return True


async def ask_for_link(request: web.Request, web_app: web.Application, authz: AuthorizationRequest, purpose: str,
                       raw_email: str) -> web.Response:
    throttles = web_app[throttles_key]
    email, key = email_of(raw_email)
    if key is None:
        return asking_form(request, web_app, authz, purpose, email, status=400,
                           error="Enter a valid email address.", error_field="email")
    ip = request.remote or "-"
    wait = throttles.link_ip.retry_after(ip)
    if wait:
        response = asking_form(request, web_app, authz, purpose, email, status=429,
                               error=f"Too many requests. Try again in {minutes(wait)}.")
        response.headers["Retry-After"] = str(wait)
        return response
    throttles.link_ip.fail(ip)
    if may_mail(request, web_app, authz, key):
        web_app[background_key].later(web_app[writer_key].run(web_app[application_key].send_link, purpose,
                                                              link_request(authz), key, web_app[clock_key].now()))
    text = ASKING[purpose].sent.format(email=email, valid_for=_valid_for(web_app, purpose))
    return check_inbox(request, web_app, authz, text, email, resend=False)


async def send_verification(request: web.Request, web_app: web.Application, authz: AuthorizationRequest,
                            email: str, email_key: str) -> web.Response:
    """The right password, but the project waits for a verified address: mail the link
    (the caller proved they hold the account, so this may wait for the write)."""
    if may_mail(request, web_app, authz, email_key):
        await web_app[writer_key].run(web_app[application_key].send_link, VERIFY_EMAIL, link_request(authz),
                                      email_key,
                             web_app[clock_key].now())
    return check_inbox(request, web_app, authz, SIGN_UP_SENT.format(email=email), email, resend=True)


async def posted(request: web.Request, web_app: web.Application, purpose: str) -> tuple[dict[str, str], AuthorizationRequest]:
    fields = await bodies.page_form(request)
    authz = await authorization(web_app, fields.get("authorization", ""))
    try:
        web_app[csrf_key].check(request, fields.get("csrf_token"))
    except CsrfError:
        raise Respond(asking_form(request, web_app, authz, purpose, fields.get("email", ""), status=403,
                                  error="This form has expired. Please try again.")) from None
    return fields, authz


def asking(purpose: str):
    """The GET and POST handlers of the page that asks for one purpose's link (the GET
    takes the authorization request as its query, as /auth/login does)."""

    @redirect_errors
    async def show(request: web.Request) -> web.StreamResponse:
        web_app = request.app
        authz = await authorization(web_app, received(request))
        return asking_form(request, web_app, authz, purpose, authz.login_hint or "")

    @redirect_errors
    async def ask(request: web.Request) -> web.StreamResponse:
        web_app = request.app
        fields, authz = await posted(request, web_app, purpose)
        return await ask_for_link(request, web_app, authz, purpose, fields.get("email", ""))

    return show, ask


# GET/POST /auth/forgot-password and /auth/resend-verification.
show_forgot_password, forgot_password = asking(RESET_PASSWORD)
show_resend_verification, resend_verification = asking(VERIFY_EMAIL)


# -- opening -----------------------------------------------------------------------------------

async def live_link(web_app: web.Application, purpose: str, token: str) -> ActionLink:
    """The link, if it may still be used (read-only: nothing is used up here)."""
    return await asyncio.get_running_loop().run_in_executor(
        web_app[reads_key].pool, web_app[application_key].usable_link, purpose, token[:200], web_app[clock_key].now())


def link_page(request: web.Request, web_app: web.Application, purpose: str, link: ActionLink, token: str,
              client: ClientRecord, status: int = 200, error: str | None = None,
              error_field: str | None = None) -> web.Response:
    """The page a mailed link opens, in the project's branding."""
    csrf = web_app[csrf_key]
    landing = LANDINGS[purpose]
    csrf_token, new_cookie = csrf.token(request)
    words = {"email": link.email, "client": client.shown_name}
    response = render(request, "link.html", {
        "title": landing.title.format(**words), "lead": landing.lead.format(**words),
        "button": landing.button, "new_password": landing.new_password, "action": landing.path,
        "token": token, "csrf_token": csrf_token, "error": error,
        "error_field": error_field if error else None,
    }, status=status, brand=client.branding)
    csrf.remember(response, new_cookie)
    return response


async def dead_link(request: web.Request, web_app: web.Application, purpose: str, token: str) -> web.Response:
    """The link cannot be used; if it is one of ours, the way back to its sign-in page."""
    again = {VERIFY_EMAIL: "Sign in to get a new verification link.",
             RESET_PASSWORD: "Use “Forgot password?” on the sign-in page to get a new one.",
             MAGIC_LINK: "Ask for a new sign-in link on the sign-in page."}[purpose]
    try:
        link = await asyncio.get_running_loop().run_in_executor(web_app[reads_key].pool,
                                                                web_app[application_key].link_of, token[:200])
    except LinkRejectedError:
        back = None
    else:
        back = f"/auth/login?{link.authorization}"
    return message(request, "This link can no longer be used",
                   f"It has expired, was already used, or a newer link replaced it. {again}",
                   status=400, back=back, back_text="Go to the sign-in page")


def landing(purpose: str):
    """The GET and POST handlers of one purpose's link page."""

    @redirect_errors
    async def show(request: web.Request) -> web.StreamResponse:
        web_app = request.app
        token = request.query.get("token", "")
        try:
            link = await live_link(web_app, purpose, token)
        except (LinkRejectedError, UserDisabledError, UserNotFoundError):
            return await dead_link(request, web_app, purpose, token)
        authz = await authorization(web_app, link.authorization)
        return link_page(request, web_app, purpose, link, token, authz.client)

    @redirect_errors
    async def use(request: web.Request) -> web.StreamResponse:
        web_app = request.app
        form = await bodies.page_form(request)
        token = form.get("token", "")
        try:
            link = await live_link(web_app, purpose, token)
        except (LinkRejectedError, UserDisabledError, UserNotFoundError):
            return await dead_link(request, web_app, purpose, token)
        authz = await authorization(web_app, link.authorization)
        try:
            web_app[csrf_key].check(request, form.get("csrf_token"))
        except CsrfError:
            return link_page(request, web_app, purpose, link, token, authz.client, status=403,
                             error="This form has expired. Please try again.")
        password_hash = None
        if purpose == RESET_PASSWORD:
            password = form.get("password", "")
            try:
                check_policy(password)
            except PasswordPolicyError as e:
                return link_page(request, web_app, purpose, link, token, authz.client, status=400,
                                 error=str(e), error_field="password")
            password_hash = await web_app[passwords_key].hash(password)
        try:
            signed_in, position = await web_app[writer_key].run(
                web_app[application_key].use_link, purpose, token, authz.code_request(), authz.client.shown_name,
                web_app[clock_key].now(), password_hash)
        except (LinkRejectedError, UserDisabledError, UserNotFoundError):
            return await dead_link(request, web_app, purpose, token)
        # A reset or a proven address ended earlier sessions and tokens: refused everywhere
        # once the browser is back at the client (read your write).
        await await_read_model(web_app, position)
        if purpose == RESET_PASSWORD:  # failed sign-ins before the reset no longer count
            web_app[throttles_key].sign_in(authz.client.mode).account.clear(
                f"{link.project_id}/{email_of(link.email)[1]}")
        return to_client(request, web_app, authz, signed_in)

    show.__name__ = use.__name__ = purpose
    return show, use


show_verify_email, verify_email = landing(VERIFY_EMAIL)
show_magic_link, use_magic_link = landing(MAGIC_LINK)
show_reset_password, reset_password = landing(RESET_PASSWORD)


def _valid_for(web_app: web.Application, purpose: str) -> str:
    return duration(web_app[application_key].ttl(purpose))
