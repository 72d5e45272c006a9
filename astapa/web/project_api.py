"""The management API for the project itself: its settings, its own client's secret, its
other clients, its protected resources (RFC 8707) and its log; what the console does for a
person, for the project's backend.

Authenticated as the rest of the management API (web/management.py), with the project's
own client, and only that project is visible: a client of another project is 404, like an
unknown one. Each body is checked against its schema in openapi.json before anything runs,
and each change is one command recorded with `by` BY, the actor the project's log shows.
"""

import re
from typing import Awaitable

from aiohttp import web

from astapa import inputs
from astapa.console_queries import EVENT_FILTERS, branded_project, members_of, project_events
from astapa.domain.branding import branding_errors
from astapa.domain.errors import DomainError
from astapa.domain.identities import PROVIDERS
from astapa.oauth.client_keys import public_key_set
from astapa.oauth.errors import InvalidRequestError, NotFoundError, ResourceConflictError
from astapa.oauth.resources import check_resource_uri
from astapa.payments.credentials import XenditCredentials
from astapa.project_files import Twin, check_xendit_key, save_payments, save_providers
from astapa.queries import ClientRecord, clients_of, resource_registrant
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clients_key,
    clock_key,
    reads_key,
    vault_key,
    writer_key,
)
from astapa.web.errors import API_ANSWERS, from_domain
from astapa.web.management import (
    MAX_CURSOR,
    MAX_PAGE,
    decided,
    json_body,
    number_param,
    project_client,
    query_param,
    reply,
)
from astapa.web.schemas import BodySchema, Failures, strip
from astapa.web.secret_files import PROVIDERS_FILE, XENDIT_FILE, off_loop, secret_lock, went_live

BY = "api"
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_FILTER = 200
TWINS = ("live_project_id", "sandbox_project_id")  # shown only when the project has one

# The bodies' schemas, from openapi.json (openapi/components/schemas/).
PROJECT_CHANGE = BodySchema("updateProject")
ROTATION = BodySchema("rotateProjectSecret")  # rotateClientSecret's too
NO_FIELDS = BodySchema("revokeProjectPreviousSecret")  # revokeClientPreviousSecret's too
NEW_CLIENT = BodySchema("createClient")
RESOURCE = BodySchema("putResource")
PROVIDER = BodySchema("putProvider")
XENDIT = BodySchema("putProjectPayments")
GO_LIVE = BodySchema("goLive")

# What a field breaking its schema answers, in the order fields are checked.
NAME = "a string of 1 to 100 characters without control characters"
SCOPES = "a list of at most 50 scopes, each printable ASCII without space, '\"' or '\\'"
PROJECT_FIELDS = {
    "name": f"name: {NAME}",
    "redirect_uris": "redirect_uris: a list of 1 to 20 URIs",
    "post_logout_redirect_uris": "post_logout_redirect_uris: a list of at most 20 URIs",
    "require_verified_email": "require_verified_email: true or false",
    "allow_registration": "allow_registration: true or false",
    "refresh_reuse_grace": "refresh_reuse_grace: whole seconds from 0 to 300",
    "branding": 'branding: an object with display_name, logo_url and primary_color, each a string ("" for the'
                " page's default)",
    "scopes": "scopes: a list of at most 50 scope tokens",
    "access_token_ttl": "access_token_ttl: whole seconds from 1 to 86400, or null",
    "refresh_ttl": "refresh_ttl: whole seconds from 60 to 31536000, or null",
    "pin_sign_in": "pin_sign_in: true or false",
    "pin_refresh_ttl": "pin_refresh_ttl: whole seconds from 60 to 31536000",
    "two_factor_required": "two_factor_required: true or false",
    "two_factor_grace": "two_factor_grace: whole seconds from 0 to 7776000",
}
CLIENT_FIELDS = {
    "name": f"name: {NAME}",
    "scopes": f"scopes: {SCOPES}",
    "token_ttl": f"token_ttl: whole seconds from 1 to {inputs.MAX_TOKEN_TTL}",
    "jwks": "jwks: a JWK or a JWK Set (a JSON object)",
    "jwks_uri": "jwks_uri: an https URL",
}
RESOURCE_FIELDS = {
    "uri": "uri: an absolute http(s) URI without fragment or user information",
    "scopes": f"scopes: {SCOPES}",
}
ROTATION_FIELDS = {"revoke_old": "revoke_old: true or false"}
PROVIDER_VALUE = "1 to 512 printable ASCII characters without spaces"
PROVIDER_FIELDS = {
    "client_id": f"client_id: the OAuth client id the provider gave, {PROVIDER_VALUE}",
    "client_secret": f"client_secret: the OAuth client secret the provider gave, {PROVIDER_VALUE}",
}
CALLBACK_TOKEN = "8 to 512 characters"
XENDIT_FIELDS = {
    "secret_key": "secret_key: the project's Xendit secret key",
    "callback_token": f"callback_token: Xendit's webhook verification token, {CALLBACK_TOKEN}",
}
GO_LIVE_FIELDS = {
    "xendit_secret_key": "xendit_secret_key: the live project's Xendit secret key, starting xnd_production_",
    "xendit_callback_token": f"xendit_callback_token: Xendit's webhook verification token, {CALLBACK_TOKEN}",
}


