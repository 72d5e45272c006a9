"""A project's Settings in the console: what is saved there is what the server then does
(the authorization endpoint, the token endpoint), a stale or bad form changes nothing,
secrets are never shown again nor kept in the read models, and going live is refused with
its reasons or makes a live twin its maker can open."""

import json
import re
import sqlite3
import time
from html import unescape

import requests

from astapa.web.appkeys import application_key
from tests.conftest import Server
from tests.console.conftest import ADMIN, ConsoleBrowser, admin_browser, create_project, member_browser
from tests.flows import pkce_pair


def settings_path(project: dict) -> str:
    return f"/dashboard/projects/{project['project_id']}/settings"


def authorize(server: Server, project: dict, redirect_uri: str) -> requests.Response:
    _, challenge = pkce_pair()
    return requests.get(f"{server.url}/oauth/authorize", params={
        "client_id": project["client_id"], "redirect_uri": redirect_uri, "response_type": "code",
        "code_challenge": challenge, "code_challenge_method": "S256"}, timeout=10)


def code_of(html: str, element_id: str) -> str:
    return unescape(re.search(rf'<code id="{element_id}"[^>]*>([^<]+)</code>', html).group(1))


def console_actions(server: Server, project_id: str, actor: str = f"console:{ADMIN}") -> list[str]:
    """The project's ConsoleAction rows in read.db naming `actor`, once the projection has them."""
    deadline = time.monotonic() + 3
    while True:
        with sqlite3.connect(server.data_dir / "read.db") as conn:
            rows = conn.execute("SELECT subject FROM project_events WHERE project_id = ? AND type = ?"
                                " AND actor = ?", (project_id, "ConsoleAction.Recorded", actor)).fetchall()
        if rows or time.monotonic() > deadline:
            return [r[0] for r in rows]
        time.sleep(0.05)


def log_position(server: Server) -> int:
    return server.web_app[application_key].recorder.max_notification_id() or 0


