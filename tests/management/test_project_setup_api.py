"""The management API sets a project up as the console does: its branding, sign-in with
Google and GitHub, its own Xendit keys, and going live. Each change is checked where it
matters (the hosted sign-in page, the secret files, a payment at Xendit, the live twin's
token endpoint), and no secret is ever in an answer, the log or the read models."""

import json
import time

import pytest
import requests

from astapa.console_queries import members_of
from astapa.domain.users import normalise_email
from astapa.web.appkeys import application_key, await_read_model, reads_key, writer_key
from tests.conftest import Server, kept_secret, kept_secret_names, project_on
from tests.fakes.xendit import XenditServer
from tests.management.test_project_api import authorize
from tests.management.test_users_and_claims import Api
from tests.oauth.test_refresh_token import tokens_for

BRANDING = {"display_name": "Orders", "logo_url": "https://cdn.example.com/logo.svg", "primary_color": "#2456d6"}
DEFAULT = {"display_name": "", "logo_url": "", "primary_color": ""}
CALLBACK = "https://app.example/callback"
OWN_KEY = "xnd_development_orders-own-key"
OWN_TOKEN = "orders-callback-token"
LIVE_KEY = "xnd_production_orders-live-key"


@pytest.fixture
def project(server: Server) -> dict:
    return project_on(server, "orders:read", name="Orders app")


@pytest.fixture
def api(server: Server, project: dict) -> Api:
    return Api(server, project)


def log_of(api: Api, **filters) -> list[tuple[str, str | None, str | None]]:
    events = api.get("/events", **filters).json()["events"]
    return [(e["type"], e["subject"], e["actor"]) for e in events]


def log_position(server: Server) -> int:
    return server.web_app[application_key].recorder.max_notification_id() or 0


def read_models_bytes(server: Server) -> bytes:
    found = b""
    for name in ("read.db", "read.db-wal"):
        path = server.data_dir / name
        if path.exists():
            found += path.read_bytes()
    return found


# -- branding ------------------------------------------------------------------------------------

