"""The hosted sign-in pages in a real browser (headless Chromium, with and without JavaScript).

Proves the contract's "Hosted pages" section end to end: labelled plain-HTML forms with no
script, sign-up and sign-in landing on `redirect_uri?code=…&state=…&iss=…` with the state
returned byte for byte, the session cookie skipping the form (and `prompt=login` bringing it
back), the one wrong-credentials message, Cancel as `error=access_denied`, and the demo app.
Security checklist section G: C-67 (clickjacking: the headers, and a PoC page on another
loopback port whose iframe Chromium refuses to render), C-66 (sign-out is a POST form) and
C-73 (after sign-out the session no longer skips the form); C-78's premise (no inline script: only the passkeys' own file).

The client's redirect URI, https://app.example/callback, does not exist on this network:
`ClientCatcher` fulfils it in the browser with a tiny page, and the test reads the URL.

Screenshots for the README are always taken into tmp_path; with ASTAPA_SCREENSHOTS=1 they
are also written to docs/ (so ordinary runs never rewrite the checked-in files).
"""

import os
import shutil
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jwt
import pytest
import requests
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.flows import PASSWORD, REDIRECT_URI, exchange, pkce_pair, query_of
from tests.flows import Browser as FormDriver
from tests.pages.conftest import TIMEOUT_MS, assert_no_inline_script

DOCS = Path(__file__).resolve().parents[2] / "docs"
WRITE_DOCS = os.environ.get("ASTAPA_SCREENSHOTS") == "1"
VIEWPORT = {"width": 1000, "height": 800}

# Spaces, every character with a meaning in a URL or a form body, and non-ASCII.
STATE = "a b+c/d=e%f&g#h?i état ✓"
EMAIL = "alice@example.com"
WRONG_CREDENTIALS = "Email or password is incorrect."
CLIENT_NAME = "Acme Notes"


# ---- helpers -------------------------------------------------------------------------------

class ClientCatcher:
    """Stands in for the client at https://app.example, which does not exist here.

    /start is the client's page with a "Sign in with Astapa" link; every other path is its
    callback, answered with a tiny page and recorded in `callbacks`. Flows that must end at
    the client start from the link (as real apps do), not with page.goto: Playwright's routes
    never see the redirect hop of a page.goto navigation (microsoft/playwright#33882).
    After a click on a link or a form button they do not see it at first either: the browser
    looks app.example up, fails, and shows its error page, which Chromium reloads by itself a
    second later, and that reload is routed. `wait` does the reload at once.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.link = ""
        self.callbacks: list[str] = []
        self.unreached: list[str] = []  # redirect hops to the client that reached no route
        page.route("https://app.example/**", self._fulfil)
        page.on("requestfailed", self._failed)

    def _fulfil(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).path == "/start":
            body = (f'<!doctype html><title>client</title>'
                    f'<a href="{escape(self.link)}">Sign in with Astapa</a>')
        else:
            self.callbacks.append(url)
            body = "<!doctype html><title>client</title><p>Back at the client.</p>"
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

    def _failed(self, request: Request) -> None:
        if request.is_navigation_request() and request.url.startswith("https://app.example/"):
            self.unreached.append(request.url)

    def start(self, url: str) -> None:
        """Follow a link to `url` from the client's own page."""
        self.link = url
        self.page.goto("https://app.example/start")
        self.page.get_by_role("link", name="Sign in with Astapa").click()

    def wait(self) -> dict[str, str]:
        """The query of the redirect the browser has just followed to the client."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not self.page.url.startswith("https://app.example/callback?"):
            if self.unreached and self.page.url.startswith("chrome-error:"):
                self.page.goto(self.unreached[-1])  # Chromium's own reload, without its delay
                continue
            assert time.monotonic() < deadline, f"the browser did not get back to the client: {self.page.url}"
            self.page.wait_for_timeout(10)
        self.unreached.clear()
        url = self.page.url
        assert urlsplit(url)[:3] == ("https", "app.example", "/callback"), url
        assert self.callbacks and self.callbacks[-1] == url
        return query_of(url)


def authorize_url(server_url: str, project: dict, path: str = "/auth/login", **params: str) -> str:
    query = {"response_type": "code", "client_id": project["client_id"], "redirect_uri": REDIRECT_URI,
             **params}
    return f"{server_url}{path}?{urlencode(query)}"


def fill_form(page: Page, email: str, password: str, button: str) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name=button, exact=True).click()


def sign_up_from_login_page(page: Page, email: str, password: str = PASSWORD) -> None:
    """On the sign-in page: follow "Sign up", then fill in and send the sign-up form."""
    page.get_by_role("link", name="Sign up", exact=True).click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    fill_form(page, email, password, "Sign up")


def decoded(token: str) -> dict:
    """A JWT's claims (the token endpoint's own tests check signatures)."""
    return jwt.decode(token, options={"verify_signature": False})


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    """Always into tmp_path; also into docs/ when ASTAPA_SCREENSHOTS=1."""
    path = tmp_path / name
    page.screenshot(path=path, animations="disabled")
    assert png_size(path) == (VIEWPORT["width"], VIEWPORT["height"])
    if WRITE_DOCS:
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / name)
    return path


@contextmanager
def serve_pages(pages: dict[str, str], default: str | None = None,
                seen: list[str] | None = None) -> Iterator[str]:
    """A plain http.server on its own loopback port serving `pages` (path -> HTML; any other
    path `default`, else 404): another site, as far as the browser is concerned. Each path
    asked for (with its query) is appended to `seen`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if seen is not None:
                seen.append(self.path)
            body = pages.get(self.path, default)
            data = (body or "not found").encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


