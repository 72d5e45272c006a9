"""RFC 6749 §4.4 client_credentials at the token endpoint, with §2.3.1 client authentication,
§5.1 responses, §5.2 errors and RFC 8707 resource indicators."""

import base64
import concurrent.futures
import json
import time

import jwt
import requests

from astapa.web.appkeys import application_key, signing_keys_key, writer_key
from tests.conftest import Server, run_cli, single_node, stored_states, wait_for_client


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def test_form_body_with_basic_auth_issues_a_jwt_with_the_contract_claims(server: Server, make_client):
    client = make_client("read", "write", ttl=300)
    response = server.token(client, scope="read")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "read"
    assert "refresh_token" not in body
    claims = claims_of(body["access_token"])
    assert claims["sub"] == client["client_id"] == claims["client_id"] == claims["aud"]
    assert claims["iss"] == server.url
    assert claims["project_id"] == client["project_id"]
    assert claims["scope"] == "read"
    assert claims["exp"] - claims["iat"] == 300
    assert int(server.clock.now()) == claims["iat"]
    assert len(claims["jti"]) == 32
    header = header_of(body["access_token"])
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt"
    assert header["kid"] == server.web_app[signing_keys_key].current().signing_kid


def test_json_body_with_credentials_in_the_body_as_the_docs_show(server: Server, make_client):
    client = make_client("read")
    response = requests.post(f"{server.url}/api/platform/token", json={
        "grant_type": "client_credentials",
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    })
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 3600
    assert claims_of(response.json()["access_token"])["scope"] == "read"


def test_form_body_with_client_secret_post(server: Server, make_client):
    client = make_client()
    response = requests.post(f"{server.url}/oauth/token", data={
        "grant_type": "client_credentials", **client})
    assert response.status_code == 200
    assert "scope" not in response.json()  # no scopes granted, none in the token
    assert "scope" not in claims_of(response.json()["access_token"])


def test_basic_credentials_are_form_urlencoded_first(server: Server, make_client):
    """RFC 6749 §2.3.1: id and secret are application/x-www-form-urlencoded, then Basic."""
    client = make_client()
    raw = f"{client['client_id']}:{client['client_secret']}".replace("-", "%2D").replace("_", "%5F")
    header = "Basic " + base64.b64encode(raw.encode()).decode()
    response = requests.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                             headers={"Authorization": header})
    assert response.status_code == 200


def test_omitted_scope_means_every_granted_scope(server: Server, make_client):
    client = make_client("read", "write")
    body = server.token(client).json()
    assert body["scope"] == "read write"


def test_resource_becomes_the_audience(server: Server, make_client):
    client = make_client()
    run_cli("resource", "add", "--data-dir", str(server.data_dir), "--project", client["project_id"],
            "--uri", "https://api.example.com/v1")
    wait_for_client(server, client)
    token = server.access_token(client, resource="https://api.example.com/v1")
    assert claims_of(token)["aud"] == "https://api.example.com/v1"


def test_project_client_gets_client_credentials_tokens_too(server: Server, make_project):
    project = make_project("read")
    token = server.access_token(project)
    assert claims_of(token)["sub"] == project["client_id"]
    assert claims_of(token)["scope"] == "read"


# -- errors -------------------------------------------------------------------------------

def error_of(response: requests.Response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    return body


def test_wrong_secret_with_basic_is_401_with_a_basic_challenge(server: Server, make_client):
    client = make_client()
    response = server.token({**client, "client_secret": "wrong"})
    error_of(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_secret_in_the_body_is_invalid_client(server: Server, make_client):
    client = make_client()
    response = requests.post(f"{server.url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": "x"})
    error_of(response, 401, "invalid_client")


def test_unknown_client_is_invalid_client(server: Server):
    response = server.token({"client_id": "cid_nobody", "client_secret": "x"})
    error_of(response, 401, "invalid_client")


def test_missing_credentials_is_invalid_client(server: Server):
    response = requests.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"})
    error_of(response, 401, "invalid_client")
    response = requests.post(f"{server.url}/oauth/token",
                             data={"grant_type": "client_credentials", "client_id": "cid_x"})
    error_of(response, 401, "invalid_client")


def test_malformed_basic_header_is_invalid_client(server: Server):
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                   "Basic " + base64.b64encode(b"\xff\xfe:x").decode()):
        response = requests.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": header})
        error_of(response, 401, "invalid_client")


def test_two_authentication_methods_are_refused(server: Server, make_client):
    client = make_client()
    response = requests.post(f"{server.url}/oauth/token", auth=(client["client_id"], client["client_secret"]),
                             data={"grant_type": "client_credentials", "client_secret": client["client_secret"]})
    error_of(response, 400, "invalid_request")


def test_client_secret_in_the_query_string_is_refused(server: Server, make_client):
    client = make_client()
    response = requests.post(f"{server.url}/oauth/token?client_secret={client['client_secret']}",
                             data={"grant_type": "client_credentials", "client_id": client["client_id"]})
    error_of(response, 400, "invalid_request")


def test_missing_grant_type_is_invalid_request(server: Server, make_client):
    client = make_client()
    response = requests.post(f"{server.url}/oauth/token", data={},
                             auth=(client["client_id"], client["client_secret"]))
    error_of(response, 400, "invalid_request")


