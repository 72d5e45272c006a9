"""RFC 8707 resource indicators against a project's registered resources
(`astapa resource add`): the token's aud, invalid_target, and the code's resource binding."""

import jwt
import requests

from tests.clients.conftest import RESOURCE, ConsentBrowser, cli
from tests.conftest import Server
from tests.flows import query_of


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def machine(server: Server, project: dict, *scopes: str) -> dict:
    args = ["client", "create", "--project", project["project_id"], "--name", "agent"]
    for scope in scopes:
        args += ["--scope", scope]
    return cli(server, *args)


def client_credentials(project: dict, client: dict, **data) -> requests.Response:
    return requests.post(f"{project['issuer']}/oauth/token", data={"grant_type": "client_credentials", **data},
                         auth=(client["client_id"], client["client_secret"]), timeout=10)


def test_resource_add_prints_the_project_resources(server: Server, project: dict):
    added = cli(server, "resource", "add", "--project", project["project_id"], "--uri", "https://api.example/v1",
                "--scope", "api:read")
    assert added["resource"] == "https://api.example/v1" and added["scopes"] == ["api:read"]
    assert added["resources"] == sorted([RESOURCE, "https://api.example/v1"])
    metadata = requests.get(f"{project['issuer']}/.well-known/openid-configuration", timeout=10).json()
    assert {"mcp:tools", "mcp:admin", "api:read", "read"} <= set(metadata["scopes_supported"])


def test_client_credentials_audience_is_the_registered_resource(server: Server, project: dict):
    client = machine(server, project, "mcp:tools")
    for spelled in (RESOURCE, "HTTPS://MCP.Example/mcp", "https://mcp.example:443/mcp/"):
        token = client_credentials(project, client, resource=spelled)
        assert token.status_code == 200, token.text
        assert claims(token.json()["access_token"])["aud"] == RESOURCE  # as registered
    for other in ("https://evil.example/mcp", "https://mcp.example/other", "https://mcp.example/MCP"):
        refused = client_credentials(project, client, resource=other)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_target", other
    # Without a resource the audience is the client itself.
    assert claims(client_credentials(project, client).json()["access_token"])["aud"] == client["client_id"]


def bare_project(server: Server) -> dict:
    """A project with no registered resources."""
    bare = cli(server, "project", "create", "--name", "Bare", "--redirect-uri", "https://app.example/callback")
    bare["issuer"] = f"{server.url}/projects/{bare['project_id']}"
    return bare


def test_a_project_without_resources_accepts_any_absolute_uri_but_another_projects_resource(
        server: Server, project: dict):
    """A project with no resources of its own takes any absolute URI as `aud`, except one
    another project (`project`, which registered RESOURCE) registered, however spelled."""
    bare = bare_project(server)
    client = machine(server, bare)
    taken = client_credentials(bare, client, resource="https://anything.example/api")
    assert taken.status_code == 200, taken.text
    assert claims(taken.json()["access_token"])["aud"] == "https://anything.example/api"
    for uri in ("not a uri", RESOURCE, "HTTPS://MCP.example:443/mcp/"):
        refused = client_credentials(bare, client, resource=uri)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_target", uri
    # Without a resource the audience is the client itself, as ever.
    assert claims(client_credentials(bare, client).json()["access_token"])["aud"] == client["client_id"]


