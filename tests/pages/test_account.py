"""The account page (/account) and two-factor sign-in: people manage their own sign-in
through the browser's hosted session; a second factor, once on, is asked at every
sign-in and by clients that ask for it (acr_values), and tokens say so (amr, acr)."""

import re
import subprocess
import sys
from html import unescape

import jwt
import pyotp
import pytest
import requests

from tests.conftest import Server, run_cli, sqlite_store_only, stored_states, wait_for_client
from tests.flows import PASSWORD, Browser, exchange, hidden_fields, query_of
from tests.mail import wait_for_outbox

MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"


@pytest.fixture
def project(server: Server, make_project) -> dict:
    project = make_project("openid")
    run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--pin-sign-in")
    wait_for_client(server, project)
    return project


def signed_up(server: Server, project: dict, email: str = "ada@example.org") -> Browser:
    browser = Browser(server.url)
    browser.sign_up(browser.authorize_url(project["client_id"]), email)
    return browser


def account(browser: Browser) -> requests.Response:
    page = browser.get(f"{browser.base_url}/account")
    assert page.status_code == 200, page.text[:500]
    return page


def post(browser: Browser, page: requests.Response, path: str, **fields: str) -> requests.Response:
    data = {"csrf_token": hidden_fields(page.text)["csrf_token"], **fields}
    return browser.session.post(f"{browser.base_url}{path}", data=data, allow_redirects=False, timeout=10)


def turn_on_two_factor(server: Server, browser: Browser) -> tuple[pyotp.TOTP, list[str]]:
    page = browser.get(f"{server.url}/account/two-factor")
    assert page.status_code == 200 and "<svg" in page.text and "Code from your app" in page.text
    seed = re.search(r'<code aria-labelledby="key-label">([A-Z2-7 ]+)</code>', page.text).group(1).replace(" ", "")
    totp = pyotp.TOTP(seed)
    wrong = post(browser, page, "/account/two-factor", sealed=hidden_fields(page.text)["sealed"], code="000000",
                 action="enable", current_password=PASSWORD)
    assert wrong.status_code == 400 and "not right" in wrong.text
    no_password = post(browser, wrong, "/account/two-factor", sealed=hidden_fields(wrong.text)["sealed"],
                       code=totp.at(server.clock.now()), action="enable")
    assert no_password.status_code == 401  # a session alone turns nothing on
    on = post(browser, no_password, "/account/two-factor", sealed=hidden_fields(no_password.text)["sealed"],
              code=totp.at(server.clock.now()), action="enable", current_password=PASSWORD)
    assert on.status_code == 200 and "recovery codes" in on.text
    codes = [unescape(c) for c in re.findall(r"<li><code>([^<]+)</code></li>", on.text)]
    assert len(codes) == 10 and len(set(codes)) == 10
    return totp, codes


def password_sign_in(browser: Browser, project: dict, **params: str) -> requests.Response:
    page = browser.get(browser.authorize_url(project["client_id"], prompt="login", scope="openid", **params))
    return browser.submit(page, "login", email="ada@example.org", password=PASSWORD, action="login")


def second_factor(browser: Browser, page: requests.Response, code: str) -> requests.Response:
    assert "Authentication code" in page.text, page.text[:800]
    return browser.submit(page, "second-factor", code=code)


def claims_of(server: Server, project: dict, response: requests.Response) -> dict:
    assert response.status_code == 303, response.text[:800]
    answer = exchange(server.url, project, query_of(response.headers["Location"])["code"])
    assert answer.status_code == 200, answer.text
    return jwt.decode(answer.json()["id_token"], options={"verify_signature": False})


def test_the_account_page_needs_a_signed_in_browser(server: Server, project):
    assert Browser(server.url).get(f"{server.url}/account").status_code == 401
    page = account(signed_up(server, project))
    assert "ada@example.org" in page.text and "Two-factor sign-in" in page.text and "Close your account" in page.text


def test_two_factor_is_asked_at_sign_in_and_each_code_works_once(server: Server, project):
    browser = signed_up(server, project)
    totp, codes = turn_on_two_factor(server, browser)
    server.clock.advance(30)
    asked = password_sign_in(browser, project)
    assert asked.status_code == 200  # no code yet: the second factor first
    wrong = second_factor(browser, asked, "123456")
    assert wrong.status_code == 401 and "not right" in wrong.text
    code = totp.at(server.clock.now())
    claims = claims_of(server, project, second_factor(browser, wrong, code))
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    again = second_factor(browser, password_sign_in(browser, project), code)  # the same code, replayed
    assert again.status_code == 401
    recovered = claims_of(server, project, second_factor(browser, again, codes[0].upper()))
    assert recovered["amr"] == ["pwd", "otp", "mfa"]
    assert second_factor(browser, password_sign_in(browser, project), codes[0]).status_code == 401  # spent
    assert "9 recovery codes left" in account(browser).text


