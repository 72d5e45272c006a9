"""Email verification, password reset and magic links, end to end over HTTP with a real
SMTP server (SECURITY-CHECKLIST §I, and §H for enumeration).

Each flow starts at the hosted pages with an authorization request, goes through the mail
the SMTP server received, and ends at redirect_uri?code=…&state=… and a token exchange.
"""

import concurrent.futures
import re
import time

import jwt
import pytest
import requests

from tests.conftest import Server, project_on, run_cli, throttles_shared, wait_for_client
from tests.flows import (
    PASSWORD,
    Browser,
    exchange,
    hidden_fields,
    open_link,
    pkce_pair,
    query_of,
    refresh,
)
from tests.mail import mail_to, only_action_link

NEW_PASSWORD = "a brand new passphrase"


def claims_of(tokens: dict) -> dict:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})


def authorize(browser: Browser, project: dict, **params: str) -> str:
    verifier, challenge = pkce_pair()
    return browser.authorize_url(project["client_id"], state=params.pop("state", "st-1"),
                                 code_challenge=challenge, code_challenge_method="S256", **params), verifier


def code_from(response: requests.Response, state: str = "st-1") -> str:
    assert response.status_code == 303, response.text[:800]
    params = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith("https://app.example/callback?")
    assert params["state"] == state
    return params["code"]


def tokens_with(server: Server, project: dict, response: requests.Response, verifier: str,
                state: str = "st-1") -> dict:
    result = exchange(server.url, project, code_from(response, state), code_verifier=verifier)
    assert result.status_code == 200, result.text
    return result.json()


def sign_up(server: Server, project: dict, email: str) -> dict:
    browser = Browser(server.url)
    url, verifier = authorize(browser, project)
    page = browser.get(url.replace("/auth/login", "/auth/signup"))
    response = browser.submit(page, "signup", email=email, password=PASSWORD, action="signup")
    return tokens_with(server, project, response, verifier)


def ask(browser: Browser, project: dict, what: str, email: str, state: str = "st-1",
        url: str | None = None) -> requests.Response:
    """Ask for a reset link (what="forgot-password") or a magic link (what="magic_link"),
    from the authorization request `url` (default a new one)."""
    url = url or authorize(browser, project, state=state)[0]
    if what == "magic_link":
        page = browser.get(url)
        return browser.submit(page, "login", email=email, password="", action="magic_link")
    page = browser.get(url.replace("/auth/login", "/auth/forgot-password"))
    return browser.submit(page, "forgot-password", email=email, action="send")


def link_of(server: Server, smtp, email: str, kind: str, count: int = 1) -> str:
    """The action link of the newest message of this kind to `email`."""
    path = {"verify": "/auth/verify-email", "reset": "/auth/reset-password", "magic": "/auth/magic-link"}[kind]
    deadline = time.monotonic() + 10
    while True:
        links = [only_action_link(m, server.url) for m in smtp.messages
                 if m["To"] == email and path in m.get_body(("plain",)).get_content()]
        if len(links) >= count or time.monotonic() > deadline:
            assert len(links) >= count, f"{len(links)} {kind} link(s) to {email}"
            return links[-1]
        time.sleep(0.02)


# -- email verification --------------------------------------------------------------------------