def test_a_refresh_token_whose_resource_another_project_registered_since_is_invalid_target(server: Server):
    """A sign-in made for a free-form resource keeps that `aud` only while no other project
    has registered it: once one has, a refresh is invalid_target and changes nothing."""
    from tests.oauth.test_refresh_token import tokens_for

    bare = bare_project(server)
    first = tokens_for(server, bare, resource="https://later.example/api")
    assert claims(first["access_token"])["aud"] == "https://later.example/api"
    other = bare_project(server)
    cli(server, "resource", "add", "--project", other["project_id"], "--uri", "https://later.example/api")
    refreshed = requests.post(f"{server.url}/oauth/token", timeout=10, auth=(bare["client_id"], bare["client_secret"]),
                              data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_target", refreshed.text


def test_a_resource_registered_by_another_project_is_invalid_target_at_the_token_endpoint(
        server: Server, project: dict):
    """Project B (`project`) registered RESOURCE; no client of project A gets a token for it,
    at the service-wide issuer or at A's own, whether A has resources of its own or none."""
    for with_resources in (False, True):
        other = bare_project(server)
        if with_resources:
            cli(server, "resource", "add", "--project", other["project_id"], "--uri", "https://a-api.example/v1")
        for client in (machine(server, other), other):
            for issuer in (server.url, other["issuer"]):
                for spelled in (RESOURCE, "HTTPS://MCP.example:443/mcp/"):
                    refused = client_credentials({"issuer": issuer}, client, resource=spelled)
                    assert refused.status_code == 400, (issuer, refused.text)
                    assert refused.json()["error"] == "invalid_target"


def test_a_resource_registered_by_another_project_is_invalid_target_at_the_authorization_endpoint(
        server: Server, project: dict):
    """The same for user tokens: the authorization request is refused back at the client
    (its redirect URI was registered by its operator), and no code is issued."""
    for with_resources in (False, True):
        other = bare_project(server)
        if with_resources:
            cli(server, "resource", "add", "--project", other["project_id"], "--uri", "https://a-api.example/v1")
        for issuer in (server.url, other["issuer"]):
            browser = ConsentBrowser(server.url)
            url, _ = browser.authorization(issuer, other["client_id"], "https://app.example/callback",
                                           resource=RESOURCE)
            refused = browser.get(url)
            assert refused.status_code == 303, (issuer, refused.text[:300])
            params = query_of(refused.headers["Location"])
            assert params["error"] == "invalid_target" and "code" not in params
            assert params["iss"] == issuer


def test_authorize_refuses_an_unknown_resource_back_at_the_client(server: Server, project: dict):
    browser = ConsentBrowser(server.url)
    url, _ = browser.authorization(project["issuer"], project["client_id"], "https://app.example/callback",
                                   resource="https://evil.example/mcp")
    refused = browser.get(url)
    assert refused.status_code == 303
    params = query_of(refused.headers["Location"])
    assert params["error"] == "invalid_target" and params["state"] == "st-1"
    assert params["iss"] == project["issuer"]


def test_token_request_resource_must_match_the_codes(server: Server, project: dict):
    other = "https://api.example/v2"
    cli(server, "resource", "add", "--project", project["project_id"], "--uri", other)
    browser = ConsentBrowser(server.url)

    def code_for(email: str | None = None) -> tuple[str, str]:
        url, verifier = browser.authorization(project["issuer"], project["client_id"],
                                              "https://app.example/callback", resource=RESOURCE)
        response = browser.sign_up_at(url, email) if email else browser.get(url)
        return query_of(response.headers["Location"])["code"], verifier

    def redeem(code: str, verifier: str, **extra) -> requests.Response:
        return requests.post(f"{project['issuer']}/oauth/token", auth=(project["client_id"], project["client_secret"]),
                             data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                   "redirect_uri": "https://app.example/callback", **extra}, timeout=10)

    code, verifier = code_for("res@example.com")
    mismatch = redeem(code, verifier, resource=other)
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "invalid_target"
    same = redeem(code, verifier, resource="https://MCP.example/mcp/")  # the same resource, spelled otherwise
    assert same.status_code == 200, same.text
    assert claims(same.json()["access_token"])["aud"] == RESOURCE
    refresh_url = f"{project['issuer']}/oauth/token"
    auth = (project["client_id"], project["client_secret"])
    moved = requests.post(refresh_url, auth=auth, timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": same.json()["refresh_token"], "resource": other})
    assert moved.status_code == 400 and moved.json()["error"] == "invalid_target"
    refreshed = requests.post(refresh_url, auth=auth, timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": same.json()["refresh_token"]})
    assert refreshed.status_code == 200 and claims(refreshed.json()["access_token"])["aud"] == RESOURCE
    code, verifier = code_for()
    omitted = redeem(code, verifier)
    assert omitted.status_code == 200 and claims(omitted.json()["access_token"])["aud"] == RESOURCE


def test_resource_add_refuses_bad_uris(server: Server, project: dict, capsys):
    from astapa import cli as astapa_cli

    for uri in ("not-a-uri", "https://a.example/x#frag", "ftp://a.example/x", "https://user@a.example/x"):
        status = astapa_cli.main(["resource", "add", "--data-dir", str(server.data_dir), "--project",
                                  project["project_id"], "--uri", uri])
        assert status == 2, uri
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    status = astapa_cli.main(["resource", "add", "--data-dir", str(server.data_dir), "--project", "proj_nope",
                              "--uri", "https://a.example/x"])
    assert status == 1
