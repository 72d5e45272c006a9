"""OAuth endpoints: token (RFC 6749 §3.2), introspection (RFC 7662), revocation (RFC 7009),
JWKS and discovery (RFC 8414). Thin: parse, authenticate, call, render."""

import json

from aiohttp import web

from astapa.app.issuing import Spend
from astapa.crypto import sha256_hex
from astapa.domain.clients import ClientRecord
from astapa.domain.errors import ClientAssertionReusedError, DomainError
from astapa.domain.refresh import split_refresh_token
from astapa.keys import etag_of
from astapa.oauth import client_auth
from astapa.oauth.client_keys import AssertionRefused, public_key_set, verify_assertion
from astapa.oauth.client_metadata import DocumentError
from astapa.oauth.discovery import project_metadata
from astapa.oauth.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    NotFoundError,
    TooManyAttemptsError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from astapa.oauth.grants import GRANTS
from astapa.oauth.jwt import verify_access_token
from astapa.oauth.request import REPEATABLE, OAuthRequest, check_query, from_pairs
from astapa.oauth.servers import AuthServer, server_for
from astapa.queries import is_access_token_revoked
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clients_key,
    clock_key,
    discovery_key,
    issuer_key,
    reads_key,
    settings_key,
    signing_keys_key,
    throttles_key,
    writer_key,
)
from astapa.web.errors import from_domain
from astapa.web.middleware import NO_STORE
from astapa.web.throttle import Throttle

CORS = {"Access-Control-Allow-Origin": "*"}


async def read_request(request: web.Request, body: bytes | None = None,
                       leave_out: frozenset[str] = frozenset()) -> OAuthRequest:
    """The OAuth request: the parameters of a form or a JSON object (a body of another
    type is refused), but those named in `leave_out`."""
    if body is None:
        body = await bodies.read(request)
    check_query(frozenset(request.query.keys()))
    pairs = [(name, value) for name, value in _parameters(bodies.media_type(request), body)
             if name not in leave_out]
    return from_pairs(pairs, request.headers.get("Authorization"))


def _parameters(media: str, body: bytes) -> list[tuple[str, object]]:
    try:
        if not body.strip():
            return []
        if media == bodies.FORM:
            return list(bodies.form_pairs(body, repeatable=REPEATABLE))
        if media == "application/json" or media.endswith("+json"):
            return list(bodies.json_value(body).items())  # type: ignore[union-attr]
    except bodies.BodyError as e:
        raise InvalidRequestError(e.description) from None
    raise InvalidRequestError("body must be application/x-www-form-urlencoded or application/json")


def auth_server(request: web.Request) -> AuthServer:
    """The authorization server a request is for: the service's, or the project's whose
    id the path names (`/projects/{project_id}/...`)."""
    server = server_for(request.app[settings_key].issuer, request.match_info.get("project_id"))
    if server is None:
        raise web.HTTPNotFound()
    return server


async def authenticate_client(web_app: web.Application, request: web.Request, oauth_request: OAuthRequest,
                              *throttles: Throttle) -> ClientRecord:
    """The client, authenticated as it registered to: a secret, a private_key_jwt
    assertion, or (a public client) its client_id alone. Refused at once (429) while the
    client-auth throttle or any of `throttles` holds the source; a failure counts."""
    creds = client_auth.credentials(oauth_request)
    source = f"{creds.client_id}|{request.remote}"
    return await authenticate_counted(web_app, creds, source, *throttles, request=request)


async def authenticate_counted(web_app: web.Application, creds: client_auth.Credentials, source: str,
                               *throttles: Throttle, request: web.Request | None = None) -> ClientRecord:
    client, spend = await _authenticate(web_app, creds, source, throttles, request)
    if spend is not None:
        try:
            await web_app[writer_key].run(web_app[application_key].use_client_assertion, *spend)
        except ClientAssertionReusedError:
            web_app[throttles_key].client_auth.fail(source)
            raise client_auth.invalid_client("client assertion was already used") from None
    return client


async def _authenticate(web_app: web.Application, creds: client_auth.Credentials, source: str,
                        throttles: tuple[Throttle, ...], request: web.Request | None,
                        ) -> tuple[ClientRecord, Spend | None]:
    """The client, and for private_key_jwt the assertion's jti still to be spent: the
    token endpoint spends it in the transaction that records the tokens."""
    wait = max(t.retry_after(source) for t in (web_app[throttles_key].client_auth, *throttles))
    if wait:
        raise TooManyAttemptsError(wait, detail=f"throttled {source}")
    server = auth_server(request) if request is not None else AuthServer(web_app[settings_key].issuer)
    try:
        try:
            client = await web_app[clients_key].lookup(creds.client_id, server.project_id)
        except DocumentError as e:
            raise client_auth.invalid_client(f"client metadata document: {e}") from None
        if creds.method != "private_key_jwt":
            return client_auth.authenticate(client, creds, web_app[clock_key].now()), None
        return await _check_assertion(web_app, client, creds, server, request)
    except InvalidClientError:
        web_app[throttles_key].client_auth.fail(source)
        raise


