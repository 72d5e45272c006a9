"""RFC 6749 §4.1.1/§4.1.2.1 authorization requests at /auth/login and /oauth/authorize,
RFC 7636 PKCE, RFC 9207 `iss`. Checklist A (C-01 … C-18) and B (C-24 … C-29).

Errors about the client or the redirect URI are pages on our origin and never redirect;
every other error goes back to the registered redirect URI with error, state and iss.
"""

from urllib.parse import quote, urlencode

import pytest
import requests

from tests.conftest import Server, run_cli, wait_for_client
from tests.flows import REDIRECT_URI, Browser, exchange, query_of

RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def get(server: Server, query: str, path: str = "/auth/login", **headers) -> requests.Response:
    return requests.get(f"{server.url}{path}?{query}", allow_redirects=False, headers=headers, timeout=10)


def authorize_query(project: dict, **params: str) -> str:
    return urlencode({"client_id": project["client_id"], "redirect_uri": REDIRECT_URI,
                      "response_type": "code", **params})


def assert_error_page(response: requests.Response) -> None:
    assert response.status_code == 400, response.status_code
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")


def assert_redirected_error(server: Server, response: requests.Response, error: str, state: str | None = None):
    assert response.status_code == 303, response.text[:300]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = query_of(location)
    assert params["error"] == error and params["iss"] == server.url
    assert params.get("state") == state


MISMATCHED = [
    "https://app.example/callback/", "https://app.example/callback?x=1", "https://app.example/callback#f",
    "https://APP.example/callback", "https://app.example/CALLBACK", "HTTPS://app.example/callback",
    "https://app.example:443/callback", "https://app.example/%63allback", "https://app.example/callback/../callback",
    "https://app.example/x/..;/callback", "https://app.example@evil.example/callback",
    "https://app.example/callback@evil.example", "https://app.example.evil.example/callback",
    "http://app.example/callback", "https://app.example/callback%0d%0aX:y", " https://app.example/callback",
    "https://app.example/callback ",
]


@pytest.mark.parametrize("redirect_uri", MISMATCHED)
def test_redirect_uri_must_match_byte_for_byte(server: Server, make_project, redirect_uri):
    """C-01, C-06: an error page, never a redirect."""
    project = make_project()
    response = get(server, f"client_id={project['client_id']}&redirect_uri={quote(redirect_uri, safe='')}")
    assert_error_page(response)


def test_unknown_client_and_missing_redirect_uri_are_pages(server: Server, make_project):
    """C-05, C-06, C-09 (repeated client_id / redirect_uri), and a machine client (C-12)."""
    project = make_project()
    machine = run_cli("client", "create", "--data-dir", str(server.data_dir), "--project",
                      project["project_id"], "--name", "bot")
    wait_for_client(server, machine)
    assert_error_page(get(server, urlencode({"client_id": "cid_nope", "redirect_uri": REDIRECT_URI})))
    assert_error_page(get(server, urlencode({"client_id": project["client_id"]})))
    assert_error_page(get(server, f"client_id={project['client_id']}&client_id=x&redirect_uri={quote(REDIRECT_URI)}"))
    assert_error_page(get(server, authorize_query(project) + f"&redirect_uri={quote(REDIRECT_URI)}"))
    assert_error_page(get(server, urlencode({"client_id": machine["client_id"], "redirect_uri": REDIRECT_URI})))


def test_registered_query_must_match_exactly(server: Server):
    """C-02, C-05: a URI with a query matches only with it; two URIs, none chosen: a page."""
    project = run_cli("project", "create", "--data-dir", str(server.data_dir), "--name", "q",
                      "--redirect-uri", "https://a.example/cb?tenant=1", "--redirect-uri", "https://a.example/two")
    wait_for_client(server, project)
    ok = get(server, urlencode({"client_id": project["client_id"], "redirect_uri": "https://a.example/cb?tenant=1"}))
    assert ok.status_code == 200
    assert_error_page(get(server, urlencode({"client_id": project["client_id"],
                                             "redirect_uri": "https://a.example/cb?tenant=2"})))
    assert_error_page(get(server, urlencode({"client_id": project["client_id"]})))
    # The response is added to the registered query, not in place of it.
    redirected = get(server, urlencode({"client_id": project["client_id"], "redirect_uri": "https://a.example/cb?tenant=1",
                                        "response_type": "token", "state": "s"}))
    assert redirected.headers["Location"].startswith("https://a.example/cb?tenant=1&")


