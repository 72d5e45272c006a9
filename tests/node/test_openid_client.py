"""Node's openid-client (v6, the OAuth client most Node services use) completes
client_credentials with private_key_jwt against a real server: it discovers the project's
authorization server, signs its own assertion, and gets an access token that verifies.

client_credentials.mjs is the Node side; npm installs openid-client into tests/node/node_modules
once per checkout (package-lock.json pins it)."""

import json
import shutil
import subprocess
from pathlib import Path

import jwt
import pytest
from joserfc.jwk import ECKey, RSAKey

from tests.conftest import Server, run_cli, wait_for_client

NODE_DIR = Path(__file__).resolve().parent
SCRIPT = NODE_DIR / "client_credentials.mjs"
RESOURCE = "https://reports.example/api"


@pytest.fixture(scope="session")
def openid_client() -> Path:
    assert shutil.which("node") and shutil.which("npm"), "Node.js and npm are needed for tests/node"
    if not (NODE_DIR / "node_modules" / "openid-client").exists():
        command = "ci" if (NODE_DIR / "package-lock.json").exists() else "install"
        subprocess.run(["npm", command, "--no-audit", "--no-fund", "--silent"],
                       cwd=NODE_DIR, check=True, timeout=300, capture_output=True)
    return NODE_DIR


