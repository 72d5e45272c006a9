"""Who may see and change a project in the console: its members and their roles. Owners
(and instance admins) invite, change roles and remove; a project always keeps an owner.

An invitation is a mail to the address (the console's address in it): the person signs in
or signs up there with that address, verifies it, and then sees the project. Every change
is a Membership event naming the console user who made it (its `by`)."""

from aiohttp import web

from astapa.console_queries import members_of, owners_of
from astapa.domain.console import (
    OWNER,
    ROLES,
    LastOwnerError,
    MemberExistsError,
    MemberNotFoundError,
)
from astapa.domain.errors import InvalidEmailError
from astapa.domain.users import normalise_email
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clock_key,
    reads_key,
    throttles_key,
    writer_key,
)
from astapa.web.console.frame import Console, console_page
from astapa.web.pages import see_other

DONE = {"invited": "Invitation sent.", "role": "Role changed.", "removed": "Member removed."}
LAST_OWNER = "A project keeps at least one owner: make someone else an owner first."
NOT_MEMBER = "That person is not a member of this project."


@console_page()
async def members(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}/members."""
    return await _page(console)


async def _page(console: Console, status: int = 200, values: dict | None = None,
                errors: dict | None = None, error: str | None = None) -> web.Response:
    rows = await console.request.app[reads_key].query(members_of, console.project_id)
    return console.render("console/members.html", status=status, title="Members", members=rows, roles=ROLES,
                          values=values or {"role": "viewer"}, errors=errors or {}, error=error,
                          notice=DONE.get(console.request.query.get("done", "")))


@console_page(needs=OWNER, changes=True)
async def invite(console: Console) -> web.StreamResponse:
    """POST /dashboard/projects/{project_id}/members: a role for an address, and a mail."""
    values = {"email": console.form.get("email", "").strip(), "role": console.form.get("role", "")}
    errors = {}
    try:
        email, email_key = normalise_email(values["email"])
    except InvalidEmailError:
        errors["email"] = "Enter an email address, like name@example.com."
    if values["role"] not in ROLES:
        errors["role"] = "Choose owner, admin or viewer."
    if errors:
        return await _page(console, 400, values, errors)
    web_app = console.request.app
    console.count(web_app[throttles_key].console_invites, "invitations")
    app = web_app[application_key]
    try:
        _, position = await web_app[writer_key].run(app.invite_member, console.project_id, email, email_key,
                                                    values["role"], console.viewer.actor, web_app[clock_key].now())
    except MemberExistsError:
        return await _page(console, 409, values, {"email": f"{email} is already a member of this project."})
    await await_read_model(web_app, position)
    return see_other(f"{console.base}/members?done=invited")


@console_page(needs=OWNER, changes=True)
async def change_role(console: Console) -> web.StreamResponse:
    """POST /dashboard/projects/{project_id}/members/role."""
    role = console.form.get("role", "")
    if role not in ROLES:
        return await _page(console, 400, error="Choose owner, admin or viewer.")
    app = console.request.app[application_key]
    return await _change(console, "role", app.change_member_role, role, console.viewer.actor)


@console_page(needs=OWNER, changes=True)
async def remove(console: Console) -> web.StreamResponse:
    """POST /dashboard/projects/{project_id}/members/remove."""
    app = console.request.app[application_key]
    return await _change(console, "removed", app.remove_member, console.viewer.actor)


async def _change(console: Console, done: str, command, *args) -> web.StreamResponse:
    """`command(project_id, email_key, *args, owners)` for the member the form names:
    refused (nothing changes) for the last owner or someone no longer a member."""
    web_app = console.request.app
    try:
        _, email_key = normalise_email(console.form.get("email", ""))
    except InvalidEmailError:
        return await _page(console, 404, error=NOT_MEMBER)
    owners = await web_app[reads_key].query(owners_of, console.project_id)
    try:
        _, position = await web_app[writer_key].run(command, console.project_id, email_key, *args, owners)
    except LastOwnerError:
        return await _page(console, 409, error=LAST_OWNER)
    except MemberNotFoundError:
        return await _page(console, 404, error=NOT_MEMBER)
    await await_read_model(web_app, position)
    return see_other(f"{console.base}/members?done={done}")
