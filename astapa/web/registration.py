"""RFC 7591 dynamic client registration at a project's own authorization server
(`POST {issuer}/projects/{project_id}/oauth/register`), for MCP clients and others that
predate Client ID Metadata Documents. Only projects created or updated with
`--allow-registration` take it; each client IP may register a few clients an hour
(ASTAPA's registrations_per_ip, 10 by default).

The client gets a client_id (and a secret for the secret methods), may use only the code
flow with PKCE and refresh, and is third-party: the user is asked before it gets a code.
"""

from aiohttp import web

from astapa.domain.errors import RegistrationClosedError
from astapa.oauth.authorize import OIDC_SCOPES
from astapa.oauth.client_metadata import AUTH_METHODS, MetadataError, parse_metadata
from astapa.oauth.errors import (
    InvalidClientMetadataError,
    NotFoundError,
    TooManyAttemptsError,
    registration_error,
)
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clients_key,
    clock_key,
    throttles_key,
    writer_key,
)
from astapa.web.middleware import NO_STORE
from astapa.web.oauth import auth_server

NOT_OPEN = "this project does not take dynamic client registration"


async def register(request: web.Request) -> web.Response:
    web_app = request.app
    throttles = web_app[throttles_key]
    server = auth_server(request)
    project = await web_app[clients_key].project(server.project_id) if server.project_id else None
    if project is None or not project.allow_registration:
        raise NotFoundError(NOT_OPEN)
    ip = request.remote or "-"
    wait = throttles.registration.retry_after(ip)
    if wait:
        raise TooManyAttemptsError(wait, detail=f"registrations from {ip}")
    body = await bodies.read(request)
    if bodies.media_type(request) != "application/json":
        raise InvalidClientMetadataError("send the client metadata as application/json")
    try:
        document = bodies.json_value(body or b"null", kind=None)  # parse_metadata wants an object
    except bodies.BodyError as e:
        raise InvalidClientMetadataError(e.description if e.reason == bodies.REPEATED
                                         else "the body is not valid JSON") from None
    try:
        metadata = parse_metadata(document, AUTH_METHODS, "client_secret_basic", "Unnamed application")
    except MetadataError as e:
        raise registration_error(e.error, e.description) from None
    unknown = [s for s in metadata.scopes if s not in project.scopes and s not in OIDC_SCOPES]
    if unknown:
        raise InvalidClientMetadataError(f"scope names scopes this project does not have: {' '.join(unknown)}")
    try:
        response, position = await web_app[writer_key].run(web_app[application_key].register_client,
                                                           project.project_id, metadata,
                                                  web_app[clock_key].now())
    except RegistrationClosedError:
        raise NotFoundError(NOT_OPEN) from None
    throttles.registration.fail(ip)  # each client made counts; refusals make nothing
    # Read your write: the client can start signing in as soon as it has its id.
    await await_read_model(web_app, position)
    return web.json_response(response, status=201, headers=NO_STORE)
