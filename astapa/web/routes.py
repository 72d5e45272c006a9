"""One table, every route named."""

from aiohttp import web

from astapa.web import console, management, oauth, payments, platform, project_api, registration, service
from astapa.web.pages import authorize, consent, demo, home, links, logout, social

PROJECT = "/projects/{project_id}"
# A user's id only, so /api/platform/users/me is not also /api/platform/users/{sub} (whose
# methods its 405 would list in Allow).
USER = "/api/platform/users/{sub:[1-9][0-9]{0,15}}"


def setup_routes(app: web.Application, demo_pages: bool = False) -> None:
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
        web.get("/oauth/userinfo", platform.userinfo, name="oauth.userinfo"),
        web.post("/oauth/userinfo", platform.userinfo, name="oauth.userinfo_post"),
        web.get("/api/platform/users/me", platform.userinfo, name="platform.users_me"),
        web.post("/api/platform/revoke", platform.revoke_user, name="platform.revoke"),
        web.get("/api/platform/plans", management.list_plans, name="platform.plans"),
        web.post("/api/platform/plans", management.create_plan, name="platform.create_plan"),
        web.patch("/api/platform/plans/{key}", management.patch_plan, name="platform.patch_plan"),
        web.get("/api/platform/users", management.list_users, name="platform.users"),
        web.get(USER, management.get_user, name="platform.user"),
        web.patch(USER, management.patch_user, name="platform.patch_user"),
        web.patch("/api/platform/users/{sub}/claims", management.patch_claims, name="platform.claims"),
        web.put("/api/platform/users/{sub}/plan", management.put_plan, name="platform.user_plan"),
        web.get("/api/platform/users/{sub}/events", management.events, name="platform.user_events"),
        web.get("/api/platform/project", project_api.get_project, name="platform.project"),
        web.patch("/api/platform/project", project_api.patch_project, name="platform.patch_project"),
        web.post("/api/platform/project/rotate-secret", project_api.rotate_project_secret,
                 name="platform.rotate_project_secret"),
        web.post("/api/platform/project/revoke-previous-secret", project_api.revoke_project_previous_secret,
                 name="platform.revoke_project_previous_secret"),
        web.get("/api/platform/clients", project_api.list_clients, name="platform.clients"),
        web.post("/api/platform/clients", project_api.create_client, name="platform.create_client"),
        web.delete("/api/platform/clients/{client_id}", project_api.delete_client, name="platform.delete_client"),
        web.post("/api/platform/clients/{client_id}/rotate-secret", project_api.rotate_client_secret,
                 name="platform.rotate_client_secret"),
        web.post("/api/platform/clients/{client_id}/revoke-previous-secret", project_api.revoke_client_previous_secret,
                 name="platform.revoke_client_previous_secret"),
        web.put("/api/platform/resources", project_api.put_resource, name="platform.resources"),
        web.get("/api/platform/events", project_api.events, name="platform.events"),
        web.get("/api/platform/users/{sub}/payments", payments.user_payments, name="platform.user_payments"),
        web.post("/api/platform/payments", payments.create_payment, name="platform.create_payment"),
        web.get("/api/platform/payments/{payment_id}", payments.get_payment, name="platform.payment"),
        web.post("/api/webhooks/xendit", payments.xendit_webhook, name="webhooks.xendit"),
        web.get("/oauth/authorize", authorize.show_login, name="oauth.authorize"),
        web.get("/auth/login", authorize.show_login, name="pages.login"),
        web.post("/auth/login", authorize.login, name="pages.login_submit"),
        web.get("/auth/signup", authorize.show_signup, name="pages.signup"),
        web.post("/auth/signup", authorize.signup, name="pages.signup_submit"),
        web.get("/auth/forgot-password", links.show_forgot_password, name="pages.forgot_password"),
        web.post("/auth/forgot-password", links.forgot_password, name="pages.forgot_password_submit"),
        web.get("/auth/reset-password", links.show_reset_password, name="pages.reset_password"),
        web.post("/auth/reset-password", links.reset_password, name="pages.reset_password_submit"),
        web.get("/auth/magic-link", links.show_magic_link, name="pages.magic_link"),
        web.post("/auth/magic-link", links.use_magic_link, name="pages.magic_link_submit"),
        web.get("/auth/verify-email", links.show_verify_email, name="pages.verify_email"),
        web.post("/auth/verify-email", links.verify_email, name="pages.verify_email_submit"),
        web.get("/auth/resend-verification", links.show_resend_verification,
                name="pages.resend_verification"),
        web.post("/auth/resend-verification", links.resend_verification,
                 name="pages.resend_verification_submit"),
        web.get("/auth/callback/{provider}", social.callback, name="pages.provider_callback"),
        web.get("/auth/logout", logout.show_logout, name="pages.logout"),
        web.post("/auth/logout", logout.logout, name="pages.logout_submit"),
        web.get("/oauth/logout", logout.end_session, name="oauth.end_session"),
        web.post("/oauth/logout", logout.end_session, name="oauth.end_session_post"),
        web.post("/auth/consent", consent.consent, name="pages.consent_submit"),
        web.get("/static/astapa.css", service.stylesheet, name="pages.stylesheet"),
        web.get("/static/favicon.svg", service.icon, name="pages.icon"),
        web.get("/favicon.ico", service.favicon, name="pages.favicon"),
        web.get("/static/console.css", service.console_stylesheet, name="console.stylesheet"),
        web.get("/", home.home, name="pages.home"),
        web.get("/docs", home.docs, name="pages.docs"),
        # Each project's own authorization server (RFC 8414 §3.1 puts the issuer's path
        # after the well-known part; OIDC Discovery appends it to the issuer).
        web.get("/.well-known/oauth-authorization-server" + PROJECT, oauth.authorization_server_metadata,
                name="project.metadata"),
        web.get("/.well-known/openid-configuration" + PROJECT, oauth.openid_configuration,
                name="project.openid_configuration_inserted"),
        web.get(PROJECT + "/.well-known/openid-configuration", oauth.openid_configuration,
                name="project.openid_configuration"),
        web.get(PROJECT + "/.well-known/oauth-authorization-server", oauth.authorization_server_metadata,
                name="project.metadata_appended"),
        web.get(PROJECT + "/.well-known/jwks.json", oauth.jwks, name="project.jwks"),
        web.get(PROJECT + "/oauth/authorize", authorize.show_login, name="project.authorize"),
        web.post(PROJECT + "/oauth/token", oauth.token, name="project.token"),
        web.post(PROJECT + "/oauth/introspect", oauth.introspect, name="project.introspect"),
        web.post(PROJECT + "/oauth/revoke", oauth.revoke, name="project.revoke"),
        web.get(PROJECT + "/oauth/userinfo", platform.userinfo, name="project.userinfo"),
        web.post(PROJECT + "/oauth/userinfo", platform.userinfo, name="project.userinfo_post"),
        web.post(PROJECT + "/oauth/register", registration.register, name="project.register"),
        web.get(PROJECT + "/oauth/logout", logout.end_session, name="project.end_session"),
        web.post(PROJECT + "/oauth/logout", logout.end_session, name="project.end_session_post"),
    ])
    # The web console: pages for people, described in the docs rather than in openapi.json.
    app.router.add_routes(console.routes())
    if demo_pages:
        app.router.add_routes([
            web.get("/demo", demo.home, name="demo.home"),
            web.get("/demo/start", demo.start, name="demo.start"),
            web.get("/demo/callback", demo.callback, name="demo.callback"),
            web.post("/demo/refresh", demo.refresh, name="demo.refresh"),
        ])