def test_saved_redirect_uris_are_what_the_authorization_endpoint_takes(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(settings_path(project))
    assert page.status_code == 200 and 'id="redirect_uris"' in page.text
    saved = admin.post(f"{settings_path(project)}/redirect-uris", page=page,
                       redirect_uris="https://shop.example/new-cb\nhttp://shop.test/dev-cb\n")
    assert saved.status_code == 200 and "Redirect URIs saved." in saved.text
    assert authorize(server, project, "https://shop.example/new-cb").status_code == 200
    assert authorize(server, project, "http://shop.test/dev-cb").status_code == 200  # a sandbox takes http
    refused = authorize(server, project, "https://shop.example/cb")  # left out: refused from now on
    assert refused.status_code == 400
    assert project["project_id"] in console_actions(server, project["project_id"])


def test_a_bad_redirect_uri_is_shown_next_to_the_field_and_changes_nothing(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(settings_path(project))
    before = log_position(server)
    answer = admin.post(f"{settings_path(project)}/redirect-uris", page=page,
                        redirect_uris="https://shop.example/ok\nhttps://shop.example/cb#fragment")
    assert answer.status_code == 400
    assert 'id="redirect_uris-error"' in answer.text and 'aria-invalid="true"' in answer.text
    assert "https://shop.example/cb#fragment" in answer.text  # what was typed, shown again
    assert log_position(server) == before
    assert authorize(server, project, "https://shop.example/cb").status_code == 200
    assert authorize(server, project, "https://shop.example/ok").status_code == 400


def test_a_stale_form_is_refused_and_changes_nothing(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    opened = admin.get(settings_path(project))  # two tabs open at this version
    assert admin.post(f"{settings_path(project)}/name", page=opened, name="Shop one").status_code == 200
    before = log_position(server)
    stale = admin.post(f"{settings_path(project)}/redirect-uris", page=opened,
                       redirect_uris="https://other.example/cb")
    assert stale.status_code == 409
    assert "This project changed since you opened the page; review and save again" in stale.text
    assert log_position(server) == before
    assert authorize(server, project, "https://shop.example/cb").status_code == 200
    assert authorize(server, project, "https://other.example/cb").status_code == 400
    # the page it answers with is current: saving from it works
    again = admin.post(f"{settings_path(project)}/redirect-uris", page=stale,
                       redirect_uris="https://other.example/cb")
    assert again.status_code == 200 and "Redirect URIs saved." in again.text


def test_name_and_sign_in_settings_are_saved(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(settings_path(project))
    renamed = admin.post(f"{settings_path(project)}/name", page=page, name="Shop Deluxe")
    assert renamed.status_code == 200 and "Shop Deluxe" in renamed.text
    bad = admin.post(f"{settings_path(project)}/sign-in", page=renamed, refresh_reuse_grace="301")
    assert bad.status_code == 400 and 'id="refresh_reuse_grace-error"' in bad.text
    saved = admin.post(f"{settings_path(project)}/sign-in", page=renamed, require_verified_email="1",
                       allow_registration="1", refresh_reuse_grace="45")
    assert saved.status_code == 200 and "Sign-in settings saved." in saved.text
    shown = requests.get(f"{server.url}/projects/{project['project_id']}/.well-known/oauth-authorization-server",
                         timeout=10).json()
    assert "registration_endpoint" in shown  # the project now takes RFC 7591 registrations
    assert 'id="require_verified_email" name="require_verified_email" value="1" checked' in saved.text
    assert 'value="45"' in saved.text


def test_a_rotated_secret_works_the_old_one_too_until_revoked(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(settings_path(project))
    rotated = admin.post(f"{settings_path(project)}/rotate-secret", page=page)
    assert rotated.status_code == 200 and rotated.headers["Cache-Control"] == "no-store"
    assert "keeps working for 24 hours" in rotated.text
    new_secret = code_of(rotated.text, "client_secret")
    old = {"client_id": project["client_id"], "client_secret": project["client_secret"]}
    new = {"client_id": project["client_id"], "client_secret": new_secret}
    assert new_secret != project["client_secret"]
    assert server.token(new).status_code == 200
    assert server.token(old).status_code == 200
    revoked = admin.post(f"{settings_path(project)}/revoke-old-secret", page=rotated)
    assert revoked.status_code == 200 and "no longer works" in revoked.text
    assert server.token(old).status_code == 401
    assert server.token(new).status_code == 200
    assert new_secret not in admin.get(settings_path(project)).text  # shown once
    assert project["client_id"] in console_actions(server, project["project_id"])


def test_provider_secrets_are_configured_never_shown_nor_in_the_read_models(server: Server,
                                                                           admin: ConsoleBrowser):
    project = create_project(admin)
    secret = "gh-secret-that-must-stay-hidden-42"
    page = admin.get(settings_path(project))
    saved = admin.post(f"{settings_path(project)}/providers", page=page, provider="github",
                       client_id="Iv1.github-client", client_secret=secret)
    assert saved.status_code == 200 and "Sign-in provider saved." in saved.text
    assert "Iv1.github-client" in saved.text and "secret configured" in saved.text
    assert secret not in saved.text
    stored = json.loads((server.data_dir / "keys" / "providers" / f"{project['project_id']}.json").read_text())
    assert stored["github"] == {"client_id": "Iv1.github-client", "client_secret": secret}
    for path in ("", "/settings", "/events", "/clients"):
        assert secret not in admin.get(f"/dashboard/projects/{project['project_id']}{path}").text
    read_db = (server.data_dir / "read.db").read_bytes()
    for suffix in ("-wal",):
        wal = server.data_dir / f"read.db{suffix}"
        if wal.exists():
            read_db += wal.read_bytes()
    assert secret.encode() not in read_db
    bad = admin.post(f"{settings_path(project)}/providers", page=saved, provider="google",
                     client_id="google client", client_secret="")
    assert bad.status_code == 400 and 'id="google_client_id-error"' in bad.text
    assert 'id="google_client_secret-error"' in bad.text
    removed = admin.post(f"{settings_path(project)}/providers/remove", page=saved, provider="github")
    assert removed.status_code == 200 and "Sign-in provider removed." in removed.text
    assert "Iv1.github-client" not in removed.text
    assert "github" not in json.loads(
        (server.data_dir / "keys" / "providers" / f"{project['project_id']}.json").read_text())
    assert "github" in console_actions(server, project["project_id"])


def test_xendit_keys_are_checked_for_the_mode_and_never_shown(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(settings_path(project))
    wrong = admin.post(f"{settings_path(project)}/payments", page=page,
                       xendit_secret_key="xnd_production_abcdefgh1234", xendit_callback_token="short")
    assert wrong.status_code == 400 and 'id="xendit_secret_key-error"' in wrong.text
    assert 'id="xendit_callback_token-error"' in wrong.text and "xnd_production_abcdefgh1234" not in wrong.text
    key = "xnd_development_abcdefgh1234"
    saved = admin.post(f"{settings_path(project)}/payments", page=page, xendit_secret_key=key,
                       xendit_callback_token="callback-token-1234")
    assert saved.status_code == 200 and "Xendit keys saved." in saved.text
    assert "development key" in saved.text and key not in saved.text and "callback-token-1234" not in saved.text
    stored = json.loads((server.data_dir / "keys" / "xendit" / f"{project['project_id']}.json").read_text())
    assert stored == {"secret_key": key, "callback_token": "callback-token-1234"}


def test_going_live_is_refused_with_every_reason(server: Server, admin: ConsoleBrowser):
    project = create_project(admin, redirect_uris="http://shop.test/cb")
    page = admin.get(settings_path(project))
    assert "Go live" in page.text
    before = log_position(server)
    refused = admin.post(f"{settings_path(project)}/go-live", page=page)
    assert refused.status_code == 409
    assert "http://shop.test/cb" in unescape(refused.text) and "ASTAPA_SMTP_URL" in refused.text
    assert log_position(server) == before
    assert len(re.findall(r"<li>", refused.text.split('id="go-live-refused"')[1].split("</ul>")[0])) == 2


def test_going_live_makes_a_twin_its_owner_can_open(start_server):
    server = start_server(smtp_url="smtp://127.0.0.1:1")
    admin = admin_browser(server)
    project = create_project(admin)
    owner = member_browser(server, "owner@example.com", project["project_id"], "owner")
    clients_page = owner.get(f"/dashboard/projects/{project['project_id']}/clients")
    owner.post(f"/dashboard/projects/{project['project_id']}/clients", page=clients_page, name="Billing job",
               scopes="billing", credential="secret")
    branded = owner.post(f"{settings_path(project)}/branding", page=owner.get(settings_path(project)),
                         primary_color="#2456d6")
    assert branded.status_code == 200
    page = owner.get(settings_path(project))
    live = owner.post(f"{settings_path(project)}/go-live", page=page)
    assert live.status_code == 200, live.text[:2000]
    twin = {name: code_of(live.text, name) for name in ("project_id", "client_id", "client_secret")}
    assert twin["project_id"] != project["project_id"] and twin["client_id"] != project["client_id"]
    assert server.token(twin).status_code == 200
    client_secret = unescape(re.search(r'class="secret live-client-secret">([^<]+)<', live.text).group(1))
    client_id = unescape(re.search(r'class="live-client-id">([^<]+)<', live.text).group(1))
    assert server.token({"client_id": client_id, "client_secret": client_secret}).status_code == 200
    opened = owner.get(f"/dashboard/projects/{twin['project_id']}/settings")
    assert opened.status_code == 200 and "made from the sandbox" in opened.text
    assert project["project_id"] in opened.text and 'mode-live' in opened.text and "Go live" not in opened.text
    assert 'value="#2456d6"' in opened.text  # the branding is configuration: copied
    sandbox = owner.get(settings_path(project))
    assert twin["project_id"] in sandbox.text and "Go live</button>" not in sandbox.text
    assert twin["client_secret"] not in sandbox.text + opened.text
    assert "owner@example.com" in owner.get(f"/dashboard/projects/{twin['project_id']}/members").text
    assert project["project_id"] in console_actions(server, project["project_id"], "console:owner@example.com")


def test_an_admin_member_cannot_go_live(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    member = member_browser(server, "admin-member@example.com", project["project_id"], "admin")
    page = member.get(settings_path(project))
    assert page.status_code == 200 and "Only an owner" in page.text
    before = log_position(server)
    assert member.post(f"{settings_path(project)}/go-live", page=page).status_code == 403
    assert log_position(server) == before


def test_the_contrast_ratio_is_wcag_s():
    from astapa.domain.branding import contrast_ratio

    assert round(contrast_ratio("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast_ratio("#767676", "#ffffff"), 2) == 4.54  # the lightest grey AA allows on white
    assert round(contrast_ratio("#777777", "#ffffff"), 2) == 4.48
    assert contrast_ratio("#2456d6", "#ffffff") == contrast_ratio("#ffffff", "#2456d6")


def test_branding_is_saved_and_a_low_contrast_colour_is_refused_next_to_its_field(server: Server,
                                                                                 admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(settings_path(project))
    before = log_position(server)
    refused = admin.post(f"{settings_path(project)}/branding", page=page, display_name="Shop",
                         logo_url="http://shop.example/logo.png", primary_color="#777777")
    assert refused.status_code == 400
    assert 'id="primary_color-error"' in refused.text and "4.48:1" in refused.text
    assert 'id="logo_url-error"' in refused.text and "https" in refused.text
    assert log_position(server) == before
    saved = admin.post(f"{settings_path(project)}/branding", page=page, display_name="Shop & Co",
                       logo_url="https://shop.example/logo.png", primary_color="#767676")
    assert saved.status_code == 200 and "Branding saved." in saved.text
    assert 'value="#767676"' in saved.text and 'value="https://shop.example/logo.png"' in saved.text
    with sqlite3.connect(server.data_dir / "read.db") as conn:
        row = conn.execute("SELECT display_name, logo_url, primary_color FROM project_branding WHERE project_id = ?",
                           (project["project_id"],)).fetchone()
    assert row == ("Shop & Co", "https://shop.example/logo.png", "#767676")


def test_a_form_too_large_is_a_page_and_changes_nothing(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    page = admin.get(f"{base}/settings")
    answer = admin.post(f"{base}/settings/name", page, name="x" * 2_000_000)
    assert answer.status_code == 413 and answer.headers["Content-Type"].startswith("text/html")
    assert "Shop" in admin.get(f"{base}/settings").text


def test_allowed_scopes_and_the_access_token_lifetime_are_saved(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(settings_path(project))
    bad = admin.post(f"{settings_path(project)}/sign-in", page=page, refresh_reuse_grace="0", scopes='a "b"',
                     access_token_ttl="0")
    assert bad.status_code == 400 and 'id="scopes-error"' in bad.text and 'id="access_token_ttl-error"' in bad.text
    saved = admin.post(f"{settings_path(project)}/sign-in", page=page, refresh_reuse_grace="0",
                       scopes="orders:read orders:read", access_token_ttl="120")
    assert saved.status_code == 200 and 'value="orders:read"' in saved.text and 'value="120"' in saved.text
    token = server.token(project, scope="orders:read")
    assert token.status_code == 200 and token.json()["expires_in"] == 120
    reset = admin.post(f"{settings_path(project)}/sign-in", page=saved, refresh_reuse_grace="0",
                       scopes="orders:read", access_token_ttl="")
    assert reset.status_code == 200
    assert server.token(project, scope="orders:read").json()["expires_in"] == 3600  # the server's default
