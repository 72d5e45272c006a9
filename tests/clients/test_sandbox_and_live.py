"""Sandbox and live (contract, "Sandbox and live"): a sandbox project takes http redirect URIs
on any host, going live makes a live twin with the sandbox's configuration and none of its
data, refused with every reason while that configuration would be unsafe in production;
nothing issued by one twin is accepted by the other; a sandbox's sign-in limits are ten
times as lenient."""

import json
import stat

import jwt
import pytest
import requests

from astapa import cli as astapa_cli
from astapa.app import AstapaApplication
from astapa.domain.errors import AlreadyLiveError, GoLiveRefusedError
from astapa.web.appkeys import application_key, writer_key
from astapa.web.errors import API_ANSWERS, from_domain
from tests.clients.conftest import RESOURCE, cli
from tests.conftest import Server, project_on
from tests.flows import PASSWORD, REDIRECT_URI, Browser, exchange, refresh

DEV_URI = "http://myapp.test/callback"
SMTP_URL = "smtp://127.0.0.1:2525"  # nothing needs to listen: going live sends no mail
PRO = {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR", "interval": "month",
       "claims": {"seats": 5}}
DEVELOPMENT_KEY = "xnd_development_0123456789abcdef"
PRODUCTION_KEY = "xnd_production_0123456789abcdef"


def refused(capsys, status: int, *args: str, data_dir) -> str:
    """The one line on stderr of a command that exits with `status`."""
    capsys.readouterr()
    code = astapa_cli.main([*args[:2], "--data-dir", str(data_dir), *args[2:]])
    err = capsys.readouterr().err.strip()
    assert code == status and len(err.splitlines()) == 1, (code, err)
    return err


def sandbox(server: Server, *args: str, redirect_uri: str = REDIRECT_URI) -> dict:
    return cli(server, "project", "create", "--name", "Shop", "--redirect-uri", redirect_uri, *args)


def issuer(server: Server, project: dict) -> str:
    return f"{server.url}/projects/{project['project_id']}"


def signed_up(server: Server, project: dict, email: str, redirect_uri: str = REDIRECT_URI) -> dict:
    """The redirect's parameters (code, state, iss) after a sign-up on the hosted pages."""
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(project["client_id"], redirect_uri, scope="openid email"), email)
    assert redirect.location.startswith(redirect_uri + "?"), redirect.location
    return redirect.params


def tokens(server: Server, project: dict, email: str) -> dict:
    response = exchange(server.url, project, signed_up(server, project, email)["code"])
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def smtp_configured(monkeypatch):
    monkeypatch.setenv("ASTAPA_SMTP_URL", SMTP_URL)


# -- redirect URIs per mode ---------------------------------------------------------------------

def test_a_sandbox_takes_http_redirect_uris_on_any_host(server: Server):
    project = sandbox(server, redirect_uri=DEV_URI)
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(project["client_id"], DEV_URI, path="/oauth/authorize"))
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "code" in signed_up(server, project, "dev@example.org", DEV_URI)
    client = cli(server, "client", "create", "--project", project["project_id"], "--name", "app",
                 "--public", "--redirect-uri", "http://myapp.test/app")
    assert client["redirect_uris"] == ["http://myapp.test/app"]


def test_a_live_project_takes_only_https_and_loopback_http(server: Server, capsys):
    data_dir = server.data_dir
    err = refused(capsys, 2, "project", "create", "--name", "Shop", "--live", "--redirect-uri", DEV_URI,
                  data_dir=data_dir)
    assert DEV_URI in err and "https" in err
    live = sandbox(server, "--live", redirect_uri="http://127.0.0.1:8000/callback")  # RFC 8252: native apps
    assert live["mode"] == "live"
    for args in (("project", "update", "--project", live["project_id"], "--redirect-uri", DEV_URI),
                 ("project", "update", "--project", live["project_id"], "--post-logout-redirect-uri", DEV_URI),
                 ("client", "create", "--project", live["project_id"], "--name", "app", "--public",
                  "--redirect-uri", DEV_URI)):
        assert DEV_URI in refused(capsys, 2, *args, data_dir=data_dir), args
    # Syntax is refused in either mode, before any project is read.
    assert "fragment" in refused(capsys, 2, "project", "create", "--name", "S", "--redirect-uri",
                                 "http://myapp.test/cb#x", data_dir=data_dir)


