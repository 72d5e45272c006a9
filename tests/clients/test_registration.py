"""RFC 7591 registration at a project's own server, the consent page, and the code flow of
a public client through to tokens that carry the project's issuer and the resource."""

import jwt
import pytest
import requests

from tests.clients.conftest import RESOURCE, ConsentBrowser, cli, register
from tests.conftest import Server


def test_registered_public_client_consents_and_gets_project_tokens(server: Server, project: dict):
    client = register(project, scope="openid mcp:tools", grant_types=["authorization_code", "refresh_token"])
    assert "client_secret" not in client and client["token_endpoint_auth_method"] == "none"
    browser = ConsentBrowser(server.url)
    url, verifier = browser.authorization(project["issuer"], client["client_id"],
                                          "http://127.0.0.1:53117/callback", scope="openid mcp:tools",
                                          resource=RESOURCE)
    consent = browser.sign_up_at(url, "ada@example.com")
    assert "Agent Smith" in consent.text and "127.0.0.1" in consent.text and "mcp:tools" in consent.text
    back = browser.answer(consent)
    assert back.location.startswith("http://127.0.0.1:53117/callback?")
    assert back.params["iss"] == project["issuer"] and back.params["state"] == "st-1"
    token = requests.post(f"{project['issuer']}/oauth/token", data={
        "grant_type": "authorization_code", "code": back.params["code"], "client_id": client["client_id"],
        "redirect_uri": "http://127.0.0.1:53117/callback", "code_verifier": verifier, "resource": RESOURCE},
        timeout=10)
    assert token.status_code == 200, token.text
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["iss"] == project["issuer"] and claims["aud"] == RESOURCE
    assert claims["scope"] == "openid mcp:tools"


def exchange(project: dict, client: dict, code: str, verifier: str, redirect_uri: str, **extra) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier, **extra}
    auth = None
    if "client_secret" in client:
        auth = (client["client_id"], client["client_secret"])
    else:
        data["client_id"] = client["client_id"]
    return requests.post(f"{project['issuer']}/oauth/token", data=data, auth=auth, timeout=10)


def signed_up(server: Server, project: dict, client: dict, email: str, **params) -> tuple[ConsentBrowser, str]:
    """A browser signed up at the project's server whose consent page was answered Allow;
    returns it and the code."""
    browser = ConsentBrowser(server.url)
    url, verifier = browser.authorization(project["issuer"], client["client_id"], client["redirect_uris"][0],
                                          **params)
    back = browser.answer(browser.sign_up_at(url, email))
    browser.verifier = verifier
    return browser, back.params["code"]


def test_registration_errors_follow_rfc_7591(server: Server, project: dict):
    url = f"{project['issuer']}/oauth/register"
    cases = [
        ({"redirect_uris": ["https://a.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://a.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["JaVaScRiPt:alert(1)"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://*.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://127.0.0.1/cb"], "application_type": "web"}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_jwt"},
         "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "scope": "mcp:tools admin:everything"}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"},
         "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt",
          "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "invalid_client_metadata"),
        ([1, 2], "invalid_client_metadata"),
    ]
    for body, error in cases:
        response = requests.post(url, json=body, timeout=10)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] == error, (body, response.text)
        assert response.headers["Cache-Control"] == "no-store"
    not_json = requests.post(url, data="redirect_uris=https://a.example/cb", timeout=10)
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid_client_metadata"


def test_registration_is_off_unless_the_project_allows_it(server: Server, project: dict):
    closed = cli(server, "project", "create", "--name", "Closed", "--redirect-uri", "https://c.example/cb")
    body = {"redirect_uris": ["https://a.example/cb"]}
    response = requests.post(f"{server.url}/projects/{closed['project_id']}/oauth/register", json=body, timeout=10)
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    metadata = requests.get(f"{server.url}/.well-known/oauth-authorization-server/projects/{closed['project_id']}",
                            timeout=10).json()
    assert "registration_endpoint" not in metadata
    cli(server, "project", "update", "--project", closed["project_id"], "--allow-registration")
    metadata = requests.get(f"{server.url}/.well-known/oauth-authorization-server/projects/{closed['project_id']}",
                            timeout=10).json()
    assert metadata["registration_endpoint"] == f"{server.url}/projects/{closed['project_id']}/oauth/register"
    assert requests.post(metadata["registration_endpoint"], json=body, timeout=10).status_code == 201
    cli(server, "project", "update", "--project", closed["project_id"], "--no-allow-registration")
    assert requests.post(metadata["registration_endpoint"], json=body, timeout=10).status_code == 404


