"""Passkeys without a browser: a software authenticator (tests/fakes/authenticator.py)
speaks WebAuthn's wire format to the pages, so every rule is checked here; the browser
test (test_passkeys_browser.py) drives Chromium's virtual authenticator."""

import jwt
import pytest
import requests

from tests.conftest import Server, stored_states
from tests.fakes.authenticator import SoftAuthenticator
from tests.flows import PASSWORD, Browser, exchange, hidden_fields, query_of


@pytest.fixture
def project(make_project) -> dict:
    return make_project("openid")


def authenticator(server: Server, synced: bool = False) -> SoftAuthenticator:
    return SoftAuthenticator("127.0.0.1", server.url, synced=synced)


def add_passkey(server: Server, browser: Browser, device: SoftAuthenticator) -> requests.Response:
    page = browser.get(f"{server.url}/account")
    fields = hidden_fields(page.text)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    response = device.register(fields["passkey_options"])
    return browser.session.post(f"{server.url}/account/passkeys", allow_redirects=False, timeout=10, data={
        "csrf_token": fields["csrf_token"], "passkey_state": fields["passkey_state"],
        "passkey_response": response, "action": "passkey", "current_password": PASSWORD})


def login_page(browser: Browser, project: dict) -> requests.Response:
    return browser.get(browser.authorize_url(project["client_id"], prompt="login", scope="openid"))


def passkey_sign_in(browser: Browser, project: dict, device: SoftAuthenticator,
                    page: requests.Response | None = None) -> tuple[requests.Response, dict]:
    page = page or login_page(browser, project)
    assert "Sign in with a passkey" in page.text
    fields = {**hidden_fields(page.text), "action": "passkey"}
    fields["passkey_response"] = device.sign_in(fields["passkey_options"])
    return browser.session.post(f"{browser.base_url}/auth/login", data=fields, allow_redirects=False,
                                timeout=10), fields


def id_claims(server: Server, project: dict, response: requests.Response) -> dict:
    assert response.status_code == 303, response.text[:800]
    answer = exchange(server.url, project, query_of(response.headers["Location"])["code"])
    assert answer.status_code == 200, answer.text
    return jwt.decode(answer.json()["id_token"], options={"verify_signature": False})


def signed_up(server: Server, project: dict, email: str = "ada@example.org") -> Browser:
    browser = Browser(server.url)
    browser.sign_up(browser.authorize_url(project["client_id"]), email)
    return browser


def test_a_passkey_added_on_the_account_page_signs_in_once_per_challenge(server: Server, project):
    browser, device = signed_up(server, project), authenticator(server)
    added = add_passkey(server, browser, device)
    assert added.status_code == 303 and added.headers["Location"] == "/account?done=passkey_added"
    assert "Passkey added" in browser.get(server.url + added.headers["Location"]).text
    other = Browser(server.url)  # a browser with no session, no cookie: the passkey alone
    signed_in, fields = passkey_sign_in(other, project, device)
    claims = id_claims(server, project, signed_in)
    assert claims["amr"] == ["hwk", "user", "mfa"]
    replayed = other.session.post(f"{server.url}/auth/login", data=fields, allow_redirects=False, timeout=10)
    assert replayed.status_code == 401  # the same challenge and response again


def test_a_synced_passkey_is_a_software_key(server: Server, project):
    browser, device = signed_up(server, project), authenticator(server, synced=True)
    assert add_passkey(server, browser, device).status_code == 303
    assert id_claims(server, project, passkey_sign_in(Browser(server.url), project, device)[0])["amr"] == \
        ["swk", "user", "mfa"]


