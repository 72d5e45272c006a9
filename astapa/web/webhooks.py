"""/api/platform/webhooks: a project's webhooks and each one's delivery log.

Authenticated as the rest of the management API (the project's own client); a webhook
of another project is 404. The secret is in the creation's answer only. A URL must be
https on a public address (a host's every address is checked when it is created, and
again at each delivery); ASTAPA_WEBHOOK_ALLOW_HTTP_LOOPBACK lets loopback through. A
project has at most MAX_WEBHOOKS (20); a malformed URL or one too many is a 400, never a 500.
The creation's answer comes from the command itself, not the read models: once the
webhook is saved, its one-time secret must reach the caller.
"""

import re
import socket
from uuid import UUID

from aiohttp import web

from astapa.domain.webhooks import EVENT_TYPES, MAX_WEBHOOKS, WebhookNotFoundError
from astapa.oauth.client_metadata import DocumentError
from astapa.oauth.errors import InvalidRequestError, NotFoundError
from astapa.queries import live_webhook_count, rfc3339, webhook_deliveries_page, webhook_of, webhooks_of
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clock_key,
    reads_key,
    runner_key,
    settings_key,
)
from astapa.web.documents import MAX_URL, CheckedResolver, check_url, split_url
from astapa.web.errors import API_ANSWERS
from astapa.web.management import (
    MAX_PAGE,
    decided,
    json_body,
    number_param,
    project_client,
    query_param,
    reply,
)
from astapa.web.schemas import BodySchema

NEW_WEBHOOK = BodySchema("createWebhook")  # openapi/paths/webhooks.yaml
WEBHOOK_ID_PATTERN = "[0-9a-f]{32}"  # also the console's route pattern
WEBHOOK_ID = re.compile(WEBHOOK_ID_PATTERN)
BY = "api"
ANSWERS = {**API_ANSWERS, WebhookNotFoundError: lambda e: NotFoundError("no such webhook")}


async def target(url: object, allow_http_loopback: bool) -> str:
    """The URL, if deliveries may go there: the rules of fetched documents, and every
    address its host has now. Raises InvalidRequestError saying why not."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise InvalidRequestError(f"url: a string of at most {MAX_URL} characters")
    try:
        check_url(url, allow_http_loopback)
        _, host, port = split_url(url)
    except DocumentError as e:
        raise InvalidRequestError(f"url: {e}") from None
    resolver = CheckedResolver(allow_http_loopback)
    try:
        await resolver.resolve(host, port or 443, socket.AF_UNSPEC)
    except (OSError, ValueError) as e:  # ValueError: a name the resolver cannot encode
        raise InvalidRequestError(f"url: {e}") from None
    finally:
        await resolver.close()
    return url


async def room_for_webhook(web_app: web.Application, project_id: str) -> None:
    """A project has at most MAX_WEBHOOKS: each event is sent once per webhook, so more
    would multiply what one user's action costs. Raises InvalidRequestError beyond."""
    if await web_app[reads_key].query(live_webhook_count, project_id) >= MAX_WEBHOOKS:
        raise InvalidRequestError(f"a project has at most {MAX_WEBHOOKS} webhooks: delete one first")


def created_view(created: dict) -> dict:
    """The new webhook as the API shows one, and its secret, from the command's own value:
    the webhook is saved, so the answer must not depend on the read models catching up
    (a 503 then would lose the secret, shown only here)."""
    return {"webhook_id": created["webhook_id"], "url": created["url"], "events": created["events"],
            "created_at": rfc3339(created["created_at"]), "enabled": True, "disabled_reason": None,
            "secret": created["secret"]}


async def saved(web_app: web.Application, position: int) -> None:
    """Give the read models the configured wait to show the new webhook (the next list
    then shows it); past that the answer goes out anyway."""
    await web_app[runner_key].wait(position, web_app[settings_key].projection_wait)


def event_types(value: object) -> list[str]:
    if not isinstance(value, list) or not value or any(v not in EVENT_TYPES for v in value):
        raise InvalidRequestError(f"events: a non-empty list of {', '.join(EVENT_TYPES)}")
    return list(dict.fromkeys(value))


async def create_webhook(request: web.Request) -> web.Response:
    """POST /api/platform/webhooks with {"url", "events"}: 201 with the secret, this once."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    failures = NEW_WEBHOOK.failures(document)
    if failures.unknown:
        raise InvalidRequestError(f"unknown field {failures.unknown[0]!r}")
    events = event_types(document.get("events"))
    url = await target(document.get("url"), web_app[settings_key].webhook_allow_http_loopback)
    await room_for_webhook(web_app, client.project_id)
    created, position = await decided(ANSWERS, web_app, web_app[application_key].create_webhook, client.project_id,
                                      url, events, web_app[clock_key].now(), BY)
    await saved(web_app, position)
    return reply(created_view(created), status=201)


async def list_webhooks(request: web.Request) -> web.Response:
    """GET /api/platform/webhooks: never a secret."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    return reply({"webhooks": await web_app[reads_key].query(webhooks_of, client.project_id)})


async def get_webhook(request: web.Request) -> web.Response:
    """GET /api/platform/webhooks/{webhook_id}."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    return reply(await webhook_in(request, web_app, client.project_id))


async def delete_webhook(request: web.Request) -> web.Response:
    """DELETE /api/platform/webhooks/{webhook_id}: nothing more is sent, pending deliveries included."""
    web_app = request.app
    client = await project_client(request, web_app, {}, manages_credentials=True)
    webhook = await webhook_in(request, web_app, client.project_id)
    _, position = await decided(ANSWERS, web_app, web_app[application_key].delete_webhook, client.project_id,
                                UUID(webhook["webhook_id"]), BY)
    await await_read_model(web_app, position)
    return reply({"webhook_id": webhook["webhook_id"], "deleted": True})


async def enable_webhook(request: web.Request) -> web.Response:
    """POST /api/platform/webhooks/{webhook_id}/enable: a disabled webhook's pending
    deliveries are attempted again, and events from now on reach it (those that happened
    while it was disabled were not kept for it)."""
    web_app = request.app
    client = await project_client(request, web_app, {}, manages_credentials=True)
    webhook = await webhook_in(request, web_app, client.project_id)
    _, position = await decided(ANSWERS, web_app, web_app[application_key].enable_webhook, client.project_id,
                                UUID(webhook["webhook_id"]), BY)
    await await_read_model(web_app, position)
    return reply(await webhook_in(request, web_app, client.project_id))


async def deliveries(request: web.Request) -> web.Response:
    """GET /api/platform/webhooks/{webhook_id}/deliveries[?limit=N&cursor=C]: newest first."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    webhook = await webhook_in(request, web_app, client.project_id)
    limit = number_param(query_param(request, "limit", "50"), "limit", 1, MAX_PAGE)
    cursor = query_param(request, "cursor")
    before = None if cursor is None else number_param(cursor, "cursor", 1, 2**62)
    rows, after = await web_app[reads_key].query(webhook_deliveries_page, webhook["webhook_id"], before, limit)
    return reply({"deliveries": rows, "next_cursor": None if after is None else str(after)})


async def webhook_in(request: web.Request, web_app: web.Application, project_id: str) -> dict:
    """The webhook the path names, in the caller's project (404 otherwise)."""
    webhook_id = request.match_info["webhook_id"]
    found = None
    if WEBHOOK_ID.fullmatch(webhook_id):
        found = await web_app[reads_key].query(webhook_of, project_id, webhook_id)
    if found is None:
        raise NotFoundError("no such webhook")
    return found
