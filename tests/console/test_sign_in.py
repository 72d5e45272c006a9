"""Signing in to the console: an instance admin's setup link, the console as an OAuth
client of its own project, and who gets in."""

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from astapa.domain.console import CONSOLE_PROJECT_ID
from astapa.web.appkeys import application_key, reads_key, writer_key

from tests.conftest import Server, run_cli, wait_for_client
from tests.flows import Browser, hidden_fields, pkce_pair, query_of
from tests.console.conftest import ConsoleBrowser, add_admin, admin_browser, create_project, csrf_of, sign_up_to_console


def test_a_setup_link_lets_the_admin_choose_a_password_and_lands_signed_in(server: Server):
    browser = admin_browser(server)
    page = browser.get("/dashboard")
    assert page.status_code == 200 and "Projects" in page.text and "admin@example.com" in page.text
    assert "New project" in page.text


def test_a_setup_link_works_once(server: Server):
    link = add_admin(server)["setup_url"]
    admin_browser(server, "other@example.com")
    first = requests.Session()
    page = first.get(link, timeout=10)
    assert page.status_code == 200
    first.post(f"{server.url}/dashboard/setup", data={**hidden_fields(page.text), "password": "a long password 1"},
               timeout=10)
    again = requests.get(link, timeout=10)
    assert again.status_code == 400 and "cannot be used" in again.text


def test_the_console_is_a_client_of_its_own_project_with_pkce(server: Server):
    browser = ConsoleBrowser(server)
    first = browser.session.get(f"{server.url}/dashboard", allow_redirects=False, timeout=10)
    assert first.status_code == 302 and first.headers["Location"].startswith("/dashboard/login")
    login = browser.session.get(f"{server.url}/dashboard/login", allow_redirects=False, timeout=10)
    location = login.headers["Location"]
    assert location.startswith("/auth/login?") and "code_challenge_method=S256" in location
    assert query_of(location)["redirect_uri"] == f"{server.url}/dashboard/callback"


def test_signing_in_with_the_password_lands_on_the_console(server: Server):
    admin_browser(server)
    browser = ConsoleBrowser(server)
    page = browser.sign_in("admin@example.com")
    assert page.status_code == 200 and "Projects" in page.text


def test_a_setup_link_expires_after_24_hours(server: Server):
    link = add_admin(server)["setup_url"]
    server.clock.advance(24 * 3600 + 1)
    answer = requests.get(link, timeout=10)
    assert answer.status_code == 400 and "expired" in answer.text


def test_signing_out_of_the_console_ends_the_hosted_session_too(server: Server):
    browser = admin_browser(server)
    page = browser.get("/dashboard")
    out = browser.session.post(f"{server.url}/dashboard/logout", data={"csrf_token": csrf_of(page.text)}, timeout=10)
    assert out.status_code == 200 and "signed out" in out.text
    again = browser.get("/dashboard")
    assert "/auth/login" in again.url and 'name="password"' in again.text  # asks for credentials


def test_a_disabled_console_account_is_signed_out_at_its_next_request(server: Server):
    browser = admin_browser(server)
    app, writer = server.web_app[application_key], server.web_app[writer_key]
    sub = server.web_app[reads_key].run(
        lambda conn: conn.execute("SELECT sub FROM users WHERE project_id = ?", (CONSOLE_PROJECT_ID,)).fetchone()[0])
    server.run(writer.run(app.set_disabled, CONSOLE_PROJECT_ID, sub, True, "test"))
    deadline = time.monotonic() + 5
    while browser.session.get(f"{server.url}/dashboard", allow_redirects=False, timeout=10).status_code == 200:
        assert time.monotonic() < deadline, "still signed in"


def test_by_default_someone_who_signs_up_uninvited_gets_no_access(server: Server):
    stranger = sign_up_to_console(server, "stranger@example.com")
    page = stranger.get("/dashboard")
    assert page.status_code == 403 and "No access yet" in page.text
    assert stranger.get("/dashboard/projects/new").status_code == 403
    refused = stranger.post("/dashboard/projects", page, name="Mine", redirect_uris="https://mine.example/cb")
    assert refused.status_code == 403


