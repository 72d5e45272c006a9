"""Changing one's email address: the account page asks (with the current password) and a
link goes to the new address; opening it here makes the change. The old address is told,
and released for another account to use."""

from aiohttp import web

from astapa.domain.errors import EmailTakenError, LinkRejectedError, UserDisabledError, UserNotFoundError
from astapa.domain.links import CHANGE_EMAIL
from astapa.web import bodies
from astapa.web.appkeys import application_key, await_read_model, clients_key, clock_key, csrf_key, writer_key
from astapa.web.csrf import CsrfError
from astapa.web.pages import message, page, render
from astapa.web.pages.links import live_link

PATH = "/auth/change-email"


@page
async def show_change_email(request: web.Request) -> web.StreamResponse:
    """GET /auth/change-email?token=…: a button (opening a link changes nothing)."""
    token = request.query.get("token", "")
    try:
        link = await live_link(request.app, CHANGE_EMAIL, token)
    except (LinkRejectedError, UserDisabledError, UserNotFoundError):
        return _dead(request)
    return _confirm_page(request, link.email, token)


@page
async def change_email(request: web.Request) -> web.StreamResponse:
    """POST /auth/change-email: the address changes."""
    web_app = request.app
    form = await bodies.page_form(request)
    token = form.get("token", "")
    try:
        link = await live_link(web_app, CHANGE_EMAIL, token)
    except (LinkRejectedError, UserDisabledError, UserNotFoundError):
        return _dead(request)
    try:
        web_app[csrf_key].check(request, form.get("csrf_token"))
    except CsrfError:
        return _confirm_page(request, link.email, token, 403, "This form has expired. Please try again.")
    project = await web_app[clients_key].project(link.project_id)
    try:
        email, position = await web_app[writer_key].run(
            web_app[application_key].confirm_email_change, token, project.name if project else "",
            web_app[clock_key].now())
    except (LinkRejectedError, UserDisabledError, UserNotFoundError):
        return _dead(request)
    except EmailTakenError:
        return message(request, "This address is taken", "Another account uses this address now, so yours keeps"
                       " its address.", 409, back="/account", back_text="Your account")
    await await_read_model(web_app, position)  # sign-in with the new address works as this answers
    return message(request, "Email changed", f"Your account now uses {email}.", 200, back="/account",
                   back_text="Your account")


def _confirm_page(request: web.Request, email: str, token: str, status: int = 200,
                  error: str | None = None) -> web.Response:
    csrf = request.app[csrf_key]
    csrf_token, new_cookie = csrf.token(request)
    response = render(request, "link.html", {
        "title": "Confirm your new email address", "lead": f"Your account will use {email}.",
        "button": "Confirm new email", "new_password": False, "action": PATH, "token": token,
        "csrf_token": csrf_token, "error": error, "error_field": None,
    }, status=status)
    csrf.remember(response, new_cookie)
    return response


def _dead(request: web.Request) -> web.Response:
    return message(request, "This link can no longer be used", "It has expired, was already used, or a newer"
                   " link replaced it. Ask for a new one on your account page.", 400, back="/account",
                   back_text="Your account")
