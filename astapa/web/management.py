"""The management API (server to server): plans, users, the Claims API, a user's history.

Authenticated like the token endpoint with the project's own client (HTTP Basic, or
`client_id` and `client_secret` in a JSON body); only that project's users and plans are
visible: any other is 404. JSON in and out; errors are {"error", "error_description"}.
"""

import asyncio
import re
import sqlite3
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from astapa.app import KEEP
from astapa.domain.errors import DomainError, InvalidEmailError
from astapa.domain.plans import CURRENCIES, INTERVALS
from astapa.domain.users import normalise_email
from astapa.oauth import client_auth
from astapa.oauth.errors import (
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    TemporarilyUnavailableError,
)
from astapa.oauth.request import OAuthRequest
from astapa.queries import (
    ClientRecord,
    identities_until,
    mail_of_user,
    plan_by_key,
    plans_of,
    user_by_email,
    user_events,
    user_profile,
    users_page,
)
from astapa.web import bodies
from astapa.web.appkeys import application_key, await_read_model, clock_key, reads_key, writer_key
from astapa.web.errors import API_ANSWERS, PLAN_ANSWERS, Answers, from_domain
from astapa.web.middleware import NO_STORE
from astapa.web.oauth import authenticate_counted
from astapa.web.schemas import BodySchema, Failures, strip

SUB = re.compile(r"[1-9][0-9]{0,15}")
PLAN_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
MAX_PAGE = 200
MAX_CURSOR = 10**18 - 1  # a listing's cursor: at most 18 digits
MAX_NAME = 100

# The bodies' schemas, from openapi.json (openapi/components/schemas/).
NEW_PLAN = BodySchema("createPlan")
PLAN_CHANGE = BodySchema("changePlan")
USER_UPDATE = BodySchema("updateUser")
CLAIMS_UPDATE = BodySchema("updateUserClaims")
PLAN_ASSIGNMENT = BodySchema("assignUserPlan")
PLAN_ARCHIVAL = BodySchema("archivePlan")


# -- parsing and authentication ------------------------------------------------------------------

async def json_body(request: web.Request) -> dict:
    """The JSON object sent, or 400: every write of the API takes one (`{}` at least)."""
    body = await bodies.read(request)
    if not body.strip():
        raise InvalidRequestError("send a JSON object with Content-Type: application/json")
    if bodies.media_type(request) != "application/json":
        raise InvalidRequestError("send JSON with Content-Type: application/json")
    try:
        return bodies.json_value(body)  # type: ignore[return-value]
    except bodies.BodyError as e:
        raise InvalidRequestError(JSON_ERRORS.get(e.reason, e.description)) from None


JSON_ERRORS = {bodies.ENCODING: "body is not valid JSON", bodies.SYNTAX: "body is not valid JSON",
               bodies.TYPE: "the JSON body must be an object"}


async def project_client(request: web.Request, web_app: web.Application, document: dict,
                         manages_credentials: bool = False) -> ClientRecord:
    """The project's own client, from HTTP Basic or client_id/client_secret in the body
    (taken out of `document`). Failures from one source for one client are throttled.
    `manages_credentials`: the call changes secrets, clients or where codes may go, which
    the secret being replaced may not (whoever holds a leaked secret must not be able to
    take the project back from the rotation meant to shut them out)."""
    values = {k: document.pop(k) for k in ("client_id", "client_secret") if k in document}
    if any(not isinstance(v, str) for v in values.values()):
        raise InvalidRequestError("client_id and client_secret must be strings")
    creds = client_auth.credentials(OAuthRequest({k: v for k, v in values.items() if v}, (),
                                                 request.headers.get("Authorization")))
    client = await authenticate_counted(web_app, creds, f"{creds.client_id}|{request.remote}")
    if client.kind != "project":
        raise ForbiddenError("only the project's own client may use the management API")
    if manages_credentials and client.by_previous_secret:
        raise ForbiddenError("the secret being replaced cannot change the project's credentials or settings;"
                             " use the new secret")
    return client


def sub_of(request: web.Request) -> str:
    sub = request.match_info["sub"]
    if not SUB.fullmatch(sub):
        raise NotFoundError("no such user")
    return sub