def test_unknown_grant_type_is_unsupported_grant_type(server: Server, make_client):
    client = make_client()
    for grant in ("password", "urn:ietf:params:oauth:grant-type:device_code", "implicit"):
        error_of(server.token(client, grant_type=grant), 400, "unsupported_grant_type")


def test_grant_not_allowed_for_the_client_is_unauthorized_client(server: Server, make_project):
    """C-12: a client registered for the code flow (RFC 7591) may not use client_credentials."""
    project = make_project()
    run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--allow-registration")
    wait_for_client(server, project)
    registered = requests.post(f"{server.url}/projects/{project['project_id']}/oauth/register", json={
        "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_basic"})
    assert registered.status_code == 201, registered.text
    error_of(server.token(registered.json()), 400, "unauthorized_client")


def test_repeated_parameter_is_invalid_request(server: Server, make_client):
    client = make_client("read")
    response = requests.post(f"{server.url}/oauth/token", data="grant_type=client_credentials&scope=read&scope=read",
                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                             auth=(client["client_id"], client["client_secret"]))
    error_of(response, 400, "invalid_request")


def test_scope_not_granted_is_invalid_scope(server: Server, make_client):
    client = make_client("read")
    error_of(server.token(client, scope="read admin"), 400, "invalid_scope")
    error_of(server.token(client, scope='read"'), 400, "invalid_scope")


def test_bad_resource_is_invalid_target(server: Server, make_client):
    client = make_client()
    for resource in ("relative/path", "https://api.example.com/#frag"):
        error_of(server.token(client, resource=resource), 400, "invalid_target")
    response = requests.post(
        f"{server.url}/oauth/token", auth=(client["client_id"], client["client_secret"]),
        data=[("grant_type", "client_credentials"), ("resource", "https://a.example"), ("resource", "https://b.example")])
    error_of(response, 400, "invalid_target")


def test_malformed_bodies_never_500_and_write_nothing(server: Server, make_client):
    client = make_client()
    auth = (client["client_id"], client["client_secret"])
    before = server.web_app[application_key].recorder.max_notification_id()
    cases = [
        ("application/json", b"{bad json"),
        ("application/json", b"[1, 2]"),
        ("application/json", b'{"grant_type": 5}'),
        ("application/json", b'{"grant_type": "client_credentials", "grant_type": "client_credentials"}'),
        ("application/json", b'{"grant_type": "client_credentials", "scope": ["a"]}'),
        ("application/json", b"\xff\xfe\xfd"),
        ("application/json", b"[" * 100000),
        ("application/x-www-form-urlencoded", b"grant_type=%ff%fe"),
        ("application/x-www-form-urlencoded", b"\xff=\xfe"),
        ("application/x-www-form-urlencoded", "&".join(f"p{i}=1" for i in range(500)).encode()),
        ("text/plain", b"grant_type=client_credentials"),
        ("multipart/form-data; boundary=x", b"--x\r\n"),
    ]
    for content_type, body in cases:
        response = requests.post(f"{server.url}/oauth/token", data=body, auth=auth,
                                 headers={"Content-Type": content_type})
        assert response.status_code in (400, 413), (content_type, body[:40], response.text)
        assert response.json()["error"] == "invalid_request"
    huge = requests.post(f"{server.url}/oauth/token", data=b"a=" + b"x" * 200_000, auth=auth,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    error_of(huge, 413, "invalid_request")
    assert server.web_app[application_key].recorder.max_notification_id() == before


def test_unknown_routes_and_methods_get_json_errors(server: Server):
    assert requests.get(f"{server.url}/nope").status_code == 404
    response = requests.get(f"{server.url}/oauth/token")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


# -- on the record --------------------------------------------------------------------------

def test_issuance_is_committed_before_the_response(server: Server, make_client):
    """C-108: the Issued event is in the store when the token reaches the client."""
    client = make_client("read")
    token = server.access_token(client)
    jti = claims_of(token)["jti"]
    states = stored_states(server, "AccessToken.Issued")
    issued = [s for s in states if s["jti"] == jti]
    assert len(issued) == 1
    assert issued[0]["client_id"] == client["client_id"]
    assert issued[0]["scopes"] == ["read"]
    assert token not in json.dumps(states)


@single_node
def test_concurrent_requests_share_transactions(server: Server, make_client):
    """Group commit: 200 concurrent requests take far fewer than 200 transactions."""
    client = make_client("read")
    writer = server.web_app[writer_key]
    transactions, saved = writer.transactions, writer.commands_saved
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=32)
    session.mount("http://", adapter)

    def one(_):
        return session.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                            auth=(client["client_id"], client["client_secret"])).status_code

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(one, range(200)))
    assert statuses == [200] * 200
    assert writer.commands_saved - saved == 200
    assert writer.transactions - transactions < 200


def test_the_server_serves_a_new_client_without_restart(server: Server, make_project):
    from tests.conftest import run_cli

    project = make_project()
    client = run_cli("client", "create", "--data-dir", str(server.data_dir),
                     "--project", project["project_id"], "--name", "late")
    deadline = time.monotonic() + 1.0
    while server.token(client).status_code != 200:
        assert time.monotonic() < deadline, "new client not served within one second"
        time.sleep(0.05)