def checked(document: dict, failures: Failures, messages: dict[str, str], whole: str) -> dict:
    """The body once it keeps to its schema; else 400 naming an unknown field, else the
    first broken one in `messages`' order, else `whole` (a rule of the body as a whole)."""
    if failures.unknown:
        raise InvalidRequestError(f"unknown field {failures.unknown[0]!r}")
    for field, message in messages.items():
        if field in failures.fields:
            raise InvalidRequestError(message)
    if failures:
        raise InvalidRequestError(whole)
    return document


def once_each(values: list) -> list:
    return list(dict.fromkeys(values))


# -- the project ---------------------------------------------------------------------------------

async def project_view(web_app: web.Application, project_id: str) -> dict:
    """The project as the read models show it: settings and branding, never a secret or a hash."""
    project = await web_app[reads_key].query(branded_project, project_id)
    return {k: v for k, v in project.items() if k not in TWINS or v is not None}


async def get_project(request: web.Request) -> web.Response:
    """GET /api/platform/project."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    return reply(await project_view(web_app, client.project_id))


async def patch_project(request: web.Request) -> web.Response:
    """PATCH /api/platform/project: every field checked, then all recorded in one decision
    (update_project), so a refused one changes nothing."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    changes = checked(document, PROJECT_CHANGE.failures(document), PROJECT_FIELDS,
                      f"send any of {', '.join(PROJECT_FIELDS)}")
    if "name" in changes:
        changes["name"] = strip(changes["name"])
    for listed in ("redirect_uris", "post_logout_redirect_uris", "scopes"):
        if listed in changes:
            changes[listed] = once_each(changes[listed])
    branding = branding_fields(changes.pop("branding")) if "branding" in changes else None
    _, position = await decided(API_ANSWERS, web_app, web_app[application_key].update_project, client.project_id,
                                changes, BY, branding)
    await await_read_model(web_app, position)
    return reply(await project_view(web_app, client.project_id))


def branding_fields(branding: dict[str, str]) -> dict[str, str]:
    """The branding sent, stripped, once domain/branding.py's rules (the console's) take
    it: 400 naming the first field refused and why."""
    values = {name: strip(value) for name, value in branding.items()}
    for field, reason in branding_errors(**values).items():
        raise InvalidRequestError(f"branding.{field}: {reason[:1].lower()}{reason[1:]}")
    return values


# -- sign-in with Google and GitHub, and Xendit: secrets to files, their hashes to the log ---------

def provider_of(request: web.Request) -> str:
    provider = request.match_info["provider"]
    if provider not in PROVIDERS:
        raise NotFoundError("no such provider: google or github")
    return provider


async def put_provider(request: web.Request) -> web.Response:
    """PUT /api/platform/project/providers/{provider}: sign-in with Google or GitHub through
    the OAuth client the project made there. HTTP Basic only: the body's client_id and
    client_secret are the provider's, not the caller's."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, {}, manages_credentials=True)
    provider = provider_of(request)
    fields = checked(document, PROVIDER.failures(document), PROVIDER_FIELDS, "send client_id and client_secret")
    return await providers_changed(web_app, client.project_id,
                                   {provider: (fields["client_id"], fields["client_secret"])}, [])


async def delete_provider(request: web.Request) -> web.Response:
    """DELETE /api/platform/project/providers/{provider}: sign-in with it ends (none
    configured is not an error)."""
    web_app = request.app
    client = await project_client(request, web_app, {}, manages_credentials=True)
    return await providers_changed(web_app, client.project_id, {}, [provider_of(request)])


async def providers_changed(web_app: web.Application, project_id: str, configured: dict[str, tuple[str, str]],
                            removed: list[str]) -> web.Response:
    """The providers' secrets to their file, then only their hashes to the log, under the
    lock the console's changes take too. The answer names providers, never a secret."""
    async with secret_lock(project_id, PROVIDERS_FILE):
        hashes = await off_loop(save_providers, web_app[vault_key], project_id, configured, removed)
        value, position = await decided(API_ANSWERS, web_app, web_app[application_key].configure_providers,
                                        project_id, hashes, removed, by=BY)
    await await_read_model(web_app, position)
    return reply(value)


