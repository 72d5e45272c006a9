"""A project's webhooks: the list (a disabled one says why, the notice that it stopped),
a new webhook (its signing secret shown once), one deleted or enabled again, and each
webhook's delivery log. The URL is checked as the management API checks it
(astapa/web/webhooks.py); each change is the API's command saved with a ConsoleAction
naming the console user. A webhook id in a path must be one of this project's, or 404.
"""

from uuid import UUID

from aiohttp import web

from astapa.domain.console import ADMIN
from astapa.domain.webhooks import EVENT_TYPES, WebhookNotFoundError
from astapa.oauth.errors import InvalidRequestError
from astapa.queries import webhook_deliveries_page, webhook_of, webhooks_of
from astapa.web.appkeys import application_key, clock_key, reads_key, settings_key, writer_key
from astapa.web.console.events import moment
from astapa.web.console.frame import Console, console_page
from astapa.web.pages import Respond, message, see_other
from astapa.web.webhooks import WEBHOOK_ID_PATTERN, room_for_webhook, saved, target

DONE = {"deleted": "Webhook deleted: nothing more is sent to it.",
        "enabled": "Webhook enabled: its pending deliveries are attempted again, and new events reach it."}
WEBHOOK_ID = "{webhook_id:" + WEBHOOK_ID_PATTERN + "}"
SHOWN = 100


@console_page()
async def webhooks(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}/webhooks."""
    return await _page(console)


async def _page(console: Console, status: int = 200, values: dict | None = None,
                errors: dict | None = None) -> web.Response:
    rows = await console.request.app[reads_key].query(webhooks_of, console.project_id)
    for row in rows:
        row["when"] = moment(row["created_at"])
    return console.render("console/webhooks.html", status=status, title="Webhooks", webhooks=rows,
                          event_types=EVENT_TYPES, values={"url": "", "events": [], **(values or {})},
                          errors=errors or {}, notice=DONE.get(console.request.query.get("done", "")))


async def _webhook(console: Console) -> dict:
    found = await console.request.app[reads_key].query(webhook_of, console.project_id,
                                                       console.request.match_info["webhook_id"])
    if found is None:
        raise Respond(_not_found(console))
    return found


def _not_found(console: Console) -> web.Response:
    return message(console.request, "Not found", "This project has no such webhook.", 404,
                   back=f"{console.base}/webhooks", back_text="Webhooks")


@console_page(needs=ADMIN, changes=True)
async def create_webhook(console: Console) -> web.StreamResponse:
    """POST …/webhooks: the webhook, and the page after it with its secret, once."""
    url = console.form.get("url", "").strip()
    events = [kind for kind in EVENT_TYPES if console.form.get(f"event-{kind}")]
    errors = {}
    if not events:
        errors["events"] = "Choose at least one event type."
    web_app = console.request.app
    try:
        await target(url, web_app[settings_key].webhook_allow_http_loopback)
        await room_for_webhook(web_app, console.project_id)
    except InvalidRequestError as e:
        errors["url"] = sentence(e.description.removeprefix("url: "))
    if errors:
        return await _page(console, 400, {"url": url, "events": events}, errors)
    app = web_app[application_key]
    # Not console.change: its wait for the read models may answer 503 with the webhook
    # saved, and its secret, shown only on this page, would be lost.
    created, position = await web_app[writer_key].run(
        app.by_console, console.viewer.actor, console.project_id, "create webhook", url, app.create_webhook,
        console.project_id, url, events, web_app[clock_key].now(), console.viewer.actor)
    await saved(web_app, position)
    return console.render("console/webhook_created.html", title="Webhook created", created=created, url=url,
                          events=events)


def sentence(text: str) -> str:
    """A check's message as a sentence: its first letter upper-cased, the rest as it is
    ("URL must use https", not "Url must use https")."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


@console_page(needs=ADMIN, changes=True)
async def delete_webhook(console: Console) -> web.StreamResponse:
    """POST …/webhooks/{webhook_id}/delete."""
    return await _changed(console, "delete webhook", "delete_webhook", "deleted")


@console_page(needs=ADMIN, changes=True)
async def enable_webhook(console: Console) -> web.StreamResponse:
    """POST …/webhooks/{webhook_id}/enable."""
    return await _changed(console, "enable webhook", "enable_webhook", "enabled")


async def _changed(console: Console, action: str, command: str, done: str) -> web.StreamResponse:
    webhook = await _webhook(console)
    app = console.request.app[application_key]
    try:
        await console.change(action, webhook["webhook_id"], getattr(app, command), console.project_id,
                             UUID(webhook["webhook_id"]), console.viewer.actor)
    except WebhookNotFoundError:
        return _not_found(console)
    return see_other(f"{console.base}/webhooks?done={done}")


@console_page()
async def deliveries(console: Console) -> web.StreamResponse:
    """GET …/webhooks/{webhook_id}: the webhook and its latest deliveries."""
    webhook = await _webhook(console)
    rows, _ = await console.request.app[reads_key].query(webhook_deliveries_page, webhook["webhook_id"], None,
                                                          SHOWN)
    for row in rows:
        row["next"] = moment(row["next_attempt_at"])
        row["last"] = moment(row["last_attempt_at"])
    return console.render("console/webhook.html", title="Webhook", webhook=webhook, rows=rows, shown=SHOWN)
