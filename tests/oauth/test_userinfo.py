"""OIDC UserInfo (GET /oauth/userinfo) and GET /api/platform/users/me: RFC 6750 bearer
tokens, checklist F (C-53 … C-64), plus the full flow with Authlib's OAuth2Session.
"""

import base64
import hashlib
import hmac
import json

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from tests.conftest import Server
from tests.flows import PASSWORD, REDIRECT_URI, Browser, pkce_pair
from tests.oauth.test_refresh_token import tokens_for

PATHS = ("/oauth/userinfo", "/api/platform/users/me")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def get_me(server: Server, token: str, path: str = PATHS[0], scheme: str = "Bearer") -> requests.Response:
    return requests.get(f"{server.url}{path}", headers={"Authorization": f"{scheme} {token}"})


def test_userinfo_returns_the_user(server: Server, make_project):
    project = make_project()
    tokens = tokens_for(server, project, scope="openid email")
    for path in PATHS:
        response = get_me(server, tokens["access_token"], path)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        body = response.json()
        assert body["email"] == "ada@example.org" and body["email_verified"] is False
        assert body["custom_claims"] == {"plan": "free"} and body["sub"].isdigit()
    assert get_me(server, tokens["access_token"], scheme="bearer").status_code == 200  # C-63: any case


def test_expired_forged_and_foreign_tokens_get_401_invalid_token(server: Server, make_project, make_client):
    """C-53, C-56, C-57, C-58, C-63."""
    project = make_project()
    tokens = tokens_for(server, project, scope="openid")
    header, payload, signature = tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged_payload = b64(json.dumps({**claims, "sub": "1"}).encode())
    none_header = b64(b'{"alg":"none","typ":"at+jwt"}')
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    unknown_kid = b64(json.dumps({"alg": "RS256", "typ": "at+jwt", "kid": "nope"}).encode())
    jku = b64(json.dumps({"alg": "RS256", "typ": "at+jwt", "jku": "https://evil.example/jwks"}).encode())
    machine_token = server.access_token(make_client(project=project))
    for candidate in (f"{header}.{forged_payload}.{signature}", f"{none_header}.{payload}.",
                      f"{header}.{payload}.{flipped}", f"{unknown_kid}.{payload}.{signature}",
                      f"{jku}.{payload}.{signature}", tokens["id_token"], machine_token, "garbage"):
        response = get_me(server, candidate)
        assert response.status_code == 401, candidate[:40]
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert requests.get(f"{server.url}/oauth/userinfo").status_code == 401
    server.clock.advance(3601)
    assert get_me(server, tokens["access_token"]).status_code == 401


def test_hs256_with_the_public_key_in_every_form_is_refused(server: Server, make_project):
    """C-54: PEM (SPKI and PKCS#1), DER, the JWK JSON and `n` as HMAC secrets."""
    project = make_project()
    tokens = tokens_for(server, project)
    jwks = requests.get(f"{server.url}/.well-known/jwks.json").json()
    jwk = jwks["keys"][0]
    public_key = RSAAlgorithm.from_jwk(json.dumps(jwk))
    secrets = [
        public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        json.dumps(jwk).encode(), jwk["n"].encode(),
    ]
    _, payload, _ = tokens["access_token"].split(".")
    header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": jwk["kid"]}).encode())
    for secret in secrets:
        mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        assert get_me(server, f"{header}.{payload}.{b64(mac)}").status_code == 401


def test_token_in_the_query_string_is_refused(server: Server, make_project):
    """C-63: only the Authorization header."""
    project = make_project()
    tokens = tokens_for(server, project)
    response = requests.get(f"{server.url}/oauth/userinfo", params={"access_token": tokens["access_token"]})
    assert response.status_code in (400, 401)


def test_revoked_access_token_is_refused(server: Server, make_project):
    project = make_project()
    tokens = tokens_for(server, project)
    requests.post(f"{server.url}/oauth/revoke", data={"token": tokens["access_token"]},
                  auth=(project["client_id"], project["client_secret"]))
    assert get_me(server, tokens["access_token"]).status_code == 401


