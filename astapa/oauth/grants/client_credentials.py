"""RFC 6749 §4.4: the client credentials grant, with RFC 8707 resource indicators.

     +---------+                                  +---------------+
     |         |>--(A)- Client Authentication --->| Authorization |
     | Client  |                                  |     Server    |
     |         |<--(B)---- Access Token ---------<|               |
     +---------+                                  +---------------+

§4.4.3: "A refresh token SHOULD NOT be included." Astapa never includes one.
"""

from astapa.oauth.request import OAuthRequest
from astapa.oauth.resources import resolve
from astapa.oauth.scopes import granted_subset, parse_resource, parse_scope
from astapa.oauth.servers import AuthServer
from astapa.queries import ClientRecord
from astapa.app.issuing import Spend, TokenIssuer

GRANT_TYPE = "client_credentials"
PARAMETERS = ("scope", "resource")


async def handle(issuer: TokenIssuer, client: ClientRecord, request: OAuthRequest, default_ttl: int,
                 server: AuthServer, spend: Spend | None = None) -> dict:
    scopes = granted_subset(parse_scope(request.get("scope")), list(client.scopes))
    audience = resolve(parse_resource(request.resources), client.resources) or client.client_id
    ttl = client.token_ttl or default_ttl
    token = await issuer.access_token(
        client_id=client.client_id, project_id=client.project_id, subject=client.client_id,
        scopes=scopes, audience=audience, ttl=ttl, iss=server.issuer, spend=spend,
    )
    body = {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
    if scopes:
        body["scope"] = " ".join(scopes)
    return body