async def _check_assertion(web_app: web.Application, client: ClientRecord | None, creds: client_auth.Credentials,
                           server: AuthServer, request: web.Request | None) -> tuple[ClientRecord, Spend]:
    """RFC 7523 §3 against the client's registered keys (fetched again once when no key
    verifies it, at most every ten seconds); the jti is spent by the caller."""
    clients = web_app[clients_key]
    if client is None or client.auth_method != "private_key_jwt" or creds.assertion is None:
        raise client_auth.invalid_client("not a private_key_jwt client")
    audiences = {server.issuer, server.token_endpoint}
    if request is not None:
        audiences.add(web_app[settings_key].issuer + request.path)
    now = web_app[clock_key].now()
    try:
        try:
            verified = verify_assertion(creds.assertion, await _client_keys(web_app, client), client.client_id,
                                        audiences, now)
        except AssertionRefused as e:
            if not e.signature or client.jwks_uri is None \
                    or not clients.documents.age_ok("jwks", client.jwks_uri, 10):
                raise
            clients.documents.forget("jwks", client.jwks_uri)
            verified = verify_assertion(creds.assertion, await _client_keys(web_app, client), client.client_id,
                                        audiences, now)
    except (AssertionRefused, DocumentError) as e:
        raise client_auth.invalid_client(f"client assertion: {e}") from None
    return client, Spend(client.client_id, sha256_hex(verified.jti), verified.expires_at)


async def _client_keys(web_app: web.Application, client: ClientRecord) -> dict:
    if client.jwks is not None:
        return client.jwks
    assert client.jwks_uri is not None
    return await web_app[clients_key].documents.get("jwks", client.jwks_uri, _key_set)


def _key_set(document: object) -> dict:
    try:
        return public_key_set(document)
    except ValueError as e:
        raise DocumentError(f"jwks_uri: {e}") from None


async def token(request: web.Request) -> web.Response:
    """RFC 6749 §3.2. Repeated failures from one source for one client are throttled
    (RFC 6819 §5.2.3.6 / §4.4.1.3): bad secrets, and refused codes or refresh tokens."""
    web_app = request.app
    throttles = web_app[throttles_key]
    server = auth_server(request)
    oauth_request = await read_request(request)
    creds = client_auth.credentials(oauth_request)
    source = f"{creds.client_id}|{request.remote}"
    client, spend = await _authenticate(web_app, creds, source, (throttles.grant,), request)
    try:
        return await _grant(web_app, client, oauth_request, server, spend)
    except InvalidGrantError:
        throttles.grant.fail(source)
        raise
    except ClientAssertionReusedError:
        throttles.client_auth.fail(source)
        raise client_auth.invalid_client("client assertion was already used") from None
    except DomainError as e:
        if isinstance(from_domain(e), InvalidGrantError):
            throttles.grant.fail(source)
        # A reused code or refresh token revoked its family: its tokens are refused
        # everywhere once this answer arrives (read your write).
        await await_read_model(web_app, e.recorded_at)
        raise


async def _grant(web_app: web.Application, client: ClientRecord, oauth_request: OAuthRequest,
                 server: AuthServer, spend: Spend | None) -> web.Response:
    grant_type = oauth_request.get("grant_type")
    if grant_type is None:
        raise InvalidRequestError("grant_type is required")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantTypeError()
    if grant_type not in client.grant_types:
        raise UnauthorizedClientError()
    decided = grant.handle(client, oauth_request, web_app[settings_key].access_token_ttl, server)
    body = await web_app[issuer_key].issue(decided, spend)
    return web.json_response(body, headers=NO_STORE)


def _token_claims(web_app: web.Application, oauth_request: OAuthRequest) -> dict | None:
    value = oauth_request.get("token")
    if value is None:
        raise InvalidRequestError("token is required")
    return verify_access_token(value, web_app[signing_keys_key].current().verify_keys,
                               web_app[settings_key].issuer, web_app[clock_key].now())