def test_a_client_asks_for_a_second_factor_with_acr_values(server: Server, project):
    browser = signed_up(server, project)
    set_up = password_sign_in(browser, project, acr_values=MFA)  # none yet: set one up on the spot
    assert set_up.status_code == 200 and "Set up two-factor sign-in" in set_up.text
    # Without a page: a fresh sign-in is needed first (the session cannot set one up).
    assert "error=login_required" in browser.get(browser.authorize_url(
        project["client_id"], scope="openid", acr_values=MFA, prompt="none")).headers["Location"]
    totp, _ = turn_on_two_factor(server, browser)
    plain = password_sign_in(browser, project)
    server.clock.advance(30)
    claims = claims_of(server, project, second_factor(browser, plain, totp.at(server.clock.now())))
    assert "acr" not in claims  # nobody asked
    # Step-up: the live session has both factors now; a session with one would be asked.
    query = browser.authorize_url(project["client_id"], scope="openid", acr_values=MFA)
    stepped = claims_of(server, project, browser.get(query))
    assert stepped["acr"] == MFA and "mfa" in stepped["amr"]
    discovery = requests.get(f"{server.url}/.well-known/openid-configuration", timeout=10).json()
    assert MFA in discovery["acr_values_supported"]


def test_turning_two_factor_off_takes_a_code(server: Server, project):
    browser = signed_up(server, project)
    totp, _ = turn_on_two_factor(server, browser)
    page = account(browser)
    refused = post(browser, page, "/account/two-factor", code="000000", action="disable")
    assert refused.status_code == 400 and "not right" in refused.text
    server.clock.advance(30)
    off = post(browser, refused, "/account/two-factor", code=totp.at(server.clock.now()), action="disable")
    assert off.status_code == 303
    assert "Two-factor sign-in is off." in browser.get(server.url + off.headers["Location"]).text
    assert password_sign_in(browser, project).status_code == 303  # straight back to the app
    (state,) = stored_states(server, "TwoFactor.Enabled")
    assert state["sealed_seed"].startswith("v1.") and totp.secret not in str(state)


@sqlite_store_only  # reads the data dir's own store and read models
def test_the_key_and_recovery_codes_never_reach_the_log_or_the_read_models_in_clear(server: Server, project):
    browser = signed_up(server, project)
    totp, codes = turn_on_two_factor(server, browser)
    exported = subprocess.run([sys.executable, "scripts/export_events.py", "--data-dir", str(server.data_dir)],
                              capture_output=True, text=True, check=True, timeout=60).stdout
    read_models = b"".join(path.read_bytes() for path in server.data_dir.glob("read*.db*"))
    for secret in (totp.secret, *codes, *(code.replace("-", "") for code in codes)):
        assert secret not in exported and secret.encode() not in read_models


def test_changing_the_password_asks_for_the_current_one_and_signs_out_elsewhere(server: Server, project):
    browser = signed_up(server, project)
    elsewhere = Browser(server.url)
    elsewhere.sign_in(elsewhere.authorize_url(project["client_id"]), "ada@example.org")
    page = account(browser)
    wrong = post(browser, page, "/account/password", current_password="nope", new_password="a new long passphrase")
    assert wrong.status_code == 401 and "not your current password" in wrong.text
    weak = post(browser, wrong, "/account/password", current_password=PASSWORD, new_password="short")
    assert weak.status_code == 400 and "at least 8" in weak.text
    changed = post(browser, weak, "/account/password", current_password=PASSWORD,
                   new_password="a new long passphrase")
    assert changed.status_code == 303
    assert "Password changed" in browser.get(server.url + changed.headers["Location"]).text  # still signed in
    assert elsewhere.get(f"{server.url}/account").status_code == 401  # the other one is signed out
    assert any("was changed" in m["Subject"] for m in wait_for_outbox(server.data_dir, 2))