# ---- fixtures ------------------------------------------------------------------------------

@pytest.fixture
def project(make_project) -> dict:
    return make_project(name=CLIENT_NAME)


@pytest.fixture(params=["page", "no_js_page"], ids=["js", "no-js"])
def any_page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    """Each test using it runs twice: JavaScript on, and off."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def readme_page(_browser_loop: None, browser: Browser) -> Iterator[Page]:
    """A 1000x800 light-mode page for the README's screenshots."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


# ---- labelled forms, no inline script -----------------------------------------------------------

@pytest.mark.parametrize("path, heading, button, link, other_heading", [
    ("/auth/login", "Sign in", "Sign in", "Sign up", "Create your account"),
    ("/auth/signup", "Create your account", "Sign up", "Sign in", "Sign in"),
], ids=["login", "signup"])
def test_forms_have_visible_labels_named_buttons_and_no_script(
        page: Page, server, project, path, heading, button, link, other_heading) -> None:
    url = authorize_url(server.url, project, path, state=STATE)
    response = page.goto(url)
    assert response is not None and response.status == 200
    # One script, the passkeys' file from our origin (no inline script: the CSP allows none).
    scripts = page.locator("script")
    assert scripts.count() == 1 and scripts.first.get_attribute("src") == "/static/passkeys.js"
    assert scripts.first.inner_text() == ""
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_text(f"to continue to {CLIENT_NAME}")).to_be_visible()

    # Every input the user sees has a visible <label for=…>.
    inputs = page.locator("input:not([type=hidden])")
    assert inputs.count() >= 2
    for field in inputs.all():
        field_id = field.get_attribute("id")
        assert field_id, f"input without id: {field.evaluate('e => e.outerHTML')}"
        expect(page.locator(f'label[for="{field_id}"]')).to_be_visible()
    email, password = page.get_by_label("Email", exact=True), page.get_by_label("Password", exact=True)
    expect(email).to_be_visible()
    expect(email).to_have_attribute("name", "email")
    expect(email).to_have_attribute("type", "email")
    expect(password).to_be_visible()
    expect(password).to_have_attribute("name", "password")
    expect(password).to_have_attribute("type", "password")

    expect(page.get_by_role("button", name=button, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_be_visible()

    # The link to the other form carries the same authorization request, state included.
    page.get_by_role("link", name=link, exact=True).click()
    expect(page.get_by_role("heading", name=other_heading, exact=True)).to_be_visible()
    assert query_of(page.url)["state"] == STATE
    assert [s.get_attribute("src") for s in page.locator("script").all()] == ["/static/passkeys.js"]


# ---- the authorization code flow -----------------------------------------------------------

def test_sign_up_returns_code_exact_state_and_iss_then_session_skips_the_form(
        any_page: Page, server, project) -> None:
    page = any_page
    client = ClientCatcher(page)
    verifier, challenge = pkce_pair()
    url = authorize_url(server.url, project, state=STATE, scope="openid email", nonce="n-0S6",
                        code_challenge=challenge, code_challenge_method="S256")

    client.start(url)
    sign_up_from_login_page(page, EMAIL)
    params = client.wait()
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == STATE
    assert params["iss"] == server.url

    response = exchange(server.url, project, params["code"], code_verifier=verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    claims = decoded(body["access_token"])
    assert claims["email"] == EMAIL
    assert decoded(body["id_token"])["nonce"] == "n-0S6"

    # Signed in: the same request goes straight back to the client with a new code.
    verifier2, challenge2 = pkce_pair()
    again = authorize_url(server.url, project, state=STATE, scope="openid email",
                          code_challenge=challenge2, code_challenge_method="S256")
    client.start(again)
    params2 = client.wait()
    assert params2["state"] == STATE and params2["iss"] == server.url
    assert params2["code"] != params["code"]
    response = exchange(server.url, project, params2["code"], code_verifier=verifier2)
    assert response.status_code == 200, response.text
    assert decoded(response.json()["access_token"])["sub"] == claims["sub"]

    # prompt=login: the form again, not the client.
    redirects = len(client.callbacks)
    client.start(authorize_url(server.url, project, state=STATE, prompt="login"))
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    assert urlsplit(page.url).netloc == urlsplit(server.url).netloc
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    assert len(client.callbacks) == redirects


def test_wrong_password_shows_the_one_message_and_keeps_the_email(page: Page, server, project) -> None:
    url = authorize_url(server.url, project, state=STATE)
    FormDriver(server.url).sign_up(url, EMAIL)  # the account exists
    client = ClientCatcher(page)

    page.goto(url)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        fill_form(page, EMAIL, "not the password", "Sign in")
    assert posted.value.status == 401
    expect(page.get_by_role("alert")).to_have_text(WRONG_CREDENTIALS)
    expect(page.get_by_label("Email", exact=True)).to_have_value(EMAIL)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")

    # An unknown email gets the same words.
    fill_form(page, "nobody@example.com", PASSWORD, "Sign in")
    expect(page.get_by_role("alert")).to_have_text(WRONG_CREDENTIALS)
    expect(page.get_by_label("Email", exact=True)).to_have_value("nobody@example.com")

    # The form after an error still works (its CSRF token and request are intact).
    fill_form(page, EMAIL, PASSWORD, "Sign in")
    params = client.wait()
    assert params["state"] == STATE and "code" in params


def test_cancel_returns_access_denied_with_the_state(any_page: Page, server, project) -> None:
    page = any_page
    client = ClientCatcher(page)
    client.start(authorize_url(server.url, project, state=STATE))
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    page.get_by_role("button", name="Cancel", exact=True).click()  # empty fields: formnovalidate
    params = client.wait()
    assert params["error"] == "access_denied"
    assert params["state"] == STATE
    assert params["iss"] == server.url
    assert "code" not in params


# ---- clickjacking (C-67) -------------------------------------------------------------------

def test_hosted_pages_refuse_to_be_framed(page: Page, server, project) -> None:
    # PoC: another site (another loopback port) frames the login page. A control frame from
    # that site itself shows that a framed "Sign in" button does render in this browser.
    login = authorize_url(server.url, project, state=STATE)
    attacker = {
        "/": f"""<!doctype html><title>prize</title><h1>Click to win</h1>
<iframe name="victim" src="{escape(login)}" width="600" height="500"></iframe>
<iframe name="control" src="/control" width="300" height="200"></iframe>""",
        "/control": "<!doctype html><title>control</title><button>Sign in</button>",
    }
    with serve_pages(attacker) as site:
        assert urlsplit(site).port != urlsplit(server.url).port
        with page.expect_response(lambda r: r.url == login) as framed:
            page.goto(site + "/")
        assert framed.value.status == 200  # served: any blocking is the headers' doing
        control = page.frame(name="control")
        assert control is not None
        expect(control.get_by_role("button", name="Sign in")).to_be_visible()
        victim = page.frame(name="victim")
        assert victim is not None
        assert victim.get_by_role("button", name="Sign in").count() == 0
        assert victim.get_by_label("Password").count() == 0
        assert victim.url.startswith("chrome-error://"), victim.url

    # The headers that did it, on every hosted page: forms, the error page, sign-out.
    for url in (login, authorize_url(server.url, project, "/auth/signup"),
                f"{server.url}/auth/login?client_id=unknown",
                f"{server.url}/auth/logout"):
        response = requests.get(url, timeout=10, allow_redirects=False)
        assert response.status_code in (200, 400), (url, response.status_code)
        assert response.headers.get("X-Frame-Options") == "DENY", url
        csp = [d.strip() for d in response.headers.get("Content-Security-Policy", "").split(";")]
        assert "frame-ancestors 'none'" in csp, (url, csp)


# ---- the demo app --------------------------------------------------------------------------

def test_demo_signs_up_shows_claims_refreshes_and_signs_out(
        readme_page: Page, start_server, tmp_path: Path) -> None:
    page = readme_page
    server = start_server(demo=True)
    page.goto(f"{server.url}/demo")
    expect(page.get_by_role("heading", name="Astapa demo")).to_be_visible()
    page.get_by_role("link", name="Sign in to the demo").click()
    page.wait_for_url(f"{server.url}/auth/login?**")
    assert_no_inline_script(page)
    sign_up_from_login_page(page, EMAIL)

    page.wait_for_url(f"{server.url}/demo/callback?**")
    expect(page.get_by_role("heading", name="Signed in", exact=True)).to_be_visible()
    access_claims = page.get_by_label("Access token claims")
    expect(access_claims).to_contain_text(f'"email": "{EMAIL}"')
    expect(page.get_by_label("ID token claims")).to_contain_text(f'"email": "{EMAIL}"')
    expect(page.get_by_text(EMAIL).first).to_be_visible()
    first_claims = access_claims.inner_text()
    screenshot(page, tmp_path, "demo-tokens.png")

    # Refresh: the page again, with a new access token (a new jti) for the same user.
    page.get_by_role("button", name="Refresh tokens").click()
    page.wait_for_url(f"{server.url}/demo/refresh")
    expect(page.get_by_role("heading", name="Signed in", exact=True)).to_be_visible()
    expect(access_claims).to_contain_text(f'"email": "{EMAIL}"')
    assert access_claims.inner_text() != first_claims

    # Sign out is a POST (C-66) and ends the session on the server (C-73): the old session
    # cookie, put back into the browser, no longer skips the form.
    (session,) = [c for c in page.context.cookies(server.url) if c["name"].endswith("astapa_session")]
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    assert not [c for c in page.context.cookies(server.url) if c["name"] == session["name"]]
    page.context.add_cookies([session])
    page.goto(f"{server.url}/demo/start")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    assert urlsplit(page.url).path == "/auth/login"


# ---- README screenshots --------------------------------------------------------------------

def test_readme_screenshots_of_sign_in_sign_up_and_error(
        readme_page: Page, server, project, tmp_path: Path) -> None:
    page = readme_page
    url = authorize_url(server.url, project, state=STATE)
    FormDriver(server.url).sign_up(url, EMAIL)

    page.goto(url)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    screenshot(page, tmp_path, "sign-in.png")

    page.get_by_role("link", name="Sign up", exact=True).click()
    expect(page.get_by_role("button", name="Sign up", exact=True)).to_be_visible()
    screenshot(page, tmp_path, "sign-up.png")

    page.goto(url)
    fill_form(page, EMAIL, "not the password", "Sign in")
    expect(page.get_by_role("alert")).to_have_text(WRONG_CREDENTIALS)
    screenshot(page, tmp_path, "sign-in-error.png")
