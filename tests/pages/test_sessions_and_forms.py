"""The hosted forms: CSRF, headers, cookies, sessions (checklist G, C-65 … C-78) and
sign-in and sign-up rules (checklist H, C-79 … C-86).
"""

import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from astapa.web.appkeys import settings_key
from astapa.config import Settings
from tests.conftest import Server, project_on, throttles_shared
from tests.flows import PASSWORD, Browser, exchange, hidden_fields, query_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(make_project) -> dict:
    return make_project()


def signed_up(server: Server, project: dict, email: str = "ada@example.org", password: str = PASSWORD) -> Browser:
    browser = Browser(server.url)
    browser.sign_up(browser.authorize_url(project["client_id"]), email, password)
    return browser


def login_form(browser: Browser, project: dict, **params) -> requests.Response:
    return browser.get(browser.authorize_url(project["client_id"], prompt="login", **params))


# -- CSRF (C-65, C-66) ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["login", "signup"])
def test_forms_refuse_posts_without_a_valid_csrf_token(server: Server, project, path):
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path=f"/auth/{path}"))
    fields = {**hidden_fields(page.text), "email": "a@example.org", "password": PASSWORD, "action": path}
    url = f"{server.url}/auth/{path}"
    no_token = {k: v for k, v in fields.items() if k != "csrf_token"}
    assert browser.session.post(url, data=no_token, allow_redirects=False).status_code == 403
    stranger = Browser(server.url)  # another browser's token with this browser's cookie
    stranger_page = stranger.get(stranger.authorize_url(project["client_id"], path=f"/auth/{path}"))
    foreign = {**fields, "csrf_token": hidden_fields(stranger_page.text)["csrf_token"]}
    assert browser.session.post(url, data=foreign, allow_redirects=False).status_code == 403
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        assert browser.session.post(url, data=fields, headers=headers, allow_redirects=False).status_code == 403
    no_cookie = requests.post(url, data=fields, allow_redirects=False)  # login CSRF: no pre-session cookie
    assert no_cookie.status_code == 403
    ok = browser.session.post(url, data=fields, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
                              allow_redirects=False)
    assert ok.status_code in (303, 401), ok.status_code  # the token was fine: now it's about the password


def test_sign_out_needs_a_post_with_csrf_and_ends_the_session_on_the_server(server: Server, project):
    """C-66, C-73: GET never signs out; after sign-out the old cookie is worthless."""
    browser = signed_up(server, project)
    cookie = dict(browser.session.cookies)["astapa_session"]
    assert browser.get(f"{server.url}/auth/logout").status_code == 200
    assert browser.get(browser.authorize_url(project["client_id"])).status_code == 303  # still signed in
    page = browser.get(f"{server.url}/auth/logout")
    assert browser.session.post(f"{server.url}/auth/logout", data={}).status_code == 200  # no token: the form again
    assert browser.get(browser.authorize_url(project["client_id"])).status_code == 303
    done = browser.session.post(f"{server.url}/auth/logout", data=hidden_fields(page.text))
    assert "signed out" in done.text
    replay = Browser(server.url)
    replay.session.cookies.set("astapa_session", cookie)
    assert replay.get(replay.authorize_url(project["client_id"])).status_code == 200  # the form


# -- headers and cookies (C-67, C-68, C-70, C-72) ---------------------------------------------