async def put_payments(request: web.Request) -> web.Response:
    """PUT /api/platform/project/payments: the project's own Xendit secret key (of its
    mode: a sandbox's is a development key) and webhook token, to their 0600 file; their
    hashes to the log, under the lock the console's changes take too."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    fields = checked(document, XENDIT.failures(document), XENDIT_FIELDS, "send secret_key, and callback_token if any")
    credentials = XenditCredentials(xendit_key(client.mode, fields, "secret_key"), fields.get("callback_token"))
    async with secret_lock(client.project_id, XENDIT_FILE):
        hashes = await off_loop(save_payments, web_app[vault_key], client.project_id, credentials)
        value, position = await decided(API_ANSWERS, web_app, web_app[application_key].configure_payments,
                                        client.project_id, *hashes, by=BY)
    await await_read_model(web_app, position)
    return reply(value)


def xendit_key(mode: str, fields: dict, name: str) -> str:
    """The Xendit secret key sent as `name`, if a project of `mode` takes it (check_xendit_key)."""
    try:
        check_xendit_key(mode, fields[name])
    except ValueError as e:
        raise InvalidRequestError(f"{name}: {e}") from None
    return fields[name]


# -- going live ----------------------------------------------------------------------------------

async def go_live(request: web.Request) -> web.Response:
    """POST /api/platform/project/go-live: the sandbox's live twin (its configuration, none
    of its data) as the console and the CLI make it, its secrets shown once (201); 409 with
    every reason while the sandbox would be unsafe in production, or once it went live.
    Those who run the sandbox in the console run the twin too."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    fields = checked(document, GO_LIVE.failures(document), GO_LIVE_FIELDS,
                     "send xendit_callback_token only with xendit_secret_key")
    live_key = None
    if "xendit_secret_key" in fields:
        live_key = XenditCredentials(xendit_key("live", fields, "xendit_secret_key"),
                                     fields.get("xendit_callback_token"))
    app = web_app[application_key]
    members = await web_app[reads_key].query(members_of, client.project_id)

    def save(twin: Twin, smtp_configured: bool) -> Awaitable[tuple[dict, int]]:
        return web_app[writer_key].run(
            app.go_live_with_members, client.project_id, [m["email_key"] for m in members], None, BY,
            smtp_configured, twin.development, live_xendit=twin.xendit, live_project_id=twin.project_id,
            parts=twin.parts)

    try:
        value, position = await went_live(web_app, client.project_id, live_key, save)
    except DomainError as e:
        raise from_domain(e, API_ANSWERS) from None
    await await_read_model(web_app, position)
    return reply(value, status=201)


# -- secrets -------------------------------------------------------------------------------------

async def rotate_project_secret(request: web.Request) -> web.Response:
    """POST /api/platform/project/rotate-secret: the project's own client's new secret."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    return await rotated(web_app, client.client_id, document)


async def revoke_project_previous_secret(request: web.Request) -> web.Response:
    """POST /api/platform/project/revoke-previous-secret."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    return await previous_revoked(web_app, client.client_id, document)


async def rotated(web_app: web.Application, client_id: str, document: dict) -> web.Response:
    """A new secret for `client_id`, shown once; it works as soon as this answers."""
    checked(document, ROTATION.failures(document), ROTATION_FIELDS, "send {} or {\"revoke_old\": true}")
    value, position = await decided(API_ANSWERS, web_app, web_app[application_key].rotate_secret, client_id,
                                    web_app[clock_key].now(), document.get("revoke_old", False), BY)
    await await_read_model(web_app, position)
    return reply(value)


async def previous_revoked(web_app: web.Application, client_id: str, document: dict) -> web.Response:
    checked(document, NO_FIELDS.failures(document), {}, "send {}")
    _, position = await decided(API_ANSWERS, web_app, web_app[application_key].revoke_previous_secret, client_id,
                                BY)
    await await_read_model(web_app, position)
    return reply({"client_id": client_id, "previous_secret_revoked": True})


# -- the project's other clients -----------------------------------------------------------------

def client_view(row: dict) -> dict:
    """A client as clients_of lists it, with RFC 7591's name for how it authenticates."""
    view = {k: v for k, v in row.items() if k != "auth_method"}
    view["token_endpoint_auth_method"] = row["auth_method"]
    return view