async def user_of(request: web.Request, web_app: web.Application, client: ClientRecord) -> dict:
    """The user the path names, in the caller's project (404 otherwise), as shown now."""
    user = await web_app[reads_key].query(user_profile, client.project_id, sub_of(request),
                                          web_app[clock_key].now())
    if user is None:
        raise NotFoundError("no such user")
    return user


def reply(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=NO_STORE)


async def current_user(web_app: web.Application, project_id: str, sub: str, position: int) -> web.Response:
    """The user as the read models show them once they include `position`."""
    await await_read_model(web_app, position)
    return reply(await web_app[reads_key].query(user_profile, project_id, sub, web_app[clock_key].now()))


async def command(web_app: web.Application, *args) -> int:
    """Run a command; domain refusals become the API's answers. Its position."""
    return await command_on(API_ANSWERS, web_app, *args)


async def command_on(answers: Answers, web_app: web.Application, *args) -> int:
    _, position = await decided(answers, web_app, *args)
    return position


async def decided(answers: Answers, web_app: web.Application, *args, **kwargs) -> tuple[Any, int]:
    """Run a command; domain refusals become `answers`. Its value and position."""
    try:
        return await web_app[writer_key].run(*args, **kwargs)
    except DomainError as e:
        raise from_domain(e, answers) from None


# -- plans ---------------------------------------------------------------------------------------

async def list_plans(request: web.Request) -> web.Response:
    """GET /api/platform/plans."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    return reply({"plans": await web_app[reads_key].query(plans_of, client.project_id)})


async def create_plan(request: web.Request) -> web.Response:
    """POST /api/platform/plans."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document)
    plan = plan_fields(document, NEW_PLAN.failures(document))
    position = await command(web_app, web_app[application_key].create_plan, client.project_id, plan["key"],
                             plan["name"],
                             plan["price"], plan["currency"], plan["interval"], plan.get("claims", {}),
                             client.client_id)
    await await_read_model(web_app, position)
    view = await web_app[reads_key].query(plan_by_key, client.project_id, plan["key"])
    return reply(view, status=201)


async def patch_plan(request: web.Request) -> web.Response:
    """PATCH /api/platform/plans/{key} with any of name, price, claims: from now on; what
    was paid, or is pending, keeps its price."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document)
    key = plan_key(request)
    failures = PLAN_CHANGE.failures(document)
    if failures.whole or failures.unknown:
        raise InvalidRequestError("send any of name, price and claims")
    changes = plan_fields(document, failures)
    position = await command_on(PLAN_ANSWERS, web_app, web_app[application_key].change_plan,
                                client.project_id,
                                key, changes, client.client_id)
    await await_read_model(web_app, position)
    return reply(await web_app[reads_key].query(plan_by_key, client.project_id, key))


async def archive_plan(request: web.Request) -> web.Response:
    """POST /api/platform/plans/{key}/archive: offered no more (assigning it, or paying for
    it, is refused from now on); users on it keep it and its claims. Archiving again
    changes nothing; `free` is built in and always offered (409)."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document)
    key = plan_key(request)
    failures = PLAN_ARCHIVAL.failures(document)
    if failures:
        raise InvalidRequestError(f"unknown field {failures.unknown[0]!r}" if failures.unknown else "send {}")
    position = await command_on(PLAN_ANSWERS, web_app, web_app[application_key].archive_plan, client.project_id,
                                key, client.client_id)
    await await_read_model(web_app, position)
    return reply(await web_app[reads_key].query(plan_by_key, client.project_id, key))


def plan_key(request: web.Request) -> str:
    """The plan the path names; 404 for a key no plan can have."""
    key = request.match_info["key"]
    if not PLAN_KEY.fullmatch(key):
        raise NotFoundError("no such plan")
    return key


# The message when a field of a plan breaks its schema, in the order they are checked.
PLAN_FIELDS = {
    "key": "key: 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit",
    "name": f"name: a string of 1 to {MAX_NAME} characters",
    "price": "price: a whole number of the currency's unit, 0 or more",
    "currency": f"currency: one of {', '.join(CURRENCIES)}",
    "interval": f"interval: one of {', '.join(INTERVALS)}",
    "claims": "claims: a JSON object",
}