def test_full_flow_with_authlib_oauth2session(server: Server, make_project):
    """An unmodified Authlib client: authorization URL with PKCE, our pages, token, refresh."""
    project = make_project()
    client = OAuth2Session(project["client_id"], project["client_secret"], scope="openid email",
                           redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    verifier = pkce_pair()[0]
    url, state = client.create_authorization_url(f"{server.url}/oauth/authorize", code_verifier=verifier)
    browser = Browser(server.url)
    page = browser.get(url.replace("/oauth/authorize", "/auth/signup"))
    response = browser.submit(page, "signup", email="authlib@example.org", password=PASSWORD, action="signup")
    callback = response.headers["Location"]
    token = client.fetch_token(f"{server.url}/oauth/token", authorization_response=callback,
                               code_verifier=verifier)
    assert token["token_type"] == "Bearer" and "id_token" in token and "refresh_token" in token
    assert client.get(f"{server.url}/oauth/userinfo").json()["email"] == "authlib@example.org"
    refreshed = client.refresh_token(f"{server.url}/oauth/token")
    assert refreshed["refresh_token"] != token["refresh_token"]
    keys = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json")
    id_token = refreshed["id_token"]
    claims = jwt.decode(id_token, keys.get_signing_key_from_jwt(id_token).key, algorithms=["RS256"],
                        audience=project["client_id"], issuer=server.url)
    assert claims["email"] == "authlib@example.org"


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_userinfo_answers_post_with_the_token_in_the_header_or_a_form_body(server: Server, make_project):
    """OpenID Connect Core §5.3.1: GET or POST; RFC 6750 §2.1 the header, §2.2 a form body.
    At the service's issuer and at the project's, with Authlib placing the token."""
    project = make_project()
    tokens = tokens_for(server, project, scope="openid email")
    token = {"access_token": tokens["access_token"], "token_type": "Bearer"}
    for url in (f"{server.url}/oauth/userinfo", f"{server.url}/projects/{project['project_id']}/oauth/userinfo"):
        answers = [
            requests.post(url, headers={"Authorization": f"Bearer {tokens['access_token']}"}),
            requests.post(url, data={"access_token": tokens["access_token"]}),
            OAuth2Session(project["client_id"], token=token).post(url),
            OAuth2Session(project["client_id"], token=token, token_placement="body").post(url, headers=FORM),
        ]
        for response in answers:
            assert response.status_code == 200, (url, response.text)
            assert response.headers["Cache-Control"] == "no-store"
            assert response.json()["email"] == "ada@example.org"
    other = make_project(name="other")
    foreign = requests.post(f"{server.url}/projects/{other['project_id']}/oauth/userinfo",
                            data={"access_token": tokens["access_token"]})
    assert foreign.status_code == 401 and 'error="invalid_token"' in foreign.headers["WWW-Authenticate"]


def test_userinfo_post_takes_the_token_once_and_only_from_a_form(server: Server, make_project):
    """RFC 6750 §2.2: the body only as application/x-www-form-urlencoded; one method at a
    time (§2: invalid_request); a bad token in the body is 401 as in the header."""
    project = make_project()
    access = tokens_for(server, project)["access_token"]
    url = f"{server.url}/oauth/userinfo"
    refused = [
        requests.post(url, data={"access_token": access}, headers={"Authorization": f"Bearer {access}"}),
        requests.post(url, json={"access_token": access}),
        requests.post(url, data=f"access_token={access}", headers={"Content-Type": "text/plain"}),
        requests.post(url, data=[("access_token", access), ("access_token", access)]),
        requests.post(url, params={"access_token": access}),
        requests.post(url, data=b"access_token=%ff", headers=FORM),
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
    for body in ({"access_token": "garbage"}, {}, {"access_token": ""}):
        response = requests.post(url, data=body)
        assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert requests.put(url, data={"access_token": access}).status_code == 405