def test_registrations_per_ip_are_limited(start_server, clock):
    server = start_server(registrations_per_ip=3)
    made = cli(server, "project", "create", "--name", "P", "--redirect-uri", "https://a.example/cb",
               "--allow-registration")
    url = f"{server.url}/projects/{made['project_id']}/oauth/register"
    body = {"redirect_uris": ["https://a.example/cb"]}
    assert [requests.post(url, json=body, timeout=10).status_code for _ in range(3)] == [201, 201, 201]
    refused = requests.post(url, json=body, timeout=10)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    clock.advance(3601)
    assert requests.post(url, json=body, timeout=10).status_code == 201


def test_confidential_registered_client_gets_a_secret_kept_only_as_a_hash(server: Server, project: dict):
    from tests.process import export_events

    client = register(project, token_endpoint_auth_method="client_secret_basic",
                      redirect_uris=["https://agent.example/cb"], scope="mcp:tools")
    assert client["client_secret_expires_at"] == 0 and len(client["client_secret"]) >= 32
    browser, code = signed_up(server, project, client, "grace@example.com", scope="mcp:tools", resource=RESOURCE)
    token = exchange(project, client, code, browser.verifier, "https://agent.example/cb")
    assert token.status_code == 200, token.text
    wrong = exchange(project, {**client, "client_secret": "not-it"}, code, browser.verifier, "https://agent.example/cb")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert client["client_secret"] not in str(export_events(server.data_dir))


def test_consent_is_remembered_asked_again_for_more_and_denial_is_access_denied(server: Server, project: dict):
    client = register(project, scope="openid mcp:tools mcp:admin")
    redirect = client["redirect_uris"][0]
    browser, code = signed_up(server, project, client, "lin@example.com", scope="mcp:tools")
    # The same scopes again: no page, straight back with a code.
    url, _ = browser.authorization(project["issuer"], client["client_id"], redirect, scope="mcp:tools")
    again = browser.get(url)
    assert again.status_code == 303 and "code=" in again.headers["Location"]
    # More scopes: asked again; denying sends access_denied with state and iss.
    url, _ = browser.authorization(project["issuer"], client["client_id"], redirect, scope="mcp:tools mcp:admin")
    page = browser.get(url)
    assert page.status_code == 200 and "mcp:admin" in page.text
    denied = browser.answer(page, "cancel")
    assert denied.params["error"] == "access_denied" and denied.params["state"] == "st-1"
    assert denied.params["iss"] == project["issuer"] and "code" not in denied.params
    # prompt=consent asks even for what was granted.
    url, _ = browser.authorization(project["issuer"], client["client_id"], redirect, scope="mcp:tools",
                                   prompt="consent")
    assert browser.get(url).status_code == 200
    # Without the CSRF token the answer is refused, and no code is issued.
    page = browser.get(url)
    forged = browser.session.post(f"{server.url}/auth/consent", data={
        "authorization": url.split("?", 1)[1] and f"/projects/{project['project_id']}?{url.split('?', 1)[1]}",
        "action": "allow"}, allow_redirects=False, timeout=10)
    assert forged.status_code == 403 and "code=" not in forged.headers.get("Location", "")


def test_first_party_clients_see_no_consent_page(server: Server, project: dict):
    """The project's own client signs in straight through, at either server."""
    browser = ConsentBrowser(server.url)
    url, verifier = browser.authorization(project["issuer"], project["client_id"], "https://app.example/callback")
    back = browser.sign_up_at(url, "ann@example.com")
    assert back.status_code == 303 and "code=" in back.headers["Location"]
    assert f"iss={requests.utils.quote(project['issuer'], safe='')}" in back.headers["Location"]


def test_third_party_clients_must_use_pkce(server: Server, project: dict):
    client = register(project)
    browser = ConsentBrowser(server.url)
    url, _ = browser.authorization(project["issuer"], client["client_id"], client["redirect_uris"][0])
    url = url.replace("code_challenge_method=S256", "").replace("code_challenge=", "x=")
    refused = browser.get(url)
    assert refused.status_code == 303
    params = dict(p.split("=", 1) for p in refused.headers["Location"].split("?", 1)[1].split("&"))
    assert params["error"] == "invalid_request"


