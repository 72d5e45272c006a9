"""The sign-in methods in a real browser (headless Chromium): passkeys through Chromium's
virtual authenticator (the DevTools protocol's WebAuthn domain), a PIN, and the account
page; and without JavaScript, no passkey button that could not work.

The server's issuer is http://localhost:PORT (an IP address can never be a passkey's RP
id), and the project's redirect URI is a page of the same server, so the browser never
leaves loopback. Screenshots for the "Sign-in methods" guide are taken into tmp_path, and
with ASTAPA_SCREENSHOTS=1 into docs/guides/images/.
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Server, run_cli, wait_for_client
from tests.flows import PASSWORD, exchange, query_of
from tests.passkey_browser import add_virtual_authenticator, credentials

pytestmark = pytest.mark.browser

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "guides" / "images"
WRITE_DOCS = os.environ.get("ASTAPA_SCREENSHOTS") == "1"


@pytest.fixture
def server(start_server) -> Server:
    return start_server(issuer_host="localhost")


@pytest.fixture
def project(server: Server) -> dict:
    landing = f"{server.url}/healthz"  # any page of ours: the test reads the code from the URL
    project = run_cli("project", "create", "--data-dir", str(server.data_dir), "--name", "Acme Notes",
                      "--redirect-uri", landing)
    run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--pin-sign-in")
    wait_for_client(server, project)
    return {**project, "redirect_uri": landing}


def authorize_url(server: Server, project: dict, path: str = "/auth/login", **params: str) -> str:
    query = {"client_id": project["client_id"], "redirect_uri": project["redirect_uri"], "response_type": "code",
             "scope": "openid", "state": "s1", **params}
    return f"{server.url}{path}?{urlencode(query)}"


def landed_claims(server: Server, project: dict, page: Page) -> dict:
    """Once the browser is back at the redirect URI: the ID token's claims for its code."""
    page.wait_for_url(f"{project['redirect_uri']}?**")
    code = query_of(page.url)["code"]
    answer = exchange(server.url, project, code, redirect_uri=project["redirect_uri"])
    assert answer.status_code == 200, answer.text
    return jwt.decode(answer.json()["id_token"], options={"verify_signature": False})


def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    if WRITE_DOCS:
        IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, IMAGES / shot.name)


def test_sign_up_with_a_passkey_then_sign_in_with_it(server: Server, project, page: Page, tmp_path: Path):
    authenticator = add_virtual_authenticator(page)
    page.goto(authorize_url(server, project, "/auth/signup"))
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_role("button", name="Sign up with a passkey").click()
    expect(page.get_by_role("heading", name="Create a passkey")).to_be_visible()
    screenshot(page, tmp_path, "passkey-create")
    page.get_by_role("button", name="Create passkey").click()
    assert landed_claims(server, project, page)["amr"] == ["hwk", "user", "mfa"]
    (credential,) = credentials(page, authenticator)
    assert credential["rpId"] == "localhost" and credential["isResidentCredential"]
    page.context.clear_cookies()  # signed out: only the passkey is left
    page.goto(authorize_url(server, project))
    screenshot(page, tmp_path, "sign-in-page")
    page.get_by_role("button", name="Sign in with a passkey").click()
    assert landed_claims(server, project, page)["amr"] == ["hwk", "user", "mfa"]


def test_add_a_passkey_on_the_account_page(server: Server, project, page: Page, tmp_path: Path):
    add_virtual_authenticator(page)
    page.goto(authorize_url(server, project, "/auth/signup"))
    page.get_by_label("Email").fill("bo@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up", exact=True).click()
    landed_claims(server, project, page)
    page.goto(f"{server.url}/account")
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    page.locator("#passkey_password").fill(PASSWORD)  # adding a way in asks who you are
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Passkey added.")).to_be_visible()
    screenshot(page, tmp_path, "account-page")
    page.context.clear_cookies()
    page.goto(authorize_url(server, project))
    page.get_by_role("button", name="Sign in with a passkey").click()
    assert "mfa" in landed_claims(server, project, page)["amr"]


def test_set_a_pin_and_sign_in_with_it(server: Server, project, page: Page, tmp_path: Path):
    page.goto(authorize_url(server, project, "/auth/signup"))
    page.get_by_label("Email").fill("cy@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up", exact=True).click()
    landed_claims(server, project, page)
    page.goto(authorize_url(server, project, "/auth/pin"))
    page.get_by_label("PIN", exact=True).fill("482913")
    page.get_by_label("Repeat PIN").fill("482913")
    screenshot(page, tmp_path, "set-pin")
    page.get_by_role("button", name="Set PIN").click()
    expect(page.get_by_role("heading", name="PIN set")).to_be_visible()
    page.goto(authorize_url(server, project, prompt="login"))
    page.get_by_label("PIN", exact=True).fill("482913")
    screenshot(page, tmp_path, "pin-sign-in")
    page.get_by_role("button", name="Sign in with PIN").click()
    assert landed_claims(server, project, page)["amr"] == ["pin"]


def test_without_javascript_no_passkey_button_shows(server: Server, project, no_js_page: Page):
    no_js_page.goto(authorize_url(server, project))
    expect(no_js_page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    expect(no_js_page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    no_js_page.goto(authorize_url(server, project, "/auth/signup"))
    expect(no_js_page.get_by_role("button", name="Sign up with a passkey")).to_be_hidden()
    no_js_page.get_by_label("Email").fill("di@example.org")
    no_js_page.get_by_label("Password").fill(PASSWORD)
    no_js_page.get_by_role("button", name="Sign up", exact=True).click()
    no_js_page.wait_for_url(f"{project['redirect_uri']}?**")
