"""Each project as its own authorization server: metadata at the three places MCP clients
look, tokens carrying the project's issuer, and only the project's clients."""

import jwt
import requests

from tests.clients.conftest import cli
from tests.conftest import Server


def metadata_urls(server: Server, project_id: str) -> list[str]:
    return [f"{server.url}/.well-known/oauth-authorization-server/projects/{project_id}",
            f"{server.url}/.well-known/openid-configuration/projects/{project_id}",
            f"{server.url}/projects/{project_id}/.well-known/openid-configuration"]


def test_project_metadata_everywhere_clients_look(server: Server, project: dict):
    for url in metadata_urls(server, project["project_id"]):
        response = requests.get(url, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
        metadata = response.json()
        issuer = project["issuer"]
        assert metadata["issuer"] == issuer
        assert metadata["authorization_endpoint"] == f"{issuer}/oauth/authorize"
        assert metadata["token_endpoint"] == f"{issuer}/oauth/token"
        assert metadata["registration_endpoint"] == f"{issuer}/oauth/register"
        assert metadata["code_challenge_methods_supported"] == ["S256"]
        assert metadata["response_types_supported"] == ["code"]
        assert metadata["authorization_response_iss_parameter_supported"] is True
        assert metadata["client_id_metadata_document_supported"] is True
        assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
        assert {"mcp:tools", "mcp:admin"} <= set(metadata["scopes_supported"])
        for name in ("jwks_uri", "userinfo_endpoint"):
            assert requests.get(metadata[name], timeout=10).status_code in (200, 401), name
    for missing in ("proj_nope", "..", "a" * 80):
        assert requests.get(metadata_urls(server, missing)[0], timeout=10).status_code == 404, missing


def test_tokens_carry_the_issuer_of_the_server_that_issued_them(server: Server, project: dict):
    client = cli(server, "client", "create", "--project", project["project_id"], "--name", "bot",
                 "--scope", "read", "--token-ttl", "300")
    auth = (client["client_id"], client["client_secret"])
    body = {"grant_type": "client_credentials"}
    at_project = requests.post(f"{project['issuer']}/oauth/token", data=body, auth=auth, timeout=10).json()
    at_service = requests.post(f"{server.url}/oauth/token", data=body, auth=auth, timeout=10).json()
    assert at_project["expires_in"] == 300
    jwks = jwt.PyJWKClient(f"{project['issuer']}/.well-known/jwks.json")
    token = at_project["access_token"]
    claims = jwt.decode(token, jwks.get_signing_key_from_jwt(token).key, algorithms=["RS256"],
                        audience=client["client_id"], issuer=project["issuer"])
    assert claims["sub"] == client["client_id"] and claims["scope"] == "read"
    assert jwt.decode(at_service["access_token"], options={"verify_signature": False})["iss"] == server.url
    for token in (at_project["access_token"], at_service["access_token"]):
        for url in (f"{project['issuer']}/oauth/introspect", f"{server.url}/oauth/introspect"):
            active = requests.post(url, data={"token": token}, auth=(project["client_id"], project["client_secret"]),
                                   timeout=10).json()
            assert active["active"] is True and active["client_id"] == client["client_id"]


def test_a_project_server_knows_only_its_own_clients(server: Server, project: dict):
    other = cli(server, "project", "create", "--name", "Other", "--redirect-uri", "https://o.example/cb")
    response = requests.post(f"{project['issuer']}/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(other["client_id"], other["client_secret"]), timeout=10)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    page = requests.get(f"{project['issuer']}/oauth/authorize", params={
        "client_id": other["client_id"], "redirect_uri": "https://o.example/cb", "response_type": "code"},
        allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "Location" not in page.headers
    # A metadata-document client_id at the service-wide server is an unknown client.
    page = requests.get(f"{server.url}/oauth/authorize", params={
        "client_id": "https://agent.example/client.json", "redirect_uri": "https://agent.example/cb"},
        allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "Location" not in page.headers
