"""The management API for the project itself, over HTTP against a real server: its
settings, its own client's secret, its other clients, its resources and its log. Each
change is checked where it matters (an authorization request, the token endpoint,
discovery), not only in the API's own answers."""

import uuid
from urllib.parse import urlencode

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from astapa.web.appkeys import application_key, writer_key
from tests.conftest import Server, project_on, run_cli, wait_for_client
from tests.flows import REDIRECT_URI
from tests.management.test_users_and_claims import Api

NEW_URI = "https://app.example/auth/return"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EC_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEYS = {"keys": [{**ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"}]}


@pytest.fixture
def project(server: Server) -> dict:
    return project_on(server, "orders:read", name="Orders app")


@pytest.fixture
def api(server: Server, project: dict) -> Api:
    return Api(server, project)


def with_secret(client: dict, secret: str) -> dict:
    return {**client, "client_secret": secret}


def authorize(server: Server, project: dict, redirect_uri: str) -> requests.Response:
    query = urlencode({"client_id": project["client_id"], "redirect_uri": redirect_uri, "response_type": "code"})
    return requests.get(f"{server.url}/oauth/authorize?{query}", allow_redirects=False, timeout=10)


# -- the project ---------------------------------------------------------------------------------

def test_the_project_as_created_without_its_secret(api: Api, project: dict):
    response = api.get("/project")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.json() == {
        "project_id": project["project_id"], "name": "Orders app", "mode": "sandbox",
        "client_id": project["client_id"], "redirect_uris": [REDIRECT_URI], "post_logout_redirect_uris": [],
        "scopes": ["orders:read"], "providers": [], "resources": {}, "require_verified_email": False,
        "allow_registration": False, "refresh_reuse_grace": 0, "access_token_ttl": None,
        "refresh_ttl": None, "pin_sign_in": False, "pin_refresh_ttl": 30 * 86400,
        "two_factor_required": False, "two_factor_grace": 7 * 86400,
        "branding": {"display_name": "", "logo_url": "", "primary_color": ""},
        "created_at": response.json()["created_at"]}
    assert project["client_secret"] not in response.text and "hash" not in response.text


def test_a_new_redirect_uri_signs_in_and_the_old_one_is_refused(server: Server, api: Api, project: dict):
    assert authorize(server, project, NEW_URI).status_code == 400
    changed = api.send("PATCH", "/project", {"name": "  Orders  ", "redirect_uris": [NEW_URI, NEW_URI]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Orders" and changed.json()["redirect_uris"] == [NEW_URI]
    page = authorize(server, project, NEW_URI)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Orders" in page.text
    refused = authorize(server, project, REDIRECT_URI)
    assert refused.status_code == 400 and "Location" not in refused.headers


def test_the_other_settings_change_together(api: Api):
    changed = api.send("PATCH", "/project", {
        "post_logout_redirect_uris": ["https://app.example/bye"], "require_verified_email": True,
        "allow_registration": True, "refresh_reuse_grace": 30})
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("post_logout_redirect_uris", "require_verified_email",
                                           "allow_registration", "refresh_reuse_grace")} == {
        "post_logout_redirect_uris": ["https://app.example/bye"], "require_verified_email": True,
        "allow_registration": True, "refresh_reuse_grace": 30}
    assert api.get("/project").json() == changed.json()


def test_the_projects_scopes_and_access_token_lifetime(server: Server, api: Api, project: dict):
    changed = api.send("PATCH", "/project", {"scopes": ["orders:write", "orders:write"], "access_token_ttl": 90})
    assert changed.status_code == 200, changed.text
    assert changed.json()["scopes"] == ["orders:write"] and changed.json()["access_token_ttl"] == 90
    token = server.token(project, scope="orders:write")
    assert token.status_code == 200 and token.json()["expires_in"] == 90
    assert server.token(project, scope="orders:read").json()["error"] == "invalid_scope"  # replaced
    assert api.send("PATCH", "/project", {"access_token_ttl": None}).json()["access_token_ttl"] is None


@pytest.mark.parametrize("change, error", [
    ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
    ({"scopes": ["a b"]}, "invalid_request"),
    ({"access_token_ttl": 0}, "invalid_request"),
    ({"access_token_ttl": 86401}, "invalid_request"),
    ({"post_logout_redirect_uris": ["https://app.example/bye#top"]}, "invalid_redirect_uri"),
    ({"refresh_reuse_grace": 301}, "invalid_request"),
    ({"redirect_uris": []}, "invalid_request"),
    ({"require_verified_email": "yes"}, "invalid_request"),
    ({"colour": "blue"}, "invalid_request"),
    ({"name": "tab\tinside"}, "invalid_request"),
    ({"name": "x" * 101}, "invalid_request"),
])
def test_a_patch_with_one_bad_field_changes_nothing(api: Api, change: dict, error: str):
    before = api.get("/project").json()
    response = api.send("PATCH", "/project", {"name": "Renamed", "allow_registration": True, **change})
    assert response.status_code == 400 and response.json()["error"] == error, response.text
    assert api.get("/project").json() == before


def test_a_live_project_takes_only_https_and_loopback_redirect_uris(server: Server):
    live = Api(server, project_on(server, live=True))
    refused = live.send("PATCH", "/project", {"redirect_uris": ["http://app.test/callback"]})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_redirect_uri"
    assert live.send("PATCH", "/project", {"redirect_uris": ["http://127.0.0.1:8000/cb"]}).status_code == 200


def test_an_empty_patch_is_refused(api: Api):
    response = api.send("PATCH", "/project", {})
    assert response.status_code == 400 and "send any of name" in response.json()["error_description"]


# -- the project's own secret --------------------------------------------------------------------

def test_a_rotated_secret_works_the_old_one_until_revoked(server: Server, api: Api, project: dict):
    rotated = api.send("POST", "/project/rotate-secret", {})
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["client_id"] == project["client_id"] and body["previous_secret_valid_until"]
    new = with_secret(project, body["client_secret"])
    assert server.token(new).status_code == 200
    assert server.token(project).status_code == 200  # the old one, in its grace
    revoked = Api(server, new).send("POST", "/project/revoke-previous-secret", {})
    assert revoked.status_code == 200 and revoked.json() == {"client_id": project["client_id"],
                                                             "previous_secret_revoked": True}
    assert server.token(project).status_code == 401
    assert server.token(new).status_code == 200
    assert api.get("/project").status_code == 401  # the API takes the same credentials


def test_the_secret_being_replaced_works_but_manages_no_credentials(server: Server, api: Api, project: dict):
    """Whoever holds a leaked secret must not take the project back from the rotation meant
    to shut them out: in its grace the old secret keeps the app working (tokens, users),
    and every call that changes secrets, clients, resources or settings refuses it."""
    rotated = api.send("POST", "/project/rotate-secret", {})
    new = with_secret(project, rotated.json()["client_secret"])
    assert server.token(project).status_code == 200
    assert api.get("/users").status_code == 200 and api.get("/project").status_code == 200
    for method, path, body in (("POST", "/project/rotate-secret", {"revoke_old": True}),
                               ("POST", "/project/revoke-previous-secret", {}),
                               ("PATCH", "/project", {"redirect_uris": ["https://evil.example/cb"]}),
                               ("POST", "/clients", {"name": "backdoor"}),
                               ("PUT", "/resources", {"uri": "https://api.evil.example/", "scopes": []}),
                               ("PATCH", "/project", {"branding": {"display_name": "Evil", "logo_url": "",
                                                                   "primary_color": ""}}),
                               ("PUT", "/project/providers/google", {"client_id": "evil", "client_secret": "evil"}),
                               ("DELETE", "/project/providers/google", None),
                               ("PUT", "/project/payments", {"secret_key": "xnd_development_evil-key"}),
                               ("POST", "/project/go-live", {})):
        refused = api.send(method, path, body)
        assert refused.status_code == 403 and "new secret" in refused.json()["error_description"], (path, refused.text)
    assert server.token(new).status_code == 200
    assert Api(server, new).get("/project").json()["redirect_uris"] == [REDIRECT_URI]


def test_revoke_old_stops_the_old_secret_at_once(server: Server, api: Api, project: dict):
    rotated = api.send("POST", "/project/rotate-secret", {"revoke_old": True})
    assert rotated.status_code == 200 and rotated.json()["previous_secret_valid_until"] is None
    assert server.token(project).status_code == 401
    assert server.token(with_secret(project, rotated.json()["client_secret"])).status_code == 200
    assert api.send("POST", "/project/rotate-secret", {"revoke_old": "yes"}).status_code == 401


def test_rotation_takes_body_credentials_and_refuses_unknown_fields(server: Server, api: Api, project: dict):
    url = f"{server.url}/api/platform/project/rotate-secret"
    refused = requests.post(url, json={"client_id": project["client_id"], "client_secret": project["client_secret"],
                                       "revoke": True}, timeout=10)
    assert refused.status_code == 400 and refused.json()["error_description"] == "unknown field 'revoke'"
    assert requests.post(url, json={"client_id": project["client_id"], "client_secret": project["client_secret"]},
                         timeout=10).status_code == 200
    assert requests.post(url, auth=(project["client_id"], project["client_secret"]), timeout=10).status_code == 400


# -- the project's other clients -----------------------------------------------------------------

def test_clients_are_made_listed_rotated_and_deleted(server: Server, api: Api, project: dict):
    created = api.send("POST", "/clients", {"name": "Nightly export", "scopes": ["orders:read", "orders:read"],
                                            "token_ttl": 600})
    assert created.status_code == 201, created.text
    client = created.json()
    assert client["scopes"] == ["orders:read"] and client["token_ttl"] == 600
    assert client["token_endpoint_auth_method"] == "client_secret_basic"
    assert client["grant_types"] == ["client_credentials"]
    issued = server.token(client, scope="orders:read")
    assert issued.status_code == 200 and issued.json()["expires_in"] == 600

    listed = api.get("/clients")
    assert listed.status_code == 200
    assert [(c["client_id"], c["name"], c["kind"]) for c in listed.json()["clients"]] == [
        (client["client_id"], "Nightly export", "machine")]  # not the project's own
    assert client["client_secret"] not in listed.text and "hash" not in listed.text

    rotated = api.send("POST", f"/clients/{client['client_id']}/rotate-secret", {})
    assert rotated.status_code == 200 and rotated.json()["client_id"] == client["client_id"]
    new = with_secret(client, rotated.json()["client_secret"])
    assert server.token(new).status_code == 200 and server.token(client).status_code == 200
    assert api.send("POST", f"/clients/{client['client_id']}/revoke-previous-secret", {}).status_code == 200
    assert server.token(client).status_code == 401 and server.token(new).status_code == 200

    deleted = requests.delete(f"{api.url}/clients/{client['client_id']}", auth=api.auth, timeout=10)
    assert deleted.status_code == 200 and deleted.json() == {"client_id": client["client_id"], "deleted": True}
    assert server.token(new).status_code == 401
    assert api.get("/clients").json() == {"clients": []}
    for again in (requests.delete(f"{api.url}/clients/{client['client_id']}", auth=api.auth, timeout=10),
                  api.send("POST", f"/clients/{client['client_id']}/rotate-secret", {})):
        assert again.status_code == 404


def test_a_client_with_its_own_keys_has_no_secret(server: Server, api: Api, project: dict):
    created = api.send("POST", "/clients", {"name": "agent", "jwks": PUBLIC_KEYS})
    assert created.status_code == 201, created.text
    client = created.json()
    assert "client_secret" not in client and client["token_endpoint_auth_method"] == "private_key_jwt"
    now = int(server.clock.now())
    assertion = jwt.encode({"iss": client["client_id"], "sub": client["client_id"], "aud": server.url, "iat": now,
                            "exp": now + 300, "jti": uuid.uuid4().hex}, EC_KEY, algorithm="ES256",
                           headers={"kid": "ec-1"})
    issued = requests.post(f"{server.url}/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": assertion})
    assert issued.status_code == 200, issued.text
    refused = api.send("POST", f"/clients/{client['client_id']}/rotate-secret", {})
    assert refused.status_code == 409 and refused.json()["error"] == "conflict"
    by_uri = api.send("POST", "/clients", {"name": "agent 2", "jwks_uri": "https://agent.example/jwks.json"})
    assert by_uri.status_code == 201 and by_uri.json()["token_endpoint_auth_method"] == "private_key_jwt"


@pytest.mark.parametrize("body, description", [
    ({"name": "a", "jwks": PUBLIC_KEYS, "jwks_uri": "https://agent.example/jwks.json"}, "send jwks or jwks_uri"),
    ({"name": "a", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "jwks: "),
    ({"name": "a", "jwks": {"kty": "EC", "crv": "P-256", "x": "bad", "y": "bad"}}, "jwks: "),
    ({"name": "a", "jwks_uri": "http://agent.example/jwks.json"}, "jwks_uri: "),
    ({"name": "a", "token_ttl": 86401}, "token_ttl: "),
    ({"name": "a", "scopes": ["has space"]}, "scopes: "),
    ({"scopes": []}, "name: "),
])
def test_a_bad_client_is_refused(api: Api, body: dict, description: str):
    response = api.send("POST", "/clients", body)
    assert response.status_code == 400 and response.json()["error_description"].startswith(description), \
        response.text
    assert api.get("/clients").json() == {"clients": []}


def test_another_projects_client_is_not_found(server: Server, api: Api, project: dict):
    other = project_on(server)
    theirs = run_cli("client", "create", "--data-dir", str(server.data_dir), "--project", other["project_id"],
                     "--name", "theirs")
    wait_for_client(server, theirs)
    for client_id in (theirs["client_id"], project["client_id"], "cid_unknown", "not%20an%20id"):
        assert requests.delete(f"{api.url}/clients/{client_id}", auth=api.auth, timeout=10).status_code == 404
        for action in ("rotate-secret", "revoke-previous-secret"):
            response = api.send("POST", f"/clients/{client_id}/{action}", {})
            assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert server.token(theirs).status_code == 200
    assert server.token(project).status_code == 200


# -- resources -----------------------------------------------------------------------------------

def test_a_resource_is_registered_and_discovered(server: Server, api: Api, project: dict):
    put = api.send("PUT", "/resources", {"uri": "https://api.example.com/orders", "scopes": ["orders:write"]})
    assert put.status_code == 200, put.text
    assert put.json() == {"resources": {"https://api.example.com/orders": ["orders:write"]}}
    metadata = requests.get(f"{server.url}/projects/{project['project_id']}/.well-known/openid-configuration",
                            timeout=10).json()
    assert "orders:write" in metadata["scopes_supported"]
    again = api.send("PUT", "/resources", {"uri": "https://api.example.com/orders", "scopes": ["orders:admin"]})
    assert again.json() == {"resources": {"https://api.example.com/orders": ["orders:admin"]}}
    assert api.get("/project").json()["resources"] == again.json()["resources"]


def test_another_projects_resource_is_a_conflict(server: Server, api: Api):
    assert api.send("PUT", "/resources", {"uri": "https://api.example.com/orders", "scopes": []}).status_code == 200
    other = Api(server, project_on(server))
    for spelling in ("https://api.example.com/orders", "HTTPS://API.example.com:443/orders/"):
        response = other.send("PUT", "/resources", {"uri": spelling, "scopes": ["x"]})
        assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert other.get("/project").json()["resources"] == {}


def test_twins_share_their_resources(server: Server, api: Api, project: dict):
    """Going live copies the sandbox's resources: neither twin is another project to the other."""
    assert api.send("PUT", "/resources", {"uri": "https://api.example.com", "scopes": ["a"]}).status_code == 200
    application, writer = server.web_app[application_key], server.web_app[writer_key]
    live, _ = server.run(writer.run(application.go_live, project["project_id"], True, None))
    wait_for_client(server, live)
    assert api.get("/project").json()["live_project_id"] == live["project_id"]
    twin = Api(server, live)
    assert twin.get("/project").json()["sandbox_project_id"] == project["project_id"]
    for either in (api, twin):
        response = either.send("PUT", "/resources", {"uri": "https://api.example.com", "scopes": ["a", "b"]})
        assert response.status_code == 200, response.text
    stranger = Api(server, project_on(server)).send("PUT", "/resources", {"uri": "https://api.example.com",
                                                                          "scopes": []})
    assert stranger.status_code == 409


@pytest.mark.parametrize("body", [
    {"uri": "ftp://api.example.com", "scopes": []}, {"uri": "https://user@api.example.com", "scopes": []},
    {"uri": "https://api.example.com#x", "scopes": []}, {"uri": "https://api.example.com"},
])
def test_a_bad_resource_is_refused(api: Api, body: dict):
    assert api.send("PUT", "/resources", body).status_code == 400


# -- the project's log ---------------------------------------------------------------------------

def test_the_log_shows_the_changes_newest_first_and_filters(api: Api, project: dict):
    assert api.send("PATCH", "/project", {"name": "Orders", "redirect_uris": [NEW_URI]}).status_code == 200
    created = api.send("POST", "/clients", {"name": "bot"}).json()
    page = api.get("/events")
    assert page.status_code == 200, page.text
    events = page.json()["events"]
    assert [(e["type"], e["subject"], e["actor"]) for e in events[:3]] == [
        ("Client.Created", created["client_id"], "api"), ("Project.RedirectUrisChanged", None, "api"),
        ("Project.Renamed", None, "api")]
    assert "Project.Created" in [e["type"] for e in events] and page.json()["next"] is None
    positions = [e["position"] for e in events]
    assert positions == sorted(positions, reverse=True)

    renamed = api.get("/events", type="Project.Renamed").json()
    assert [e["type"] for e in renamed["events"]] == ["Project.Renamed"]
    assert api.get("/events", actor="api").json()["events"] == events[:3]
    first = api.get("/events", limit=1).json()
    assert first["events"] == events[:1] and first["next"] == events[0]["position"]
    second = api.get("/events", limit=1, before=first["next"]).json()
    assert second["events"] == events[1:2]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"limit": "x"}, {"before": 0}, {"before": ""},
                                    {"type": "x" * 201}, {"type": ["a", "b"]}])
def test_bad_log_queries_are_refused(api: Api, params: dict):
    response = api.get("/events", **params)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# -- who may call --------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/project"), ("PATCH", "/project"), ("POST", "/project/rotate-secret"),
    ("POST", "/project/revoke-previous-secret"), ("GET", "/clients"), ("POST", "/clients"),
    ("DELETE", "/clients/cid_x"), ("POST", "/clients/cid_x/rotate-secret"), ("PUT", "/resources"),
    ("GET", "/events"), ("PUT", "/project/providers/google"), ("DELETE", "/project/providers/github"),
    ("PUT", "/project/payments"), ("POST", "/project/go-live"),
])
def test_wrong_credentials_are_401_and_a_machine_client_403(server: Server, api: Api, project: dict, method: str,
                                                            path: str):
    body = None if method in ("GET", "DELETE") else {"name": "x"}
    wrong = requests.request(method, f"{api.url}{path}", json=body, timeout=10,
                             auth=(project["client_id"], "not-the-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert requests.request(method, f"{api.url}{path}", json=body, timeout=10).status_code == 401
    machine = run_cli("client", "create", "--data-dir", str(server.data_dir), "--project", project["project_id"],
                      "--name", "bot")
    wait_for_client(server, machine)
    forbidden = requests.request(method, f"{api.url}{path}", json=body, timeout=10,
                                 auth=(machine["client_id"], machine["client_secret"]))
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "access_denied"
    assert api.get("/project").json()["name"] == "Orders app"  # nothing changed