def test_public_client_refreshes_with_rotation_revokes_but_cannot_introspect(server: Server, project: dict):
    client = register(project, scope="mcp:tools")
    browser, code = signed_up(server, project, client, "kim@example.com", scope="mcp:tools", resource=RESOURCE)
    first = exchange(project, client, code, browser.verifier, client["redirect_uris"][0]).json()
    token_url = f"{project['issuer']}/oauth/token"
    rotated = requests.post(token_url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                             "client_id": client["client_id"], "resource": RESOURCE}, timeout=10)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    newest = requests.post(token_url, data={"grant_type": "refresh_token", "client_id": client["client_id"],
                                            "refresh_token": rotated.json()["refresh_token"]}, timeout=10)
    assert newest.status_code == 200, newest.text  # so the first token is past any reuse grace
    reused = requests.post(token_url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                            "client_id": client["client_id"]}, timeout=10)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    introspect = requests.post(f"{project['issuer']}/oauth/introspect", timeout=10,
                               data={"token": rotated.json()["access_token"], "client_id": client["client_id"]})
    assert introspect.status_code == 401 and introspect.json()["error"] == "invalid_client"
    revoked = requests.post(f"{project['issuer']}/oauth/revoke", timeout=10,
                            data={"token": rotated.json()["refresh_token"], "client_id": client["client_id"]})
    assert revoked.status_code == 200


def test_consent_page_escapes_what_the_client_chose_to_call_itself(server: Server, project: dict):
    client = register(project, client_name='<script>alert("x")</script> Tools')
    browser = ConsentBrowser(server.url)
    url, _ = browser.authorization(project["issuer"], client["client_id"], client["redirect_uris"][0])
    page = browser.sign_up_at(url, "esc@example.com")
    assert page.status_code == 200 and "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "runs on your own computer" in page.text  # every redirect URI is loopback


def test_prompt_none_never_shows_the_consent_page(server: Server, project: dict):
    client = register(project, scope="mcp:tools mcp:admin")
    browser, _ = signed_up(server, project, client, "quiet@example.com", scope="mcp:tools")
    redirect = client["redirect_uris"][0]
    url, _ = browser.authorization(project["issuer"], client["client_id"], redirect, scope="mcp:admin",
                                   prompt="none")
    answer = browser.get(url)
    assert answer.status_code == 303
    params = dict(p.split("=", 1) for p in answer.headers["Location"].split("?", 1)[1].split("&"))
    assert params["error"] == "consent_required" and "code" not in params
    url, _ = browser.authorization(project["issuer"], client["client_id"], redirect, scope="mcp:tools",
                                   prompt="none")
    assert "code=" in browser.get(url).headers["Location"]  # already allowed: silently


UNVETTED = "https://evil.example/cb"  # anyone may register it: nobody vetted it


def assert_page(response: requests.Response) -> None:
    """Shown on Astapa's own page (400), never a redirect to the client."""
    assert response.status_code == 400, (response.status_code, response.headers.get("Location"),
                                         response.text[:300])
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")


BEFORE_INTERACTION = [
    {"response_type": "token"}, {"scope": "admin:everything"}, {"prompt": "none"}, {"max_age": "-1"},
    {"resource": "https://elsewhere.example/api"}, {"prompt": "bogus"}, {"code_challenge_method": "plain"},
]


def test_errors_before_the_user_interacted_are_a_page_for_a_self_registered_redirect_uri(
        server: Server, project: dict):
    """RFC 9700 §4.11.2: a self-registered redirect URI is not vetted, so an error found
    before the user did anything is shown as a page; a redirect there at once would make
    Astapa an open redirector. At the project's server and the service-wide one, on GET and
    on a form posted from elsewhere."""
    client = register(project, redirect_uris=[UNVETTED], scope="mcp:tools")
    for issuer in (project["issuer"], server.url):
        browser = ConsentBrowser(server.url)
        for params in BEFORE_INTERACTION:
            url, _ = browser.authorization(issuer, client["client_id"], UNVETTED, **params)
            assert_page(browser.get(url))
        url, _ = browser.authorization(issuer, client["client_id"], UNVETTED)
        assert_page(browser.get(url.replace("code_challenge=", "x=")))  # no PKCE
        carried = url.split("?", 1)[1].replace("response_type=code", "response_type=token")
        if issuer != server.url:
            carried = f"/projects/{project['project_id']}?{carried}"
        for path in ("login", "signup", "consent"):
            posted = browser.session.post(f"{server.url}/auth/{path}", data={"authorization": carried},
                                          allow_redirects=False, timeout=10)
            assert_page(posted)


