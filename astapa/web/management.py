"""The management API (server to server): plans, users, the Claims API, a user's history.

Authenticated like the token endpoint with the project's own client (HTTP Basic, or
`client_id` and `client_secret` in a JSON body); only that project's users and plans are
visible: any other is 404. JSON in and out; errors are {"error", "error_description"}.
"""

import json
import re
from datetime import datetime
from typing import Any

from aiohttp import web

from astapa.app import KEEP
from astapa.web.appkeys import context_key
from astapa.web.context import Context
from astapa.domain.errors import (
    InvalidClaimsError,
    InvalidEmailError,
    PlanExistsError,
    PlanNotFoundError,
    UserNotFoundError,
)
from astapa.domain.plans import CURRENCIES, INTERVALS
from astapa.domain.users import normalise_email
from astapa.oauth import client_auth
from astapa.oauth.errors import (
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    ResourceConflictError,
    TemporarilyUnavailableError,
)
from astapa.oauth.request import OAuthRequest
from astapa.queries import (
    ClientRecord,
    plan_by_key,
    plans_of,
    user_by_email,
    user_events,
    user_profile,
    users_page,
)
from astapa.web.middleware import NO_STORE
from astapa.web.oauth import authenticate_counted, read_body

SUB = re.compile(r"[1-9][0-9]{0,15}")
PLAN_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
MAX_PAGE = 200
MAX_PRICE = 10**12


# -- parsing and authentication ------------------------------------------------------------------

async def json_body(request: web.Request) -> dict:
    """The JSON object sent (an empty body is {}), or 400."""
    body = await read_body(request)
    if not body.strip():
        return {}
    if request.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
        raise InvalidRequestError("send JSON with Content-Type: application/json")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidRequestError("body is not valid JSON") from None
    if not isinstance(document, dict):
        raise InvalidRequestError("the JSON body must be an object")
    return document


async def project_client(request: web.Request, ctx: Context, document: dict) -> ClientRecord:
    """The project's own client, from HTTP Basic or client_id/client_secret in the body
    (taken out of `document`). Failures from one source for one client are throttled."""
    values = {k: document.pop(k) for k in ("client_id", "client_secret") if k in document}
    if any(not isinstance(v, str) for v in values.values()):
        raise InvalidRequestError("client_id and client_secret must be strings")
    creds = client_auth.credentials(OAuthRequest({k: v for k, v in values.items() if v}, (),
                                                 request.headers.get("Authorization")))
    client = await authenticate_counted(ctx, creds, f"{creds.client_id}|{request.remote}")
    if client.kind != "project":
        raise ForbiddenError("only the project's own client may use the management API")
    return client


def sub_of(request: web.Request) -> str:
    sub = request.match_info["sub"]
    if not SUB.fullmatch(sub):
        raise NotFoundError("no such user")
    return sub


async def user_of(request: web.Request, ctx: Context, client: ClientRecord) -> dict:
    """The user the path names, in the caller's project (404 otherwise), as shown now."""
    user = await ctx.reads.query(user_profile, client.project_id, sub_of(request), ctx.clock.now())
    if user is None:
        raise NotFoundError("no such user")
    return user


def reply(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=NO_STORE)


async def current_user(ctx: Context, project_id: str, sub: str, position: int) -> web.Response:
    """The user as the read models show them once they include `position`."""
    if not await ctx.runner.wait(position, ctx.settings.projection_wait):
        raise TemporarilyUnavailableError(detail="change recorded, read models lagging")
    return reply(await ctx.reads.query(user_profile, project_id, sub, ctx.clock.now()))


async def command(ctx: Context, *args) -> int:
    """Run a command; domain refusals become the API's answers. Its position."""
    try:
        _, position = await ctx.writer.run(*args)
    except UserNotFoundError:
        raise NotFoundError("no such user") from None
    except PlanNotFoundError:
        raise InvalidRequestError("plan must be the key of one of the project's plans") from None
    except PlanExistsError:
        raise ResourceConflictError("the project already has a plan with this key") from None
    except InvalidClaimsError as e:
        raise InvalidRequestError(e.args[0]) from None
    return position