def test_an_app_sign_in_ends_from_the_account_page(server: Server, project):
    browser = signed_up(server, project)
    tokens = exchange(server.url, project, query_of(password_sign_in(browser, project).headers["Location"])["code"])
    refresh_token = tokens.json()["refresh_token"]
    page = account(browser)
    family_key = refresh_token.split(".")[0]
    assert family_key in page.text
    assert post(browser, page, "/account/sign-ins", family_key=family_key, action="end").status_code == 303
    active = requests.post(f"{server.url}/oauth/introspect", data={"token": refresh_token}, timeout=10,
                           auth=(project["client_id"], project["client_secret"])).json()
    assert active == {"active": False}


def test_closing_the_account_disables_it(server: Server, project):
    browser = signed_up(server, project)
    page = account(browser)
    mistyped = post(browser, page, "/account/close", confirm_email="bo@example.org", close_password=PASSWORD)
    assert mistyped.status_code == 400
    closed = post(browser, mistyped, "/account/close", confirm_email="ADA@example.org", close_password=PASSWORD)
    assert closed.status_code == 200 and "Account closed" in closed.text
    assert browser.get(f"{server.url}/account").status_code == 401
    assert password_sign_in(Browser(server.url), project).status_code == 401


def test_a_project_requiring_two_factor_has_users_set_it_up_once_their_grace_is_over(server: Server, project):
    run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--require-two-factor", "--two-factor-grace", "3600")
    wait_for_client(server, project)
    browser = signed_up(server, project)
    assert password_sign_in(browser, project).status_code == 303  # within the grace: as before
    server.clock.advance(3601)
    asked = password_sign_in(browser, project)
    assert asked.status_code == 200 and "Set up two-factor sign-in" in asked.text and "<svg" in asked.text
    seed = re.search(r'<code aria-labelledby="key-label">([A-Z2-7 ]+)</code>', asked.text).group(1).replace(" ", "")
    wrong = browser.submit(asked, "second-factor", code="000000")
    assert wrong.status_code == 400 and seed[:4] in wrong.text  # the same key, shown again
    done = browser.submit(wrong, "second-factor", code=pyotp.TOTP(seed).at(server.clock.now()))
    assert done.status_code == 200 and len(re.findall(r"<li><code>", done.text)) == 10
    claims = claims_of(server, project, browser.submit(done, "second-factor"))  # "Continue to app"
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    server.clock.advance(30)
    again = password_sign_in(Browser(server.url), project)  # from now on: a code at every sign-in
    assert again.status_code == 200 and "Authentication code" in again.text
    shown = run_cli("project", "show", "--data-dir", str(server.data_dir), "--project", project["project_id"])
    assert (shown["two_factor_required"], shown["two_factor_grace"]) == (True, 3600)


def test_continuing_after_the_recovery_codes_checks_the_form(server: Server, project):
    run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--require-two-factor", "--two-factor-grace", "0")
    wait_for_client(server, project)
    browser = signed_up(server, project)
    server.clock.advance(1)
    asked = password_sign_in(browser, project)
    seed = re.search(r'<code aria-labelledby="key-label">([A-Z2-7 ]+)</code>', asked.text).group(1).replace(" ", "")
    done = browser.submit(asked, "second-factor", code=pyotp.TOTP(seed).at(server.clock.now()))
    forged = browser.session.post(f"{server.url}/auth/second-factor", allow_redirects=False, timeout=10,
                                  data={**hidden_fields(done.text), "csrf_token": "x"})
    assert forged.status_code == 403 and "Sign in" in forged.text
    stranger = Browser(server.url)  # the continuation alone, without the session it belongs to
    stranger.get(stranger.authorize_url(project["client_id"]))
    page = stranger.get(stranger.authorize_url(project["client_id"], prompt="login"))
    fields = {**hidden_fields(done.text), "csrf_token": hidden_fields(page.text)["csrf_token"]}
    taken = stranger.session.post(f"{server.url}/auth/second-factor", data=fields, allow_redirects=False, timeout=10)
    assert taken.status_code == 401
    assert claims_of(server, project, browser.submit(done, "second-factor"))["amr"] == ["pwd", "otp", "mfa"]