def test_with_open_sign_up_anyone_creates_projects_of_their_own(start_server):
    server = start_server(console_signup="open")
    person = sign_up_to_console(server, "founder@example.com")
    page = person.get("/dashboard")
    assert page.status_code == 200 and "New project" in page.text
    created = person.post("/dashboard/projects", page, name="Startup", redirect_uris="http://startup.test/cb")
    assert created.status_code == 200 and 'id="client_secret"' in created.text
    listing = person.get("/dashboard")
    assert "Startup" in listing.text and "owner" in listing.text
    other = sign_up_to_console(server, "other@example.com")
    assert "Startup" not in other.get("/dashboard").text


def test_cookies_copied_before_signing_out_open_nothing_afterwards(server: Server):
    browser = admin_browser(server)
    page = browser.get("/dashboard")
    copied = dict(browser.session.cookies.items())
    browser.session.post(f"{server.url}/dashboard/logout", data={"csrf_token": csrf_of(page.text)}, timeout=10)
    thief = requests.Session()
    thief.cookies.update(copied)
    assert thief.get(f"{server.url}/dashboard/instance", allow_redirects=False, timeout=10).status_code == 302
    server.clock.advance(3601)  # the access token expired: the refresh token alone is refused too
    assert thief.get(f"{server.url}/dashboard/instance", allow_redirects=False, timeout=10).status_code == 302


def test_another_client_of_the_console_project_gets_no_console_access(server: Server):
    """An app an admin was tricked into approving holds tokens of the console's project; the
    console takes only its own client's."""
    admin_browser(server)
    rogue = run_cli("client", "create", "--data-dir", str(server.data_dir), "--project", CONSOLE_PROJECT_ID,
                    "--name", "rogue", "--redirect-uri", "https://rogue.example/cb")
    wait_for_client(server, rogue)
    browser = Browser(server.url)
    verifier, challenge = pkce_pair()
    login = browser.sign_in(browser.authorize_url(
        rogue["client_id"], redirect_uri="https://rogue.example/cb", path=f"/projects/{CONSOLE_PROJECT_ID}/oauth/authorize",
        scope="openid email", code_challenge=challenge, code_challenge_method="S256"), "admin@example.com")
    code = query_of(login.headers["Location"])["code"]
    tokens = requests.post(f"{server.url}/projects/{CONSOLE_PROJECT_ID}/oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "https://rogue.example/cb",
        "code_verifier": verifier}, auth=(rogue["client_id"], rogue["client_secret"])).json()
    planted = requests.Session()
    planted.cookies.set("astapa_console_at", tokens["access_token"], path="/dashboard")
    planted.cookies.set("astapa_console_rt", tokens["refresh_token"], path="/dashboard")
    assert planted.get(f"{server.url}/dashboard/instance", allow_redirects=False, timeout=10).status_code == 302


def test_two_tabs_refreshing_at_once_both_stay_signed_in(server: Server):
    browser = admin_browser(server)
    server.clock.advance(3601)  # the access token has expired: the next requests refresh

    def load(_: int) -> int:
        return browser.session.get(f"{server.url}/dashboard", allow_redirects=False, timeout=10).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(load, range(4))) == [200] * 4
    assert load(0) == 200
    server.clock.advance(3601)
    assert load(0) == 200  # the family was not revoked as a reuse


def test_projects_made_in_the_console_are_limited_per_console_user(start_server):
    server = start_server(console_signup="open", console_projects_per_hour=1)
    person = sign_up_to_console(server, "founder@example.com")
    page = person.get("/dashboard")
    assert person.post("/dashboard/projects", page, name="One", redirect_uris="http://one.test/cb").status_code == 200
    refused = person.post("/dashboard/projects", page, name="Two", redirect_uris="http://two.test/cb")
    assert refused.status_code == 429 and "Two" not in person.get("/dashboard").text


def test_an_admin_removed_sees_only_their_own_projects_and_can_be_made_one_again(server: Server):
    admin = admin_browser(server)
    project = create_project(admin, "Theirs")
    run_cli("console", "remove-admin", "--email", "ADMIN@example.com", "--data-dir", str(server.data_dir))
    wait_until(lambda: admin.get("/dashboard/instance").status_code == 404)
    listing = admin.get("/dashboard")
    assert "Theirs" in listing.text  # they made it: its owner still
    assert admin.get(f"/dashboard/projects/{project['project_id']}").status_code == 200
    add_admin(server)
    wait_until(lambda: admin.get("/dashboard/instance").status_code == 200)


def test_removing_someone_who_is_no_admin_fails_in_one_line(server: Server, capsys):
    from astapa import cli

    assert cli.main(["console", "remove-admin", "--email", "nobody@example.com", "--data-dir",
                     str(server.data_dir)]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)
