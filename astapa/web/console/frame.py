"""What every console page shares: who is signed in, the project and their role in it, the
checks that run before any handler (sign-in, membership, role, CSRF), and the page frame
(header, project navigation, the form token).

A person who is not a member of a project (and no instance admin) gets 404 for each of
its pages, the same as for a project that does not exist: the console never says which
projects exist. A member whose role is too small for a change gets 403, and nothing
changes.
"""

import functools
from urllib.parse import urlencode
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from aiohttp import web

from astapa.console_queries import project_for
from astapa.domain.console import ADMIN, CONSOLE_PROJECT_ID, OWNER, VIEWER, may
from astapa.web import bodies
from astapa.web.appkeys import application_key, await_read_model, csrf_key, reads_key, writer_key
from astapa.web.console.session import PATH, REFRESHED, SignInNeeded, Viewer, keep_tokens, viewer_of
from astapa.web.csrf import CsrfError
from astapa.web.throttle import Throttle
from astapa.web.pages import Respond, message, page, render

# The project pages, in the navigation's order: (path under the project, link text).
SECTIONS = (("", "Overview"), ("/users", "Users"), ("/plans", "Plans"), ("/clients", "Machine clients"),
            ("/webhooks", "Webhooks"), ("/payments", "Payments"), ("/events", "Events"), ("/members", "Members"),
            ("/settings", "Settings"))


@dataclass
class Console:
    """One console request: the viewer, and for a project page the project and the role."""

    request: web.Request
    viewer: Viewer
    project: dict | None = None
    role: str | None = None
    form: dict[str, str] = field(default_factory=dict)  # a POST's fields (CSRF checked)

    @property
    def project_id(self) -> str:
        assert self.project is not None
        return self.project["project_id"]

    @property
    def base(self) -> str:
        """The project's pages' common path."""
        return f"{PATH}/projects/{self.project_id}"

    def may(self, needed: str) -> bool:
        return may(self.role, needed)

    def count(self, throttle: Throttle, what: str) -> None:
        """One more of `what` by this console user, or a 429 page (Retry-After) past the
        throttle's limit."""
        wait = throttle.retry_after(self.viewer.email_key)
        if wait:
            response = message(self.request, "Slow down", f"You have made many {what} in the last hour; try again"
                               f" in {wait // 60 + 1} minutes.", 429, back=self.request.path, back_text="Back")
            response.headers["Retry-After"] = str(wait)
            raise Respond(response)
        throttle.fail(self.viewer.email_key)

    async def change(self, action: str, target: str, command: Callable, *args, **kwargs):
        """`command(*args, **kwargs)` on the writer with a ConsoleAction naming this console
        user (app.by_console: one save); its value, once the read models show it, so the
        next page does."""
        web_app = self.request.app
        app = web_app[application_key]
        value, position = await web_app[writer_key].run(app.by_console, self.viewer.actor, self.project_id,
                                                        action, target, command, *args, **kwargs)
        await await_read_model(web_app, position)
        return value

    def render(self, template: str, status: int = 200, **values) -> web.Response:
        csrf = self.request.app[csrf_key]
        token, new_cookie = csrf.token(self.request)
        context = {"viewer": self.viewer, "project": self.project, "role": self.role, "csrf_token": token,
                   "sections": SECTIONS, "console": PATH, "base": self.base if self.project else PATH,
                   "can_change": self.may(ADMIN), "is_owner": self.may(OWNER),
                   "path": self.request.path, **values}
        response = render(self.request, template, context, status=status)
        csrf.remember(response, new_cookie)
        _keep_refreshed(self.request, response)
        return response


def sentence(error: Exception | str) -> str:
    """A check's or a command's reason ("at most 50 custom claims") as a sentence on a page."""
    text = str(error)[:300]
    return f"{text[:1].upper()}{text[1:]}{'' if text.endswith('.') else '.'}"


def _keep_refreshed(request: web.Request, response: web.StreamResponse) -> None:
    if REFRESHED in request:
        keep_tokens(response, request.app, request[REFRESHED])


Handler = Callable[[Console], Awaitable[web.StreamResponse]]


def console_page(needs: str | None = VIEWER, changes: bool = False):
    """A console page. `needs`: the role the project page needs (None: no project in the
    path); `changes`: a POST, whose form must carry the CSRF token."""

    def decorate(handler: Handler):
        @page
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                viewer = await viewer_of(request)
            except SignInNeeded:
                if request.method == "GET":
                    raise web.HTTPFound(f"{PATH}/login?{urlencode({'next': request.path_qs})}")
                return message(request, "Sign in again", "Your console sign-in has ended; sign in and try again.",
                               401, back=f"{PATH}/login", back_text="Sign in")
            console = Console(request, viewer)
            if needs is not None:
                await _enter_project(console, request.match_info["project_id"], needs)
            if changes:
                console.form = await bodies.page_form(request)
                try:
                    request.app[csrf_key].check(request, console.form.get("csrf_token"))
                except CsrfError:
                    return message(request, "Start again", "This form has expired: nothing was changed. Go back,"
                                   " reload the page and try again.", 403, back=request.path, back_text="Back")
            response = await handler(console)
            _keep_refreshed(request, response)
            return response

        return wrapped

    return decorate


async def _enter_project(console: Console, project_id: str, needs: str) -> None:
    request = console.request
    reads = request.app[reads_key]
    viewer = console.viewer
    project = await reads.query(project_for, project_id, viewer.email_key, viewer.admin)
    if project is None or project_id == CONSOLE_PROJECT_ID:
        raise _respond(message(request, "Not found", "There is no such page.", 404, back=PATH,
                               back_text="Your projects"))
    role = project.pop("role")
    console.project, console.role = project, role
    if not may(role, needs):
        raise _respond(message(request, "Not allowed", f"Your role in {project['name']} is {role}: you can see"
                               " this project but not change it.", 403, back=console.base, back_text="Back"))


def _respond(response: web.Response) -> Exception:
    return Respond(response)