def test_branding_is_set_shown_on_the_sign_in_page_and_reset(server: Server, api: Api, project: dict):
    changed = api.send("PATCH", "/project", {"branding": {k: f"  {v} " for k, v in BRANDING.items()}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["branding"] == BRANDING  # stripped, as the console does
    assert api.get("/project").json()["branding"] == BRANDING
    page = authorize(server, project, CALLBACK)
    assert page.status_code == 200
    assert "Orders" in page.text and "--accent: #2456d6" in page.text and BRANDING["logo_url"] in page.text
    assert log_of(api, type="Project.BrandingChanged") == [("Project.BrandingChanged", None, "api")]

    reset = api.send("PATCH", "/project", {"branding": DEFAULT})
    assert reset.status_code == 200 and reset.json()["branding"] == DEFAULT
    assert "--accent" not in authorize(server, project, CALLBACK).text


@pytest.mark.parametrize("branding, description", [
    ({**BRANDING, "primary_color": "#ffff00"}, "branding.primary_color: #ffff00 against white has a contrast"),
    ({**BRANDING, "primary_color": "blue"}, "branding.primary_color: the primary colour must be #RRGGBB"),
    ({**BRANDING, "logo_url": "http://cdn.example.com/logo.svg"}, "branding.logo_url: the logo URL must be an https"),
    ({**BRANDING, "display_name": "x" * 101}, "branding.display_name: the display name must be at most 100"),
    ({**BRANDING, "display_name": "tab\there"}, "branding.display_name: "),
    ({"display_name": "Orders"}, "branding: an object with display_name, logo_url and primary_color"),
    ({**BRANDING, "font": "serif"}, "branding: an object with display_name, logo_url and primary_color"),
    ({**BRANDING, "primary_color": None}, "branding: an object with display_name, logo_url and primary_color"),
])
def test_refused_branding_changes_nothing_and_says_why(api: Api, branding: dict, description: str):
    before = api.get("/project").json()
    response = api.send("PATCH", "/project", {"name": "Renamed", "branding": branding})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text
    assert response.json()["error_description"].startswith(description), response.text
    assert api.get("/project").json() == before


def test_branding_and_settings_change_in_one_decision(server: Server):
    """A refusal the command itself finds (a live project's http redirect URI) leaves the
    branding sent with it unchanged too: both are one decision."""
    live = Api(server, project_on(server, live=True))
    before = live.get("/project").json()
    refused = live.send("PATCH", "/project", {"redirect_uris": ["http://app.test/cb"], "branding": BRANDING})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_redirect_uri"
    assert live.get("/project").json() == before
    changed = live.send("PATCH", "/project", {"name": "Orders", "branding": BRANDING})
    assert changed.status_code == 200 and (changed.json()["name"], changed.json()["branding"]) == ("Orders", BRANDING)
    events = live.get("/events").json()["events"]
    assert [e["type"] for e in events[:2]] == ["Project.BrandingChanged", "Project.Renamed"]
    assert events[0]["position"] == events[1]["position"] + 1  # saved together


# -- Google and GitHub ---------------------------------------------------------------------------

def test_a_provider_is_configured_with_its_secret_in_a_file_only(server: Server, api: Api, project: dict):
    secret = "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42"
    put = api.send("PUT", "/project/providers/google", {"client_id": "google-client.apps", "client_secret": secret})
    assert put.status_code == 200, put.text
    assert put.json() == {"project_id": project["project_id"], "providers": ["google"]}
    assert kept_secret(server, "providers", project["project_id"])["google"] == {
        "client_id": "google-client.apps", "client_secret": secret}
    assert api.get("/project").json()["providers"] == ["google"]
    assert "provider-google" in authorize(server, project, CALLBACK).text  # "Continue with Google"
    assert log_of(api, type="Project.ProviderConfigured") == [("Project.ProviderConfigured", None, "api")]
    for answer in (put, api.get("/project"), api.get("/events")):
        assert secret not in answer.text
    assert secret.encode() not in read_models_bytes(server)

    github = api.send("PUT", "/project/providers/github", {"client_id": "Iv1.github", "client_secret": "gh-secret"})
    assert github.json()["providers"] == ["github", "google"]
    removed = requests.delete(f"{api.url}/project/providers/google", auth=api.auth, timeout=10)
    assert removed.status_code == 200 and removed.json()["providers"] == ["github"]
    assert set(kept_secret(server, "providers", project["project_id"])) == {"github"}
    assert "provider-google" not in authorize(server, project, CALLBACK).text
    again = requests.delete(f"{api.url}/project/providers/google", auth=api.auth, timeout=10)
    assert again.status_code == 200 and again.json()["providers"] == ["github"]  # none to remove: no error


def test_a_provider_takes_the_projects_credentials_in_basic_only(server: Server, project: dict):
    """The body's client_id and client_secret are the provider's: sent without HTTP Basic,
    they authenticate nobody, and nothing is written."""
    response = requests.put(f"{server.url}/api/platform/project/providers/google", timeout=10,
                            json={"client_id": project["client_id"], "client_secret": project["client_secret"]})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert f"providers/{project['project_id']}.json" not in kept_secret_names(server)


@pytest.mark.parametrize("path, body, status", [
    ("/project/providers/facebook", {"client_id": "a", "client_secret": "b"}, 404),
    ("/project/providers/google", {"client_id": "has space", "client_secret": "b"}, 400),
    ("/project/providers/google", {"client_id": "a"}, 400),
    ("/project/providers/google", {"client_id": "a", "client_secret": "b", "scope": "email"}, 400),
    ("/project/providers/google", {"client_id": "a", "client_secret": "é"}, 400),
])
def test_a_bad_provider_change_is_refused(server: Server, api: Api, project: dict, path: str, body: dict,
                                          status: int):
    response = api.send("PUT", path, body)
    assert response.status_code == status, response.text
    assert f"providers/{project['project_id']}.json" not in kept_secret_names(server)
    assert api.get("/project").json()["providers"] == []


# -- Xendit --------------------------------------------------------------------------------------

@pytest.fixture
def xendit():
    with XenditServer(secret_key=OWN_KEY, callback_token=OWN_TOKEN) as fake:
        yield fake


def test_the_projects_own_xendit_keys_take_its_payments(start_server, xendit: XenditServer):
    """No deployment-wide key: the project pays through the key set here, and Xendit's
    webhooks with the token set here are taken."""
    server = start_server(xendit_api_url=xendit.url)
    xendit.webhook_url = f"{server.url}/api/webhooks/xendit"
    project = project_on(server)
    api = Api(server, project)
    assert api.send("POST", "/plans", {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR",
                                       "interval": "month"}).status_code == 201
    tokens = tokens_for(server, project, "payer@example.org")
    sub = requests.get(f"{server.url}/oauth/userinfo", timeout=10,
                       headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()["sub"]
    payment = {"end_user_id": sub, "plan": "pro", "method": "QRIS"}
    assert api.send("POST", "/payments", payment).status_code == 503  # no key yet

    put = api.send("PUT", "/project/payments", {"secret_key": OWN_KEY, "callback_token": OWN_TOKEN})
    assert put.status_code == 200, put.text
    assert put.json() == {"project_id": project["project_id"], "mode": "sandbox", "xendit": "configured"}
    assert kept_secret(server, "xendit", project["project_id"]) == {"secret_key": OWN_KEY, "callback_token": OWN_TOKEN}
    assert log_of(api, type="Project.PaymentsConfigured") == [("Project.PaymentsConfigured", None, "api")]
    assert OWN_KEY.encode() not in read_models_bytes(server) and OWN_TOKEN.encode() not in read_models_bytes(server)

    created = api.send("POST", "/payments", payment)
    assert created.status_code == 201, created.text
    assert xendit.created()[-1].headers["authorization"].startswith("Basic ")  # the fake checks it is OWN_KEY
    pr_id = next(pr for pr, found in xendit.payment_requests.items()
                 if found["reference_id"] == created.json()["payment_id"])
    assert xendit.simulate_payment(pr_id) == 200  # its webhook carries OWN_TOKEN
    deadline = time.monotonic() + 10
    while not api.get(f"/payments/{created.json()['payment_id']}").json().get("plan_assigned"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("body, description", [
    ({"secret_key": "xnd_production_orders-live-key"}, "secret_key: a sandbox project needs a Xendit secret key"),
    ({"secret_key": "xnd_development_short"}, "secret_key: "),
    ({"secret_key": OWN_KEY, "callback_token": "short"}, "callback_token: "),
    ({"callback_token": OWN_TOKEN}, "secret_key: "),
    ({"secret_key": OWN_KEY, "webhook_url": "https://app.example/hook"}, "unknown field 'webhook_url'"),
])
def test_xendit_keys_of_another_mode_or_malformed_are_refused(server: Server, api: Api, project: dict, body: dict,
                                                              description: str):
    response = api.send("PUT", "/project/payments", body)
    assert response.status_code == 400 and response.json()["error_description"].startswith(description), \
        response.text
    assert f"xendit/{project['project_id']}.json" not in kept_secret_names(server)
    assert body.get("secret_key", "never shown") not in response.text


def test_a_live_project_takes_a_production_key_only(server: Server):
    live = project_on(server, live=True)
    api = Api(server, live)
    refused = api.send("PUT", "/project/payments", {"secret_key": OWN_KEY})
    assert refused.status_code == 400 and "xnd_production_" in refused.json()["error_description"]
    taken = api.send("PUT", "/project/payments", {"secret_key": LIVE_KEY})
    assert taken.status_code == 200 and taken.json()["mode"] == "live"
    assert kept_secret(server, "xendit", live["project_id"])["secret_key"] == LIVE_KEY


# -- going live ----------------------------------------------------------------------------------

def test_going_live_is_refused_with_every_reason_and_nothing_written(server: Server, api: Api, project: dict):
    assert api.send("PATCH", "/project", {"redirect_uris": ["http://shop.test/cb"]}).status_code == 200
    files = kept_secret_names(server)
    before = log_position(server)
    refused = api.send("POST", "/project/go-live", {})
    assert refused.status_code == 409 and refused.json()["error"] == "conflict", refused.text
    description = refused.json()["error_description"]
    assert description.startswith("cannot go live: ") and "http://shop.test/cb" in description
    assert "ASTAPA_SMTP_URL" in description  # every reason, at once
    assert log_position(server) == before and kept_secret_names(server) == files
    assert "live_project_id" not in api.get("/project").json()


@pytest.mark.parametrize("body, description", [
    ({"xendit_callback_token": OWN_TOKEN}, "send xendit_callback_token only with xendit_secret_key"),
    ({"xendit_secret_key": OWN_KEY}, "xendit_secret_key: "),
    ({"xendit_secret_key": LIVE_KEY, "xendit_callback_token": "short"}, "xendit_callback_token: "),
    ({"mode": "live"}, "unknown field 'mode'"),
])
def test_a_bad_go_live_body_is_refused(api: Api, body: dict, description: str):
    response = api.send("POST", "/project/go-live", body)
    assert response.status_code == 400 and response.json()["error_description"].startswith(description), \
        response.text


def test_going_live_makes_a_twin_with_the_configuration_and_its_secrets_once(start_server):
    server = start_server(smtp_url="smtp://127.0.0.1:1")
    project = project_on(server, "orders:read", name="Orders app")
    api = Api(server, project)
    assert api.send("PATCH", "/project", {"branding": BRANDING}).status_code == 200
    machine = api.send("POST", "/clients", {"name": "Nightly export", "scopes": ["orders:read"]}).json()
    assert api.send("PUT", "/project/providers/github", {"client_id": "Iv1.github",
                                                         "client_secret": "gh-secret"}).status_code == 200
    member = invited(server, project["project_id"], "owner@example.com")
    assert api.send("PUT", "/project/payments", {"secret_key": OWN_KEY}).status_code == 200
    development = api.send("POST", "/project/go-live", {})
    assert development.status_code == 409 and "development" in development.json()["error_description"]

    live = api.send("POST", "/project/go-live", {"xendit_secret_key": LIVE_KEY, "xendit_callback_token": OWN_TOKEN})
    assert live.status_code == 201, live.text
    twin = live.json()
    assert twin["mode"] == "live" and twin["sandbox_project_id"] == project["project_id"]
    assert twin["project_id"] != project["project_id"] and twin["client_id"] != project["client_id"]
    assert (twin["providers"], twin["xendit"]) == (["github"], "configured")
    assert server.token(twin).status_code == 200
    [copy] = twin["clients"]
    assert copy["sandbox_client_id"] == machine["client_id"] and copy["client_id"] != machine["client_id"]
    assert server.token(copy, scope="orders:read").status_code == 200

    shown = Api(server, twin).get("/project").json()
    assert (shown["sandbox_project_id"], shown["branding"], shown["providers"]) == (
        project["project_id"], BRANDING, ["github"])
    assert twin["client_secret"] not in json.dumps(shown)
    assert api.get("/project").json()["live_project_id"] == twin["project_id"]
    assert kept_secret(server, "xendit", twin["project_id"]) == {"secret_key": LIVE_KEY, "callback_token": OWN_TOKEN}
    members = server.run(server.web_app[reads_key].query(members_of, twin["project_id"]))
    assert [(m["email_key"], m["role"]) for m in members] == [(member, "owner")]  # the console team runs it too

    again = api.send("POST", "/project/go-live", {})
    assert again.status_code == 409 and twin["project_id"] in again.json()["error_description"]
    itself = Api(server, twin).send("POST", "/project/go-live", {})
    assert itself.status_code == 409 and "is live already" in itself.json()["error_description"]


def invited(server: Server, project_id: str, email: str) -> str:
    """A console member of the project (an owner, as the console invites one): their key."""
    app, writer = server.web_app[application_key], server.web_app[writer_key]
    address, key = normalise_email(email)
    _, position = server.run(writer.run(app.invite_member, project_id, address, key, "owner", "cli",
                                        server.clock.now()))
    server.run(await_read_model(server.web_app, position))
    return key
