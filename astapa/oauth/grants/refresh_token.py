"""RFC 6749 §6 the refresh token grant, with rotation and reuse detection (RFC 9700 §4.14.2).

Every use rotates the token. Presenting a rotated token revokes its whole family, except
within the project's reuse grace (domain/refresh.py): the previous token presented again
soon after its rotation, its successor unused, is a client retrying after a lost response,
and gets a new pair that supersedes the unused one; a second such retry is refused without
revoking. With a grace of 0, of two concurrent refreshes with one token exactly one wins
and the other, being reuse, revokes the family (strict, as Keycloak's default). A token
presented by another client is refused without touching the family. Scope may shrink
(§6), never grow.
"""

from functools import partial

from astapa.domain.clients import ClientRecord
from astapa.domain.refresh import split_refresh_token
from astapa.oauth.errors import InvalidGrantError, InvalidRequestError
from astapa.oauth.grants.outcomes import RefreshRotation
from astapa.oauth.request import OAuthRequest
from astapa.oauth.resources import resolve, still_allowed
from astapa.oauth.scopes import parse_resource, parse_scope
from astapa.oauth.servers import AuthServer

GRANT_TYPE = "refresh_token"


def handle(client: ClientRecord, request: OAuthRequest, default_ttl: int, server: AuthServer) -> RefreshRotation:
    token = request.get("refresh_token")
    if token is None:
        raise InvalidRequestError("refresh_token is required")
    parts = split_refresh_token(token)
    if parts is None:
        raise InvalidGrantError(detail="not a refresh token of ours")
    scopes = parse_scope(request.get("scope"))
    resource = resolve(parse_resource(request.resources), client.resources, client.foreign_resources)
    return RefreshRotation(client.client_id, *parts, scopes, client.token_ttl or default_ttl,
                           resource, server.issuer, client.refresh_reuse_grace,
                           partial(still_allowed, registered=client.resources, foreign=client.foreign_resources))