def test_pages_send_security_headers(server: Server, project):
    browser = Browser(server.url)
    forms = (browser.authorize_url(project["client_id"]), browser.authorize_url(project["client_id"], path="/auth/signup"))
    for url in (*forms, f"{server.url}/auth/login?client_id=nope", f"{server.url}/auth/logout"):
        response = browser.get(url)
        csp = response.headers["Content-Security-Policy"]
        for directive in ("default-src 'none'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
            assert directive in csp, (url, csp)
        # Only the sign-in and sign-up forms load a script (passkeys), only from our origin.
        scripts = [d.strip() for d in csp.split(";") if d.strip().startswith("script-src")]
        assert scripts in ([], ["script-src 'self'"]) and "unsafe" not in csp, (url, csp)
        assert bool(scripts) == (url in forms), (url, csp)
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        # No inline script: at most the passkeys' own file, from our origin.
        assert re.findall(r"<script[^>]*>[^<]*</script>", response.text) in (
            [], ['<script src="/static/passkeys.js" defer></script>']), url
        assert "http://" not in response.text.replace(server.url, "").split("<form")[0]


def test_session_cookie_attributes(server: Server, project):
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/signup"))
    response = browser.submit(page, "signup", email="k@example.org", password=PASSWORD, action="signup")
    header = response.headers["Set-Cookie"]
    session = next(c for c in response.raw.headers.getlist("Set-Cookie") if c.startswith("astapa_session="))
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in session, header
    assert "Domain" not in session
    key, secret = session.split(";")[0].split("=", 1)[1].split(".")
    assert len(key) == 32 and len(secret) >= 43  # C-72: a uuid4 and 256 random bits


def test_secure_host_cookies_when_the_issuer_is_https():
    """C-70: `__Host-` prefix and Secure under https (set_cookie as the pages use it)."""
    from aiohttp import web

    from astapa.web.csrf import set_cookie

    response = web.Response()
    set_cookie(response, Settings(issuer="https://id.example"), "astapa_session", "v", max_age=60)
    cookie = response.cookies["__Host-astapa_session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/" and not cookie["domain"]


# -- sessions (C-71, C-75, OIDC prompt/max_age) -------------------------------------------------

def test_session_is_new_after_every_sign_in(server: Server, project):
    """C-71: no fixation: the cookie after sign-in differs, also after prompt=login."""
    browser = Browser(server.url)
    browser.session.cookies.set("astapa_session", "0" * 32 + ".planted", domain="127.0.0.1", path="/")
    browser.sign_up(browser.authorize_url(project["client_id"]), "f@example.org")
    first = dict(browser.session.cookies)["astapa_session"]
    assert not first.startswith("0" * 32)
    response = browser.submit(login_form(browser, project), "login", email="f@example.org", password=PASSWORD,
                              action="login")
    assert response.status_code == 303
    assert dict(browser.session.cookies)["astapa_session"] != first


def test_signed_in_user_gets_a_code_without_the_form(server: Server, project):
    """Contract: coming back to /auth/login; prompt=login and max_age=0 force the form;
    prompt=none works with a session (C-62)."""
    browser = signed_up(server, project)
    again = browser.get(browser.authorize_url(project["client_id"], state="s2"))
    assert again.status_code == 303 and query_of(again.headers["Location"])["state"] == "s2"
    assert exchange(server.url, project, query_of(again.headers["Location"])["code"]).status_code == 200
    assert browser.get(browser.authorize_url(project["client_id"], prompt="none")).status_code == 303
    assert login_form(browser, project).status_code == 200
    assert browser.get(browser.authorize_url(project["client_id"], max_age="0")).status_code == 200


def test_session_idle_and_absolute_timeouts(server: Server, project):
    """C-75: one hour idle, ten hours absolute (documented in the README)."""
    browser = signed_up(server, project)
    for _ in range(10):  # used every 58 minutes: 9.7 hours in all
        server.clock.advance(3500)
        assert browser.get(browser.authorize_url(project["client_id"])).status_code == 303
    server.clock.advance(3500)  # 10.7 hours: past the absolute limit
    assert browser.get(browser.authorize_url(project["client_id"])).status_code == 200
    browser = signed_up(server, project, email="idle@example.org")
    server.clock.advance(3601)
    assert browser.get(browser.authorize_url(project["client_id"])).status_code == 200


def test_auth_time_and_max_age(server: Server, project):
    """C-61/C-62: auth_time is the sign-in time; an older session than max_age shows the form."""
    import jwt

    browser = signed_up(server, project)
    signed_in_at = int(server.clock.now())
    server.clock.advance(120)
    assert browser.get(browser.authorize_url(project["client_id"], max_age="60")).status_code == 200
    location = browser.get(browser.authorize_url(project["client_id"], max_age="600", scope="openid")).headers["Location"]
    body = exchange(server.url, project, query_of(location)["code"]).json()
    assert jwt.decode(body["id_token"], options={"verify_signature": False})["auth_time"] == signed_in_at


# -- sign-in and sign-up rules (C-79 … C-86) ----------------------------------------------------

def test_wrong_password_and_unknown_email_look_the_same(server: Server, project):
    """C-79: same status, same body (but for the email typed), same cookies set."""
    signed_up(server, project, email="known@example.org")
    answers = []
    for email in ("known@example.org", "unknown@example.org"):
        browser = Browser(server.url)
        page = login_form(browser, project)
        response = browser.submit(page, "login", email=email, password="wrong password", action="login")
        fields = hidden_fields(response.text)
        text = response.text.replace(email, "EMAIL").replace(fields["csrf_token"], "TOKEN")
        for random in ("passkey_options", "passkey_state"):  # a fresh passkey challenge on every page
            text = re.sub(f'name="{random}" value="[^"]*"', random, text)
        answers.append((response.status_code, text,
                        sorted(c.name for c in response.cookies)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401 and "Email or password is incorrect." in answers[0][1]


def test_password_policy_and_long_passwords(server: Server, project):
    """C-85: at least 8 characters; 64 two-byte characters work; byte 73 and later count."""
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/signup"))
    short = browser.submit(page, "signup", email="s@example.org", password="1234567", action="signup")
    assert short.status_code == 400 and "at least 8 characters" in short.text
    for common in ("password", "Baseball", "12345678", "iloveyou"):
        refused = browser.submit(page, "signup", email="s@example.org", password=common, action="signup")
        assert refused.status_code == 400 and "most common" in refused.text
    long_password = "é" * 64
    signed_up(server, project, email="long@example.org", password=long_password)
    ok = Browser(server.url).sign_in(Browser(server.url).authorize_url(project["client_id"]), "long@example.org",
                                     long_password)
    assert ok.status_code == 303
    tail_changed = "é" * 63 + "è"  # differs only in bytes 127-128
    refused = Browser(server.url).sign_in(Browser(server.url).authorize_url(project["client_id"]),
                                          "long@example.org", tail_changed)
    assert refused.status_code == 401


def test_sign_up_with_a_taken_email_is_refused_with_one_account_kept(server: Server, project):
    """One account per project and normalised email (C-88: dotless ı is another address)."""
    signed_up(server, project, email="Mike@Example.org")
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/signup"))
    taken = browser.submit(page, "signup", email="mike@EXAMPLE.org", password=PASSWORD, action="signup")
    assert taken.status_code == 409
    other = browser.submit(page, "signup", email="mıke@example.org", password=PASSWORD, action="signup")
    assert other.status_code == 303


def test_account_throttle_answers_429_even_for_the_right_password(server: Server):
    """C-82: ten failures in 15 minutes (a live project's limit); whatever the source address
    (C-83: X-Forwarded-For is not trusted); released when the window passes."""
    project = project_on(server, live=True)
    signed_up(server, project, email="t@example.org")
    for i in range(10):
        browser = Browser(server.url)
        browser.session.headers["X-Forwarded-For"] = f"10.0.0.{i}"
        assert browser.sign_in(browser.authorize_url(project["client_id"]), "t@example.org", "nope nope").status_code == 401
    throttles_shared()
    blocked = Browser(server.url).sign_in(Browser(server.url).authorize_url(project["client_id"]), "t@example.org")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    server.clock.advance(15 * 60 + 1)
    assert Browser(server.url).sign_in(Browser(server.url).authorize_url(project["client_id"]),
                                       "t@example.org").status_code == 303


def test_ip_throttle_stops_stuffing_across_accounts(start_server):
    """C-83: failures across many accounts from one address."""
    server = start_server(login_failures_per_ip=5)
    project = project_on(server, live=True)
    for i in range(5):
        browser = Browser(server.url)
        assert browser.sign_in(browser.authorize_url(project["client_id"]), f"x{i}@example.org", "nope nope").status_code == 401
    throttles_shared()
    browser = Browser(server.url)
    assert browser.sign_in(browser.authorize_url(project["client_id"]), "x9@example.org", "nope nope").status_code == 429


def test_unknown_email_costs_a_bcrypt_check(start_server):
    """C-81 at cost 10: interleaved attempts, medians within 20 ms of each other."""
    server = start_server(bcrypt_cost=10, login_failures_per_account=1000, login_failures_per_ip=100000)
    project = project_on(server)
    signed_up(server, project, email="timed@example.org")
    times = {"known@": [], "unknown@": []}
    browser = Browser(server.url)
    page = login_form(browser, project)
    for _ in range(25):
        for label, email in (("known@", "timed@example.org"), ("unknown@", "nobody@example.org")):
            started = time.perf_counter()
            response = browser.submit(page, "login", email=email, password="wrong password", action="login")
            times[label].append(time.perf_counter() - started)
            assert response.status_code == 401
    known, unknown = statistics.median(times["known@"]), statistics.median(times["unknown@"])
    assert known > 0.02  # bcrypt at cost 10 really ran
    assert abs(known - unknown) < 0.02, (known, unknown)


def test_event_log_holds_no_password_token_code_or_cookie(server: Server, project):
    """Contract, "The event log": only hashes; bcrypt of at least cost 10 by default (C-86)."""
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(project["client_id"], scope="openid"), "z@example.org",
                               "a very secret passphrase")
    body = exchange(server.url, project, redirect.params["code"]).json()
    rotated = requests.post(f"{server.url}/oauth/token", data={"grant_type": "refresh_token",
                            "refresh_token": body["refresh_token"]},
                            auth=(project["client_id"], project["client_secret"])).json()
    export = subprocess.run([sys.executable, str(ROOT / "scripts" / "export_events.py"), "--data-dir",
                             str(server.data_dir)], capture_output=True, text=True, check=True).stdout
    secrets = ["a very secret passphrase", redirect.params["code"], body["refresh_token"].split(".")[1],
               rotated["refresh_token"].split(".")[1], body["access_token"], body["id_token"],
               dict(browser.session.cookies)["astapa_session"].split(".")[1], project["client_secret"]]
    for secret in secrets:
        assert secret not in export
    events = [json.loads(line) for line in export.splitlines()]
    registered = next(e for e in events if e["type"].endswith("User.Registered"))
    assert registered["password_hash"].startswith("$astapa-sha256$$2b$")
    assert Settings().bcrypt_cost == 12


def test_hsts_only_when_the_issuer_is_https(start_server, data_dir):
    """C-69: the header is sent when the issuer is https (a TLS terminator in front)."""
    plain = start_server()
    assert "Strict-Transport-Security" not in requests.get(f"{plain.url}/healthz").headers
    plain.stop()
    secure = start_server(issuer="https://id.example")
    response = requests.get(f"http://127.0.0.1:{secure.web_app[settings_key].port}/auth/logout")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert response.headers["Set-Cookie"].startswith("__Host-astapa_csrf=") and "Secure" in response.headers["Set-Cookie"]
