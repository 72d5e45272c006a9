"""Requests as openapi.json describes them, as the server takes them: the rules the OpenAPI
fuzzer (tests/test_fuzz.py) found the description and the server reading differently, and
the inputs it found a 500 for."""

import pytest
import requests

from tests import described_requests
from tests.conftest import Server
from tests.flows import REDIRECT_URI

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def project(make_project) -> dict:
    return make_project("orders:read")


def token(server: Server, data, auth=None, json_body: bool = False) -> requests.Response:
    send = {"json": data} if json_body else {"data": data}
    return requests.post(f"{server.url}/oauth/token", auth=auth, timeout=10, **send)


def test_an_empty_token_parameter_counts_as_omitted(server: Server, project):
    """RFC 6749 §3.1: so an empty `code` is a missing one, refused by the description too."""
    auth = (project["client_id"], project["client_secret"])
    request = {"grant_type": "authorization_code", "code": "", "redirect_uri": REDIRECT_URI}
    for media, json_body in ((FORM, False), ("application/json", True)):
        assert not described_requests.body("postOAuthToken", media).is_valid(request)
        response = token(server, request, auth, json_body)
        assert response.status_code == 400 and response.json()["error_description"] == "code is required"
    empty_scope = {"grant_type": "client_credentials", "scope": "", "client_id": ""}
    assert described_requests.body("postOAuthToken", FORM).is_valid(empty_scope)
    assert token(server, empty_scope, auth).status_code == 200


def test_json_null_counts_as_omitted(server: Server, project):
    auth = (project["client_id"], project["client_secret"])
    request = {"token": "x", "token_type_hint": None, "client_id": None}
    assert described_requests.body("introspectToken").is_valid(request)
    response = requests.post(f"{server.url}/oauth/introspect", json=request, auth=auth, timeout=10)
    assert response.json() == {"active": False}
    assert not described_requests.body("introspectToken", FORM).is_valid(request)  # a form has no null
    assert not described_requests.body("introspectToken").is_valid({"token": "x", "token_type_hint": 5})
    response = requests.post(f"{server.url}/oauth/introspect", json={"token": "x", "token_type_hint": 5}, auth=auth,
                             timeout=10)
    assert response.status_code == 400


def test_parameters_of_another_grant_are_ignored_not_checked(server: Server, project):
    auth = (project["client_id"], project["client_secret"])
    request = {"grant_type": "client_credentials", "code_verifier": "short", "redirect_uri": "not a URI",
               "code": "x" * 600}
    assert described_requests.body("postOAuthToken").is_valid(request)
    assert token(server, request, auth, json_body=True).status_code == 200
    assert not described_requests.body("postOAuthToken").is_valid(
        {**request, "grant_type": "authorization_code", "redirect_uri": REDIRECT_URI})


def test_a_parameter_is_a_string_given_once(server: Server, project):
    auth = (project["client_id"], project["client_secret"])
    assert not described_requests.body("postOAuthToken").is_valid({"grant_type": "client_credentials", "extra": 5})
    assert token(server, {"grant_type": "client_credentials", "extra": 5}, auth, json_body=True).status_code == 400
    form = described_requests.body("postOAuthToken", FORM)
    assert not form.is_valid({"grant_type": "client_credentials", "scope": ["a", "b"]})
    assert token(server, "grant_type=client_credentials&scope=a&scope=b", auth).status_code == 400
    assert form.is_valid({"grant_type": "client_credentials", "resource": ["https://a.example", "https://b.example"]})


def test_one_client_authentication_method_per_request(server: Server, project):
    """RFC 6749 §2.3: HTTP Basic and a body secret, or an assertion without its type, are
    `invalid_request` (the description says so; a fuzzer sends Basic only alone)."""
    auth = (project["client_id"], project["client_secret"])
    both = {"grant_type": "client_credentials", "client_secret": project["client_secret"]}
    response = token(server, both, auth)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    schema = described_requests.body("postOAuthToken")
    for half in ({"client_assertion_type": JWT_BEARER}, {"client_assertion": "a.b.c"},
                 {"client_assertion_type": JWT_BEARER, "client_assertion": "a.b.c", "client_secret": "s"}):
        request = {"grant_type": "client_credentials", "client_id": project["client_id"], **half}
        assert not schema.is_valid(request)
        assert token(server, request).status_code == 400
    assert schema.is_valid({"grant_type": "client_credentials", "client_assertion_type": "", "client_assertion": ""})
    assert not schema.is_valid({"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER,
                                "client_assertion": "é" * 10})  # a JWT is ASCII


@pytest.mark.parametrize("name, value", [("response_type", ""), ("code_challenge", ""),
                                         ("code_challenge_method", ""), ("max_age", ""), ("resource", "")])
def test_an_empty_authorization_parameter_counts_as_omitted(server: Server, project, name, value):
    schemas = {"response_type": "ResponseType", "code_challenge": "CodeChallenge",
               "code_challenge_method": "CodeChallengeMethod", "max_age": "MaxAge", "resource": "Resource"}
    assert described_requests.parameter(schemas[name]).is_valid(value)
    response = requests.get(f"{server.url}/oauth/authorize", allow_redirects=False, timeout=10, params={
        "client_id": project["client_id"], "redirect_uri": REDIRECT_URI, name: value})
    assert response.status_code == 200  # the sign-in page, as without it


def test_the_longest_described_provider_callback_reaches_the_server(server: Server):
    """Every parameter of the callback is printable ASCII within its length, so the longest
    request the description allows fits in the server's request line (8190 bytes) and gets
    the page, not the HTTP parser's plain-text 400."""
    parameters = {p["name"]: p["schema"] for p in
                  described_requests.DOCUMENT["paths"]["/auth/callback/{provider}"]["get"]["parameters"]
                  if p.get("in") == "query"}
    worst = {name: "%" * schema["maxLength"] for name, schema in parameters.items()}  # each byte %25
    for name, value in worst.items():
        assert described_requests.Validator(parameters[name]).is_valid(value), name
    response = requests.get(f"{server.url}/auth/callback/google", params=worst, timeout=10,
                            cookies={"astapa_external": "x" * 40})
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/html")


def test_users_me_allows_only_its_own_methods(server: Server):
    """/api/platform/users/me is not also /api/platform/users/{sub}: a method it lacks is 405
    with its own Allow, not one listing PATCH."""
    for method in ("OPTIONS", "PATCH", "DELETE"):
        response = requests.request(method, f"{server.url}/api/platform/users/me", timeout=10)
        assert response.status_code == 405, method
        assert "PATCH" not in response.headers["Allow"] and "GET" in response.headers["Allow"]
    assert requests.get(f"{server.url}/api/platform/users/abc", timeout=10).status_code == 404


def test_registration_with_grant_types_that_are_not_strings_is_400_not_a_500(server: Server):
    from tests.clients.conftest import tools_project

    project = tools_project(server)
    for grant_types in ([{}], [["authorization_code"]], [None, None]):
        response = requests.post(f"{project['issuer']}/oauth/register", timeout=10, json={
            "redirect_uris": ["http://127.0.0.1/callback"], "grant_types": grant_types})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_client_metadata"