# -- plans ---------------------------------------------------------------------------------------

async def list_plans(request: web.Request) -> web.Response:
    """GET /api/platform/plans."""
    ctx = request.app[context_key]
    client = await project_client(request, ctx, {})
    return reply({"plans": await ctx.reads.query(plans_of, client.project_id)})


async def create_plan(request: web.Request) -> web.Response:
    """POST /api/platform/plans."""
    ctx = request.app[context_key]
    document = await json_body(request)
    client = await project_client(request, ctx, document)
    plan = plan_fields(document)
    position = await command(ctx, ctx.app.create_plan, client.project_id, plan["key"], plan["name"],
                             plan["price"], plan["currency"], plan["interval"], plan.get("claims", {}),
                             client.client_id)
    await ctx.runner.wait(position, ctx.settings.projection_wait)
    view = await ctx.reads.query(plan_by_key, client.project_id, plan["key"])
    return reply(view, status=201)


async def patch_plan(request: web.Request) -> web.Response:
    """PATCH /api/platform/plans/{key} with any of name, price, claims: from now on; what
    was paid, or is pending, keeps its price."""
    ctx = request.app[context_key]
    document = await json_body(request)
    client = await project_client(request, ctx, document)
    key = request.match_info["key"]
    if not PLAN_KEY.fullmatch(key):
        raise NotFoundError("no such plan")
    if not document or set(document) - {"name", "price", "claims"}:
        raise InvalidRequestError("send any of name, price and claims")
    changes = plan_fields(document, allowed=("name", "price", "claims"), required=())
    try:
        _, position = await ctx.writer.run(ctx.app.change_plan, client.project_id, key, changes, client.client_id)
    except PlanNotFoundError:
        raise NotFoundError("no such plan") from None
    except PlanExistsError:
        raise ResourceConflictError("free is built in and cannot be changed") from None
    except InvalidClaimsError as e:
        raise InvalidRequestError(e.args[0]) from None
    await ctx.runner.wait(position, ctx.settings.projection_wait)
    return reply(await ctx.reads.query(plan_by_key, client.project_id, key))


# Each field of a plan: its check, and the message when it fails (in this order).
PLAN_FIELDS = {
    "key": (lambda v: isinstance(v, str) and PLAN_KEY.fullmatch(v) is not None,
            "key: 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit"),
    "name": (lambda v: isinstance(v, str) and 0 < len(v.strip()) <= 100, "name: a string of 1 to 100 characters"),
    "price": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_PRICE,
              "price: a whole number of the currency's unit, 0 or more"),
    "currency": (lambda v: v in CURRENCIES, f"currency: one of {', '.join(CURRENCIES)}"),
    "interval": (lambda v: v in INTERVALS, f"interval: one of {', '.join(INTERVALS)}"),
    "claims": (lambda v: isinstance(v, dict), "claims: a JSON object"),
}


def plan_fields(document: dict, allowed: tuple[str, ...] = tuple(PLAN_FIELDS),
                required: tuple[str, ...] = ("key", "name", "price", "currency", "interval")) -> dict:
    """The plan fields sent, checked; a name is stripped. 400 for an unknown, missing or
    invalid field (the first one found)."""
    unknown = set(document) - set(allowed)
    if unknown:
        raise InvalidRequestError(f"unknown field {sorted(unknown)[0]!r}")
    for name, (valid, message) in PLAN_FIELDS.items():
        if (name in document or name in required) and not valid(document.get(name)):
            raise InvalidRequestError(message)
    return {k: v.strip() if k == "name" else v for k, v in document.items()}


# -- users ---------------------------------------------------------------------------------------

async def get_user(request: web.Request) -> web.Response:
    """GET /api/platform/users/{sub}."""
    ctx = request.app[context_key]
    client = await project_client(request, ctx, {})
    return reply(await user_of(request, ctx, client))