def plan_fields(document: dict, failures: Failures) -> dict:
    """The plan fields sent, checked against their schema; a name is stripped. 400 for an
    unknown, missing or invalid field (the first one found)."""
    if failures.unknown:
        raise InvalidRequestError(f"unknown field {failures.unknown[0]!r}")
    for field in broken_plan_fields(document, failures):
        raise InvalidRequestError(PLAN_FIELDS[field])
    return {k: strip(v) if k == "name" else v for k, v in document.items()}


def broken_plan_fields(document: dict, failures: Failures) -> list[str]:
    """The plan fields that break the rules, in PLAN_FIELDS' order: the API answers the
    first, the console shows each next to its field."""
    broken = set(failures.fields)
    if isinstance(document.get("claims"), dict):  # its names and size: the command says what is wrong
        broken.discard("claims")
    name = document.get("name")
    if isinstance(name, str) and len(strip(name)) > MAX_NAME:  # a schema cannot strip first
        broken.add("name")
    return [field for field in PLAN_FIELDS if field in broken]


# -- users ---------------------------------------------------------------------------------------

async def get_user(request: web.Request) -> web.Response:
    """GET /api/platform/users/{sub}[?at=TIME]: the user now, or as they were at TIME."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    at = query_param(request, "at")
    if at is None:
        return reply(await user_of(request, web_app, client))
    moment = _moment(at)
    # A read: in the read models' pool, off the writer (whose thread issues tokens).
    user = (await asyncio.get_running_loop().run_in_executor(
        web_app[reads_key].pool, web_app[application_key].user_at, client.project_id, sub_of(request), moment)).value
    if user is None:
        raise NotFoundError("no such user at that time")
    identities = await web_app[reads_key].query(identities_until, client.project_id, user.sub, moment)
    return reply(user_as_of(user, moment.timestamp(), identities))


def _moment(value: str) -> datetime:
    """An RFC 3339 time with a zone (`at`), as an aware datetime."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in value.upper():
        raise InvalidRequestError("at must be an RFC 3339 time with a zone, e.g. 2026-12-01T09:00:00Z")
    return moment


def user_as_of(user, at: float, identities: list[dict]) -> dict:
    """A user aggregate as the API shows users (queries.user_view), at time `at`."""
    view = {"sub": user.sub, "email": user.email, "email_verified": user.email_verified,
            "custom_claims": user.effective_claims(at), "created_at": user.created_on.isoformat(),
            "disabled": user.disabled, "identities": identities}
    if user.plan_expires_at is not None and at < user.plan_expires_at:
        view["plan_expires_at"] = datetime.fromtimestamp(user.plan_expires_at, timezone.utc).isoformat().replace(
            "+00:00", "Z")
    return view


async def list_users(request: web.Request) -> web.Response:
    """GET /api/platform/users?email=E, or the listing: ?limit=N&cursor=C."""
    web_app = request.app
    reads = web_app[reads_key]
    client = await project_client(request, web_app, {})
    now = web_app[clock_key].now()
    email = query_param(request, "email")
    limit = number_param(query_param(request, "limit", "50"), "limit", 1, MAX_PAGE)
    after = number_param(query_param(request, "cursor", "0"), "cursor", 0, MAX_CURSOR)
    if email is not None:  # limit and cursor are checked, then ignored
        try:
            _, key = normalise_email(email)
        except InvalidEmailError:
            return reply({"users": []})
        user = await reads.query(user_by_email, client.project_id, key, now)
        return reply({"users": [user] if user else []})
    users, cursor = await reads.query(users_page, client.project_id, after, limit, now)
    return reply({"users": users, "next_cursor": None if cursor is None else str(cursor)})


