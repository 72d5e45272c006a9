"""The user's own endpoints (OIDC UserInfo, /api/platform/users/me) and revoking every
token of a user (POST /api/platform/revoke, authenticated as the project's client)."""

import json
import re
from urllib.parse import parse_qsl

from aiohttp import web

from astapa.web.appkeys import context_key
from astapa.web.context import Context
from astapa.domain.errors import InvalidEmailError, UserNotFoundError
from astapa.domain.users import normalise_email
from astapa.oauth.errors import (
    InvalidClientError,
    InvalidRequestError,
    InvalidTokenError,
    TemporarilyUnavailableError,
)
from astapa.oauth.jwt import verify_access_token
from astapa.queries import is_access_token_revoked, user_profile
from astapa.web.middleware import NO_STORE
from astapa.web.oauth import authenticate_client, read_body, read_request

BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *$")


async def bearer_claims(request: web.Request, ctx: Context) -> dict:
    """RFC 6750 §2.1: the token only from the Authorization header; any failure is 401."""
    if "access_token" in request.query:
        raise InvalidRequestError("send the access token in the Authorization header")
    match = BEARER.match(request.headers.get("Authorization", ""))
    if match is None:
        raise InvalidTokenError("no bearer token")
    claims = verify_access_token(match.group(1), ctx.keys().verify_keys, ctx.settings.issuer, ctx.clock.now())
    if claims is None:
        raise InvalidTokenError("not a valid access token")
    if "sid" not in claims:
        raise InvalidTokenError("a client's own token has no user")
    project_id = request.match_info.get("project_id")
    if project_id is not None and claims.get("project_id") != project_id:
        raise InvalidTokenError("a token of another project")
    if await ctx.reads.query(is_access_token_revoked, claims["jti"], claims["sid"]):
        raise InvalidTokenError("revoked")
    return claims


async def userinfo(request: web.Request) -> web.Response:
    """GET /oauth/userinfo and /api/platform/users/me: the user as they are now."""
    ctx = request.app[context_key]
    claims = await bearer_claims(request, ctx)
    profile = await ctx.reads.query(user_profile, claims["project_id"], claims["sub"], ctx.clock.now())
    if profile is None:
        raise InvalidTokenError("no such user")
    return web.json_response(profile, headers=NO_STORE)


async def revoke_user(request: web.Request) -> web.Response:
    """Every refresh token of one user of the caller's project stops working: 200."""
    ctx = request.app[context_key]
    body = await read_body(request)
    sub, email = _user_reference(request.headers.get("Content-Type", ""), body)
    client = await authenticate_client(ctx, request, await read_request(request, body=_without_user(request, body)))
    if client.kind != "project":
        raise InvalidClientError("only the project's own client may revoke a user's tokens",
                                 headers={"WWW-Authenticate": 'Basic realm="astapa"'})
    email_key = None
    if sub is None:
        try:
            _, email_key = normalise_email(email or "")
        except InvalidEmailError:
            raise InvalidRequestError("email is not a valid address") from None
    try:
        _, position = await ctx.writer.run(ctx.app.revoke_user_tokens, client.project_id, sub, email_key)
    except UserNotFoundError:
        return web.json_response({"error": "not_found", "error_description": "no such user"},
                                 status=404, headers=NO_STORE)
    # Read your write: the user's access tokens are refused as soon as this returns.
    if not await ctx.runner.wait(position, ctx.settings.projection_wait):
        raise TemporarilyUnavailableError(detail="revocation recorded, read models lagging")
    return web.json_response({"revoked": True}, headers=NO_STORE)


def _user_reference(content_type: str, body: bytes) -> tuple[str | None, str | None]:
    """end_user_id (a string or a JSON number) or email, exactly one."""
    if content_type.split(";")[0].strip().lower() == "application/json":
        try:
            document = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            raise InvalidRequestError("body is not valid JSON") from None
        if not isinstance(document, dict):
            raise InvalidRequestError("JSON body must be an object")
    else:
        try:
            document = dict(parse_qsl(body.decode("utf-8"), max_num_fields=64))
        except (UnicodeDecodeError, ValueError):
            raise InvalidRequestError("body is not a valid form") from None
    sub, email = document.get("end_user_id"), document.get("email")
    if isinstance(sub, bool) or (sub is not None and not isinstance(sub, (int, str))):
        raise InvalidRequestError("end_user_id must be a string or a number")
    if sub is not None:
        sub = str(sub)
        if not (sub.isascii() and sub.isdigit()) or len(sub) > 16:
            raise InvalidRequestError("end_user_id is not a user id")
    if (sub is None) == (email is None) or (email is not None and not isinstance(email, str)):
        raise InvalidRequestError("send exactly one of end_user_id and email")
    return sub, email


def _without_user(request: web.Request, body: bytes) -> bytes:
    """The body as the client-authentication parser sees it: without the user reference,
    whose JSON type (a number) the OAuth parser would refuse."""
    if request.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
        return body
    document = json.loads(body or b"{}")
    return json.dumps({k: v for k, v in document.items() if k not in ("end_user_id", "email")}).encode()
