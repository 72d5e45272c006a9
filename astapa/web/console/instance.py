"""The instance page, for instance admins only (anyone else: 404, as for a page that does
not exist): every project, the admins, the signing keys with a button to rotate them (as
`astapa keys rotate` does), and whether mail and Xendit are configured, never a secret."""

import logging

from aiohttp import web

from astapa.config import Settings, parse_smtp_url
from astapa.console_queries import admins, projects_for, signing_key_ring
from astapa.keys import generate_key
from astapa.payments.credentials import KEY_PREFIX
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    reads_key,
    settings_key,
    vault_key,
    writer_key,
)
from astapa.web.console.frame import Console, console_page
from astapa.web.console.session import PATH
from astapa.web.context import off_loop
from astapa.web.pages import Respond, message, see_other

log = logging.getLogger("astapa.console")

DONE = {"rotated": "Signing keys rotated: the next key signs now, and a new next key is published."}


@console_page(needs=None)
async def instance(console: Console) -> web.StreamResponse:
    """GET /dashboard/instance."""
    _admins_only(console)
    web_app = console.request.app
    reads, settings = web_app[reads_key], web_app[settings_key]
    return console.render(
        "console/instance.html", title="Instance", notice=DONE.get(console.request.query.get("done", "")),
        projects=await reads.query(projects_for, console.viewer.email_key, True),
        admins=await reads.query(admins), keys=await reads.query(signing_key_ring),
        mail=mail_status(settings), xendit=xendit_status(settings))


@console_page(needs=None, changes=True)
async def rotate_keys(console: Console) -> web.StreamResponse:
    """POST /dashboard/instance/keys/rotate: the next key signs from now on, and a new next
    key is published (its RSA key made off the event loop, its PEM durable first)."""
    _admins_only(console)
    web_app = console.request.app
    app = web_app[application_key]
    new_key = await off_loop(generate_key, web_app[vault_key])
    kids, position = await web_app[writer_key].run(app.rotate_keys, new_key)
    await await_read_model(web_app, position)
    log.info("signing keys rotated by %s: %s signs now", console.viewer.actor, kids["current_kid"])
    return see_other(f"{PATH}/instance?done=rotated")


def _admins_only(console: Console) -> None:
    if not console.viewer.admin:
        raise Respond(message(console.request, "Not found", "There is no such page.", 404, back=PATH,
                              back_text="Your projects"))


def mail_status(settings: Settings) -> str:
    """Where mail goes: the SMTP server's host and port (never its credentials), or the
    outbox directory."""
    if settings.smtp_url is None:
        return f"No SMTP server: messages are written as .eml files to {settings.outbox_dir}."
    target = parse_smtp_url(settings.smtp_url)
    return f"SMTP server {target.hostname}:{target.port}."


def xendit_status(settings: Settings) -> str:
    """Whether the deployment has a Xendit key, and which kind (its prefix), never the key."""
    key = settings.xendit_secret_key
    if key is None:
        return "No deployment-wide Xendit key: only projects with their own key take payments."
    kind = next((mode for mode, prefix in KEY_PREFIX.items() if key.startswith(prefix)), "unrecognised")
    token = "with" if settings.xendit_callback_token else "without"
    return f"Deployment-wide Xendit key configured ({kind}), {token} a callback token; API {settings.xendit_api_url}."
