"""The console (/dashboard) in headless Chromium, used as a person would: by its labels and
buttons, the names the contract's "Dashboard" section promises.

1. The main flow, with JavaScript on and off: the admin's setup link, a new project and its
   secret shown once, every section's link, users (search, custom claims with an error shown
   in place, disable/enable, sign out everywhere), plans, machine clients, members, events
   naming the console user, and settings (redirect URIs, a rotated secret, "Go live" refused).
2. At 390 px wide: no horizontal scroll, and every input has a visible label.
3. WCAG AA contrast in light and dark (the front door's measurement), and the keyboard: Tab
   reaches the navigation and the primary buttons, each with a visible focus ring.
4. The docs' screenshots, 1000x800 light: always into tmp_path, into docs/ only with
   ASTAPA_SCREENSHOTS=1 (test_hosted_pages_browser's `screenshot()`).
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import eventsourcing.domain
import pytest
from playwright.sync_api import Browser, Page, expect

from astapa.clock import FakeClock
from tests.conftest import Server
from tests.console.conftest import ADMIN, add_admin
from tests.flows import PASSWORD, REDIRECT_URI, exchange, query_of
from tests.flows import Browser as FormDriver
from tests.pages.conftest import TIMEOUT_MS
from tests.pages.test_front_door_browser import (
    CONTRAST_JS,
    FOCUS_JS,
    HELPERS_JS,
    SCHEMES,
)
from tests.pages.test_hosted_pages_browser import VIEWPORT, screenshot

# The project's sections, in the navigation's order (the contract's link names).
SECTIONS = ["Overview", "Users", "Plans", "Machine clients", "Payments", "Events", "Members", "Settings"]
ACTOR = f"console:{ADMIN}"
# The events of the changes the main flow makes in the console, one of each.
CHANGES = ["Project.Created", "User.ClaimsChanged", "User.Disabled", "User.Enabled", "User.TokensRevoked",
           "Plan.Created", "Client.Created", "Membership.Invited", "Project.RedirectUrisChanged",
           "Project.SecretRotated"]
PHONE = {"width": 390, "height": 844}
NAMES = ["ada", "grace", "alan", "edsger", "barbara", "donald", "frances", "ken", "margaret", "tim"]


# ---- helpers -------------------------------------------------------------------------------

@contextmanager
def new_page(browser: Browser, **options) -> Iterator[Page]:
    """A page in a context of its own (its own cookies, viewport and colour scheme)."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def heading(page: Page, name: str):
    return page.get_by_role("heading", name=name, exact=True, level=1)


