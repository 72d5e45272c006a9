"""One table, every route named."""

from aiohttp import web

from astapa.web import oauth, service


def setup_routes(app: web.Application) -> None:
    app.router.add_routes([
        web.get("/healthz", service.healthz, name="service.healthz"),
        web.get("/openapi.json", service.openapi, name="service.openapi"),
        web.get("/.well-known/jwks.json", oauth.jwks, name="oauth.jwks"),
        web.get("/.well-known/openid-configuration", oauth.openid_configuration,
                name="oauth.openid_configuration"),
        web.get("/.well-known/oauth-authorization-server", oauth.authorization_server_metadata,
                name="oauth.metadata"),
        web.post("/oauth/token", oauth.token, name="oauth.token"),
        web.post("/api/platform/token", oauth.token, name="platform.token"),
        web.post("/oauth/introspect", oauth.introspect, name="oauth.introspect"),
        web.post("/oauth/revoke", oauth.revoke, name="oauth.revoke"),
    ])