def test_only_the_users_answer_reaches_a_self_registered_redirect_uri(server: Server, project: dict):
    """Once the user has answered (Deny), the answer goes back to the client; a signed-in
    user's prompt=none still gets a page while the client is not allowed yet."""
    client = register(project, redirect_uris=[UNVETTED], scope="mcp:tools")
    browser = ConsentBrowser(server.url)
    url, _ = browser.authorization(project["issuer"], client["client_id"], UNVETTED, scope="mcp:tools")
    denied = browser.answer(browser.sign_up_at(url, "deny@example.com"), "cancel")
    assert denied.location.startswith(UNVETTED + "?") and denied.params["error"] == "access_denied"
    url, _ = browser.authorization(project["issuer"], client["client_id"], UNVETTED, scope="mcp:tools",
                                   prompt="none")
    assert_page(browser.get(url))  # consent_required, found before this user did anything


def test_errors_before_the_user_interacted_go_back_to_a_loopback_redirect_uri(server: Server, project: dict):
    """RFC 8252: a loopback redirect URI reaches only the user's own machine, so it gets
    such errors as any vetted redirect URI does."""
    client = register(project, redirect_uris=["http://127.0.0.1/callback"], scope="mcp:tools")
    browser = ConsentBrowser(server.url)
    for params in BEFORE_INTERACTION:
        url, _ = browser.authorization(project["issuer"], client["client_id"], "http://127.0.0.1:4711/callback",
                                       **params)
        refused = browser.get(url)
        assert refused.status_code == 303, (params, refused.text[:300])
        assert refused.headers["Location"].startswith("http://127.0.0.1:4711/callback?error=")


def test_consent_covers_the_resource_and_another_resource_asks_again(server: Server, project: dict):
    """Consent covers the client, the scopes and the resource: allowing mcp:tools at one
    resource allows nothing at another (or at none); the answer there is remembered too."""
    other = "https://mcp-two.example/mcp"
    cli(server, "resource", "add", "--project", project["project_id"], "--uri", other, "--scope", "mcp:tools")
    client = register(project, scope="mcp:tools")
    redirect = client["redirect_uris"][0]
    browser, _ = signed_up(server, project, client, "res@example.com", scope="mcp:tools", resource=RESOURCE)

    def authorize(**params: str) -> requests.Response:
        url, _ = browser.authorization(project["issuer"], client["client_id"], redirect, scope="mcp:tools",
                                       **params)
        return browser.get(url)

    again = authorize(resource="https://MCP.example/mcp/")  # the same resource, spelled otherwise
    assert again.status_code == 303 and "code=" in again.headers["Location"]
    for asked in ({"resource": other}, {}):
        page = authorize(**asked)
        assert page.status_code == 200 and "consent" in page.text, asked
        assert other in page.text or not asked
        silent = authorize(prompt="none", **asked)
        assert silent.status_code == 303 and "error=consent_required" in silent.headers["Location"]
    allowed = browser.answer(authorize(resource=other))
    assert "code" in allowed.params
    assert "code=" in authorize(resource=other).headers["Location"]
    assert "code=" in authorize(resource=RESOURCE).headers["Location"]  # the first answer still stands


@pytest.mark.parametrize("control", ["\n", "\t", "\x00", "\x7f", "\x85", "\x9b"],
                         ids=["LF", "TAB", "NUL", "DEL", "NEL", "CSI"])
def test_registration_refuses_a_redirect_uri_holding_a_control_character(server: Server, project: dict, control):
    for uri in (f"http://127.0.0.1/call{control}back", f"https://a.example/cb{control}"):
        response = requests.post(f"{project['issuer']}/oauth/register", timeout=10,
                                 json={"redirect_uris": [uri], "token_endpoint_auth_method": "none"})
        assert response.status_code == 400, (uri, response.text)
        assert response.json()["error"] == "invalid_redirect_uri", (uri, response.text)
