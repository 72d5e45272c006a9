"""The user's own endpoints (OIDC UserInfo, /api/platform/users/me) and revoking every
token of a user (POST /api/platform/revoke, authenticated as the project's client)."""

import re

from aiohttp import web

from astapa.domain.errors import InvalidEmailError, UserNotFoundError
from astapa.domain.users import normalise_email
from astapa.oauth.errors import (
    InvalidClientError,
    InvalidRequestError,
    InvalidTokenError,
)
from astapa.oauth.jwt import verify_access_token
from astapa.oauth.request import REPEATABLE
from astapa.queries import is_access_token_revoked, user_profile
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clock_key,
    reads_key,
    settings_key,
    signing_keys_key,
    writer_key,
)
from astapa.web.middleware import NO_STORE
from astapa.web.oauth import authenticate_client, read_request
from astapa.web.schemas import BodySchema

REVOKE_USER = BodySchema("revokeUserTokens")  # openapi/components/schemas/RevokeUserRequest.yaml
USER_REFERENCE = frozenset({"end_user_id", "email"})
BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *$")


async def bearer_token(request: web.Request) -> str:
    """RFC 6750: the Authorization header (§2.1) or, in a POST, `access_token` in a form
    body (§2.2: application/x-www-form-urlencoded only); one of them, never both (§2);
    never the query string (§2.3). No token at all is 401, the rest 400."""
    if "access_token" in request.query:
        raise InvalidRequestError("send the access token in the Authorization header")
    header = request.headers.get("Authorization")
    in_body = await _form_token(request) if request.method == "POST" else None
    if in_body is not None:
        if header is not None:
            raise InvalidRequestError("send the access token once: in the Authorization header or the body")
        return in_body
    match = BEARER.match(header or "")
    if match is None:
        raise InvalidTokenError("no bearer token")
    return match.group(1)


async def _form_token(request: web.Request) -> str | None:
    """`access_token` of a form body (None when there is none); another body is refused."""
    body = await bodies.read(request)
    if not body.strip():
        return None
    if bodies.media_type(request) != bodies.FORM:
        raise InvalidRequestError("a body must be application/x-www-form-urlencoded")
    try:
        fields = dict(bodies.form_pairs(body))
    except bodies.BodyError as e:
        raise InvalidRequestError(e.description) from None
    return fields.get("access_token") or None


async def bearer_claims(request: web.Request, web_app: web.Application) -> dict:
    """The claims of the request's bearer token (bearer_token); any failure is 401."""
    token = await bearer_token(request)
    claims = verify_access_token(token, web_app[signing_keys_key].current().verify_keys,
                                 web_app[settings_key].issuer, web_app[clock_key].now())
    if claims is None:
        raise InvalidTokenError("not a valid access token")
    if "sid" not in claims:
        raise InvalidTokenError("a client's own token has no user")
    project_id = request.match_info.get("project_id")
    if project_id is not None and claims.get("project_id") != project_id:
        raise InvalidTokenError("a token of another project")
    if await web_app[reads_key].query(is_access_token_revoked, claims["jti"], claims["sid"]):
        raise InvalidTokenError("revoked")
    return claims


async def userinfo(request: web.Request) -> web.Response:
    """GET and POST /oauth/userinfo (OIDC Core §5.3.1), GET /api/platform/users/me: the
    user as they are now."""
    web_app = request.app
    claims = await bearer_claims(request, web_app)
    profile = await web_app[reads_key].query(user_profile, claims["project_id"], claims["sub"],
                                             web_app[clock_key].now())
    if profile is None:
        raise InvalidTokenError("no such user")
    # How and when the user signed in, as the access token says (and introspection).
    profile.update({name: claims[name] for name in ("auth_time", "amr", "acr") if name in claims})
    return web.json_response(profile, headers=NO_STORE)


async def revoke_user(request: web.Request) -> web.Response:
    """Every refresh token of one user of the caller's project stops working: 200."""
    web_app = request.app
    body = await bodies.read(request)
    sub, email = _user_reference(bodies.media_type(request), body)
    # The client authenticates with the rest of the body (a JSON number is no OAuth parameter).
    client = await authenticate_client(web_app, request, await read_request(request, body, leave_out=USER_REFERENCE))
    if client.kind != "project":
        raise InvalidClientError("only the project's own client may revoke a user's tokens",
                                 headers={"WWW-Authenticate": 'Basic realm="astapa"'})
    no_such_user = web.json_response({"error": "not_found", "error_description": "no such user"},
                                     status=404, headers=NO_STORE)
    email_key = None
    if sub is None:
        try:
            _, email_key = normalise_email(email or "")
        except InvalidEmailError:  # no account can have it (as GET /api/platform/users?email= finds none)
            return no_such_user
    try:
        _, position = await web_app[writer_key].run(web_app[application_key].revoke_user_tokens,
                                                    client.project_id, sub, email_key)
    except UserNotFoundError:
        return no_such_user
    # Read your write: the user's access tokens are refused as soon as this returns.
    await await_read_model(web_app, position)
    return web.json_response({"revoked": True}, headers=NO_STORE)


def _user_reference(media: str, body: bytes) -> tuple[str | None, str | None]:
    """end_user_id (a string or a JSON number) or email, exactly one, from a JSON object or
    a form (a field without a value is omitted, RFC 6749 §3.1)."""
    try:
        if media == "application/json":
            document = bodies.json_value(body or b"{}")
        else:
            document = {k: v for k, v in bodies.form_pairs(body, repeatable=REPEATABLE) if v != ""}
    except bodies.BodyError as e:
        if e.reason in (bodies.REPEATED, bodies.TYPE):
            raise InvalidRequestError(e.description) from None
        raise InvalidRequestError("body is not valid JSON" if media == "application/json"
                                  else "body is not a valid form") from None
    failures = REVOKE_USER.failures(document)  # type: ignore[arg-type]
    sub, email = document.get("end_user_id"), document.get("email")  # type: ignore[union-attr]
    if "end_user_id" in failures.fields:
        raise InvalidRequestError("end_user_id must be a string or a number"
                                  if isinstance(sub, bool) or not isinstance(sub, (int, str))
                                  else "end_user_id is not a user id")
    if failures.whole or "email" in failures.fields:
        raise InvalidRequestError("send exactly one of end_user_id and email")
    return (None if sub is None else str(sub)), email

