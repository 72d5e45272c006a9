"""RFC 6749 §4.4: the client credentials grant, with RFC 8707 resource indicators.

     +---------+                                  +---------------+
     |         |>--(A)- Client Authentication --->| Authorization |
     | Client  |                                  |     Server    |
     |         |<--(B)---- Access Token ---------<|               |
     +---------+                                  +---------------+

§4.4.3: "A refresh token SHOULD NOT be included." Astapa never includes one.
"""

from astapa.domain.clients import ClientRecord
from astapa.oauth.grants.outcomes import ClientToken
from astapa.oauth.request import OAuthRequest
from astapa.oauth.resources import resolve
from astapa.oauth.scopes import granted_subset, parse_resource, parse_scope
from astapa.oauth.servers import AuthServer

GRANT_TYPE = "client_credentials"


def handle(client: ClientRecord, request: OAuthRequest, default_ttl: int, server: AuthServer) -> ClientToken:
    scopes = granted_subset(parse_scope(request.get("scope")), list(client.scopes))
    audience = resolve(parse_resource(request.resources), client.resources, client.foreign_resources) or client.client_id
    return ClientToken(client.client_id, client.project_id, scopes, audience,
                       client.token_ttl or default_ttl, server.issuer)
