"""A project's overview (counts, the chart, how to connect an app) and its events (newest
first, filtered, paged, each console change naming who made it)."""

import re
from datetime import datetime, timezone
from html import unescape

import requests

from tests.conftest import Server
from tests.console.conftest import ConsoleBrowser, create_project
from tests.flows import Browser

REDIRECT = "https://shop.example/cb"


def sign_up_user(server: Server, project: dict, email: str) -> None:
    """Someone signs up to the project's app at its hosted pages (a sandbox: no verification
    needed before the code)."""
    browser = Browser(server.url)
    browser.sign_up(browser.authorize_url(project["client_id"], redirect_uri=REDIRECT), email)


def event_rows(html: str) -> list[dict]:
    """The events table: type, time, subject, actor of each row, top to bottom."""
    rows = []
    for row in re.findall(r"<tr>\s*<td><code>(.*?)</tr>", html, re.S):
        cells = re.findall(r"<td>(.*?)</td>", "<td><code>" + row, re.S)
        rows.append({"type": re.sub(r"<[^>]+>", "", cells[0]).strip(),
                     "time": re.search(r'datetime="([^"]+)"', cells[1]).group(1),
                     "subject": unescape(re.sub(r"<[^>]+>", "", cells[2]).strip()),
                     "actor": unescape(cells[3].strip()), "cell": cells[2]})
    return rows