@pytest.mark.parametrize("uri", [
    "https://a.example/cb#frag", "https://*.example/cb", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,hi", "vbscript:x", "http://a.example/cb", "https://user@a.example/cb", "/relative",
])
def test_registration_refuses_unsafe_redirect_uris(server: Server, uri):
    """C-03, C-04: fragments, wildcards, script schemes and plain http off loopback (a live
    project's rule; a sandbox takes http on any host, tests/clients/test_sandbox_and_live.py)."""
    from astapa import cli

    assert cli.main(["project", "create", "--data-dir", str(server.data_dir), "--name", "x", "--live",
                     "--redirect-uri", uri]) == 2


def test_loopback_http_redirect_uri_is_accepted_at_registration(server: Server):
    run_cli("project", "create", "--data-dir", str(server.data_dir), "--name", "native",
            "--redirect-uri", "http://127.0.0.1:8400/cb")


@pytest.mark.parametrize("params,error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "id_token token"}, "unsupported_response_type"),
    ({"scope": "openid admin"}, "invalid_scope"),
    ({"code_challenge": RFC7636_CHALLENGE, "code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": RFC7636_CHALLENGE}, "invalid_request"),  # omitted method means plain
    ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
    ({"code_challenge_method": "S256"}, "invalid_request"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"max_age": "²"}, "invalid_request"),  # a digit to str.isdigit, none to int()
    ({"resource": "not a uri"}, "invalid_target"),
    ({"prompt": "none"}, "login_required"),
])
def test_errors_after_a_valid_redirect_uri_are_redirected(server: Server, make_project, params, error):
    """C-07, C-11, C-25, C-62: error, the exact state, and iss (RFC 9207)."""
    project = make_project()
    response = get(server, authorize_query(project, state="st 1", **params), path="/oauth/authorize")
    assert_redirected_error(server, response, error, "st 1")


def test_repeated_parameter_is_invalid_request(server: Server, make_project):
    """C-09."""
    project = make_project()
    response = get(server, authorize_query(project, state="s") + "&scope=openid&scope=email")
    assert_redirected_error(server, response, "invalid_request", "s")


def test_unknown_and_empty_parameters(server: Server, make_project):
    """C-10: unknown parameters are ignored, empty ones are absent; C-15: no return_to."""
    project = make_project()
    response = get(server, authorize_query(project, extra="foobar", scope="", state="", nonce="",
                                           next="//evil.example", return_to="https://evil.example"))
    assert response.status_code == 200
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(project["client_id"], extra="foobar", state="",
                                                     next="//evil.example"), "ann@example.org")
    assert redirect.location.startswith(REDIRECT_URI + "?") and "state" not in redirect.params


LONG_STATE = ("+/=%&#? état ✓ " * 120)[:1800]


@pytest.mark.parametrize("state", [LONG_STATE, "<script>alert(1)</script>"])
def test_state_comes_back_byte_for_byte(server: Server, make_project, state):
    """C-08 (success and error), C-78 (never executed: the form escapes it)."""
    project = make_project()
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/signup", state=state))
    assert "<script>" not in page.text
    redirect = browser.sign_up(browser.authorize_url(project["client_id"], state=state), "eve@example.org")
    assert redirect.params["state"] == state
    failed = get(server, authorize_query(project, state=state, response_type="token"))
    assert query_of(failed.headers["Location"])["state"] == state


def test_no_state_means_no_state_in_the_response(server: Server, make_project):
    project = make_project()
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(project["client_id"]), "nos@example.org")
    assert set(redirect.params) == {"code", "iss"}


def test_no_cors_on_the_authorization_endpoint(server: Server, make_project):
    """C-16."""
    project = make_project()
    for method in ("GET", "OPTIONS"):
        response = requests.request(method, f"{server.url}/oauth/authorize?{authorize_query(project)}",
                                    headers={"Origin": "https://evil.example"}, allow_redirects=False)
        assert "Access-Control-Allow-Origin" not in response.headers


def test_issuer_in_redirects_never_comes_from_the_host_header(server: Server, make_project):
    """C-18."""
    project = make_project()
    response = get(server, authorize_query(project, response_type="token"), Host="evil.example")
    assert query_of(response.headers["Location"])["iss"] == server.url


def test_rfc7636_test_vector(server: Server, make_project):
    """C-28."""
    project = make_project()
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(
        project["client_id"], code_challenge=RFC7636_CHALLENGE, code_challenge_method="S256"), "v@example.org")
    assert exchange(server.url, project, redirect.params["code"], code_verifier=RFC7636_VERIFIER).status_code == 200


