"""A sandbox project's inbox: the mail it sent (verification, reset and sign-in links), so a
developer can test sign-up without a real mailbox. Live projects have none (404).

A message is composed again when opened, by the server's own Composer, so it reads as it
was sent, link included. Its link acts on the account (verifies it, resets its password,
signs in as it), so opening one needs a role that may change the project: a viewer sees
the list only.
"""

from aiohttp import web

from astapa.console_queries import sandbox_mail, sandbox_message
from astapa.domain.console import ADMIN
from astapa.mail.compose import SUBJECTS
from astapa.queries import QueuedMail
from astapa.web.appkeys import mailer_key, reads_key
from astapa.web.console.events import moment
from astapa.web.console.frame import Console, console_page
from astapa.web.pages import message

SHOWN = 100
MESSAGE_ID = "{message_id:[0-9a-f]{32}}"


@console_page()
async def inbox(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}/inbox."""
    if console.project["mode"] != "sandbox":
        return _missing(console)
    rows = await console.request.app[reads_key].query(sandbox_mail, console.project_id, SHOWN)
    for row in rows:
        row["subject"] = subject(row)
        row["when"] = moment(row["queued_at"])
    return console.render("console/inbox.html", title="Sandbox inbox", rows=rows, shown=SHOWN)


@console_page(needs=ADMIN)
async def mail(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}/inbox/{message_id}: the message as sent."""
    row = await console.request.app[reads_key].query(
        sandbox_message, console.project_id, console.request.match_info["message_id"])
    if console.project["mode"] != "sandbox" or row is None:
        return _missing(console)
    queued = QueuedMail(row["message_id"], row["project_id"], row["recipient"], row["kind"], row["link_key"],
                        row["client_name"], row["queued_at"], row["attempts"])
    composer = console.request.app[mailer_key].composer
    composed = composer.compose(queued)
    return console.render("console/inbox_message.html", title=composed["Subject"], mail=row,
                          subject=composed["Subject"], sender=composed["From"], when=moment(row["queued_at"]),
                          text=composed.get_body(preferencelist=("plain",)).get_content(),
                          link=composer.link(queued))


def subject(row: dict) -> str:
    return SUBJECTS[row["kind"]].format(client=row["client_name"] or "your account")


def _missing(console: Console) -> web.Response:
    return message(console.request, "Not found", "There is no such page: only a sandbox project has an inbox.",
                   404, back=console.base, back_text="Overview")