def test_self_registered_clients_keep_the_strict_rule_in_a_sandbox(server: Server):
    project = sandbox(server, "--allow-registration")
    response = requests.post(f"{issuer(server, project)}/oauth/register", timeout=10, json={
        "client_name": "Agent", "redirect_uris": ["http://myapp.test/cb"], "token_endpoint_auth_method": "none"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_redirect_uri"


# -- going live: refused -------------------------------------------------------------------------

def test_going_live_is_refused_listing_every_reason(server: Server, capsys, monkeypatch):
    monkeypatch.delenv("ASTAPA_SMTP_URL", raising=False)
    project = sandbox(server, "--post-logout-redirect-uri", "http://myapp.test/bye", redirect_uri=DEV_URI)
    app = cli(server, "client", "create", "--project", project["project_id"], "--name", "app", "--public",
              "--redirect-uri", "http://myapp.test/app")
    cli(server, "project", "payments", "--project", project["project_id"], "--xendit-secret-key", DEVELOPMENT_KEY)
    err = refused(capsys, 1, "project", "go-live", "--project", project["project_id"], data_dir=server.data_dir)
    for reason in (f"redirect URI {DEV_URI!r}", "post-logout redirect URI 'http://myapp.test/bye'",
                   f"client {app['client_id']} (app): redirect URI 'http://myapp.test/app'",
                   "development Xendit key", "ASTAPA_SMTP_URL"):
        assert reason in err, reason
    # Nothing was made: the sandbox has no live twin, and no secrets file was written.
    shown = cli(server, "project", "show", "--project", project["project_id"])
    assert shown["live_project_id"] is None
    assert [p.name for p in (server.data_dir / "keys" / "xendit").iterdir()] == [f"{project['project_id']}.json"]


def test_the_reasons_are_what_the_application_decides(tmp_path):
    app = AstapaApplication(tmp_path / "events.db")
    try:
        made, _ = app.execute(app.create_project, "Shop", [DEV_URI, "http://[::1]:9/cb"], "sandbox", [])
        project_id = made["project_id"]
        only_reason = (f"redirect URI {DEV_URI!r} is http off loopback: a live project takes https only "
                       "(http on loopback, for native apps)")
        assert app.go_live_reasons(project_id, smtp_configured=True, xendit_key_is_development=None) == [only_reason]
        assert len(app.go_live_reasons(project_id, False, True)) == 3
        with pytest.raises(GoLiveRefusedError) as refusal:
            app.execute(app.go_live, project_id, False, True)
        assert len(refusal.value.reasons) == 3
        app.execute(app.set_redirect_uris, project_id, ["https://shop.example/cb"])
        assert app.go_live_reasons(project_id, True, None) == []
    finally:
        app.close()


def test_going_live_twice_is_refused_naming_the_live_twin(server: Server, capsys, smtp_configured):
    project = sandbox(server)
    live = cli(server, "project", "go-live", "--project", project["project_id"])
    again = refused(capsys, 1, "project", "go-live", "--project", project["project_id"], data_dir=server.data_dir)
    assert live["project_id"] in again and "went live already" in again
    itself = refused(capsys, 1, "project", "go-live", "--project", live["project_id"], data_dir=server.data_dir)
    assert "is live already" in itself
    answer = from_domain(AlreadyLiveError(project["project_id"], live["project_id"]), API_ANSWERS)
    assert answer.status == 409 and live["project_id"] in answer.description
    answer = from_domain(GoLiveRefusedError(["one", "two"]), API_ANSWERS)
    assert answer.status == 409 and "one; two" in answer.description


# -- going live: the twin ------------------------------------------------------------------------

def test_the_live_twin_has_the_configuration_and_none_of_the_data(server: Server, smtp_configured):
    project = sandbox(server, "--scope", "read", "--allow-registration")
    project_id = project["project_id"]
    cli(server, "resource", "add", "--project", project_id, "--uri", RESOURCE, "--scope", "mcp:tools")
    cli(server, "project", "providers", "--project", project_id, "--google-client-id", "g-client",
        "--google-client-secret", "g-secret")
    bot = cli(server, "client", "create", "--project", project_id, "--name", "bot", "--scope", "read",
              "--token-ttl", "300")
    app = cli(server, "client", "create", "--project", project_id, "--name", "app", "--public",
              "--redirect-uri", "http://127.0.0.1:9000/cb")
    auth = (project["client_id"], project["client_secret"])
    assert requests.post(f"{server.url}/api/platform/plans", json=PRO, auth=auth, timeout=10).status_code == 201
    retired = {**PRO, "key": "retired", "name": "Retired"}
    assert requests.post(f"{server.url}/api/platform/plans", json=retired, auth=auth, timeout=10).status_code == 201
    application, writer = server.web_app[application_key], server.web_app[writer_key]
    server.run(writer.run(application.archive_plan, project_id, "retired", "test"))  # offered no more: not copied
    user = tokens(server, project, "ada@example.org")

    live = cli(server, "project", "go-live", "--project", project_id)
    assert live["mode"] == "live" and live["sandbox_project_id"] == project_id
    assert live["project_id"] != project_id and live["client_id"] != project["client_id"] and live["client_secret"]
    copies = {c["name"]: c for c in live["clients"]}
    assert set(copies) == {"bot", "app"} and "client_secret" not in copies["app"]
    assert copies["bot"]["sandbox_client_id"] == bot["client_id"] != copies["bot"]["client_id"]
    assert (live["plans"], live["resources"], live["providers"]) == (["pro"], [RESOURCE], ["google"])

    metadata = requests.get(f"{issuer(server, live)}/.well-known/openid-configuration", timeout=10).json()
    assert {"read", "mcp:tools"} <= set(metadata["scopes_supported"])
    live_auth = (live["client_id"], live["client_secret"])
    plans = requests.get(f"{server.url}/api/platform/plans", auth=live_auth, timeout=10).json()["plans"]
    assert [p for p in plans if p["key"] == "pro"] == [PRO]
    shown = cli(server, "project", "show", "--project", live["project_id"])
    assert (shown["mode"], shown["sandbox_project_id"], shown["allow_registration"]) == ("live", project_id, True)
    assert cli(server, "project", "show", "--project", project_id)["live_project_id"] == live["project_id"]
    secrets = server.data_dir / "keys" / "providers" / f"{live['project_id']}.json"
    assert json.loads(secrets.read_text())["google"]["client_secret"] == "g-secret"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600

    # The copied machine client works with its new secret, at the live project only.
    grant = {"grant_type": "client_credentials"}
    copied = requests.post(f"{issuer(server, live)}/oauth/token", data=grant, timeout=10,
                           auth=(copies["bot"]["client_id"], copies["bot"]["client_secret"]))
    assert copied.status_code == 200 and copied.json()["expires_in"] == 300
    old = requests.post(f"{issuer(server, live)}/oauth/token", data=grant, timeout=10,
                        auth=(bot["client_id"], bot["client_secret"]))
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    assert app["client_id"] != copies["app"]["client_id"]

    # The sandbox's user and tokens are not the live project's; the sandbox keeps working.
    sub = jwt.decode(user["access_token"], options={"verify_signature": False})["sub"]
    assert requests.get(f"{server.url}/api/platform/users/{sub}", auth=live_auth, timeout=10).status_code == 404
    introspected = requests.post(f"{issuer(server, live)}/oauth/introspect", data={"token": user["access_token"]},
                                 auth=live_auth, timeout=10)
    assert introspected.json() == {"active": False}
    bearer = {"Authorization": f"Bearer {user['access_token']}"}
    assert requests.get(f"{issuer(server, live)}/oauth/userinfo", headers=bearer, timeout=10).status_code == 401
    assert requests.get(f"{server.url}/oauth/userinfo", headers=bearer, timeout=10).status_code == 200
    assert refresh(server.url, project, user["refresh_token"]).status_code == 200


def test_codes_and_refresh_tokens_of_one_twin_are_refused_by_the_other(server: Server, smtp_configured):
    project = sandbox(server)
    live = cli(server, "project", "go-live", "--project", project["project_id"])
    code = signed_up(server, project, "ada@example.org")["code"]
    stolen = exchange(server.url, live, code)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    user = tokens(server, project, "bob@example.org")
    reused = refresh(server.url, live, user["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # And the other way: the live twin's grants are its own.
    live_user = tokens(server, live, "bob@example.org")  # a new account: the sandbox's is not here
    assert refresh(server.url, project, live_user["refresh_token"]).json()["error"] == "invalid_grant"


def test_payments_go_live_with_the_production_key_given(server: Server, capsys, smtp_configured):
    project = sandbox(server)
    cli(server, "project", "payments", "--project", project["project_id"], "--xendit-secret-key", DEVELOPMENT_KEY)
    assert "development Xendit key" in refused(capsys, 1, "project", "go-live", "--project", project["project_id"],
                                               data_dir=server.data_dir)
    assert "xnd_production_" in refused(capsys, 2, "project", "go-live", "--project", project["project_id"],
                                        "--xendit-secret-key", DEVELOPMENT_KEY, data_dir=server.data_dir)
    live = cli(server, "project", "go-live", "--project", project["project_id"], "--xendit-secret-key", PRODUCTION_KEY)
    assert live["xendit"] == "configured"
    kept = json.loads((server.data_dir / "keys" / "xendit" / f"{live['project_id']}.json").read_text())
    assert kept["secret_key"] == PRODUCTION_KEY


# -- sign-in limits ------------------------------------------------------------------------------

def test_a_sandbox_sign_in_limit_is_ten_times_a_live_ones(start_server):
    server = start_server(login_failures_per_account=3, login_failures_per_ip=1000)
    live, dev = project_on(server, live=True), project_on(server, name="dev")

    def sign_in(project: dict, password: str) -> int:
        browser = Browser(server.url)
        return browser.sign_in(browser.authorize_url(project["client_id"]), "ada@example.org", password).status_code

    for project in (live, dev):
        signed_up(server, project, "ada@example.org")
        assert [sign_in(project, "wrong password") for _ in range(3)] == [401] * 3
    assert sign_in(live, PASSWORD) == 429
    assert sign_in(dev, PASSWORD) == 303
    assert {sign_in(dev, "wrong password") for _ in range(30)} == {401}
    assert sign_in(dev, PASSWORD) == 429


def test_a_refused_go_live_leaves_no_secret_file_behind(server: Server, smtp_configured, monkeypatch):
    """prepare_twin writes the twin's files before the save; a save refused (another
    go-live won meanwhile, here) takes them away again."""
    project = sandbox(server)
    cli(server, "project", "providers", "--project", project["project_id"], "--google-client-id", "g-client",
        "--google-client-secret", "g-secret")
    from astapa.app import AstapaApplication
    from astapa.domain.errors import AlreadyLiveError

    def refused(self, *args, **kwargs):
        raise AlreadyLiveError(project["project_id"], "proj_other")

    monkeypatch.setattr(AstapaApplication, "go_live", refused)
    providers = server.data_dir / "keys" / "providers"
    before = sorted(p.name for p in providers.iterdir())
    assert astapa_cli.main(["project", "go-live", "--data-dir", str(server.data_dir),
                            "--project", project["project_id"]]) == 1
    assert sorted(p.name for p in providers.iterdir()) == before


def test_the_live_twin_keeps_the_sandboxs_scopes_and_token_lifetime(server: Server, smtp_configured):
    project = sandbox(server)
    cli(server, "project", "update", "--project", project["project_id"], "--scope", "orders:read",
        "--token-ttl", "600")
    live = cli(server, "project", "go-live", "--project", project["project_id"])
    shown = cli(server, "project", "show", "--project", live["project_id"])
    assert (shown["scopes"], shown["access_token_ttl"]) == (["orders:read"], 600)
