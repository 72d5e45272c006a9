"""RFC 7591 registration at a project's own server, the consent page, and the code flow of
a public client through to tokens that carry the project's issuer and the resource."""

import jwt
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