async def list_users(request: web.Request) -> web.Response:
    """GET /api/platform/users?email=E, or the listing: ?limit=N&cursor=C."""
    ctx = request.app[context_key]
    client = await project_client(request, ctx, {})
    now = ctx.clock.now()
    if "email" in request.query:
        try:
            _, key = normalise_email(request.query["email"])
        except InvalidEmailError:
            return reply({"users": []})
        user = await ctx.reads.query(user_by_email, client.project_id, key, now)
        return reply({"users": [user] if user else []})
    limit = _number(request.query.get("limit", "50"), "limit", 1, MAX_PAGE)
    after = _number(request.query.get("cursor", "0"), "cursor", 0, 2**62)
    users, cursor = await ctx.reads.query(users_page, client.project_id, after, limit, now)
    return reply({"users": users, "next_cursor": None if cursor is None else str(cursor)})


async def patch_user(request: web.Request) -> web.Response:
    """PATCH /api/platform/users/{sub} with {"disabled": true|false}."""
    ctx = request.app[context_key]
    document = await json_body(request)
    client = await project_client(request, ctx, document)
    sub = sub_of(request)
    if set(document) != {"disabled"} or not isinstance(document["disabled"], bool):
        raise InvalidRequestError('send {"disabled": true} or {"disabled": false}')
    position = await command(ctx, ctx.app.set_disabled, client.project_id, sub, document["disabled"],
                             client.client_id)
    return await current_user(ctx, client.project_id, sub, position)


async def patch_claims(request: web.Request) -> web.Response:
    """PATCH /api/platform/users/{sub}/claims: each key set, a null removed; `plan` must be
    one of the project's plans (null: back to free)."""
    ctx = request.app[context_key]
    document = await json_body(request)
    client = await project_client(request, ctx, document)
    sub = sub_of(request)
    plan = document.pop("plan", KEEP)
    if plan is not KEEP and plan is not None and not isinstance(plan, str):
        raise InvalidRequestError("plan must be the key of one of the project's plans")
    changed = {k: v for k, v in document.items() if v is not None}
    removed = [k for k, v in document.items() if v is None]
    position = await command(ctx, ctx.app.change_claims, client.project_id, sub, changed, removed, plan,
                             client.client_id)
    return await current_user(ctx, client.project_id, sub, position)


async def put_plan(request: web.Request) -> web.Response:
    """PUT /api/platform/users/{sub}/plan with {"plan", "expires_at"?}: expires_at an
    RFC 3339 time or seconds since the epoch; after it the user is back on free."""
    ctx = request.app[context_key]
    document = await json_body(request)
    client = await project_client(request, ctx, document)
    sub = sub_of(request)
    if not set(document) <= {"plan", "expires_at"} or not isinstance(document.get("plan"), str):
        raise InvalidRequestError('send {"plan": KEY} and optionally "expires_at"')
    expires_at = _time(document.get("expires_at"))
    if expires_at is not None and expires_at <= ctx.clock.now():
        raise InvalidRequestError("expires_at is in the past")
    position = await command(ctx, ctx.app.assign_plan, client.project_id, sub, document["plan"], expires_at,
                             client.client_id)
    return await current_user(ctx, client.project_id, sub, position)


async def events(request: web.Request) -> web.Response:
    """GET /api/platform/users/{sub}/events[?after=POSITION&limit=N]: oldest first."""
    ctx = request.app[context_key]
    client = await project_client(request, ctx, {})
    sub = (await user_of(request, ctx, client))["sub"]
    after = _number(request.query.get("after", "0"), "after", 0, 2**62)
    limit = _number(request.query.get("limit", "100"), "limit", 1, 1000)
    found = await ctx.reads.query(user_events, client.project_id, sub, after, limit)
    return reply({"sub": sub, "events": found})


def _number(value: str, name: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise InvalidRequestError(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def _time(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.timestamp()
    raise InvalidRequestError("expires_at: an RFC 3339 time with a zone, or seconds since the epoch")
