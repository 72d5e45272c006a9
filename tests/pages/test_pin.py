"""PIN sign-in (CONTRACT "Sign-in with a PIN"): a PIN set for one browser after a full
sign-in, offered back on that browser's login page, never accepted from another, forgotten
after ten wrong in a row; its sign-ins say `pin` in `amr` and last the project's PIN
lifetime, other sign-ins `pwd` and the project's refresh lifetime."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests

from tests.conftest import Server, run_cli, sqlite_store_only, stored_states, wait_for_client
from tests.flows import PASSWORD, Browser, exchange, hidden_fields, query_of

PIN = "482913"
DAY = 86400


@pytest.fixture
def project(server: Server, make_project) -> dict:
    project = make_project("openid")
    run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--pin-sign-in", "--refresh-ttl", str(7 * DAY), "--token-ttl", "300")
    wait_for_client(server, project)
    return project


def signed_up(server: Server, project: dict, email: str = "ada@example.org") -> Browser:
    browser = Browser(server.url)
    browser.sign_up(browser.authorize_url(project["client_id"]), email)
    return browser


def set_pin(browser: Browser, pin: str = PIN, repeat: str | None = None) -> requests.Response:
    page = browser.get(f"{browser.base_url}/auth/pin")
    assert page.status_code == 200, page.text[:500]
    return browser.submit(page, "pin", pin=pin, pin_repeat=pin if repeat is None else repeat, action="set")


def login_page(browser: Browser, project: dict) -> requests.Response:
    """The login form even while the browser's session lives (prompt=login)."""
    return browser.get(browser.authorize_url(project["client_id"], prompt="login", scope="openid"))


def pin_sign_in(browser: Browser, project: dict, pin: str = PIN) -> requests.Response:
    return browser.submit(login_page(browser, project), "login", pin=pin, action="pin")


def tokens(server: Server, project: dict, response: requests.Response) -> dict:
    assert response.status_code == 303, response.text[:800]
    answer = exchange(server.url, project, query_of(response.headers["Location"])["code"])
    assert answer.status_code == 200, answer.text
    return answer.json()


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def introspect(server: Server, project: dict, token: str) -> dict:
    return requests.post(f"{server.url}/oauth/introspect", data={"token": token},
                         auth=(project["client_id"], project["client_secret"]), timeout=10).json()


def test_a_pin_set_after_sign_in_signs_in_again_with_amr_pin_and_its_own_lifetime(server: Server, project):
    browser = signed_up(server, project)
    page = browser.get(f"{server.url}/auth/pin")
    assert '<label for="pin">PIN</label>' in page.text and '<label for="pin_repeat">Repeat PIN</label>' in page.text
    done = set_pin(browser)
    assert done.status_code == 200 and "PIN set" in done.text
    offered = login_page(browser, project)
    assert "Sign in with PIN" in offered.text and 'name="pin"' in offered.text and "ada@example.org" in offered.text
    now = server.clock.now()  # the server's clock, which the test moves
    issued = tokens(server, project, pin_sign_in(browser, project))
    access, id_token = claims(issued["access_token"]), claims(issued["id_token"])
    assert access["amr"] == ["pin"] and id_token["amr"] == ["pin"]
    assert access["auth_time"] == int(now) and id_token["auth_time"] == access["auth_time"]
    assert access["exp"] - access["iat"] == 300  # --token-ttl
    active = introspect(server, project, issued["refresh_token"])
    assert active["amr"] == ["pin"] and abs(active["exp"] - (now + 30 * DAY)) < 60  # the PIN default
    assert introspect(server, project, issued["access_token"])["amr"] == ["pin"]
    userinfo = requests.get(f"{server.url}/oauth/userinfo", timeout=10,
                            headers={"Authorization": f"Bearer {issued['access_token']}"}).json()
    assert userinfo["amr"] == ["pin"] and userinfo["auth_time"] == access["auth_time"]
    # A password sign-in: pwd, and the project's refresh lifetime (7 days here).
    password = tokens(server, project, browser.submit(login_page(browser, project), "login",
                                                       email="ada@example.org", password=PASSWORD, action="login"))
    assert claims(password["access_token"])["amr"] == ["pwd"]
    assert abs(introspect(server, project, password["refresh_token"])["exp"] - (now + 7 * DAY)) < 60


def test_the_pin_lifetime_is_a_project_setting(server: Server, project):
    run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--pin-refresh-ttl", str(2 * DAY))
    wait_for_client(server, project)
    shown = run_cli("project", "show", "--data-dir", str(server.data_dir), "--project", project["project_id"])
    assert (shown["pin_sign_in"], shown["pin_refresh_ttl"], shown["refresh_ttl"], shown["access_token_ttl"]) == \
        (True, 2 * DAY, 7 * DAY, 300)
    browser = signed_up(server, project)
    set_pin(browser)
    issued = tokens(server, project, pin_sign_in(browser, project))
    assert abs(introspect(server, project, issued["refresh_token"])["exp"] - (server.clock.now() + 2 * DAY)) < 60


@pytest.mark.parametrize("pin, repeat, why", [
    ("123456", "123456", "too easy to guess"), ("111111", "111111", "too easy to guess"),
    ("147258", "147258", "too easy to guess"), ("12345", "12345", "6 to 12 digits"),
    ("1234567890123", "1234567890123", "6 to 12 digits"), ("48a913", "48a913", "6 to 12 digits"),
    (PIN, "482914", "not the same"),
])
def test_weak_short_or_mistyped_pins_are_refused_next_to_the_field(server: Server, project, pin, repeat, why):
    browser = signed_up(server, project)
    refused = set_pin(browser, pin, repeat)
    assert refused.status_code == 400 and why in refused.text and 'aria-invalid="true"' in refused.text
    assert "Sign in with PIN" not in login_page(browser, project).text


