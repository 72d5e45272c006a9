"""RFC 6749 §4.1 the authorization code flow through the hosted pages, with RFC 7636 PKCE.

Checklist B (C-19 … C-28) and the token endpoint's authorization_code grant.
"""

import concurrent.futures

import jwt
import pytest
import requests

from tests.conftest import Server
from tests.flows import REDIRECT_URI, Browser, exchange, pkce_pair


def signed_up(server: Server, project: dict, email: str = "ada@example.org", **params) -> tuple[Browser, dict]:
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(project["client_id"], **params), email)
    return browser, redirect.params


def test_sign_up_then_exchange_code_for_tokens(server: Server, make_project):
    project = make_project()
    verifier, challenge = pkce_pair()
    _, params = signed_up(server, project, state="xyz", code_challenge=challenge,
                          code_challenge_method="S256", scope="openid email", nonce="n-1")
    assert params["state"] == "xyz" and params["iss"] == server.url
    response = exchange(server.url, project, params["code"], code_verifier=verifier)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["refresh_token"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["email"] == "ada@example.org" and claims["email_verified"] is False
    assert claims["custom_claims"] == {"plan": "free"}
    assert claims["aud"] == project["client_id"] and claims["project_id"] == project["project_id"]
    assert claims["sub"].isdigit() and 0 < int(claims["sub"]) < 2**53
    id_token = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_token["nonce"] == "n-1" and id_token["aud"] == project["client_id"]
    assert id_token["sub"] == claims["sub"] and "at_hash" in id_token and "auth_time" in id_token


def test_code_is_single_use_and_reuse_revokes_the_tokens(server: Server, make_project):
    """C-19: the second redemption fails and the first one's tokens stop working."""
    project = make_project()
    _, params = signed_up(server, project)
    first = exchange(server.url, project, params["code"])
    assert first.status_code == 200
    again = exchange(server.url, project, params["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    tokens = first.json()
    refreshed = requests.post(f"{server.url}/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(project["client_id"], project["client_secret"]))
    assert refreshed.json()["error"] == "invalid_grant"
    me = requests.get(f"{server.url}/oauth/userinfo",
                      headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 401


def test_concurrent_redemptions_exactly_one_wins(server: Server, make_project):
    """C-20: 10 parallel redemptions of one code, one 200, nine invalid_grant, no 5xx."""
    project = make_project()
    _, params = signed_up(server, project)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: exchange(server.url, project, params["code"]), range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 9
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)


def test_code_expires(server: Server, make_project):
    """C-21: 60 s by default."""
    project = make_project()
    _, params = signed_up(server, project)
    server.clock.advance(61)
    assert exchange(server.url, project, params["code"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("control", ["\n", "\t", "\x00", "\x7f", "\x9b"], ids=["LF", "TAB", "NUL", "DEL", "CSI"])
def test_a_redirect_uri_holding_a_control_character_is_invalid_request_at_the_token_endpoint(
        server: Server, make_project, control):
    """Refused as malformed before the code is looked at: the code still works afterwards."""
    project = make_project()
    browser = Browser(server.url)
    code = browser.sign_up(browser.authorize_url(project["client_id"]), "ctl@example.org").params["code"]
    for uri in (REDIRECT_URI + control, control + REDIRECT_URI, REDIRECT_URI.replace("call", f"call{control}")):
        response = exchange(server.url, project, code, redirect_uri=uri)
        assert response.status_code == 400, response.text
        assert response.json() == {"error": "invalid_request",
                                   "error_description": "redirect_uri must not hold control characters"}
    assert exchange(server.url, project, code).status_code == 200