async def patch_user(request: web.Request) -> web.Response:
    """PATCH /api/platform/users/{sub} with {"disabled": true|false}."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document)
    sub = sub_of(request)
    if USER_UPDATE.failures(document):
        raise InvalidRequestError('send {"disabled": true} or {"disabled": false}')
    position = await command(web_app, web_app[application_key].set_disabled, client.project_id, sub,
                             document["disabled"],
                             client.client_id)
    return await current_user(web_app, client.project_id, sub, position)


async def erase_user(request: web.Request) -> web.Response:
    """DELETE /api/platform/users/{sub}: erase the person (astapa/app/erasure.py): 204, and
    204 again for one already erased (idempotent); 404 for a sub the project never had;
    503 when the key or the throttle log could not be reached after the erasure was saved
    (retrying finishes it). Answered once this server's read models no longer hold them and
    their key is gone. Not with the secret being replaced: erasing cannot be undone."""
    web_app = request.app
    client = await project_client(request, web_app, {}, manages_credentials=True)
    sub = sub_of(request)
    app, reads, loop = web_app[application_key], web_app[reads_key], asyncio.get_running_loop()
    messages = await reads.query(mail_of_user, client.project_id, sub)
    _, position = await decided(API_ANSWERS, web_app, app.erase_user, client.project_id, sub, client.client_id,
                                messages)
    try:
        await loop.run_in_executor(reads.pool, app.erase_person_key, client.project_id, sub)
    except sqlite3.Error as e:  # person-keys.db or throttles.db busy; PersistenceError is 503 already
        raise TemporarilyUnavailableError(detail=f"the erasure is saved; finishing it failed: {e!r}") from None
    await await_read_model(web_app, position)
    return web.Response(status=204, headers=NO_STORE)


async def patch_claims(request: web.Request) -> web.Response:
    """PATCH /api/platform/users/{sub}/claims: each key set, a null removed; `plan` must be
    one of the project's plans (null: back to free)."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document)
    sub = sub_of(request)
    # Only `plan` is this handler's to check: claim names and sizes are the command's.
    if "plan" in CLAIMS_UPDATE.failures(document).fields:
        raise InvalidRequestError("plan must be the key of one of the project's plans")
    plan = document.pop("plan", KEEP)
    changed = {k: v for k, v in document.items() if v is not None}
    removed = [k for k, v in document.items() if v is None]
    position = await command(web_app, web_app[application_key].change_claims, client.project_id, sub,
                             changed, removed, plan,
                             client.client_id)
    return await current_user(web_app, client.project_id, sub, position)


async def put_plan(request: web.Request) -> web.Response:
    """PUT /api/platform/users/{sub}/plan with {"plan", "expires_at"?}: expires_at an
    RFC 3339 time or seconds since the epoch; after it the user is back on free."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document)
    sub = sub_of(request)
    failures = PLAN_ASSIGNMENT.failures(document)
    if failures.whole or failures.unknown or "plan" in failures.fields:
        raise InvalidRequestError('send {"plan": KEY} and optionally "expires_at"')
    if "expires_at" in failures.fields:
        raise InvalidRequestError(EXPIRES_AT)
    expires_at = _time(document.get("expires_at"))
    if expires_at is not None and expires_at <= web_app[clock_key].now():
        raise InvalidRequestError("expires_at is in the past")
    position = await command(web_app, web_app[application_key].assign_plan, client.project_id, sub,
                             document["plan"], expires_at,
                             client.client_id)
    return await current_user(web_app, client.project_id, sub, position)


async def events(request: web.Request) -> web.Response:
    """GET /api/platform/users/{sub}/events[?after=POSITION&limit=N]: oldest first."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    sub = (await user_of(request, web_app, client))["sub"]
    after = number_param(query_param(request, "after", "0"), "after", 0, 2**62)
    limit = number_param(query_param(request, "limit", "100"), "limit", 1, 1000)
    found = await web_app[reads_key].query(user_events, client.project_id, sub, after, limit)
    return reply({"sub": sub, "events": found})


def query_param(request: web.Request, name: str, default: str | None = None) -> str | None:
    """A query parameter, given at most once (a repeated one is 400, as in OAuth requests)."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise InvalidRequestError(f"{name} is repeated")
    return values[0] if values else default


def number_param(value: str, name: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise InvalidRequestError(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def _time(value: Any) -> float | None:
    """An RFC 3339 time with a zone, or seconds since the epoch: the schema gives the
    types, this reads the time."""
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
    raise InvalidRequestError(EXPIRES_AT)


EXPIRES_AT = "expires_at: an RFC 3339 time with a zone, or seconds since the epoch"