def test_sign_up_with_a_passkey_and_no_password(server: Server, project):
    browser, device = Browser(server.url), authenticator(server)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/signup", scope="openid"))
    assert "Sign up with a passkey" in page.text
    create = browser.submit(page, "signup", email="bo@example.org", action="passkey_start")
    assert create.status_code == 200 and "Create passkey" in create.text
    fields = {**hidden_fields(create.text), "action": "passkey"}
    fields["passkey_response"] = device.register(fields["passkey_options"])
    made = browser.session.post(f"{server.url}/auth/signup", data=fields, allow_redirects=False, timeout=10)
    assert id_claims(server, project, made)["amr"] == ["hwk", "user", "mfa"]
    assert id_claims(server, project, passkey_sign_in(Browser(server.url), project, device)[0])
    # No password was ever set: a password sign-in fails like any wrong password.
    refused = Browser(server.url).sign_in(Browser(server.url).authorize_url(project["client_id"]),
                                          "bo@example.org", PASSWORD)
    assert refused.status_code == 401


def test_a_removed_passkey_or_one_of_another_project_does_not_sign_in(server: Server, project, make_project):
    browser, device = signed_up(server, project), authenticator(server)
    add_passkey(server, browser, device)
    other = make_project("openid", name="other")
    wrong_project, _ = passkey_sign_in(Browser(server.url), other, device)
    assert wrong_project.status_code == 401 and "not registered for this app" in wrong_project.text
    page = browser.get(f"{server.url}/account")
    key = next(iter(device.credentials))
    from tests.fakes.authenticator import b64url

    removed = browser.session.post(f"{server.url}/account/passkeys", allow_redirects=False, timeout=10, data={
        "csrf_token": hidden_fields(page.text)["csrf_token"], "credential_id": b64url(key), "action": "remove"})
    assert removed.status_code == 303
    assert passkey_sign_in(Browser(server.url), project, device)[0].status_code == 401


def test_a_cloned_authenticator_is_refused(server: Server, project):
    """A counting authenticator whose count went back: WebAuthn §6.1.1's signal of a clone."""
    browser, device = signed_up(server, project), authenticator(server)
    add_passkey(server, browser, device)
    assert passkey_sign_in(Browser(server.url), project, device)[0].status_code == 303
    credential = next(iter(device.credentials.values()))
    credential.sign_count = 0  # the clone's count starts where the original's was copied
    assert passkey_sign_in(Browser(server.url), project, device)[0].status_code == 401


def test_responses_that_do_not_verify_are_refused_with_a_message(server: Server, project):
    browser, device = signed_up(server, project), authenticator(server)
    add_passkey(server, browser, device)
    device.user_verified = False  # user verification is required
    refused, _ = passkey_sign_in(Browser(server.url), project, device)
    assert refused.status_code == 401 and "could not be verified" in refused.text
    other = Browser(server.url)
    page = login_page(other, project)
    for junk in ("{not json", "[]", "{}", "x" * 30_000, '{"id": "AA", "rawId": "AA", "response": 1}'):
        fields = {**hidden_fields(page.text), "action": "passkey", "passkey_response": junk}
        answer = other.session.post(f"{server.url}/auth/login", data=fields, allow_redirects=False, timeout=10)
        assert answer.status_code == 401 and "not registered for this app" in answer.text
    (state,) = stored_states(server, "Passkey.Registered")
    assert set(state) >= {"credential_id", "public_key", "sign_count"} and "private" not in str(state)


def test_a_passkey_that_never_counts_still_answers_each_challenge_once(server: Server, project):
    """Synced passkeys often report a sign count of 0 every time: the count cannot catch a
    replay, the spent challenge does."""
    browser, device = signed_up(server, project), authenticator(server, synced=True)
    add_passkey(server, browser, device)
    credential = next(iter(device.credentials.values()))
    credential.sign_count = -1  # the authenticator adds one: it reports 0
    signed_in, fields = passkey_sign_in(Browser(server.url), project, device)
    assert signed_in.status_code == 303
    replayed = requests.post(f"{server.url}/auth/login", data=fields, allow_redirects=False, timeout=10,
                             cookies={c.name: c.value for c in Browser(server.url).get(
                                 f"{server.url}/healthz").cookies})
    again = Browser(server.url)
    page = login_page(again, project)
    fields = {**fields, "csrf_token": hidden_fields(page.text)["csrf_token"]}
    refused = again.session.post(f"{server.url}/auth/login", data=fields, allow_redirects=False, timeout=10)
    assert replayed.status_code in (401, 403) and refused.status_code == 401
