"""The front door, tried as a new user would (issue 16 §4), in headless Chromium.

The demo: the verification link from the outbox lands on the demo signed in (in this
browser or another); Cancel, sign-out and a reloaded callback each offer a way back; a
refresh says what changed. The forms: "Sign in instead" is a link that keeps the
authorization request, and the field in error gets the focus, aria-invalid and
aria-describedby (server-side, so without JavaScript too). Every text and control meets
WCAG AA contrast in light and dark mode. Every page has an icon, and `GET /` is a page.
"""

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Server
from tests.flows import PASSWORD, query_of
from tests.flows import Browser as FormDriver
from tests.mail import only_action_link, outbox_messages
from tests.pages.conftest import TIMEOUT_MS, assert_no_inline_script
from tests.pages.test_hosted_pages_browser import (
    CLIENT_NAME,
    EMAIL,
    STATE,
    VIEWPORT,
    WRONG_CREDENTIALS,
    authorize_url,
    fill_form,
    sign_up_from_login_page,
)

SCHEMES = ["light", "dark"]
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


# ---- helpers -------------------------------------------------------------------------------

@contextmanager
def new_page(browser: Browser, **options) -> Iterator[Page]:
    """A page in a context of its own: another browser, as far as cookies go."""
    context = browser.new_context(viewport=VIEWPORT, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_up_to_the_demo(page: Page, server: Server, email: str = EMAIL) -> None:
    page.goto(f"{server.url}/demo")
    page.get_by_role("link", name="Sign in to the demo").click()
    page.wait_for_url(f"{server.url}/auth/login?**")
    sign_up_from_login_page(page, email)
    page.wait_for_url(f"{server.url}/demo/callback?**")
    expect(page.get_by_role("heading", name="Signed in", exact=True)).to_be_visible()


def verification_link(server: Server, email: str, timeout: float = 10) -> str:
    """The verification link mailed to `email`, read from the outbox (no SMTP configured)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in outbox_messages(server.data_dir) if m["To"] == email]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, f"expected one mail to {email} in the outbox, got {len(found)}"
            link = only_action_link(found[0], server.url)
            assert urlsplit(link).path == "/auth/verify-email", link
            return link
        time.sleep(0.05)


def shot(page: Page, tmp_path: Path, name: str) -> Path:
    """A screenshot to look at (tmp_path; the README's own are in test_hosted_pages_browser)."""
    path = tmp_path / name
    page.screenshot(path=path, full_page=True, animations="disabled")
    return path


# ---- fixtures ------------------------------------------------------------------------------

@pytest.fixture
def demo(start_server) -> Server:
    return start_server(demo=True, mail_interval=0.05)  # no SMTP: mail goes to the outbox


@pytest.fixture
def wide_page(_browser_loop: None, browser: Browser) -> Iterator[Page]:
    with new_page(browser) as page:
        yield page


@pytest.fixture(params=["page", "no_js_page"], ids=["js", "no-js"])
def any_page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    return request.getfixturevalue(request.param)


# ---- 1. the verification link lands on the demo, signed in ---------------------------------

@pytest.mark.parametrize("where", ["same-browser", "other-browser"])
def test_demo_verification_link_from_the_outbox_lands_on_the_demo_signed_in(
        wide_page: Page, browser: Browser, demo: Server, where: str, tmp_path: Path) -> None:
    page = wide_page
    sign_up_to_the_demo(page, demo)
    expect(page.get_by_label("ID token claims")).to_contain_text('"email_verified": false')
    link = verification_link(demo, EMAIL)

    # The link continues the demo's sign-in, whose state the demo has already used: it must
    # still end on the demo with fresh tokens, not on "Start again".
    with ExitStack() as stack:
        opener = page if where == "same-browser" else stack.enter_context(new_page(browser))
        opener.goto(link)
        opener.get_by_role("button", name="Verify email address").click()
        opener.wait_for_url(f"{demo.url}/demo/callback?**")
        shot(opener, tmp_path, f"verified-{where}.png")
        expect(opener.get_by_role("heading", name="Signed in", exact=True)).to_be_visible()
        expect(opener.get_by_label("ID token claims")).to_contain_text('"email_verified": true')
        expect(opener.get_by_label("Access token claims")).to_contain_text(f'"email": "{EMAIL}"')
        # Those tokens are the demo's own: its Refresh button works with them.
        opener.get_by_role("button", name="Refresh tokens").click()
        opener.wait_for_url(f"{demo.url}/demo/refresh")
        expect(opener.get_by_role("heading", name="Signed in", exact=True)).to_be_visible()


def test_demo_callback_that_cannot_be_resumed_says_so_with_a_link(wide_page: Page, demo: Server) -> None:
    # A callback of a sign-in the demo already started again by itself, and still cannot
    # match (a browser that keeps no cookies): a page with a way back, never a redirect loop.
    response = wide_page.goto(f"{demo.url}/demo/callback?code=x&state=again~lost")
    assert response is not None and response.status == 400
    expect(wide_page.get_by_role("heading", name="Start again")).to_be_visible()
    wide_page.get_by_role("link", name="Sign in to the demo").click()
    wide_page.wait_for_url(f"{demo.url}/auth/login?**")


# ---- 2. no dead ends -----------------------------------------------------------------------

def test_demo_cancel_sign_out_and_reloaded_callback_each_offer_a_way_back(
        wide_page: Page, demo: Server, tmp_path: Path) -> None:
    page = wide_page
    # Cancel on the sign-in page: the demo says so, with a way back to the demo.
    page.goto(f"{demo.url}/demo")
    page.get_by_role("link", name="Sign in to the demo").click()
    page.get_by_role("button", name="Cancel", exact=True).click()
    page.wait_for_url(f"{demo.url}/demo/callback?**")
    assert query_of(page.url)["error"] == "access_denied"
    expect(page.get_by_role("heading", name="Sign-in did not complete")).to_be_visible()
    shot(page, tmp_path, "cancelled.png")
    page.get_by_role("link", name="Back to the demo").click()
    expect(page.get_by_role("heading", name="Astapa demo")).to_be_visible()

    # A reloaded callback (its code used, its state gone): signed in again, not a dead end.
    sign_up_to_the_demo(page, demo)
    first = page.get_by_label("Access token claims").inner_text()
    callback = page.url
    page.reload()
    expect(page.get_by_role("heading", name="Signed in", exact=True)).to_be_visible()
    assert page.get_by_label("Access token claims").inner_text() != first  # a new sign-in

    # Sign out: the page says where to go next.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    shot(page, tmp_path, "signed-out.png")
    page.get_by_role("link", name="Back to the demo").click()
    expect(page.get_by_role("heading", name="Astapa demo")).to_be_visible()

    # The old callback once more, signed out: a page that offers to sign in again.
    page.goto(callback)
    expect(page.get_by_role("heading", name="Sign in again")).to_be_visible()
    shot(page, tmp_path, "reloaded-signed-out.png")
    page.get_by_role("link", name="Sign in to the demo").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


# ---- 3. the forms' errors ------------------------------------------------------------------

def test_email_taken_offers_a_sign_in_link_carrying_the_request(
        any_page: Page, server: Server, make_project, tmp_path: Path) -> None:
    page = any_page
    project = make_project(name=CLIENT_NAME)  # signs new users in at once
    url = authorize_url(server.url, project, state=STATE)
    FormDriver(server.url).sign_up(url, EMAIL)

    page.goto(authorize_url(server.url, project, "/auth/signup", state=STATE))
    fill_form(page, EMAIL, PASSWORD, "Sign up")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("An account with this email already exists.")
    email = page.get_by_label("Email", exact=True)
    expect(email).to_be_focused()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", alert.get_attribute("id") or "no id")
    expect(page.get_by_label("Password", exact=True)).not_to_have_attribute("aria-invalid", "true")
    shot(page, tmp_path, "email-taken.png")

    alert.get_by_role("link", name="Sign in instead").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    assert urlsplit(page.url).path == "/auth/login"
    assert query_of(page.url)["state"] == STATE
    assert query_of(page.url)["client_id"] == project["client_id"]


def test_wrong_password_focuses_the_password_field_marked_invalid(
        any_page: Page, server: Server, make_project, tmp_path: Path) -> None:
    page = any_page
    project = make_project(name=CLIENT_NAME)
    url = authorize_url(server.url, project, state=STATE)
    FormDriver(server.url).sign_up(url, EMAIL)

    page.goto(url)
    expect(page.get_by_label("Email", exact=True)).to_be_focused()  # an empty form: email first
    fill_form(page, EMAIL, "not the password", "Sign in")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(WRONG_CREDENTIALS)
    password, email = page.get_by_label("Password", exact=True), page.get_by_label("Email", exact=True)
    expect(password).to_be_focused()
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-describedby", alert.get_attribute("id") or "no id")
    expect(email).to_have_value(EMAIL)
    expect(email).not_to_have_attribute("aria-invalid", "true")
    shot(page, tmp_path, "wrong-password.png")


def test_sign_up_password_error_keeps_the_hint_and_names_the_error(page: Page, server: Server, make_project) -> None:
    project = make_project(name=CLIENT_NAME)
    page.goto(authorize_url(server.url, project, "/auth/signup", state=STATE))
    page.get_by_label("Email", exact=True).fill(EMAIL)
    # Past the browser's own minlength check, so the server's policy answers.
    page.get_by_label("Password", exact=True).evaluate("e => e.removeAttribute('minlength')")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Sign up", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    password = page.get_by_label("Password", exact=True)
    expect(password).to_be_focused()
    expect(password).to_have_attribute("aria-invalid", "true")
    described = (password.get_attribute("aria-describedby") or "").split()
    assert alert.get_attribute("id") in described and "password-hint" in described


# ---- 4. contrast (WCAG AA) in light and dark -----------------------------------------------

# Computed in the page from the computed styles (the stylesheet as Chromium applies it,
# prefers-color-scheme emulated). Backgrounds are composited up the ancestors.
HELPERS_JS = """
  const rgba = (c) => {
    const m = c.match(/rgba?\\(([^)]*)\\)/);
    if (!m) throw new Error("colour not in rgb(): " + c);
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(parseFloat);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const behind = (el) => {  // the opaque colour of el's own box: its and its ancestors' backgrounds
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let colour = matchMedia("(prefers-color-scheme: dark)").matches ? [0, 0, 0, 1] : [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) colour = over(layers[i], colour);
    return colour;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
    " " + JSON.stringify((el.innerText || el.value || "").trim().slice(0, 30));
"""

# Each element with text of its own against the background behind it, and each control's
# edge (its background or its border, whichever stands out more) against what surrounds it.
CONTRAST_JS = "() => {" + HELPERS_JS + """
  const failures = [];
  let checked = 0;
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    const style = getComputedStyle(el);
    const ownText = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const field = el.matches("input:not([type=hidden]), textarea, select");
    if (ownText || field) {
      checked++;
      const back = behind(el);
      const r = ratio(over(rgba(style.color), back), back);
      if (r < 4.5) failures.push(`text ${name(el)}: ${r.toFixed(2)} < 4.5 (${style.color} on rgb(${back.slice(0, 3)}))`);
    }
    if (field || el.matches("button, a.button")) {
      checked++;
      const around = behind(el.parentElement);
      const border = parseFloat(style.borderTopWidth) > 0 ? over(rgba(style.borderTopColor), around) : around;
      const r = Math.max(ratio(behind(el), around), ratio(border, around));
      if (r < 3) failures.push(`control ${name(el)}: edge ${r.toFixed(2)} < 3`);
    }
  }
  return {failures, checked};
}"""

# The focused element's focus ring (reached with Tab, so :focus-visible applies) against
# the background around it; null once Tab has left the page.
FOCUS_JS = "() => {" + HELPERS_JS + """
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const ring = s.outlineStyle === "none" ? 0 : ratio(rgba(s.outlineColor), behind(el.parentElement));
  return {name: name(el), width: parseFloat(s.outlineWidth), ratio: ring};
}"""


def specimens() -> dict[str, str]:
    """Every template in each of its states, rendered as the server renders them."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    query = "response_type=code&client_id=cid_x&state=s"
    form = {"client_name": CLIENT_NAME, "query": query, "csrf_token": "t", "email": EMAIL,
            "providers": [("google", "Google"), ("github", "GitHub")]}
    claims = '{\n  "sub": "1",\n  "email": "ada@example.org"\n}'
    tokens = [{"label": "Access token", "header": '{"alg": "RS256"}', "claims": claims}]
    pages = {
        "login-error": ("authorize.html", {**form, "mode": "login", "error": WRONG_CREDENTIALS,
                                           "error_field": "password"}),
        "login-notice": ("authorize.html", {**form, "mode": "login", "notice": "Sign in to link it.",
                                            "link_offer": "x"}),
        "signup-taken": ("authorize.html", {**form, "mode": "signup", "error": "An account with this "
                                            "email already exists.", "error_field": "email",
                                            "error_link": ("Sign in instead", "/auth/login?" + query)}),
        "consent": ("consent.html", {"client_name": "Tool", "client_id": "https://tool.example/c",
                                     "redirect_host": "127.0.0.1", "local_only": True, "error": "Try again.",
                                     "scopes": [("openid", "Know who you are"), ("mcp", "mcp")],
                                     "resource": "https://mcp.example", "query": query, "csrf_token": "t"}),
        "check-inbox": ("check_inbox.html", {"text": "We have sent a link.", "query": query,
                                             "csrf_token": "t", "email": EMAIL, "resend": True}),
        "email-request": ("email_request.html", {"title": "Reset", "lead": "Enter it.", "action": "/a",
                                                 "button": "Send", "button_value": "send", "query": query,
                                                 "csrf_token": "t", "email": "", "error": "Enter a valid email address.",
                                                 "error_field": "email"}),
        "link": ("link.html", {"title": "Choose a new password", "lead": "For ada.", "button": "Set",
                               "new_password": True, "action": "/a", "token": "x", "csrf_token": "t",
                               "error": "Too short.", "error_field": "password"}),
        "logout": ("logout.html", {"csrf_token": "t"}),
        "message": ("message.html", {"title": "Start again", "text": "It expired.", "back": "/demo",
                                     "back_text": "Back to the demo"}),
        "demo": ("demo.html", {"title": "Astapa demo", "tokens": None}),
        "demo-tokens": ("demo.html", {"title": "Signed in", "tokens": tokens, "csrf_token": "t",
                                      "expires_in": 3600, "access": {"iat": 2, "jti": "b"},
                                      "changes": [{"claim": "iat", "before": 1, "after": 2, "changed": True},
                                                  {"claim": "jti", "before": "a", "after": "b", "changed": True},
                                                  {"claim": "sub", "before": "1", "after": "1", "changed": False}]}),
        "home": ("home.html", {"title": "Authorization server", "demo": True, "issuer": "http://127.0.0.1"}),
    }
    return {name: env.get_template(template).render(**context) for name, (template, context) in pages.items()}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_text_and_control_meets_wcag_aa_contrast(
        _browser_loop: None, browser: Browser, server: Server, scheme: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        pages = specimens()
        # Served at the server's origin, so the real stylesheet applies as on every page.
        page.route(f"{server.url}/specimen/**", lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8",
            body=pages[urlsplit(route.request.url).path.rsplit("/", 1)[1]]))
        failures: list[str] = []
        for name in pages:
            page.goto(f"{server.url}/specimen/{name}")
            assert page.evaluate("getComputedStyle(document.body).display") == "flex", "no stylesheet"
            result = page.evaluate(CONTRAST_JS)
            assert result["checked"] > 3, name
            failures += [f"{name}: {f}" for f in result["failures"]]
            # Every focusable element shows a focus ring that stands out (3:1).
            seen: set[str] = set()
            for _ in range(40):
                page.keyboard.press("Tab")
                focus = page.evaluate(FOCUS_JS)
                if focus is None:  # past the last one: the next Tab starts again at the first
                    continue
                if focus["name"] in seen:
                    break
                seen.add(focus["name"])
                if focus["width"] < 2 or focus["ratio"] < 3:
                    failures.append(f"{name}: focus ring of {focus['name']}: {focus}")
            assert seen, f"{name}: Tab reached nothing"
            page.screenshot(path=tmp_path / f"{name}-{scheme}.png", full_page=True)
        assert not failures, "\n".join(failures)
    finally:
        context.close()


# ---- 5. an icon on every page, and a front page --------------------------------------------

def test_every_page_has_an_icon_and_favicon_ico_answers_one(page: Page, server: Server, make_project) -> None:
    icon = requests.get(f"{server.url}/favicon.ico", timeout=10)
    assert icon.status_code == 200
    assert icon.headers["Content-Type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO with at least one image
    assert b"\x89PNG\r\n\x1a\n" in icon.content

    project = make_project(name=CLIENT_NAME)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    for url in (authorize_url(server.url, project, state=STATE), f"{server.url}/auth/logout", f"{server.url}/"):
        page.goto(url)
        href = page.locator('link[rel="icon"]').get_attribute("href")
        assert href and href.endswith(".svg"), url
        svg = page.request.get(f"{server.url}{href}")
        assert svg.status == 200 and svg.headers["content-type"] == "image/svg+xml", url
        assert svg.text().lstrip().startswith("<svg")
        # Chromium draws it (CSP img-src 'self' allows it).
        size = page.evaluate("""async (href) => {
            const img = new Image(); img.src = href; await img.decode();
            return [img.naturalWidth, img.naturalHeight]; }""", href)
        assert size[0] > 0 and size[1] > 0
        png = page.evaluate("""async () => {
            const img = new Image(); img.src = "/favicon.ico"; await img.decode();
            return img.naturalWidth; }""")
        assert png >= 16
    assert not failed, failed


@pytest.mark.parametrize("with_demo", [True, False], ids=["demo", "no-demo"])
def test_front_page_links_the_demo_the_docs_and_discovery(
        page: Page, start_server, with_demo: bool, tmp_path: Path) -> None:
    server = start_server(demo=with_demo)
    response = page.goto(f"{server.url}/")
    assert response is not None and response.status == 200
    headers = response.headers
    assert headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert_no_inline_script(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Astapa")
    shot(page, tmp_path, f"home-{'demo' if with_demo else 'plain'}.png")

    demo_link = page.get_by_role("link", name="Try the demo")
    if with_demo:
        expect(demo_link).to_have_attribute("href", "/demo")
    else:
        expect(demo_link).to_have_count(0)

    page.get_by_role("link", name="Discovery document").click()
    assert page.url == f"{server.url}/.well-known/openid-configuration"
    assert '"issuer"' in page.content()
    page.go_back()
    with page.expect_response(f"{server.url}/docs") as docs:
        page.get_by_role("link", name="Documentation").click()
    assert docs.value.status == 200
    assert docs.value.headers["content-type"].startswith("text/plain")
    assert "# Astapa" in docs.value.text()
    page.go_back()
    with page.expect_response(f"{server.url}/openapi.json") as api:
        page.get_by_role("link", name="OpenAPI description").click()
    assert api.value.status == 200
    if with_demo:
        page.go_back()
        page.get_by_role("link", name="Try the demo").click()
        expect(page.get_by_role("heading", name="Astapa demo")).to_be_visible()
    else:  # signed out with no demo to go back to: the front page
        page.goto(f"{server.url}/auth/logout")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
        page.get_by_role("link", name="Go to the start page").click()
        expect(page.get_by_role("link", name="Discovery document")).to_be_visible()


# ---- 6. what a refresh changed -------------------------------------------------------------

def test_demo_refresh_shows_the_new_iat_and_jti_and_what_changed(
        wide_page: Page, demo: Server, tmp_path: Path) -> None:
    page = wide_page
    sign_up_to_the_demo(page, demo)
    claims = page.get_by_label("Access token claims")
    before = {k: re.search(rf'"{k}": "?([^",\n]+)', claims.inner_text()).group(1) for k in ("iat", "jti")}
    demo.clock.advance(30)
    page.get_by_role("button", name="Refresh tokens").click()
    page.wait_for_url(f"{demo.url}/demo/refresh")
    after = {k: re.search(rf'"{k}": "?([^",\n]+)', claims.inner_text()).group(1) for k in ("iat", "jti")}
    assert int(after["iat"]) == int(before["iat"]) + 30 and after["jti"] != before["jti"]

    changes = page.get_by_role("table", name="What the refresh changed")
    expect(changes).to_be_visible()
    for claim in ("iat", "jti"):
        row = changes.get_by_role("row").filter(has=page.get_by_role("rowheader", name=claim, exact=True))
        expect(row).to_contain_text(before[claim])
        expect(row).to_contain_text(after[claim])
        expect(row).to_contain_text("changed")
    expect(changes.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="sub", exact=True))).to_contain_text("same")
    shot(page, tmp_path, "refreshed.png")

    # A second refresh in the same second: a new jti, the same iat, and the page says which.
    page.get_by_role("button", name="Refresh tokens").click()
    expect(changes.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="iat", exact=True))).to_contain_text("same")
    expect(changes.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="jti", exact=True))).to_contain_text("changed")