def test_the_overview_counts_todays_sign_ups_in_its_chart(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    today = datetime.fromtimestamp(server.clock.now(), timezone.utc).date().isoformat()
    before = admin.get(base)
    assert before.status_code == 200
    assert f"<title>{today}: 0 sign-ups</title>" in before.text
    sign_up_user(server, project, "ada@example.org")
    page = admin.get(base)
    assert page.status_code == 200
    assert f"<title>{today}: 1 sign-up</title>" in page.text
    assert re.search(r'id="total-users">1<', page.text) and re.search(r'id="total-signups">1<', page.text)
    assert re.search(r'id="total-signins">1<', page.text) and re.search(r'id="total-active">1<', page.text)
    assert 'role="img"' in page.text and "1 sign-up and 1 sign-in in all" in page.text
    assert "<script" not in page.text and "style=" not in page.text
    server.clock.advance(30 * 86400)  # the sign-in is now 30 days old: out of the window
    admin.sign_in("admin@example.com")  # the console's own sign-in has expired too
    later = admin.get(base)
    assert re.search(r'id="total-active">0<', later.text) and re.search(r'id="total-users">1<', later.text)


def test_the_overview_shows_how_to_connect_an_app(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(f"/dashboard/projects/{project['project_id']}")
    discovery = unescape(re.search(r'<code id="discovery">([^<]+)</code>', page.text).group(1))
    assert discovery == f"{server.url}/projects/{project['project_id']}/.well-known/openid-configuration"
    document = requests.get(discovery, timeout=10).json()
    assert document["issuer"] == f"{server.url}/projects/{project['project_id']}"
    assert f'<code id="client_id">{project["client_id"]}</code>' in page.text
    assert f"OIDC_CLIENT_ID={project['client_id']}" in page.text
    assert project["client_secret"] not in page.text
    assert "sandbox" in page.text


def test_events_are_listed_newest_first_and_filter_by_type_user_and_actor(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    sign_up_user(server, project, "ada@example.org")
    sign_up_user(server, project, "bob@example.org")
    rows = event_rows(admin.get(f"{base}/events").text)
    assert [r["time"] for r in rows] == sorted((r["time"] for r in rows), reverse=True)
    registered = [r for r in rows if r["type"] == "User.Registered"]
    assert len(registered) == 2 and all(r["actor"] == "user" for r in registered)
    bob_sub, ada_sub = (r["subject"] for r in registered)  # newest first: bob's before ada's
    assert f'href="{base}/users/{bob_sub}"' in registered[0]["cell"]
    assert rows[-1]["type"] in ("Project.Created", "Membership.Invited")

    by_type = event_rows(admin.get(f"{base}/events", type="User.Registered").text)
    assert [r["subject"] for r in by_type] == [bob_sub, ada_sub]
    by_email = event_rows(admin.get(f"{base}/events", user="ADA@example.org").text)
    assert by_email and {r["subject"] for r in by_email} == {ada_sub}
    assert {"User.Registered", "BrowserSession.Started"} <= {r["type"] for r in by_email}
    by_sub = event_rows(admin.get(f"{base}/events", user=bob_sub, type="BrowserSession.Started").text)
    assert [r["subject"] for r in by_sub] == [bob_sub]
    by_actor = event_rows(admin.get(f"{base}/events", actor="console:admin@example.com").text)
    assert by_actor and all(r["actor"] == "console:admin@example.com" for r in by_actor)
    nothing = admin.get(f"{base}/events", user="nobody@example.org")
    assert event_rows(nothing.text) == [] and "No events match" in nothing.text

    form = admin.get(f"{base}/events").text
    for label in ("Type", "User", "Actor"):
        assert re.search(rf'<label for="\w+">{label}</label>', form)
    assert ">Filter</button>" in form and '<option value="User.Registered">' in form


def test_a_console_change_is_an_event_naming_its_console_user(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    invited = admin.post(f"{base}/members", email="Carol@Example.org", role="admin")
    assert invited.status_code == 200 and "Invitation sent" in invited.text
    newest = event_rows(admin.get(f"{base}/events").text)[0]
    assert newest["type"] == "Membership.Invited"
    assert newest["subject"] == "Carol@example.org" and newest["actor"] == "console:admin@example.com"


def test_events_page_through_with_a_next_cursor(server: Server, admin: ConsoleBrowser, monkeypatch):
    monkeypatch.setattr("astapa.web.console.events.PAGE", 2)
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    for name in ("ada", "bob"):
        sign_up_user(server, project, f"{name}@example.org")
    everything = []
    page = admin.get(f"{base}/events", type="User.Registered")
    while True:
        rows = event_rows(page.text)
        everything += rows
        following = re.search(r'<a href="([^"]+)" rel="next">Next</a>', page.text)
        if following is None:
            break
        assert len(rows) == 2
        page = admin.get(unescape(following.group(1)))
    assert len(everything) == 2 and everything[0]["subject"] != everything[1]["subject"]
    all_types = []
    page = admin.get(f"{base}/events")
    for _ in range(20):
        all_types += event_rows(page.text)
        following = re.search(r'<a href="([^"]+)" rel="next">Next</a>', page.text)
        if following is None:
            break
        page = admin.get(unescape(following.group(1)))
    times = [r["time"] for r in all_types]
    assert len(all_types) > 4 and times == sorted(times, reverse=True)


def test_every_event_a_console_change_saved_names_the_console_user(server: Server, admin: ConsoleBrowser):
    """Not only the ConsoleAction row: the project's creation, a settings change and a
    rotation each name who made them."""
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    settings = admin.get(f"{base}/settings")
    saved = admin.post(f"{base}/settings/redirect-uris", settings, redirect_uris="https://shop.example/cb2")
    assert saved.status_code == 200, saved.text[:300]
    admin.post(f"{base}/settings/rotate-secret", admin.get(f"{base}/settings"))
    rows = {row["type"]: row for row in event_rows(admin.get(f"{base}/events").text)}
    for kind in ("Project.Created", "Membership.Invited", "Project.RedirectUrisChanged", "Project.SecretRotated",
                 "ConsoleAction.Recorded"):
        assert rows[kind]["actor"] == "console:admin@example.com", (kind, rows[kind])


def test_a_cursor_that_is_not_a_number_is_the_first_page(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    for before in ("²", "٣", "-1", "x" * 40):
        page = admin.get(f"/dashboard/projects/{project['project_id']}/events", before=before)
        assert page.status_code == 200 and "Project.Created" in page.text, before