async def introspect(request: web.Request) -> web.Response:
    """RFC 7662: any client of the same project may ask; everything else is inactive.

    Access tokens and refresh tokens alike. Their shapes tell them apart (a JWT, or
    `<family key>.<secret>`), so token_type_hint, only a hint (§2.1), changes nothing."""
    web_app = request.app
    oauth_request = await read_request(request)
    caller = await authenticate_client(web_app, request, oauth_request)
    if caller.is_public:
        raise client_auth.invalid_client("a public client cannot introspect tokens")
    value = oauth_request.get("token")
    family = split_refresh_token(value) if value is not None else None
    if family is not None:
        return await _introspect_refresh_token(web_app, caller, *family)
    claims = _token_claims(web_app, oauth_request)
    active = (
        claims is not None
        and claims.get("project_id") == caller.project_id
        and not await web_app[reads_key].query(is_access_token_revoked, claims["jti"], claims.get("sid"))
    )
    if not active:
        return web.json_response({"active": False}, headers=NO_STORE)
    body = {"active": True, "token_type": "Bearer"}
    for name in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "project_id",
                 "auth_time", "amr", "acr"):
        if name in claims:
            body[name] = claims[name]
    return web.json_response(body, headers=NO_STORE)


async def _introspect_refresh_token(web_app: web.Application, caller: ClientRecord, family_key: str,
                                    secret: str) -> web.Response:
    """The family's current generation, while the refresh grant would accept it: the client
    it was issued to, the user, when it expires (idle or absolute, the sooner) and its scope."""
    state, _ = await web_app[writer_key].run(web_app[application_key].inspect_refresh_token,
                                             family_key, secret, web_app[clock_key].now())
    if state is None or state.project_id != caller.project_id:
        return web.json_response({"active": False}, headers=NO_STORE)
    body = {"active": True, "client_id": state.client_id, "sub": state.sub, "exp": state.expires_at,
            "project_id": state.project_id, "auth_time": state.auth_time}
    if state.amr:
        body["amr"] = list(state.amr)
    if state.scopes:
        body["scope"] = " ".join(state.scopes)
    return web.json_response(body, headers=NO_STORE)


async def revoke(request: web.Request) -> web.Response:
    """RFC 7009: 200 for any token; only the client a token was issued to revokes it.

    A refresh token revokes its whole family, and with it the family's access tokens; an
    access token is revoked alone. token_type_hint is only a hint (§2.1): both are tried.
    """
    web_app = request.app
    app, writer = web_app[application_key], web_app[writer_key]
    oauth_request = await read_request(request)
    caller = await authenticate_client(web_app, request, oauth_request)
    value = oauth_request.get("token")
    if value is None:
        raise InvalidRequestError("token is required")
    family = split_refresh_token(value)
    position = 0
    if family is not None:
        _, position = await writer.run(
            app.revoke_refresh_family, family_key=family[0], by_client_id=caller.client_id)
    else:
        claims = _token_claims(web_app, oauth_request)
        if claims is not None and claims.get("client_id") == caller.client_id:
            _, position = await writer.run(
                app.revoke_access_token, jti=claims["jti"], by_client_id=caller.client_id)
    # Read your write: introspection and userinfo answer inactive as soon as this returns.
    await await_read_model(web_app, position)
    return web.Response(status=200, headers=NO_STORE)


def cached_json(request: web.Request, body: bytes, etag: str, max_age: int) -> web.Response:
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}", **CORS}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


async def jwks(request: web.Request) -> web.Response:
    """The keys, at the service's issuer or at a project's that exists (404 otherwise)."""
    server = auth_server(request)
    if server.project_id is not None and await request.app[clients_key].project(server.project_id) is None:
        raise NotFoundError("no such project")
    snapshot = request.app[signing_keys_key].current()
    return cached_json(request, snapshot.jwks_body, snapshot.jwks_etag, 300)


async def openid_configuration(request: web.Request) -> web.Response:
    return await _metadata(request, "openid-configuration")


async def authorization_server_metadata(request: web.Request) -> web.Response:
    return await _metadata(request, "oauth-authorization-server")


async def _metadata(request: web.Request, kind: str) -> web.Response:
    """The service's documents are built once; a project's from its settings (whether it
    takes registrations), cached with the client records."""
    web_app = request.app
    server = auth_server(request)
    if server.project_id is None:
        body, etag = web_app[discovery_key][kind]
    else:
        project = await web_app[clients_key].project(server.project_id)
        if project is None:
            raise NotFoundError("no such project")
        body, etag = document(project_metadata(server.issuer, project.allow_registration, project.scopes))
    return cached_json(request, body, etag, 3600 if server.project_id is None else 60)


def document(data: dict) -> tuple[bytes, str]:
    body = json.dumps(data, indent=2).encode()
    return body, etag_of(body)
