"""RFC 6749 §4.1.3 the authorization code grant, with RFC 7636 §4.6 PKCE verification.

The code is single-use, expires (60 s by default), and is bound to the client, the
redirect_uri and the PKCE challenge of its authorization request. Presenting it a second
time also revokes the refresh family the first redemption started (§4.1.2).
"""

from astapa.domain.clients import ClientRecord
from astapa.oauth import pkce
from astapa.oauth.authorize import holds_control_character
from astapa.oauth.errors import InvalidGrantError, InvalidRequestError
from astapa.oauth.grants.outcomes import CodeRedemption
from astapa.oauth.request import OAuthRequest
from astapa.oauth.resources import resolve
from astapa.oauth.scopes import parse_resource
from astapa.oauth.servers import AuthServer

GRANT_TYPE = "authorization_code"
MAX_CODE = 512


def handle(client: ClientRecord, request: OAuthRequest, default_ttl: int, server: AuthServer) -> CodeRedemption:
    code = request.get("code")
    if code is None:
        raise InvalidRequestError("code is required")
    if len(code) > MAX_CODE:
        raise InvalidGrantError(detail="code too long")
    redirect_uri = request.get("redirect_uri")
    if redirect_uri is not None and holds_control_character(redirect_uri):
        raise InvalidRequestError("redirect_uri must not hold control characters")
    verifier = pkce.verifier_challenge(request.get("code_verifier"))
    resource = resolve(parse_resource(request.resources), client.resources, client.foreign_resources)
    return CodeRedemption(client.client_id, code, redirect_uri, verifier,
                          client.token_ttl or default_ttl, resource, server.issuer,
                          client.pin_refresh_ttl, client.refresh_ttl)
