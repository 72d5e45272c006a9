"""The docs' library examples do what they say, called as an app would call them, against a
real server: gating a feature on `custom_claims.plan` in Python (PyJWT) and JavaScript
(jose on Node), Authlib's sign-in round trip, and the MCP token verifier.

tests/test_doc_examples.py runs every example block of README.md and docs/ as written;
this file goes further with the blocks that define functions: it calls them.
(tests/doc_examples.py finds the blocks, by the `<!-- example: NAME -->` before them.)
"""

import asyncio
import shutil
import subprocess

import jwt
import pytest
import requests

from tests.conftest import Server, project_on, run_cli, wait_for_client
from tests.doc_examples import DOCS_ISSUER, example, install_jose
from tests.flows import Browser
from tests.oauth.test_refresh_token import tokens_for

SHOP_CALLBACK = "https://shop.example/callback"


def example_code(name: str, server: Server) -> str:
    return example(name).code.replace(DOCS_ISSUER, server.url)


@pytest.fixture
def pro_token(server: Server) -> tuple[str, dict]:
    project = project_on(server)
    tokens = tokens_for(server, project, "gate@example.org")
    auth = (project["client_id"], project["client_secret"])
    api = f"{server.url}/api/platform"
    requests.post(f"{api}/plans", auth=auth, timeout=10, json={
        "key": "pro", "name": "Pro", "price": 149000, "currency": "IDR", "interval": "month"})
    sub = requests.get(f"{api}/users", params={"email": "gate@example.org"}, auth=auth).json()["users"][0]["sub"]
    requests.patch(f"{api}/users/{sub}/claims", auth=auth, json={"plan": "pro"}, timeout=10).raise_for_status()
    refreshed = requests.post(f"{server.url}/oauth/token", auth=auth, timeout=10,
                              data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    return refreshed.json()["access_token"], project


def test_python_example(server: Server, pro_token):
    token, project = pro_token
    namespace: dict = {}
    exec(example_code("python-gate", server), namespace)  # noqa: S102
    assert namespace["plan_of"](token, project["client_id"]) == "pro"

    with pytest.raises(jwt.InvalidAudienceError):
        namespace["plan_of"](token, "cid_someone_else")


def test_javascript_example(server: Server, pro_token, tmp_path):
    assert shutil.which("node"), "Node.js is needed for the docs' JavaScript example"
    token, project = pro_token
    deps = install_jose()
    gate = deps / f"gate-{tmp_path.name}.mjs"
    gate.write_text(example_code("js-gate", server))
    runner = deps / f"run-{tmp_path.name}.mjs"
    runner.write_text(f'import {{ planOf }} from "./{gate.name}";\n'
                      f'console.log(await planOf(process.argv[2], process.argv[3]));\n')
    try:
        done = subprocess.run(["node", runner.name, token, project["client_id"]], cwd=deps,
                              capture_output=True, text=True, check=False, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "pro"
        wrong = subprocess.run(["node", runner.name, token, "cid_someone_else"], cwd=deps,
                               capture_output=True, text=True, check=False, timeout=60)
        assert wrong.returncode != 0 and "aud" in wrong.stderr
    finally:
        gate.unlink(missing_ok=True)
        runner.unlink(missing_ok=True)


def test_authlib_example_signs_a_user_in(server: Server, monkeypatch):
    project = run_cli("project", "create", "--data-dir", str(server.data_dir), "--name", "shop",
                      "--redirect-uri", SHOP_CALLBACK)
    wait_for_client(server, project)
    monkeypatch.setenv("CLIENT_ID", project["client_id"])
    monkeypatch.setenv("CLIENT_SECRET", project["client_secret"])
    namespace: dict = {}
    exec(example_code("sign-in-authlib", server), namespace)  # noqa: S102
    session: dict = {}
    url = namespace["start_sign_in"](session)
    assert url.startswith(f"{server.url}/oauth/authorize?") and "code_challenge_method=S256" in url
    browser = Browser(server.url)
    redirect = browser.sign_up(url.replace("/oauth/authorize", "/auth/login"), "authlib@example.org")
    assert redirect.location.startswith(SHOP_CALLBACK)
    tokens = namespace["finish_sign_in"](session, redirect.location)
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"] and tokens["id_token"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["email"] == "authlib@example.org" and claims["aud"] == project["client_id"]
    assert session == {}  # state and verifier used once


def test_mcp_verifier_example_accepts_only_tokens_for_its_resource(server: Server):
    resource = "https://mcp.example/mcp"
    project = project_on(server, name="tools")
    project_id = project["project_id"]
    run_cli("resource", "add", "--data-dir", str(server.data_dir), "--project", project_id,
            "--uri", resource, "--scope", "mcp:tools", "--scope", "mcp:read")
    client = run_cli("client", "create", "--data-dir", str(server.data_dir), "--project", project_id,
                     "--name", "agent", "--scope", "mcp:tools", "--scope", "mcp:read")
    wait_for_client(server, client)
    namespace: dict = {}
    exec(example_code("mcp-verifier", server).replace("proj_x", project_id), namespace)  # noqa: S102
    verifier = namespace["AstapaTokenVerifier"]()
    token_endpoint = f"{server.url}/projects/{project_id}/oauth/token"

    def token(**params: str) -> str:
        response = requests.post(token_endpoint, auth=(client["client_id"], client["client_secret"]), timeout=10,
                                 data={"grant_type": "client_credentials", **params})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    accepted = asyncio.run(verifier.verify_token(token(resource=resource, scope="mcp:tools")))
    assert accepted is not None and accepted.client_id == client["client_id"]
    assert accepted.scopes == ["mcp:tools"] and accepted.resource == resource
    # A token for the client itself (no resource), or from the service-wide issuer: refused.
    assert asyncio.run(verifier.verify_token(token())) is None
    service_wide = requests.post(f"{server.url}/oauth/token", auth=(client["client_id"], client["client_secret"]),
                                 data={"grant_type": "client_credentials", "resource": resource}, timeout=10)
    assert asyncio.run(verifier.verify_token(service_wide.json()["access_token"])) is None
    assert asyncio.run(verifier.verify_token("not-a-jwt")) is None