@pytest.mark.parametrize("verifier", [None, "x" * 43, "short", "é" * 43, "a" * 129])
def test_wrong_or_missing_verifier_is_invalid_grant(server: Server, make_project, verifier):
    """C-26: and the code is burnt, so the right verifier fails afterwards."""
    project = make_project()
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(
        project["client_id"], code_challenge=RFC7636_CHALLENGE, code_challenge_method="S256"), "w@example.org")
    extra = {} if verifier is None else {"code_verifier": verifier}
    response = exchange(server.url, project, redirect.params["code"], **extra)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_pkce_downgrade_is_refused(server: Server, make_project):
    """C-27: a code issued without a challenge, redeemed with a verifier."""
    project = make_project()
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(project["client_id"]), "d@example.org")
    response = exchange(server.url, project, redirect.params["code"], code_verifier=RFC7636_VERIFIER)
    assert response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_client_and_redirect_uri(server: Server, make_project):
    """C-22 (and the code is burnt), C-23."""
    project, other = make_project(), make_project(name="other")
    browser = Browser(server.url)
    first = browser.sign_up(browser.authorize_url(project["client_id"]), "b@example.org").params["code"]
    assert exchange(server.url, other, first).json()["error"] == "invalid_grant"
    assert exchange(server.url, project, first).json()["error"] == "invalid_grant"  # burnt
    second = browser.get(browser.authorize_url(project["client_id"])).headers["Location"]
    code = query_of(second)["code"]
    assert exchange(server.url, project, code, redirect_uri="https://app.example/other").json()["error"] == "invalid_grant"
    third = query_of(browser.get(browser.authorize_url(project["client_id"])).headers["Location"])["code"]
    response = requests.post(f"{server.url}/oauth/token", data={"grant_type": "authorization_code", "code": third},
                             auth=(project["client_id"], project["client_secret"]))
    assert response.json()["error"] == "invalid_grant"  # redirect_uri missing at the token endpoint


def test_codes_are_unique_and_long(server: Server, make_project):
    """C-29: 200 codes from one session: no repeats, 43 base64url characters (256 bits)."""
    project = make_project()
    browser = Browser(server.url)
    codes = {browser.sign_up(browser.authorize_url(project["client_id"]), "c@example.org").params["code"]}
    for _ in range(199):
        codes.add(query_of(browser.get(browser.authorize_url(project["client_id"])).headers["Location"])["code"])
    assert len(codes) == 200
    assert all(len(c) == 43 and c.replace("-", "").replace("_", "").isalnum() for c in codes)


# A control character anywhere in a redirect URI: C0 (those urlsplit strips, LF, CR and TAB,
# and those it keeps), DEL and C1.
CONTROL_CHARACTERS = ["\n", "\r", "\t", "\x00", "\x01", "\x1f", "\x7f", "\x85", "\x9b"]
NOT_TRUSTWORTHY = "this redirect_uri is not trustworthy"


@pytest.mark.parametrize("control", CONTROL_CHARACTERS, ids=[f"U+{ord(c):04X}" for c in CONTROL_CHARACTERS])
@pytest.mark.parametrize("where", ["path", "start", "end"])
def test_a_redirect_uri_holding_a_control_character_is_not_trustworthy(server: Server, make_project,
                                                                        control, where):
    """Refused before matching, on an error page: a loopback redirect URI of a public client
    matches on any port, and urlsplit drops LF, CR and TAB (and leading C0) before comparing,
    so http://127.0.0.1:PORT/call%0Aback would otherwise pass for http://127.0.0.1/callback."""
    project = make_project()
    native = run_cli("client", "create", "--data-dir", str(server.data_dir), "--project", project["project_id"],
                     "--name", "native", "--public", "--redirect-uri", "http://127.0.0.1/callback")
    wait_for_client(server, native)
    uri = {"path": f"http://127.0.0.1:5555/call{control}back", "start": f"{control}http://127.0.0.1:5555/callback",
           "end": f"http://127.0.0.1:5555/callback{control}"}[where]
    for response_type in ("code", "token"):  # the second would be an error sent back to it
        response = get(server, urlencode({"client_id": native["client_id"], "redirect_uri": uri,
                                          "response_type": response_type, "state": "s"}), path="/oauth/authorize")
        assert_error_page(response)
        assert NOT_TRUSTWORTHY in response.text.lower(), response.text[:500]
    # The control: the same URI without it is the registered one, on another port.
    plain = uri.replace(control, "")
    assert get(server, urlencode({"client_id": native["client_id"], "redirect_uri": plain,
                                  "code_challenge": RFC7636_CHALLENGE, "code_challenge_method": "S256"}),
               path="/oauth/authorize").status_code == 200


@pytest.mark.parametrize("control", CONTROL_CHARACTERS, ids=[f"U+{ord(c):04X}" for c in CONTROL_CHARACTERS])
def test_the_cli_refuses_a_redirect_uri_holding_a_control_character(server: Server, control):
    from astapa import cli

    assert cli.main(["project", "create", "--data-dir", str(server.data_dir), "--name", "x",
                     "--redirect-uri", f"https://a.example/call{control}back"]) == 2
