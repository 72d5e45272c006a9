"""The console's first pages: a new admin's setup link, the projects list, and a new
project (its secret shown once)."""


from aiohttp import web

from astapa.console_queries import has_any_role, projects_for
from astapa.domain.console import SetupLinkRejectedError
from astapa.oauth.authorize import check_redirect_uri
from astapa.passwords import PasswordPolicyError, check_policy
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clock_key,
    csrf_key,
    passwords_key,
    reads_key,
    settings_key,
    throttles_key,
    writer_key,
)
from astapa.web.console.frame import Console, console_page
from astapa.web.console.session import PATH
from astapa.web.context import off_loop
from astapa.web.csrf import CsrfError, set_cookie
from astapa.web.pages import message, page, render, see_other
from astapa.web.pages.flow import SESSION_COOKIE

MAX_NAME = 100
MAX_REDIRECT_URIS = 20


def may_create(console: Console) -> bool:
    return console.viewer.admin or console.request.app[settings_key].console_signup == "open"


@console_page(needs=None)
async def home(console: Console) -> web.StreamResponse:
    """GET /dashboard: the projects this person sees; someone with no way in is told so."""
    reads = console.request.app[reads_key]
    projects = await reads.query(projects_for, console.viewer.email_key, console.viewer.admin)
    if not projects and not may_create(console) \
            and not await reads.query(has_any_role, console.viewer.email_key):
        return console.render("console/no_access.html", status=403, title="No access yet")
    return console.render("console/projects.html", title="Projects", projects=projects,
                          may_create=may_create(console))


@console_page(needs=None)
async def new_project(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/new."""
    if not may_create(console):
        return console.render("console/no_access.html", status=403, title="No access yet")
    return console.render("console/new_project.html", title="New project", values={}, errors={})


@console_page(needs=None, changes=True)
async def create_project(console: Console) -> web.StreamResponse:
    """POST /dashboard/projects: the project in sandbox, its maker its owner; the page
    after it shows the secret, once."""
    if not may_create(console):
        return console.render("console/no_access.html", status=403, title="No access yet")
    values = {"name": console.form.get("name", ""), "redirect_uris": console.form.get("redirect_uris", "")}
    name, uris, errors = project_fields(values)
    if errors:
        return console.render("console/new_project.html", status=400, title="New project", values=values,
                              errors=errors)
    web_app = console.request.app
    console.count(web_app[throttles_key].console_projects, "new projects")
    app = web_app[application_key]
    viewer = console.viewer
    created, position = await web_app[writer_key].run(
        app.create_owned_project, name, uris, viewer.email, viewer.email_key, viewer.actor)
    await await_read_model(web_app, position)
    return console.render("console/project_created.html", title="Project created", created=created)


def project_fields(values: dict[str, str]) -> tuple[str, list[str], dict[str, str]]:
    """The name and redirect URIs of a project form, and an error per field."""
    errors: dict[str, str] = {}
    name = values.get("name", "").strip()
    if error := name_error(name):
        errors["name"] = error
    uris, uri_error = redirect_uri_lines(values.get("redirect_uris", ""), "sandbox")
    if uri_error:
        errors["redirect_uris"] = uri_error
    return name, uris, errors


def name_error(name: str) -> str | None:
    if not name or len(name) > MAX_NAME or not name.isprintable():
        return f"Give the project a name of 1 to {MAX_NAME} printable characters."
    return None


def redirect_uri_lines(text: str, mode: str) -> tuple[list[str], str | None]:
    """One URI per line, blank lines skipped, repeats once; the first bad line's reason."""
    uris = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not uris:
        return [], "Give at least one redirect URI, one per line."
    if len(uris) > MAX_REDIRECT_URIS:
        return [], f"At most {MAX_REDIRECT_URIS} redirect URIs."
    for uri in uris:
        try:
            check_redirect_uri(uri, mode)
        except ValueError as e:
            return [], str(e)[:300]
    return uris, None


# -- an instance admin's setup link ----------------------------------------------------------

@page
async def show_setup(request: web.Request) -> web.StreamResponse:
    """GET /dashboard/setup?token=…: choose a password (opening the link uses nothing)."""
    web_app = request.app
    token = request.query.get("token", "")
    try:
        link = await _usable(web_app, token)
    except SetupLinkRejectedError:
        return _dead_link(request)
    return _setup_form(request, token, link.email)


@page
async def setup(request: web.Request) -> web.StreamResponse:
    """POST /dashboard/setup: the password set, the link used, the browser signed in to the
    hosted pages; then on to the console's sign-in, which finds that session."""
    web_app = request.app
    form = await bodies.page_form(request)
    token = form.get("token", "")
    try:
        web_app[csrf_key].check(request, form.get("csrf_token"))
    except CsrfError:
        return message(request, "Start again", "This form has expired. Open the setup link again.", 403)
    try:
        link = await _usable(web_app, token)
    except SetupLinkRejectedError:
        return _dead_link(request)
    password = form.get("password", "")
    try:
        check_policy(password)
    except PasswordPolicyError as e:
        return _setup_form(request, token, link.email, error=str(e), status=400)
    password_hash = await web_app[passwords_key].hash(password)
    app = web_app[application_key]
    try:
        cookie, position = await web_app[writer_key].run(app.complete_setup, token, password_hash,
                                                         web_app[clock_key].now())
    except SetupLinkRejectedError:
        return _dead_link(request)
    await await_read_model(web_app, position)
    settings = web_app[settings_key]
    response = see_other(f"{PATH}/login")
    set_cookie(response, settings, SESSION_COOKIE, cookie, max_age=settings.session_absolute_ttl)
    return response


async def _usable(web_app: web.Application, token: str):
    app = web_app[application_key]
    return await off_loop(app.setup_link, token, web_app[clock_key].now())


def _setup_form(request: web.Request, token: str, email: str, error: str | None = None,
                status: int = 200) -> web.Response:
    csrf = request.app[csrf_key]
    csrf_token, new_cookie = csrf.token(request)
    response = render(request, "console/setup.html", {"title": "Set up your console account", "token": token,
                                                      "email": email, "error": error, "csrf_token": csrf_token},
                      status=status)
    csrf.remember(response, new_cookie)
    return response


def _dead_link(request: web.Request) -> web.Response:
    return message(request, "This link cannot be used", "The setup link was already used, has expired, or is"
                   " not complete. Ask the operator for a new one (astapa console add-admin).", 400)