def test_verification_link_sets_email_verified_and_continues_the_request(mail_server: Server, smtp):
    project = project_on(mail_server)
    browser = Browser(mail_server.url)
    url, verifier = authorize(browser, project)
    page = browser.get(url.replace("/auth/login", "/auth/signup"))
    tokens = tokens_with(mail_server, project, browser.submit(
        page, "signup", email="vera@example.org", password=PASSWORD, action="signup"), verifier)
    assert claims_of(tokens)["email_verified"] is False
    link = link_of(mail_server, smtp, "vera@example.org", "verify")
    assert link.startswith(f"{mail_server.url}/auth/verify-email?token=")
    # Opened in another browser: the request travels with the link, not a cookie.
    other = Browser(mail_server.url)
    page = other.get(link)  # kept, to press its button again after the link is used
    response = open_link(other, link)
    params = query_of(response.headers["Location"])
    assert params["state"] == "st-1" and params["iss"] == mail_server.url
    # The code it lands with gives tokens that carry the verified address.
    assert claims_of(tokens_with(mail_server, project, response, verifier))["email_verified"] is True
    # Whatever signed in before the owner proved the mailbox is signed out (C-99).
    assert refresh(mail_server.url, project, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    # Single use: the page says so, and pressing the button of a page opened before does too.
    assert other.get(link).status_code == 400
    assert other.session.post(f"{mail_server.url}/auth/verify-email", allow_redirects=False, timeout=10,
                              data={**hidden_fields(page.text), "token": link.split("token=")[1]}).status_code == 400


def test_opening_a_link_never_uses_it(mail_server: Server, smtp):
    """Mail scanners fetch links (GET, HEAD): only the button's POST uses one (C-93)."""
    project = project_on(mail_server)
    sign_up(mail_server, project, "scan@example.org")
    browser = Browser(mail_server.url)
    assert ask(browser, project, "magic_link", "scan@example.org").status_code == 200
    link = link_of(mail_server, smtp, "scan@example.org", "magic")
    for _ in range(3):
        assert requests.get(link, timeout=10).status_code == 200
        assert requests.head(link, timeout=10).status_code == 200
    code_from(open_link(browser, link))


def test_project_requiring_verified_email_waits_for_the_link(mail_server: Server, smtp):
    project = run_cli("project", "create", "--data-dir", str(mail_server.data_dir), "--name", "strict",
                      "--redirect-uri", "https://app.example/callback", "--require-verified-email")
    wait_for_client(mail_server, project)
    browser = Browser(mail_server.url)
    url, _ = authorize(browser, project, state="first")
    page = browser.get(url.replace("/auth/login", "/auth/signup"))
    signed_up = browser.submit(page, "signup", email="wait@example.org", password=PASSWORD, action="signup")
    assert signed_up.status_code == 200 and "Check your inbox" in signed_up.text
    assert "astapa_session" not in signed_up.cookies
    # Signing in with the right password does not give a code either: it mails the link again.
    url2, _ = authorize(browser, project, state="second")
    again = browser.sign_in(url2, "wait@example.org")
    assert again.status_code == 200 and "Check your inbox" in again.text
    mail_to(smtp, "wait@example.org", count=2)
    # The newest link continues the request it was sent from, in any browser.
    link = link_of(mail_server, smtp, "wait@example.org", "verify", count=2)
    response = open_link(Browser(mail_server.url), link)
    assert query_of(response.headers["Location"])["state"] == "second"
    # Now the password signs in.
    url3, verifier3 = authorize(browser, project, state="third")
    tokens = tokens_with(mail_server, project, Browser(mail_server.url).sign_in(url3, "wait@example.org"),
                         verifier3, state="third")
    assert claims_of(tokens)["email_verified"] is True


def test_sign_up_with_a_taken_address_looks_the_same_and_tells_the_owner(mail_server: Server, smtp):
    """C-80, for projects that wait for a verified address."""
    project = run_cli("project", "create", "--data-dir", str(mail_server.data_dir), "--name", "strict",
                      "--redirect-uri", "https://app.example/callback", "--require-verified-email")
    wait_for_client(mail_server, project)

    def attempt(email: str) -> requests.Response:
        browser = Browser(mail_server.url)
        page = browser.get(browser.authorize_url(project["client_id"], path="/auth/signup", state="s"))
        return browser.submit(page, "signup", email=email, password=PASSWORD, action="signup")

    first = attempt("owner@example.org")
    taken = attempt("owner@example.org")
    fresh = attempt("someone-else@example.org")
    for response, email in ((taken, "owner@example.org"), (fresh, "someone-else@example.org")):
        assert response.status_code == first.status_code == 200
        assert scrub(response.text, email) == scrub(first.text, "owner@example.org")
        assert set(response.cookies.keys()) == set(first.cookies.keys())
    subjects = [m["Subject"] for m in mail_to(smtp, "owner@example.org", count=2)]
    assert any(s.startswith("Someone tried to sign up") for s in subjects)


def scrub(html: str, email: str) -> str:
    """The page without what differs by design: the CSRF token and the address typed."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html).replace(email, "EMAIL")


# -- password reset ------------------------------------------------------------------------------

def test_password_reset_end_to_end(mail_server: Server, smtp):
    project = project_on(mail_server)
    old_tokens = sign_up(mail_server, project, "rita@example.org")
    browser = Browser(mail_server.url)
    answer = ask(browser, project, "forgot-password", "rita@example.org", state="reset-state")
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    link = link_of(mail_server, smtp, "rita@example.org", "reset")
    page = browser.get(link)
    assert page.headers["Referrer-Policy"] == "no-referrer" and 'name="password"' in page.text
    weak = browser.submit(page, "reset-password", password="password")
    assert weak.status_code == 400
    response = browser.submit(browser.get(link), "reset-password", password=NEW_PASSWORD)
    assert query_of(response.headers["Location"])["state"] == "reset-state"
    # The old refresh token and access token are dead; the old password fails; the new works.
    assert refresh(mail_server.url, project, old_tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert requests.get(f"{mail_server.url}/oauth/userinfo", timeout=10,
                        headers={"Authorization": f"Bearer {old_tokens['access_token']}"}).status_code == 401
    url, verifier = authorize(Browser(mail_server.url), project)
    assert Browser(mail_server.url).sign_in(url, "rita@example.org", PASSWORD).status_code == 401
    tokens_with(mail_server, project, Browser(mail_server.url).sign_in(url, "rita@example.org", NEW_PASSWORD),
                verifier)
    # Single use; and the owner is told the password changed (C-87).
    assert browser.submit(browser.get(link), "reset-password", password="another new passphrase").status_code == 400
    subjects = [m["Subject"] for m in mail_to(smtp, "rita@example.org", count=3)]
    assert any("was changed" in s for s in subjects)


def test_a_newer_reset_link_replaces_the_older_one(mail_server: Server, smtp):
    project = project_on(mail_server)
    sign_up(mail_server, project, "twice@example.org")
    browser = Browser(mail_server.url)
    ask(browser, project, "forgot-password", "twice@example.org", state="one")
    first = link_of(mail_server, smtp, "twice@example.org", "reset")
    ask(browser, project, "forgot-password", "twice@example.org", state="two")
    second = link_of(mail_server, smtp, "twice@example.org", "reset", count=2)
    assert first != second  # another request: a new link (C-91)
    assert browser.get(first).status_code == 400
    code_from(browser.submit(browser.get(second), "reset-password", password=NEW_PASSWORD), state="two")


def test_asking_again_for_the_same_request_resends_the_same_link(mail_server: Server, smtp):
    project = project_on(mail_server)
    sign_up(mail_server, project, "again@example.org")
    browser = Browser(mail_server.url)
    url, _ = authorize(browser, project)
    ask(browser, project, "forgot-password", "again@example.org", url=url)
    ask(browser, project, "forgot-password", "again@example.org", url=url)
    first = link_of(mail_server, smtp, "again@example.org", "reset")
    links = {only_action_link(m, mail_server.url) for m in mail_to(smtp, "again@example.org", count=3)
             if "reset-password" in m.get_body(("plain",)).get_content()}
    assert links == {first}  # two mails, one link: still valid after the re-send (C-111)
    code_from(browser.submit(browser.get(first), "reset-password", password=NEW_PASSWORD))


def test_mail_per_address_is_limited(start_server, smtp):
    server = start_server(smtp_url=smtp.url, mail_interval=0.1, mails_per_address=3)
    project = project_on(server)
    sign_up(server, project, "many@example.org")  # the verification mail, the first of three
    mail_to(smtp, "many@example.org", count=1)
    browser = Browser(server.url)
    from tests.mail_flows.test_delivery import mail_rows

    for state in ("a", "b", "c", "d"):
        assert ask(browser, project, "forgot-password", "many@example.org", state=state).status_code == 200
    time.sleep(1.0)
    # Verification + 2 resets queued; the third and fourth asks sent nothing. (A reset mail
    # whose link the next ask replaced before it went out is dropped, not sent.)
    assert len(mail_rows(server.data_dir)) == 3
    server.clock.advance(3601)
    deadline = time.monotonic() + 10
    while any(row["status"] == "queued" for row in mail_rows(server.data_dir)):  # sent or dropped
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sent = sum(1 for m in smtp.messages if "/auth/reset-password" in m.get_body(("plain",)).get_content())
    ask(browser, project, "forgot-password", "many@example.org", state="e")
    while len(mail_rows(server.data_dir)) < 4:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    newest = link_of(server, smtp, "many@example.org", "reset", count=sent + 1)
    assert query_of(open_link(Browser(server.url), newest, password=NEW_PASSWORD).headers["Location"])["state"] == "e"


# -- magic links ---------------------------------------------------------------------------------

def test_magic_link_signs_in_once(mail_server: Server, smtp):
    project = project_on(mail_server)
    sign_up(mail_server, project, "mags@example.org")
    browser = Browser(mail_server.url)
    url, verifier = authorize(browser, project, state="magic-state")
    answer = browser.submit(browser.get(url), "login", email="mags@example.org", password="", action="magic_link")
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    link = link_of(mail_server, smtp, "mags@example.org", "magic")
    response = open_link(Browser(mail_server.url), link)
    tokens = tokens_with(mail_server, project, response, verifier, state="magic-state")
    assert claims_of(tokens)["email_verified"] is True  # the link proved the mailbox
    dead = Browser(mail_server.url).get(link)
    assert dead.status_code == 400 and "can no longer be used" in dead.text
    back = re.search(r'<a href="(/auth/login\?[^"]+)">Go to the sign-in page</a>', dead.text).group(1)
    assert Browser(mail_server.url).get(mail_server.url + back.replace("&amp;", "&")).status_code == 200


def test_link_expiry_follows_the_clock(mail_server: Server, smtp):
    project = project_on(mail_server)
    sign_up(mail_server, project, "late@example.org")
    verify = link_of(mail_server, smtp, "late@example.org", "verify")
    browser = Browser(mail_server.url)
    ask(browser, project, "magic_link", "late@example.org")
    ask(browser, project, "forgot-password", "late@example.org")
    magic = link_of(mail_server, smtp, "late@example.org", "magic")
    reset = link_of(mail_server, smtp, "late@example.org", "reset")
    mail_server.clock.advance(14 * 60)
    assert browser.get(magic).status_code == 200 and browser.get(reset).status_code == 200
    mail_server.clock.advance(2 * 60)  # 16 minutes: magic and reset links are dead
    assert browser.get(magic).status_code == 400 and browser.get(reset).status_code == 400
    assert browser.get(verify).status_code == 200
    mail_server.clock.advance(24 * 3600)
    assert browser.get(verify).status_code == 400


def test_a_link_works_only_for_its_purpose(mail_server: Server, smtp):
    project = project_on(mail_server)
    sign_up(mail_server, project, "purpose@example.org")
    token = link_of(mail_server, smtp, "purpose@example.org", "verify").split("token=")[1]
    browser = Browser(mail_server.url)
    for path in ("reset-password", "magic-link"):
        assert browser.get(f"{mail_server.url}/auth/{path}?token={token}").status_code == 400
    for forged in ("", "x", token[:-2] + "AA", "0" * 32 + "." + token.split(".")[1], "a" * 5000):
        assert browser.get(f"{mail_server.url}/auth/verify-email?token={forged}").status_code == 400


@pytest.mark.parametrize("kind", ["magic", "reset", "verify"])
def test_ten_parallel_uses_of_a_link_one_wins(mail_server: Server, smtp, kind):
    """C-90 / T6: ten POSTs behind a barrier, one success, nine friendly refusals."""
    project = project_on(mail_server)
    email = f"race-{kind}@example.org"
    sign_up(mail_server, project, email)
    browser = Browser(mail_server.url)
    if kind != "verify":
        ask(browser, project, "magic_link" if kind == "magic" else "forgot-password", email)
    link = link_of(mail_server, smtp, email, kind)
    path = {"magic": "magic-link", "reset": "reset-password", "verify": "verify-email"}[kind]
    forms = []
    for _ in range(10):
        b = Browser(mail_server.url)
        page = b.get(link)
        forms.append((b, {**hidden_fields(page.text), "password": NEW_PASSWORD}))
    barrier = concurrent.futures.ThreadPoolExecutor(max_workers=10)

    def post(item):
        b, data = item
        return b.session.post(f"{mail_server.url}/auth/{path}", data=data, allow_redirects=False, timeout=20)

    statuses = sorted(r.status_code for r in barrier.map(post, forms))
    assert statuses == [303] + [400] * 9


# -- enumeration and limits ------------------------------------------------------------------------

@pytest.mark.parametrize("what", ["forgot-password", "magic_link"])
def test_answers_for_known_and_unknown_addresses_are_identical(mail_server: Server, smtp, what):
    project = project_on(mail_server)
    sign_up(mail_server, project, "user-1@example.org")

    url, _ = authorize(Browser(mail_server.url), project)

    def answer(email: str) -> requests.Response:
        return ask(Browser(mail_server.url), project, what, email, url=url)

    known, unknown = answer("user-1@example.org"), answer("user-2@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("user-1@", "X@") == unknown.text.replace("user-2@", "X@")
    drop = {"Date", "Set-Cookie"}
    assert {k: v for k, v in known.headers.items() if k not in drop} == \
           {k: v for k, v in unknown.headers.items() if k not in drop}
    assert known.cookies.keys() == unknown.cookies.keys()
    mail_to(smtp, "user-1@example.org", count=2)
    time.sleep(0.5)
    assert not [m for m in smtp.messages if m["To"] == "user-2@example.org"]


def test_answer_time_does_not_tell_known_from_unknown(mail_server: Server, smtp):
    project = project_on(mail_server)
    sign_up(mail_server, project, "timing@example.org")
    browser = Browser(mail_server.url)
    url, _ = authorize(browser, project)
    page = browser.get(url.replace("/auth/login", "/auth/forgot-password"))
    data = hidden_fields(page.text)
    times = {"timing@example.org": [], "nobody@example.org": []}
    for _ in range(15):
        for email in times:
            start = time.perf_counter()
            browser.session.post(f"{mail_server.url}/auth/forgot-password", data={**data, "email": email},
                                 timeout=10)
            times[email].append(time.perf_counter() - start)
    medians = [sorted(t)[len(t) // 2] for t in times.values()]
    assert abs(medians[0] - medians[1]) < 0.02, medians


def test_link_requests_per_address_of_the_client_are_limited(start_server, smtp):
    server = start_server(smtp_url=smtp.url, mail_interval=0.1, link_requests_per_ip=3)
    project = project_on(server)
    browser = Browser(server.url)
    for i in range(3):
        assert ask(browser, project, "forgot-password", f"n{i}@example.org").status_code == 200
    limited = ask(browser, project, "forgot-password", "n9@example.org")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_failed_sign_ins_do_not_block_reset_or_magic_link(start_server, smtp):
    """C-84: throttling a victim's password sign-in does not lock them out."""
    server = start_server(smtp_url=smtp.url, mail_interval=0.1, login_failures_per_account=3)
    project = project_on(server, live=True)
    sign_up(server, project, "victim@example.org")
    attacker = Browser(server.url)
    for _ in range(4):
        attacker.sign_in(authorize(attacker, project)[0], "victim@example.org", "wrong password!")
    throttles_shared()
    url, _ = authorize(attacker, project)
    assert Browser(server.url).sign_in(url, "victim@example.org").status_code == 429
    browser = Browser(server.url)
    ask(browser, project, "magic_link", "victim@example.org")
    code_from(open_link(Browser(server.url), link_of(server, smtp, "victim@example.org", "magic")))
    ask(browser, project, "forgot-password", "victim@example.org")
    reset = link_of(server, smtp, "victim@example.org", "reset")
    code_from(open_link(Browser(server.url), reset, password=NEW_PASSWORD))
    # A completed reset clears the failures: the new password signs in at once (on every
    # node of a cluster once they have shared their counts).
    throttles_shared()
    url, verifier = authorize(browser, project)
    tokens_with(server, project, Browser(server.url).sign_in(url, "victim@example.org", NEW_PASSWORD), verifier)


def test_a_look_alike_address_gets_nothing(mail_server: Server, smtp):
    """C-88: forgot-password for mıke@ (dotless ı) never mails mike@'s account a link, and
    mail goes only to the address the account holds."""
    project = project_on(mail_server)
    sign_up(mail_server, project, "mike@example.org")
    browser = Browser(mail_server.url)
    for look_alike in ("m\u0131ke@example.org", "MIKE@EXAMPLE.ORG "):
        assert ask(browser, project, "forgot-password", look_alike).status_code == 200
    time.sleep(1.0)
    resets = [m for m in smtp.messages if "reset-password" in m.get_body(("plain",)).get_content()]
    # Only the case-insensitive match reaches the account, at its own stored address.
    assert [m["To"] for m in resets] == ["mike@example.org"]
