"""An MCP server protected by Astapa, built with the official `mcp` SDK.

Run:  ASTAPA_ISSUER_URL=http://127.0.0.1:8080/projects/proj_x \
      MCP_RESOURCE_URL=http://127.0.0.1:9000/mcp  python examples/mcp_server/server.py

It serves RFC 9728 metadata naming Astapa as its authorization server, and accepts only
Astapa-signed RS256 access tokens whose `iss` is the project's issuer, whose `aud` is this
server's URL, that have not expired and that carry the required scope.
"""

import json
import os
from urllib.parse import urlsplit
from urllib.request import urlopen

import anyio
import jwt
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

ISSUER = os.environ["ASTAPA_ISSUER_URL"].rstrip("/")   # http://127.0.0.1:8080/projects/proj_x
RESOURCE = os.environ["MCP_RESOURCE_URL"]               # http://127.0.0.1:9000/mcp
SCOPE = os.environ.get("MCP_REQUIRED_SCOPE", "mcp:tools")


class AstapaTokenVerifier:
    """Checks a bearer token against the keys Astapa publishes (found through its metadata)."""

    def __init__(self, issuer: str, audience: str) -> None:
        self.issuer, self.audience, self.jwks = issuer, audience, None

    def _claims(self, token: str) -> dict:
        if self.jwks is None:  # RFC 8414: {origin}/.well-known/oauth-authorization-server{path}
            origin = urlsplit(self.issuer)
            url = f"{origin.scheme}://{origin.netloc}/.well-known/oauth-authorization-server{origin.path}"
            with urlopen(url, timeout=10) as response:
                self.jwks = jwt.PyJWKClient(json.load(response)["jwks_uri"])  # caches keys, refetches on a new kid
        key = self.jwks.get_signing_key_from_jwt(token)
        return jwt.decode(token, key, algorithms=["RS256"], issuer=self.issuer, audience=self.audience,
                          leeway=30, options={"require": ["exp", "iss", "aud", "sub"]})

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = await anyio.to_thread.run_sync(self._claims, token)
        except (jwt.PyJWTError, OSError, ValueError, KeyError):
            return None  # the SDK answers 401 with WWW-Authenticate: Bearer ... resource_metadata="..."
        return AccessToken(token=token, client_id=claims.get("client_id") or claims.get("azp") or claims["sub"],
                           scopes=claims.get("scope", "").split(), expires_at=claims["exp"],
                           resource=self.audience, subject=claims["sub"], claims=claims)


mcp = MCPServer(
    "astapa-example",
    token_verifier=AstapaTokenVerifier(ISSUER, RESOURCE),
    auth=AuthSettings(issuer_url=ISSUER, resource_server_url=RESOURCE, required_scopes=[SCOPE],
                      validate_token_resource=True),  # the SDK answers 403 insufficient_scope
)


@mcp.tool()
def whoami() -> dict:
    """Who the access token speaks for."""
    token = get_access_token()
    return {"sub": token.subject, "client_id": token.client_id, "scopes": token.scopes,
            "email": (token.claims or {}).get("email")}


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


if __name__ == "__main__":
    url = urlsplit(RESOURCE)
    mcp.run("streamable-http", host=os.environ.get("MCP_HOST", url.hostname),
            port=int(os.environ.get("MCP_PORT", url.port or 80)), streamable_http_path=url.path or "/")
