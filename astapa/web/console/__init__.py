"""The web console at /dashboard, for the people who run projects: server-rendered pages
(aiohttp-jinja2, like the hosted pages) that work without JavaScript.

Each module is one screen; frame.py holds what they share (sign-in, membership, role and
CSRF checks, the page frame) and session.py the console's own sign-in, which is Astapa's
hosted sign-in: the console is an OAuth client of the built-in console project. Every
change goes through the application's commands, the same as the CLI's and the management
API's, and is saved with a record naming the console user who made it.
"""

from aiohttp import web

from astapa.web.console import (
    clients,
    events,
    inbox,
    instance,
    members,
    overview,
    payments,
    plans,
    projects,
    session,
    settings,
    users,
    webhooks,
)

PROJECT = "/dashboard/projects/{project_id:proj_[A-Za-z0-9_-]{1,64}}"


def routes() -> list[web.RouteDef]:
    return [
        web.get("/dashboard", projects.home, name="console.home"),
        web.get("/dashboard/login", session.login, name="console.login"),
        web.get("/dashboard/callback", session.callback, name="console.callback"),
        web.post("/dashboard/logout", session.logout, name="console.logout"),
        web.get("/dashboard/setup", projects.show_setup, name="console.setup"),
        web.post("/dashboard/setup", projects.setup, name="console.setup_submit"),
        web.get("/dashboard/projects/new", projects.new_project, name="console.new_project"),
        web.post("/dashboard/projects", projects.create_project, name="console.create_project"),
        web.get(PROJECT, overview.overview, name="console.overview"),
        web.get(PROJECT + "/events", events.events, name="console.events"),
        web.get(PROJECT + "/members", members.members, name="console.members"),
        web.post(PROJECT + "/members", members.invite, name="console.invite"),
        web.post(PROJECT + "/members/role", members.change_role, name="console.member_role"),
        web.post(PROJECT + "/members/remove", members.remove, name="console.member_remove"),
        web.get(PROJECT + "/payments", payments.payments, name="console.payments"),
        web.get(PROJECT + "/payments/" + payments.PAYMENT_ID, payments.payment, name="console.payment"),
        web.post(PROJECT + "/payments/" + payments.PAYMENT_ID + "/simulate", payments.simulate,
                 name="console.simulate_payment"),
        web.get(PROJECT + "/users", users.list_users, name="console.users"),
        web.get(PROJECT + "/users/" + users.SUB, users.show_user, name="console.user"),
        web.post(PROJECT + "/users/" + users.SUB, users.save_user, name="console.save_user"),
        web.post(PROJECT + "/users/" + users.SUB + "/disabled", users.set_disabled, name="console.user_disabled"),
        web.post(PROJECT + "/users/" + users.SUB + "/sign-out", users.sign_out, name="console.user_sign_out"),
        web.post(PROJECT + "/users/" + users.SUB + "/two-factor", users.reset_two_factor,
                 name="console.user_two_factor"),
        web.get(PROJECT + "/plans", plans.list_plans, name="console.plans"),
        web.post(PROJECT + "/plans", plans.create_plan, name="console.create_plan"),
        web.get(PROJECT + "/plans/" + plans.KEY, plans.show_plan, name="console.plan"),
        web.post(PROJECT + "/plans/" + plans.KEY, plans.change_plan, name="console.change_plan"),
        web.post(PROJECT + "/plans/" + plans.KEY + "/archive", plans.archive_plan, name="console.archive_plan"),
        web.get(PROJECT + "/inbox", inbox.inbox, name="console.inbox"),
        web.get(PROJECT + "/inbox/" + inbox.MESSAGE_ID, inbox.mail, name="console.inbox_message"),
        web.get(PROJECT + "/settings", settings.settings, name="console.settings"),
        web.post(PROJECT + "/settings/name", settings.save_name, name="console.save_name"),
        web.post(PROJECT + "/settings/redirect-uris", settings.save_redirect_uris, name="console.save_redirect_uris"),
        web.post(PROJECT + "/settings/sign-in", settings.save_sign_in, name="console.save_sign_in"),
        web.post(PROJECT + "/settings/branding", settings.save_branding, name="console.save_branding"),
        web.post(PROJECT + "/settings/providers", settings.save_provider, name="console.save_provider"),
        web.post(PROJECT + "/settings/providers/remove", settings.remove_provider, name="console.remove_provider"),
        web.post(PROJECT + "/settings/payments", settings.save_payments_keys, name="console.save_payments"),
        web.post(PROJECT + "/settings/rotate-secret", settings.rotate_secret, name="console.rotate_secret"),
        web.post(PROJECT + "/settings/revoke-old-secret", settings.revoke_old_secret,
                 name="console.revoke_old_secret"),
        web.post(PROJECT + "/settings/go-live", settings.go_live, name="console.go_live"),
        web.get(PROJECT + "/clients", clients.clients, name="console.clients"),
        web.post(PROJECT + "/clients", clients.create_client, name="console.create_client"),
        web.post(PROJECT + "/clients/" + clients.CLIENT_ID + "/rotate-secret", clients.rotate_secret,
                 name="console.rotate_client_secret"),
        web.post(PROJECT + "/clients/" + clients.CLIENT_ID + "/revoke-old-secret", clients.revoke_old_secret,
                 name="console.revoke_client_old_secret"),
        web.get(PROJECT + "/clients/" + clients.CLIENT_ID + "/delete", clients.confirm_delete,
                name="console.confirm_delete_client"),
        web.post(PROJECT + "/clients/" + clients.CLIENT_ID + "/delete", clients.delete_client,
                 name="console.delete_client"),
        web.post(PROJECT + "/resources", clients.add_resource, name="console.add_resource"),
        web.get(PROJECT + "/webhooks", webhooks.webhooks, name="console.webhooks"),
        web.post(PROJECT + "/webhooks", webhooks.create_webhook, name="console.create_webhook"),
        web.get(PROJECT + "/webhooks/" + webhooks.WEBHOOK_ID, webhooks.deliveries, name="console.webhook"),
        web.post(PROJECT + "/webhooks/" + webhooks.WEBHOOK_ID + "/delete", webhooks.delete_webhook,
                 name="console.delete_webhook"),
        web.post(PROJECT + "/webhooks/" + webhooks.WEBHOOK_ID + "/enable", webhooks.enable_webhook,
                 name="console.enable_webhook"),
        web.get("/dashboard/instance", instance.instance, name="console.instance"),
        web.post("/dashboard/instance/keys/rotate", instance.rotate_keys, name="console.rotate_keys"),
    ]
