"""OpenID Connect RP-Initiated Logout 1.0 at the `end_session_endpoint` of the service's
issuer and of a project's own.

The relying party sends the browser there (GET, or a form POST) with `id_token_hint`,
`post_logout_redirect_uri` and `state`. With a hint we issued for the user signed in here,
the session ends at once; otherwise the user confirms with a "Sign out" button first (a
link from anywhere must not sign anyone out). Then the browser goes to the URI when it is
registered for the client, byte for byte, with `state`; else it sees "You are signed out".
Either way the next authorization request asks for credentials again.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode, urlsplit

import jwt
import pytest
import requests
from playwright.sync_api import Page, expect

from tests.conftest import Server, run_cli, wait_for_client
from tests.flows import (
    PASSWORD,
    REDIRECT_URI,
    Browser,
    exchange,
    hidden_fields,
    query_of,
)
from tests.pages.conftest import assert_no_inline_script
from tests.pages.test_hosted_pages_browser import serve_pages

SIGNED_OUT = "https://app.example/signed-out"
OTHER_SIGNED_OUT = "https://app.example/bye?from=astapa"
STATE = "st a+b/é"


def create_project(server: Server, *uris: str, name: str = "Notes", redirect_uri: str = REDIRECT_URI) -> dict:
    args = ["project", "create", "--data-dir", str(server.data_dir), "--name", name, "--redirect-uri", redirect_uri]
    for uri in uris:
        args += ["--post-logout-redirect-uri", uri]
    project = run_cli(*args)
    wait_for_client(server, project)
    return project


@pytest.fixture
def project(server: Server) -> dict:
    return create_project(server, SIGNED_OUT, OTHER_SIGNED_OUT)


@pytest.fixture(params=["service", "project"])
def issuer(request, server: Server, project: dict) -> str:
    return server.url if request.param == "service" else f"{server.url}/projects/{project['project_id']}"


def signed_in(server: Server, project: dict, issuer: str, email: str = "ada@example.org",
              browser: Browser | None = None) -> tuple[Browser, dict]:
    """A browser signed up at `issuer` (its session cookie set) and the tokens it got."""
    browser = browser or Browser(server.url)
    query = urlencode({"response_type": "code", "client_id": project["client_id"], "redirect_uri": REDIRECT_URI,
                       "scope": "openid email"})
    prefix = "" if issuer == server.url else urlsplit(issuer).path
    redirect = browser.sign_up(f"{server.url}/auth/login?{prefix + '?' if prefix else ''}{query}", email)
    token_endpoint = f"{issuer}/oauth/token"
    response = requests.post(token_endpoint, data={"grant_type": "authorization_code", "code": redirect.params["code"],
                                                   "redirect_uri": REDIRECT_URI},
                             auth=(project["client_id"], project["client_secret"]), timeout=10)
    assert response.status_code == 200, response.text
    return browser, response.json()


def authorize(browser: Browser, project: dict, issuer: str) -> requests.Response:
    query = urlencode({"response_type": "code", "client_id": project["client_id"], "redirect_uri": REDIRECT_URI})
    return browser.get(f"{issuer}/oauth/authorize?{query}")


def assert_signed_in(browser: Browser, project: dict, issuer: str) -> None:
    response = authorize(browser, project, issuer)
    assert response.status_code == 303 and "code=" in response.headers["Location"], response.text[:300]


def assert_signed_out(browser: Browser, project: dict, issuer: str) -> None:
    """The next authorization request asks for credentials: the sign-in form, no code."""
    response = authorize(browser, project, issuer)
    assert response.status_code == 200 and 'name="password"' in response.text, response.headers.get("Location")


def end_session(browser: Browser, issuer: str, method: str = "GET", **params: str) -> requests.Response:
    url = f"{issuer}/oauth/logout"
    if method == "GET":
        return browser.session.get(url, params=params, allow_redirects=False, timeout=10)
    return browser.session.post(url, data=params, allow_redirects=False, timeout=10)


def assert_error_page(response: requests.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers
    assert "sign-out request is not valid" in response.text, response.text[:500]


# -- discovery ---------------------------------------------------------------------------------

def test_discovery_lists_the_end_session_endpoint(server: Server, project: dict, issuer: str):
    for document in ("openid-configuration", "oauth-authorization-server"):
        metadata = requests.get(f"{issuer}/.well-known/{document}", timeout=10).json()
        assert metadata["end_session_endpoint"] == f"{issuer}/oauth/logout"


# -- with an id_token_hint ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_valid_hint_signs_out_at_once_and_returns_to_the_registered_uri_with_state(
        server: Server, project: dict, issuer: str, method: str):
    browser, tokens = signed_in(server, project, issuer)
    cookie = browser.session.cookies["astapa_session"]
    response = end_session(browser, issuer, method, id_token_hint=tokens["id_token"],
                           post_logout_redirect_uri=SIGNED_OUT, state=STATE)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["Location"] == f"{SIGNED_OUT}?{urlencode({'state': STATE})}"
    assert response.headers["Cache-Control"] == "no-store"
    assert "astapa_session" not in browser.session.cookies  # the cookie is expired ...
    assert_signed_out(browser, project, issuer)
    replay = Browser(server.url)  # ... and the session ended on the server, not only in the browser
    replay.session.cookies.set("astapa_session", cookie)
    assert_signed_out(replay, project, issuer)


def test_the_uri_keeps_its_own_query_and_state_is_optional(server: Server, project: dict, issuer: str):
    browser, tokens = signed_in(server, project, issuer)
    response = end_session(browser, issuer, id_token_hint=tokens["id_token"], post_logout_redirect_uri=OTHER_SIGNED_OUT)
    assert response.status_code == 303 and response.headers["Location"] == OTHER_SIGNED_OUT
    assert_signed_out(browser, project, issuer)


def test_an_expired_hint_is_still_a_hint(server: Server, project: dict, issuer: str):
    browser, tokens = signed_in(server, project, issuer)
    expires = jwt.decode(tokens["id_token"], options={"verify_signature": False})["exp"]
    while server.clock.now() <= expires + 60:  # the session lives on while it is used
        server.clock.advance(1500)
        assert_signed_in(browser, project, issuer)
    response = end_session(browser, issuer, id_token_hint=tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT,
                           state="s")
    assert response.status_code == 303 and response.headers["Location"] == f"{SIGNED_OUT}?state=s"
    assert_signed_out(browser, project, issuer)


def test_without_a_redirect_uri_the_signed_out_page_is_shown(server: Server, project: dict, issuer: str):
    browser, tokens = signed_in(server, project, issuer)
    response = end_session(browser, issuer, id_token_hint=tokens["id_token"], state="ignored")
    assert response.status_code == 200 and "You are signed out" in response.text
    assert response.headers["Cache-Control"] == "no-store" and "default-src 'none'" in \
        response.headers["Content-Security-Policy"]
    assert_signed_out(browser, project, issuer)


def test_with_nobody_signed_in_it_goes_straight_back(server: Server, project: dict, issuer: str):
    _, tokens = signed_in(server, project, issuer)
    stranger = Browser(server.url)
    response = end_session(stranger, issuer, id_token_hint=tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT,
                           state="s")
    assert response.status_code == 303 and response.headers["Location"] == f"{SIGNED_OUT}?state=s"
    response = end_session(stranger, issuer, client_id=project["client_id"], post_logout_redirect_uri=SIGNED_OUT)
    assert response.status_code == 303 and response.headers["Location"] == SIGNED_OUT
    assert "You are signed out" in end_session(stranger, issuer).text


# -- without a valid hint: the user confirms ---------------------------------------------------------

def confirm(browser: Browser, page: requests.Response) -> requests.Response:
    assert page.status_code == 200 and ">Sign out</button>" in page.text, page.text[:500]
    return browser.session.post(f"{browser.base_url}/auth/logout", data=hidden_fields(page.text),
                                allow_redirects=False, timeout=10)


def test_without_a_hint_the_user_confirms_then_goes_to_the_registered_uri(
        server: Server, project: dict, issuer: str):
    browser, _ = signed_in(server, project, issuer)
    page = end_session(browser, issuer, client_id=project["client_id"], post_logout_redirect_uri=SIGNED_OUT,
                       state=STATE, logout_hint="ada@example.org", ui_locales="fr")
    assert "Notes" in page.text  # the client asking is named
    assert_signed_in(browser, project, issuer)  # nothing ended on the GET
    done = confirm(browser, page)
    assert done.status_code == 303 and done.headers["Location"] == f"{SIGNED_OUT}?{urlencode({'state': STATE})}"
    assert_signed_out(browser, project, issuer)


def test_a_hint_for_someone_else_asks_first(server: Server, project: dict, issuer: str):
    _, ada = signed_in(server, project, issuer, "ada@example.org")
    browser, _ = signed_in(server, project, issuer, "bo@example.org")
    page = end_session(browser, issuer, id_token_hint=ada["id_token"], post_logout_redirect_uri=SIGNED_OUT)
    assert_signed_in(browser, project, issuer)
    done = confirm(browser, page)
    assert done.status_code == 303 and done.headers["Location"] == SIGNED_OUT
    assert_signed_out(browser, project, issuer)


def test_a_post_from_another_site_without_the_cookie_asks_first(server: Server, project: dict, issuer: str):
    """Browsers withhold the SameSite=Lax session cookie from a cross-site POST, so such a
    request cannot tell whether someone is signed in: the confirmation page asks."""
    browser, tokens = signed_in(server, project, issuer)
    withheld = {"astapa_csrf": browser.session.cookies["astapa_csrf"]}  # the session cookie stays home
    page = requests.post(f"{issuer}/oauth/logout", data={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT, "state": "s"},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example"}, cookies=withheld,
        allow_redirects=False, timeout=10)
    assert_signed_in(browser, project, issuer)
    done = confirm(browser, page)  # the click on the button is a same-origin POST, with every cookie
    assert done.status_code == 303 and done.headers["Location"] == f"{SIGNED_OUT}?state=s"
    assert_signed_out(browser, project, issuer)


def test_the_confirmation_form_keeps_csrf(server: Server, project: dict, issuer: str):
    browser, _ = signed_in(server, project, issuer)
    page = end_session(browser, issuer, client_id=project["client_id"], post_logout_redirect_uri=SIGNED_OUT)
    fields = hidden_fields(page.text)
    forged = browser.session.post(f"{server.url}/auth/logout", data={**fields, "csrf_token": "x"},
                                  allow_redirects=False, timeout=10)
    assert forged.status_code == 200 and ">Sign out</button>" in forged.text  # the form again
    cross = browser.session.post(f"{server.url}/auth/logout", data=fields, headers={"Sec-Fetch-Site": "cross-site"},
                                 allow_redirects=False, timeout=10)
    assert cross.status_code == 200 and "Location" not in cross.headers
    assert_signed_in(browser, project, issuer)
    # A carried request that was tampered with is refused, never followed.
    tampered = browser.session.post(f"{server.url}/auth/logout", data={
        **fields, "logout_request": fields["logout_request"].replace("signed-out", "evil")},
        allow_redirects=False, timeout=10)
    assert_error_page(tampered)
    assert_signed_in(browser, project, issuer)
    assert confirm(browser, page).headers["Location"] == SIGNED_OUT
    assert_signed_out(browser, project, issuer)


# -- refused: an error page, never a redirect ---------------------------------------------------------

def test_an_unregistered_or_unidentified_redirect_uri_is_never_followed(server: Server, project: dict, issuer: str):
    browser, tokens = signed_in(server, project, issuer)
    other = create_project(server, "https://other.example/bye", name="Other")
    _, other_tokens = signed_in(server, other, server.url, "cy@example.org")
    header, payload, signature = tokens["id_token"].split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    refused = [
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT + "/"},  # exact match only
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": REDIRECT_URI},  # a redirect_uri is not one
        {"post_logout_redirect_uri": SIGNED_OUT},  # no client named
        {"client_id": project["client_id"], "id_token_hint": other_tokens["id_token"],
         "post_logout_redirect_uri": SIGNED_OUT},  # the hint is for another client
        {"id_token_hint": other_tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT},  # its URI, not ours
        {"client_id": "cid_nope", "post_logout_redirect_uri": SIGNED_OUT},
        {"id_token_hint": f"{header}.{payload}.{flipped}", "post_logout_redirect_uri": SIGNED_OUT},
        {"id_token_hint": tokens["access_token"], "post_logout_redirect_uri": SIGNED_OUT},  # not an ID token
        {"id_token_hint": "garbage"},
        {"id_token_hint": jwt.encode({"iss": issuer, "sub": "1", "aud": project["client_id"]}, "k" * 32,
                                     algorithm="HS256")},
    ]
    for params in refused:
        assert_error_page(end_session(browser, issuer, **params))
    assert_error_page(browser.session.get(f"{issuer}/oauth/logout?state=a&state=b", allow_redirects=False))
    assert_error_page(browser.session.post(f"{issuer}/oauth/logout", data=b"state=%ff",
                                           headers={"Content-Type": "application/x-www-form-urlencoded"},
                                           allow_redirects=False))
    assert_signed_in(browser, project, issuer)


def test_a_hint_from_another_issuer_is_refused(server: Server, project: dict):
    """An ID token names the issuer that issued it: the service's and a project's are two."""
    project_issuer = f"{server.url}/projects/{project['project_id']}"
    browser, tokens = signed_in(server, project, server.url)
    assert_error_page(end_session(browser, project_issuer, id_token_hint=tokens["id_token"],
                                  post_logout_redirect_uri=SIGNED_OUT))
    other = create_project(server, name="Other")
    assert_error_page(end_session(browser, f"{server.url}/projects/{other['project_id']}",
                                  client_id=project["client_id"], post_logout_redirect_uri=SIGNED_OUT))
    missing = end_session(browser, f"{server.url}/projects/proj_nope")
    assert missing.status_code == 404
    assert_signed_in(browser, project, server.url)


# -- registering the URIs ----------------------------------------------------------------------------

def test_project_update_replaces_the_post_logout_redirect_uris(server: Server, project: dict):
    data_dir = str(server.data_dir)
    changed = run_cli("project", "update", "--data-dir", data_dir, "--project", project["project_id"],
                      "--post-logout-redirect-uri", "https://app.example/later",
                      "--post-logout-redirect-uri", "http://127.0.0.1:8000/bye")
    assert changed["post_logout_redirect_uris"] == ["https://app.example/later", "http://127.0.0.1:8000/bye"]
    wait_for_client(server, changed)
    browser, tokens = signed_in(server, project, server.url)
    assert_error_page(end_session(browser, server.url, id_token_hint=tokens["id_token"],
                                  post_logout_redirect_uri=SIGNED_OUT))
    response = end_session(browser, server.url, id_token_hint=tokens["id_token"],
                           post_logout_redirect_uri="https://app.example/later")
    assert response.status_code == 303 and response.headers["Location"] == "https://app.example/later"


def test_a_bad_post_logout_redirect_uri_is_refused_by_the_cli(server: Server, capsys):
    from astapa import cli

    for uri in ("http://app.example/bye", "https://app.example/bye#x", "javascript:alert(1)", "/relative"):
        status = cli.main(["project", "create", "--data-dir", str(server.data_dir), "--name", "x", "--live",
                           "--redirect-uri", REDIRECT_URI, "--post-logout-redirect-uri", uri])
        assert status == 2
        err = capsys.readouterr().err
        assert "post-logout-redirect-uri" in err or "redirect URI 'http://app.example/bye'" in err, err


# -- in a browser ----------------------------------------------------------------------------------

@contextmanager
def relying_party() -> Iterator[tuple[str, list[str]]]:
    """A stand-in relying party on its own loopback port: every path answers a tiny page,
    and the paths (with their queries) it was asked for are recorded."""
    seen: list[str] = []
    with serve_pages({}, default="<!doctype html><title>relying party</title><p>Back at the app.</p>",
                     seen=seen) as url:
        yield url, seen


def test_in_a_browser_sign_in_then_log_out_then_authorize_asks_for_credentials(page: Page, server: Server):
    """Chromium: sign up through the hosted pages, the relying party sends the browser to
    end_session with the ID token, and the browser lands back at the RP with its state; the
    next authorization request shows the sign-in form, not a code. Without the hint, the
    "Sign out" button does it."""
    with relying_party() as (rp, seen):
        callback, signed_out = f"{rp}/callback", f"{rp}/signed-out"
        project = create_project(server, signed_out, redirect_uri=callback)
        authorize_url = f"{server.url}/oauth/authorize?" + urlencode({
            "response_type": "code", "client_id": project["client_id"], "redirect_uri": callback,
            "scope": "openid email", "state": "one"})
        page.goto(authorize_url)
        page.get_by_role("link", name="Sign up", exact=True).click()
        page.get_by_label("Email", exact=True).fill("chromium@example.org")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign up", exact=True).click()
        page.wait_for_url(f"{callback}?**")
        tokens = exchange(server.url, project, query_of(page.url)["code"], redirect_uri=callback).json()

        page.goto(authorize_url)  # signed in: straight back with a code
        assert page.url.startswith(f"{callback}?code=")

        page.goto(f"{server.url}/oauth/logout?" + urlencode({
            "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": signed_out, "state": "bye-1"}))
        assert page.url == f"{signed_out}?state=bye-1" and "/signed-out?state=bye-1" in seen

        page.goto(authorize_url)
        expect(page.get_by_label("Password", exact=True)).to_be_visible()

        # Signed in again, a logout without the hint asks first, and the button signs out.
        page.get_by_label("Email", exact=True).fill("chromium@example.org")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_url(f"{callback}?**")
        page.goto(f"{server.url}/oauth/logout?" + urlencode({
            "client_id": project["client_id"], "post_logout_redirect_uri": signed_out, "state": "bye-2"}))
        expect(page.get_by_role("heading", name="Sign out")).to_be_visible()
        assert_no_inline_script(page)
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{signed_out}?**")
        assert page.url == f"{signed_out}?state=bye-2"
        page.goto(authorize_url)
        expect(page.get_by_label("Password", exact=True)).to_be_visible()


def test_hostile_logout_requests_get_a_page_never_a_500(server: Server, project: dict):
    browser, _ = signed_in(server, project, server.url)
    url = f"{server.url}/oauth/logout"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for response in (
        browser.session.get(f"{url}?%ff=1&state=%fe", allow_redirects=False),
        browser.session.get(url + "?" + "&".join(f"p{i}=1" for i in range(100)), allow_redirects=False),
        browser.session.post(url, json={"state": "s"}, allow_redirects=False),
        browser.session.post(url, data="&".join(f"p{i}=1" for i in range(100)), headers=form, allow_redirects=False),
        browser.session.get(url, params={"id_token_hint": "a.b.c" * 1500}, allow_redirects=False),
        browser.session.get(url, params={"id_token_hint": "eyJhbGciOiJub25lIn0.e30."}, allow_redirects=False),
    ):
        assert_error_page(response)
    assert browser.session.get(f"{server.url}/projects/no%20such!/oauth/logout").status_code == 404
    tampered = browser.session.post(f"{server.url}/auth/logout", data={"logout_request": "/projects/%ff?x"},
                                    allow_redirects=False)
    assert_error_page(tampered)
    assert_signed_in(browser, project, server.url)