def set_up_admin(page: Page, server: Server) -> None:
    """The first admin: the link `astapa console add-admin` prints, a password, the console."""
    page.goto(add_admin(server)["setup_url"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Set password and continue").click()
    expect(heading(page, "Projects")).to_be_visible()
    assert page.url.rstrip("/") == f"{server.url}/dashboard"


def create_project(page: Page, name: str, redirect_uris: str = REDIRECT_URI) -> dict[str, str]:
    """From the projects list: "New project", the form, and the credentials shown once."""
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Redirect URIs").fill(redirect_uris)
    page.get_by_role("button", name="Create project").click()
    expect(heading(page, "Project created")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("shown once")
    created = {key: page.locator(f"#{key}").inner_text() for key in ("project_id", "client_id", "client_secret")}
    assert created["client_secret"] and created["project_id"].startswith("proj_"), created
    page.get_by_role("link", name="Open the project").click()
    expect(heading(page, "Overview")).to_be_visible()
    return created


def go_to(page: Page, section: str) -> None:
    """A project section, by its link in the project navigation."""
    page.get_by_role("navigation", name="Project").get_by_role("link", name=section, exact=True).click()
    expect(heading(page, section)).to_be_visible()
    expect(page.get_by_role("navigation", name="Project").get_by_role("link", name=section, exact=True)
           ).to_have_attribute("aria-current", "page")


def sign_up(server: Server, project: dict, email: str) -> str:
    """Someone signs up to the project's app on its hosted pages (requests: fast); the code."""
    driver = FormDriver(server.url)
    return driver.sign_up(driver.authorize_url(project["client_id"]), email).params["code"]


def sign_in_to_the_app(server: Server, project: dict, email: str) -> None:
    """Someone signs in again, from a browser of their own (no session to skip the form),
    and the app exchanges the code for tokens."""
    driver = FormDriver(server.url)
    answer = driver.sign_in(driver.authorize_url(project["client_id"]), email)
    assert answer.status_code == 303, answer.text[:300]
    assert exchange(server.url, project, query_of(answer.headers["Location"])["code"]).status_code == 200


@contextmanager
def events_stamped_by(clock: FakeClock) -> Iterator[None]:
    """The event log stamps each event with the wall clock (eventsourcing's own
    datetime_now_with_tzinfo), which the server's fake clock does not move. For a picture of
    two weeks of use in one test run, events follow that clock meanwhile."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo",
                      lambda: datetime.fromtimestamp(clock.now(), UTC))
        yield


def open_user(page: Page, email: str) -> None:
    """Users: search for the address, then the user's page from the results."""
    go_to(page, "Users")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("table").get_by_role("link")
    expect(results).to_have_count(1)
    results.get_by_text(email, exact=True).click()
    expect(heading(page, email)).to_be_visible()


def one_secret(page: Page) -> str:
    """The secret a page shows once (a <code class="secret">), with the notice saying so."""
    expect(page.get_by_role("status")).to_contain_text("shown once")
    secret = page.locator("code.secret")
    expect(secret).to_have_count(1)
    return secret.inner_text()


# What makes a page fit a phone: nothing wider than the viewport, and every field with a
# label a person can see (not hidden, not off-screen, not zero-sized).
LAYOUT_JS = """() => {
  const width = document.documentElement.clientWidth;
  const unlabelled = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const seen = [...el.labels].some(label => {
      const box = label.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && box.left >= 0 && box.right <= width + 1 &&
        getComputedStyle(label).visibility !== "hidden";
    });
    if (!seen) unlabelled.push(el.id || el.name);
  }
  return {scrollWidth: document.documentElement.scrollWidth, unlabelled};
}"""


# Controls whose edge CONTRAST_JS cannot judge from computed styles, with the names it gives
# them: native checkboxes and radios (Chromium draws their box, which computed styles do
# not show), and a button drawn as a link ("Sign out"), which its text identifies as a
# link's does (WCAG 1.4.11 asks no edge of it; its text is still measured, at 4.5:1).
EDGELESS_JS = "() => {" + HELPERS_JS + """
  return [...document.querySelectorAll("input[type=checkbox], input[type=radio], button.link-button")].map(name);
}"""


def contrast_failures(page: Page) -> list[str]:
    """CONTRAST_JS's failures on the page as shown, but for the edges of EDGELESS_JS's controls."""
    result = page.evaluate(CONTRAST_JS)
    assert result["checked"] > 3, "nothing measured"
    edgeless = tuple(f"control {name}: edge " for name in page.evaluate(EDGELESS_JS))
    return [f for f in result["failures"] if not f.startswith(edgeless)]


def tab_order(page: Page, limit: int = 80) -> list[dict]:
    """Each element Tab reaches from the top of the page, once, with its focus ring
    (FOCUS_JS: the outline's width and its contrast with what is around it)."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    reached: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_JS)
        if focus is None:
            continue
        if reached and focus["name"] == reached[0]["name"]:
            break
        focus["text"] = json.loads(focus["name"].split(" ", 1)[1])  # FOCUS_JS: 'tag#id.class "text"'
        reached.append(focus)
    return reached


# ---- fixtures ------------------------------------------------------------------------------

@pytest.fixture(params=["page", "no_js_page"], ids=["js", "no-js"])
def any_page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    """Each test using it runs twice: JavaScript on, and off (the console uses none)."""
    return request.getfixturevalue(request.param)


# ---- 1. the main action of every screen ----------------------------------------------------

def test_the_console_main_flow_by_its_labels(any_page: Page, server: Server) -> None:
    page = any_page
    set_up_admin(page, server)
    project = create_project(page, "Acme Notes")

    # Every section's link opens its page.
    for section in SECTIONS:
        go_to(page, section)

    # Users: found by search; their page's claims, with an error shown in place first.
    sign_up(server, project, "ada@example.org")
    sign_up(server, project, "bob@example.org")
    open_user(page, "ada@example.org")
    sub = page.locator("#sub").inner_text()
    claims = page.get_by_label("Custom claims (JSON)")
    claims.fill('{"team": "blue",')
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator("#claims-error")
    expect(error).to_contain_text("not valid JSON")
    expect(claims).to_be_focused()  # autofocus: the server's doing, so without JavaScript too
    expect(claims).to_have_attribute("aria-invalid", "true")
    assert "claims-error" in (claims.get_attribute("aria-describedby") or "").split()
    expect(claims).to_have_value('{"team": "blue",')  # what was typed is kept
    claims.fill('{"team": "blue", "seats": 5}')
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator("#token-claims")).to_contain_text('"team": "blue"')
    expect(claims).not_to_have_attribute("aria-invalid", "true")

    page.get_by_role("button", name="Disable", exact=True).click()
    expect(page.locator("#state")).to_have_text("Disabled: cannot sign in")
    page.get_by_role("button", name="Enable", exact=True).click()
    expect(page.locator("#state")).to_have_text("Active")
    page.get_by_role("button", name="Sign out everywhere").click()
    expect(page.get_by_role("status")).to_contain_text("Signed out everywhere")

    # Plans.
    go_to(page, "Plans")
    page.get_by_label("Key", exact=True).fill("pro")
    page.get_by_label("Name", exact=True).fill("Pro")
    page.get_by_label("Price", exact=True).fill("149000")
    page.get_by_label("Currency", exact=True).select_option("IDR")
    page.get_by_label("Interval", exact=True).select_option("month")
    page.get_by_role("button", name="Create plan").click()
    expect(page.get_by_role("status")).to_contain_text("Plan created")
    expect(page.locator("#plans tbody tr").filter(has_text="pro")).to_contain_text("149,000 IDR")

    # Machine clients: the secret shown once is one the token endpoint takes.
    go_to(page, "Machine clients")
    page.get_by_label("Name", exact=True).fill("billing-job")
    page.get_by_role("button", name="Create client").click()
    expect(heading(page, "Client created")).to_be_visible()
    machine = {"client_id": page.locator("#client_id").inner_text(), "client_secret": one_secret(page)}
    assert server.token(machine).status_code == 200

    # Members: an invitation with a role.
    go_to(page, "Members")
    page.get_by_label("Email", exact=True).fill("colleague@example.org")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent")
    expect(page.locator("#members tbody tr").filter(has_text="colleague@example.org")).to_have_count(1)

    # Settings: redirect URIs, a new secret shown once, and "Go live" refused with reasons.
    go_to(page, "Settings")
    # The section is labelled "Redirect URIs" too (aria-labelledby): its field is the one inside.
    redirects = page.get_by_role("region", name="Redirect URIs")
    redirects.get_by_label("Redirect URIs").fill(f"{REDIRECT_URI}\nhttps://app.example/other")
    redirects.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Redirect URIs saved.")
    expect(redirects.get_by_label("Redirect URIs")).to_have_value(f"{REDIRECT_URI}\nhttps://app.example/other")
    page.get_by_role("button", name="Rotate secret").click()
    expect(heading(page, "New client secret")).to_be_visible()
    assert one_secret(page) != project["client_secret"]
    page.get_by_role("link", name="Back", exact=True).click()
    page.get_by_role("button", name="Go live", exact=True).click()
    refused = page.locator("#go-live-refused")
    expect(refused).to_contain_text("cannot go live yet")
    expect(refused).to_contain_text("ASTAPA_SMTP_URL")  # the test server has no SMTP
    expect(page.get_by_role("status")).to_have_count(0)

    # Events: each change above, with the console user who made it, named by the change's
    # own row or by a row of the same save about the same thing (ConsoleAction.Recorded; a
    # new project's first owner). The refused attempts (invalid JSON, go live) are not there.
    go_to(page, "Events")
    rows = page.locator("#events tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    assert set(CHANGES) <= {kind for kind, _, _, _ in rows}, rows
    assert {actor for kind, _, _, actor in rows if kind == "ConsoleAction.Recorded"} == {ACTOR}
    by_me = [concerns for _, _, concerns, actor in rows if actor == ACTOR]
    assert by_me.count(sub) >= 4, rows  # claims, disable, enable, sign out everywhere
    assert {ADMIN, "pro", "billing-job", "colleague@example.org", project["project_id"],
            project["client_id"]} <= set(by_me), rows
    assert [actor for kind, _, _, actor in rows if kind == "User.Registered"] == ["user", "user"]


# ---- 2. a phone's width ---------------------------------------------------------------------

def test_the_main_pages_fit_390_px_with_visible_labels(
        _browser_loop: None, browser: Browser, server: Server, tmp_path: Path) -> None:
    with new_page(browser, viewport=PHONE) as page:
        set_up_admin(page, server)
        project = create_project(page, "A project with a rather long name for a phone")
        sign_up(server, project, "someone.with.a.long.address@subdomain.example.org")
        pages = {"projects": f"{server.url}/dashboard"}
        pages["overview"] = page.url
        go_to(page, "Users")
        pages["users"] = page.url
        page.get_by_role("link", name="someone.with.a.long.address@subdomain.example.org").click()
        pages["user"] = page.url
        failures = []
        for name, url in pages.items():
            page.goto(url)
            layout = page.evaluate(LAYOUT_JS)
            page.screenshot(path=tmp_path / f"phone-{name}.png", full_page=True)
            if layout["scrollWidth"] > PHONE["width"]:
                failures.append(f"{name}: scrolls sideways, {layout['scrollWidth']} px wide")
            if layout["unlabelled"]:
                failures.append(f"{name}: no visible label for {layout['unlabelled']}")
        assert not failures, "\n".join(failures)


# ---- 3. contrast and the keyboard ----------------------------------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
def test_contrast_meets_wcag_aa_and_tab_reaches_navigation_and_buttons(
        _browser_loop: None, browser: Browser, server: Server, scheme: str, tmp_path: Path) -> None:
    with new_page(browser, viewport=VIEWPORT, color_scheme=scheme) as page:
        set_up_admin(page, server)
        project = create_project(page, "Acme Notes")
        sign_up(server, project, "ada@example.org")
        base = f"{server.url}/dashboard/projects/{project['project_id']}"
        open_user(page, "ada@example.org")
        user = page.url

        failures: list[str] = []

        def measure(name: str) -> None:
            failures.extend(f"{name}: {f}" for f in contrast_failures(page))
            page.screenshot(path=tmp_path / f"{name}-{scheme}.png", full_page=True)

        for name, path in [("projects", "/dashboard"), ("new-project", "/dashboard/projects/new"),
                           ("overview", base), ("users", f"{base}/users"), ("user", user),
                           ("plans", f"{base}/plans"), ("clients", f"{base}/clients"),
                           ("payments", f"{base}/payments"), ("events", f"{base}/events"),
                           ("members", f"{base}/members"), ("settings", f"{base}/settings")]:
            page.goto(path if path.startswith("http") else f"{server.url}{path}")
            measure(name)
        # The states with colour of their own: a field in error, a notice, go-live refused.
        page.goto(user)
        page.get_by_label("Custom claims (JSON)").fill("{bad")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#claims-error")).to_be_visible()
        measure("user-error")
        page.goto(f"{base}/settings")
        page.get_by_role("button", name="Go live", exact=True).click()
        expect(page.locator("#go-live-refused")).to_be_visible()
        measure("go-live-refused")
        page.goto(f"{base}/plans?done=created")
        measure("plans-notice")
        assert not failures, "\n".join(failures)

        # Tab reaches the project's navigation links in their order, then the page's
        # primary button; every stop shows a focus ring that stands out (3:1).
        for url, button in [(base, None), (f"{base}/users", "Search"), (user, "Save"),
                            (f"{server.url}/dashboard/projects/new", "Create project")]:
            page.goto(url)
            reached = tab_order(page)
            texts = [r["text"] for r in reached]
            if "/projects/new" not in url:  # the new-project page belongs to no project
                positions = [texts.index(s) for s in SECTIONS]
                assert positions == sorted(positions), texts
            if button:
                assert button in texts, texts
            faint = [r for r in reached if r["width"] < 2 or r["ratio"] < 3]
            assert not faint, f"{url}: focus rings not visible: {faint}"


# ---- 4. screenshots for the docs -----------------------------------------------------------

def test_screenshots_of_the_main_screens(
        _browser_loop: None, browser: Browser, server: Server, tmp_path: Path) -> None:
    with new_page(browser, viewport=VIEWPORT, color_scheme="light") as page, events_stamped_by(server.clock):
        set_up_admin(page, server)
        create_project(page, "Acme Shop", "https://shop.example/callback")
        page.get_by_role("link", name="Astapa console").click()
        project = create_project(page, "Acme Notes")
        page.get_by_role("link", name="Astapa console").click()
        screenshot(page, tmp_path, "console-projects.png")

        # Two weeks of sign-ups, a few a day, some people coming back to sign in: the
        # server's clock (and the log's, see events_stamped_by) moves a day at a time.
        people: list[str] = []
        for new, returning in [(1, 0), (2, 1), (1, 2), (3, 1), (0, 3), (2, 2), (4, 1),
                               (1, 3), (2, 4), (3, 2), (1, 5), (2, 3), (5, 4), (3, 6)]:
            server.clock.advance(86400)
            for _ in range(new):
                people.append(f"{NAMES[len(people) % len(NAMES)]}{len(people) // len(NAMES) or ''}@example.org")
                sign_up(server, project, people[-1])
                server.clock.advance(97)  # minutes apart, as people come
            for email in people[:returning]:
                sign_in_to_the_app(server, project, email)
                server.clock.advance(97)
        page.get_by_role("link", name="Acme Notes").click()
        bars = page.locator(".chart rect.bar-signups:not([height='0'])")
        expect(bars).to_have_count(13)  # one day of the fourteen had no sign-up
        screenshot(page, tmp_path, "console-overview.png")

        go_to(page, "Plans")
        page.get_by_label("Key", exact=True).fill("pro")
        page.get_by_label("Name", exact=True).fill("Pro")
        page.get_by_label("Price", exact=True).fill("149000")
        page.get_by_role("button", name="Create plan").click()
        go_to(page, "Users")
        screenshot(page, tmp_path, "console-users.png")

        open_user(page, people[0])
        page.get_by_label("Plan", exact=True).select_option("pro")
        page.get_by_label("Custom claims (JSON)").fill('{"team": "design", "seats": 5}')
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Saved.")
        screenshot(page, tmp_path, "console-user.png")

        go_to(page, "Settings")
        screenshot(page, tmp_path, "console-settings.png")
        go_to(page, "Events")
        screenshot(page, tmp_path, "console-events.png")