async def list_clients(request: web.Request) -> web.Response:
    """GET /api/platform/clients: machine and registered clients (not the project's own)."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    rows = await web_app[reads_key].query(clients_of, client.project_id)
    return reply({"clients": [client_view(row) for row in rows if row["kind"] != "project"]})


async def create_client(request: web.Request) -> web.Response:
    """POST /api/platform/clients: a machine client; its secret, if it has one, shown once."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    fields = checked(document, NEW_CLIENT.failures(document), CLIENT_FIELDS, "send jwks or jwks_uri, not both")
    jwks = field_value(public_key_set, fields, "jwks")
    jwks_uri = field_value(inputs.jwks_uri, fields, "jwks_uri")
    value, position = await decided(API_ANSWERS, web_app, web_app[application_key].create_client, client.project_id,
                                    strip(fields["name"]), once_each(fields.get("scopes", [])),
                                    fields.get("token_ttl"), jwks=jwks, jwks_uri=jwks_uri, by=BY)
    await await_read_model(web_app, position)
    return reply(value, status=201)


def field_value(check, fields: dict, name: str):
    """`check` (of astapa/inputs.py's kind: the value, or ValueError saying why) on a field
    sent; None when it was not."""
    if fields.get(name) is None:
        return None
    try:
        return check(fields[name])
    except ValueError as e:
        raise InvalidRequestError(f"{name}: {e}") from None


async def named_client(request: web.Request, web_app: web.Application, caller: ClientRecord) -> str:
    """The client the path names: one of the caller's project's besides its own (the
    project's routes are for that one); 404 otherwise, as for an unknown one."""
    client_id = request.match_info["client_id"]
    named = await web_app[clients_key].get(client_id) if CLIENT_ID.fullmatch(client_id) else None
    if named is None or named.project_id != caller.project_id or named.kind == "project":
        raise NotFoundError("no such client")
    return client_id


async def delete_client(request: web.Request) -> web.Response:
    """DELETE /api/platform/clients/{client_id}."""
    web_app = request.app
    client = await project_client(request, web_app, {}, manages_credentials=True)
    client_id = await named_client(request, web_app, client)
    value, position = await decided(API_ANSWERS, web_app, web_app[application_key].delete_client, client_id, BY)
    await await_read_model(web_app, position)
    return reply(value)


async def rotate_client_secret(request: web.Request) -> web.Response:
    """POST /api/platform/clients/{client_id}/rotate-secret."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    return await rotated(web_app, await named_client(request, web_app, client), document)


async def revoke_client_previous_secret(request: web.Request) -> web.Response:
    """POST /api/platform/clients/{client_id}/revoke-previous-secret."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    return await previous_revoked(web_app, await named_client(request, web_app, client), document)


# -- resources -----------------------------------------------------------------------------------

async def put_resource(request: web.Request) -> web.Response:
    """PUT /api/platform/resources: a resource and its scopes (a known URI's replaced)."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document, manages_credentials=True)
    fields = checked(document, RESOURCE.failures(document), RESOURCE_FIELDS, "send uri and scopes")
    uri = field_value(check_resource_uri, fields, "uri")
    # From the read models, not the decision: the event store keeps no index of resources,
    # so two projects racing for one URI could both pass. An operator's setting, rarely
    # changed; a token is never issued for another project's resource either way.
    if await web_app[reads_key].query(resource_registrant, client.project_id, uri) is not None:
        raise ResourceConflictError("another project registered this resource")
    _, position = await decided(API_ANSWERS, web_app, web_app[application_key].add_resource, client.project_id,
                                uri, once_each(fields["scopes"]), BY)
    await await_read_model(web_app, position)
    return reply({"resources": (await project_view(web_app, client.project_id))["resources"]})


# -- the project's log ---------------------------------------------------------------------------

async def events(request: web.Request) -> web.Response:
    """GET /api/platform/events?type=&subject=&actor=&before=&limit=: newest first."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    filters = {name: event_filter(request, name) for name in EVENT_FILTERS}
    before = query_param(request, "before")
    before = None if before is None else number_param(before, "before", 1, MAX_CURSOR)
    limit = number_param(query_param(request, "limit", "50"), "limit", 1, MAX_PAGE)
    rows, following = await web_app[reads_key].query(project_events, client.project_id, before, limit, filters)
    return reply({"events": [{**row, "subject": row["subject"] or None, "actor": row["actor"] or None}
                             for row in rows], "next": following})


def event_filter(request: web.Request, name: str) -> str:
    value = query_param(request, name, "")
    if len(value) > MAX_FILTER:
        raise InvalidRequestError(f"{name} must be at most {MAX_FILTER} characters")
    return value