def generate(alg: str) -> ECKey | RSAKey:
    parameters = {"alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters, auto_kid=True)
    return RSAKey.generate_key(2048, parameters=parameters, auto_kid=True)


def key_client(server: Server, project: dict, tmp_path: Path, *keys, scopes=(), ttl=None) -> dict:
    """A machine client registered with the public half of `keys` (one JWK, or a JWK Set)."""
    public = [key.as_dict(private=False) for key in keys]
    jwk_file = tmp_path / f"{public[0]['kid']}.json"
    jwk_file.write_text(json.dumps(public[0] if len(public) == 1 else {"keys": public}))
    args = ["client", "create", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--name", "reports-bot", "--jwk-file", str(jwk_file)]
    for scope in scopes:
        args += ["--scope", scope]
    if ttl is not None:
        args += ["--token-ttl", str(ttl)]
    client = run_cli(*args)
    assert "client_secret" not in client
    assert client["token_endpoint_auth_method"] == "private_key_jwt"
    wait_for_client(server, client)
    return client


def node_grant(deps: Path, issuer: str, client_id: str, key, **options) -> tuple[int, dict]:
    """openid-client's discovery + clientCredentialsGrant; (exit status, what it printed)."""
    config = {"issuer": issuer, "clientId": client_id, "privateJwk": key.as_dict(private=True), **options}
    done = subprocess.run(["node", SCRIPT.name, json.dumps(config)], cwd=deps,
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.strip(), f"node printed nothing (exit {done.returncode}): {done.stderr}"
    return done.returncode, json.loads(done.stdout)


def verified(token: str, metadata: dict, audience: str) -> dict:
    """The access token's claims, its signature checked with the issuer's published keys."""
    signing_key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(token, signing_key.key, algorithms=["RS256"], audience=audience,
                      issuer=metadata["issuer"], options={"require": ["exp", "iat", "jti", "sub"]})


@pytest.mark.parametrize("alg, discovery", [("ES256", "oidc"), ("RS256", "oauth2")])
def test_project_issuer(server, make_project, tmp_path, openid_client, alg, discovery):
    """Discovered from the project's own issuer (OIDC discovery, then RFC 8414): the token
    names that issuer, the resource as its audience, the client as its subject."""
    project = make_project("reports:read", "reports:write")
    run_cli("resource", "add", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--uri", RESOURCE)
    key = generate(alg)
    client = key_client(server, project, tmp_path, key, scopes=["reports:read", "reports:write"], ttl=600)
    issuer = f"{server.url}/projects/{project['project_id']}"

    status, out = node_grant(openid_client, issuer, client["client_id"], key,
                             scope="reports:read", resource=RESOURCE, algorithm=discovery)

    assert status == 0, out
    metadata = out["metadata"]
    assert metadata["issuer"] == issuer
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert alg in metadata["token_endpoint_auth_signing_alg_values_supported"]
    tokens = out["tokens"]
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["expires_in"] == 600
    assert "refresh_token" not in tokens
    claims = verified(tokens["access_token"], metadata, audience=RESOURCE)
    assert claims["iss"] == issuer
    assert claims["aud"] == RESOURCE
    assert claims["sub"] == client["client_id"]
    assert claims["scope"] == "reports:read"
    assert claims["project_id"] == project["project_id"]


def test_a_key_the_client_did_not_register(server, make_project, tmp_path, openid_client):
    """Signed with another client's key, or with a stranger's key that names the registered
    key's kid, the assertion proves nothing: invalid_client (401), and no token."""
    project = make_project("reports:read")
    registered, others = generate("ES256"), generate("ES256")
    client = key_client(server, project, tmp_path, registered, scopes=["reports:read"])
    key_client(server, project, tmp_path, others, scopes=["reports:read"])
    impostor = ECKey.generate_key("P-256", parameters={"alg": "ES256", "kid": registered.kid})
    issuer = f"{server.url}/projects/{project['project_id']}"

    for key in (others, impostor):
        status, out = node_grant(openid_client, issuer, client["client_id"], key,
                                 scope="reports:read", resource=RESOURCE)

        # The 401 carries a Basic challenge (as every 401 does), so openid-client raises a
        # WWWAuthenticateChallengeError; client_credentials.mjs reads the error from the body.
        assert status == 2, out
        assert out["error"] == "invalid_client", out
        assert out["status"] == 401, out


def test_global_issuer_and_a_key_set(server, make_project, tmp_path, openid_client):
    """The server's own issuer works too; a client registered with a JWK Set (a key being
    rotated in) may sign with any key in it. Without a resource the audience is the client."""
    project = make_project("reports:read")
    old, new = generate("RS256"), generate("ES256")
    client = key_client(server, project, tmp_path, old, new, scopes=["reports:read"])

    status, out = node_grant(openid_client, server.url, client["client_id"], new)

    assert status == 0, out
    assert out["metadata"]["issuer"] == server.url
    claims = verified(out["tokens"]["access_token"], out["metadata"], audience=client["client_id"])
    assert claims["iss"] == server.url
    assert claims["sub"] == client["client_id"]
    assert claims["scope"] == "reports:read"


@pytest.mark.parametrize("where", ["service", "project"])
def test_openid_client_reads_userinfo_and_signs_the_user_out(server, openid_client, where):
    """As a relying party: openid-client discovers the issuer, reads UserInfo, and builds the
    RP-initiated logout URL from the discovered end_session_endpoint; opened in the browser
    that signed in, it ends the session and comes back to the registered URI with the state."""
    from tests.pages.test_end_session import (
        SIGNED_OUT,
        assert_signed_out,
        create_project,
        signed_in,
    )

    project = create_project(server, SIGNED_OUT)
    issuer = server.url if where == "service" else f"{server.url}/projects/{project['project_id']}"
    browser, tokens = signed_in(server, project, issuer)
    sub = jwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"]
    config = {"issuer": issuer, "clientId": project["client_id"], "clientSecret": project["client_secret"],
              "accessToken": tokens["access_token"], "sub": sub, "idToken": tokens["id_token"],
              "postLogoutRedirectUri": SIGNED_OUT, "state": "rp-state"}
    done = subprocess.run(["node", "end_session.mjs", json.dumps(config)], cwd=openid_client,
                          capture_output=True, text=True, timeout=30, check=False)
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["ok"], result
    assert result["userinfo"]["sub"] == sub and result["userinfo"]["email"] == "ada@example.org"
    assert result["endSessionUrl"].startswith(f"{issuer}/oauth/logout?")
    response = browser.get(result["endSessionUrl"])
    assert response.status_code == 303 and response.headers["Location"] == f"{SIGNED_OUT}?state=rp-state"
    assert_signed_out(browser, project, issuer)