def test_step_up_from_a_session_asks_for_the_code_and_never_sets_one_up(server: Server, project):
    """A session is no proof of the person: a client asking for a second factor gets the
    code asked of a user who has one, and the sign-in form (never the set-up) otherwise."""
    browser = signed_up(server, project)  # a one-factor session
    asked = browser.get(browser.authorize_url(project["client_id"], scope="openid", acr_values=MFA))
    assert asked.status_code == 200 and 'name="password"' in asked.text and "Set up two-factor" not in asked.text
    totp, _ = turn_on_two_factor(server, browser)  # the session stays one-factor
    stepped = browser.get(browser.authorize_url(project["client_id"], scope="openid", acr_values=MFA))
    assert stepped.status_code == 200 and "Authentication code" in stepped.text
    assert "error=interaction_required" in browser.get(browser.authorize_url(
        project["client_id"], scope="openid", acr_values=MFA, prompt="none")).headers["Location"]
    server.clock.advance(30)
    claims = claims_of(server, project, second_factor(browser, stepped, totp.at(server.clock.now())))
    assert claims["acr"] == MFA and claims["amr"] == ["pwd", "otp", "mfa"]


def test_signing_up_when_a_second_factor_is_asked_for_sets_one_up(server: Server, project):
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/signup", scope="openid",
                                             acr_values=MFA))
    made = browser.submit(page, "signup", email="ada@example.org", password=PASSWORD, action="signup")
    assert made.status_code == 200 and "Set up two-factor sign-in" in made.text


def test_changing_the_email_takes_the_new_address_proven_and_frees_the_old(server: Server, project):
    from tests.mail import only_action_link, outbox_messages

    browser = signed_up(server, project)
    signed_up(server, project, "bo@example.org")
    page = account(browser)
    taken = post(browser, page, "/account/email", new_email="BO@example.org", email_password=PASSWORD)
    assert taken.status_code == 409 and "already exists" in taken.text
    wrong = post(browser, taken, "/account/email", new_email="ada.new@example.org", email_password="nope")
    assert wrong.status_code == 401
    asked = post(browser, wrong, "/account/email", new_email="ada.new@example.org", email_password=PASSWORD)
    assert asked.status_code == 303 and asked.headers["Location"] == "/account?done=email_sent"
    sent = wait_for_outbox(server.data_dir, 3)  # two verification mails, and this one
    (mail,) = [m for m in sent if m["To"] == "ada.new@example.org"]
    link = only_action_link(mail, server.url)
    confirm = browser.get(link)
    assert confirm.status_code == 200 and "Confirm new email" in confirm.text
    done = browser.submit(confirm, "change-email")
    assert done.status_code == 200 and "Your account now uses ada.new@example.org" in done.text
    assert any(m["To"] == "ada@example.org" and "was changed" in m["Subject"]
               for m in wait_for_outbox(server.data_dir, 4))
    assert browser.submit(confirm, "change-email").status_code == 400  # the link works once
    (verification,) = [m for m in sent if m["To"] == "ada@example.org"]  # mailed to the old address
    assert browser.get(only_action_link(verification, server.url)).status_code == 400  # dead since the change
    new = Browser(server.url)
    assert new.sign_in(new.authorize_url(project["client_id"]), "ada.new@example.org").status_code == 303
    old = Browser(server.url)
    assert old.sign_in(old.authorize_url(project["client_id"]), "ada@example.org").status_code == 401
    again = signed_up(server, project, "ada@example.org")  # the old address is free for a new account
    assert "ada@example.org" in account(again).text
    assert len(outbox_messages(server.data_dir)) >= 4


def test_signing_out_everywhere_ends_a_change_of_email_under_way(server: Server, project):
    from tests.mail import only_action_link

    browser = signed_up(server, project)
    asked = post(browser, account(browser), "/account/email", new_email="eve@example.org", email_password=PASSWORD)
    assert asked.status_code == 303
    (mail,) = [m for m in wait_for_outbox(server.data_dir, 2) if m["To"] == "eve@example.org"]
    revoked = requests.post(f"{server.url}/api/platform/revoke", json={"email": "ada@example.org"},
                            auth=(project["client_id"], project["client_secret"]), timeout=10)
    assert revoked.status_code == 200
    assert Browser(server.url).get(only_action_link(mail, server.url)).status_code == 400


def test_another_browser_is_signed_out_from_the_account_page(server: Server, project):
    browser = signed_up(server, project)
    other = Browser(server.url)
    other.sign_in(other.authorize_url(project["client_id"]), "ada@example.org")
    page = account(browser)
    assert "(this browser)" in page.text
    keys = re.findall(r'name="session_key" value="([0-9a-f]{32})"', page.text)
    assert len(keys) == 1  # the other browser's; this one signs out with "Sign out everywhere"
    ended = post(browser, page, "/account/sign-ins", session_key=keys[0], action="end")
    assert ended.status_code == 303
    assert other.get(f"{server.url}/account").status_code == 401
    assert account(browser).status_code == 200
    assert 'name="session_key"' not in account(browser).text