def test_a_pin_never_works_from_another_browser(server: Server, project):
    browser = signed_up(server, project)
    set_pin(browser)
    other = Browser(server.url)
    assert "Sign in with PIN" not in login_page(other, project).text
    refused = pin_sign_in(other, project)
    assert refused.status_code == 400 and "This browser has no PIN" in refused.text
    # Another browser given the PIN's key but not its secret: a wrong PIN, counted.
    cookie = next(c for c in browser.session.cookies if c.name.startswith("astapa_pin_"))
    other.session.cookies.set(cookie.name, cookie.value.split(".")[0] + ".x" * 10, domain=cookie.domain)
    guessed = other.submit(login_page(other, project), "login", pin=PIN, action="pin")
    assert guessed.status_code == 401 and "Wrong PIN" in guessed.text
    assert pin_sign_in(browser, project).status_code == 303  # the right browser still can


def test_ten_wrong_pins_in_a_row_forget_it(server: Server, project):
    browser = signed_up(server, project)
    set_pin(browser)
    for left in range(9, 0, -1):
        wrong = pin_sign_in(browser, project, "902817")
        assert wrong.status_code == 401 and f"{left} {'try' if left == 1 else 'tries'} left" in wrong.text
    tenth = pin_sign_in(browser, project, "902817")
    assert tenth.status_code == 401 and "forgotten" in tenth.text
    assert not any(c.name.startswith("astapa_pin_") for c in browser.session.cookies)  # the cookie went
    assert "Sign in with PIN" not in login_page(browser, project).text
    kinds = [state.get("reason") for state in stored_states(server, "PinCredential.Forgotten")]
    assert kinds == ["ten wrong PINs in a row"]


def test_a_right_pin_starts_the_count_again(server: Server, project):
    browser = signed_up(server, project)
    set_pin(browser)
    for _ in range(9):
        assert pin_sign_in(browser, project, "902817").status_code == 401
    assert pin_sign_in(browser, project).status_code == 303
    assert "9 tries left" in pin_sign_in(browser, project, "902817").text


def test_concurrent_guesses_cannot_outrun_the_count(server: Server, project):
    """Each try is counted before its check: 30 wrong guesses at once forget the PIN, and
    the right PIN after them finds nothing to sign in with."""
    browser = signed_up(server, project)
    set_pin(browser)
    page = login_page(browser, project)
    fields = {**hidden_fields(page.text), "pin": "902817", "action": "pin"}

    def guess(_: int) -> int:
        return browser.session.post(f"{server.url}/auth/login", data=fields, allow_redirects=False,
                                    timeout=30).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(guess, range(30)))
    assert set(answers) <= {400, 401, 429} and answers.count(401) >= 10
    tries = stored_states(server, "PinCredential.Attempted")
    assert len(tries) == 10  # never more than ten tries of one PIN without a right one
    browser.session.cookies.set(*_pin_cookie(browser))  # even if the last answer dropped it
    assert pin_sign_in(browser, project).status_code == 400


def _pin_cookie(browser: Browser) -> tuple[str, str]:
    cookie = next((c for c in browser.session.cookies if c.name.startswith("astapa_pin_")), None)
    return (cookie.name, cookie.value) if cookie else ("astapa_pin_none", "x")


def test_signing_out_everywhere_kills_the_pin(server: Server, project):
    browser = signed_up(server, project)
    set_pin(browser)
    answer = requests.post(f"{server.url}/api/platform/revoke", json={"email": "ada@example.org"},
                           auth=(project["client_id"], project["client_secret"]), timeout=10)
    assert answer.status_code == 200
    assert "Sign in with PIN" not in login_page(browser, project).text
    assert pin_sign_in(browser, project).status_code == 400


def test_no_pin_unless_the_project_offers_it_nor_from_a_pin_session(server: Server, make_project, project):
    other = make_project()
    browser = signed_up(server, other, "bo@example.org")
    off = browser.get(f"{server.url}/auth/pin")
    assert off.status_code == 403 and "does not offer" in off.text
    assert Browser(server.url).get(f"{server.url}/auth/pin").status_code == 401  # nobody signed in
    browser = signed_up(server, project)
    set_pin(browser)
    assert pin_sign_in(browser, project).status_code == 303
    again = browser.get(f"{server.url}/auth/pin")  # the session now comes from the PIN
    assert again.status_code == 403 and "Sign in again first" in again.text


@sqlite_store_only  # reads the data dir's own store and read models
def test_the_pin_and_its_credential_never_reach_the_log_in_clear(server: Server, project):
    browser = signed_up(server, project)
    set_pin(browser)
    _, credential = _pin_cookie(browser)
    secret = credential.split(".")[1]
    exported = subprocess.run([sys.executable, "scripts/export_events.py", "--data-dir", str(server.data_dir)],
                              capture_output=True, text=True, check=True, timeout=60).stdout
    assert PIN not in exported and secret not in exported
    (state,) = stored_states(server, "PinCredential.Set")
    assert state["pin_hash"].startswith("$astapa-sha256$") and PIN not in json.dumps(state)
