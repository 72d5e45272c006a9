"""Self-test of the fake identity providers (tests/fakes/google.py, tests/fakes/github.py).

Plain `requests` against the fakes, no Astapa: each fake must do its core round trip and refuse
what the real provider refuses, so the Astapa tests built on them mean something.
"""

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet

from tests.fakes.github import GitHubServer
from tests.fakes.google import GoogleServer, at_hash

REDIRECT = "http://127.0.0.1:9/callback"


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def location(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    parts = urlsplit(response.headers["Location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


# ----------------------------------------------------------------------------------- Google


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def google(clock):
    server = GoogleServer(now=clock)
    server.redirect_uris = {REDIRECT}
    server.add_account("1001", "alice@example.com", hd="example.com", name="Alice Example")
    server.add_account("1002", "bob@gmail.com", email_verified=False)
    with server:
        yield server


def google_authorize(google: GoogleServer, challenge: str | None = None, method: str = "S256",
                     **extra) -> requests.Response:
    params = {"client_id": google.client_id, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "openid email profile", "state": "st-1", "nonce": "n-1", **extra}
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method=method)
    return requests.get(f"{google.url}/o/oauth2/v2/auth", params=params, allow_redirects=False, timeout=5)


def google_token(google: GoogleServer, code: str, verifier: str | None = None, basic: bool = False,
                 **extra) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    auth = None
    if basic:
        auth = (google.client_id, google.client_secret)
    else:
        data.update(client_id=google.client_id, client_secret=google.client_secret)
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return requests.post(f"{google.url}/token", data=data, auth=auth, timeout=5)


def test_google_round_trip(google, clock):
    discovery = requests.get(google.discovery_url, timeout=5)
    assert discovery.headers["Cache-Control"] == "public, max-age=3600"
    meta = discovery.json()
    assert meta["issuer"] == google.url
    assert meta["authorization_endpoint"] == f"{google.url}/o/oauth2/v2/auth"
    assert meta["code_challenge_methods_supported"] == ["plain", "S256"]

    verifier, challenge = pkce()
    back = location(google_authorize(google, challenge))
    assert back["state"] == "st-1" and back["code"].startswith("4/0A")
    assert back["authuser"] == "0" and "openid" in back["scope"].split()
    [seen] = google.authorizations
    assert (seen["nonce"], seen["code_challenge"], seen["code_challenge_method"]) == ("n-1", challenge, "S256")

    response = google_token(google, back["code"], verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3599
    assert tokens["access_token"].startswith("ya29.")

    jwks = requests.get(meta["jwks_uri"], timeout=5).json()
    assert google.jwks_fetches == 1
    assert {"kid", "n", "e"} <= set(jwks["keys"][0]) and jwks["keys"][0]["alg"] == "RS256"
    token = jwt.decode(tokens["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert token.header == {"alg": "RS256", "kid": google.kid, "typ": "JWT"}
    claims = token.claims
    assert claims["iss"] == google.url
    assert claims["aud"] == claims["azp"] == google.client_id
    assert (claims["sub"], claims["email"], claims["email_verified"]) == ("1001", "alice@example.com", True)
    assert claims["nonce"] == "n-1" and claims["hd"] == "example.com" and claims["name"] == "Alice Example"
    assert claims["at_hash"] == at_hash(tokens["access_token"])
    assert claims["iat"] == int(clock.t) and claims["exp"] == claims["iat"] + 3600

    info = requests.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"},
                        timeout=5)
    assert info.json()["sub"] == "1001" and info.json()["hd"] == "example.com"
    assert requests.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer nope"},
                        timeout=5).status_code == 401

    again = google_token(google, back["code"], verifier)  # single use
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_google_refusals(google, clock):
    verifier, challenge = pkce()
    code = location(google_authorize(google, challenge))["code"]
    wrong = google_token(google, code, "x" * 43, basic=True)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    missing = google_token(google, code, None, basic=True)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_grant")
    mismatch = google_token(google, code, verifier, basic=True, redirect_uri="http://127.0.0.1:9/other")
    assert (mismatch.status_code, mismatch.json()["error"]) == (400, "redirect_uri_mismatch")
    bad_secret = google_token(google, code, verifier, client_secret="nope")
    assert bad_secret.status_code == 401 and bad_secret.json() == {"error": "invalid_client",
                                                                   "error_description": "Unauthorized"}
    assert google_token(google, code, verifier, basic=True).status_code == 200  # refusals did not burn it

    clock.t += 1000
    stale = location(google_authorize(google, challenge))["code"]
    clock.t += 601
    assert google_token(google, stale, verifier).json()["error"] == "invalid_grant"

    google.deny_next = True
    assert location(google_authorize(google)) == {"error": "access_denied", "state": "st-1"}
    assert not google.deny_next
    unknown = google_authorize(google, client_id="someone-else")
    assert unknown.status_code == 400 and "Location" not in unknown.headers and "invalid_client" in unknown.text
    elsewhere = google_authorize(google, redirect_uri="https://evil.example/cb")
    assert elsewhere.status_code == 400 and "redirect_uri_mismatch" in elsewhere.text


def test_google_controls(google, clock):
    google.next_account = "1002"
    google.tamper_next_id_token(aud="someone-else", nonce=None)
    code = location(google_authorize(google))["code"]
    id_token = google_token(google, code).json()["id_token"]
    claims = jwt.decode(id_token, KeySet.import_key_set(google.jwks)).claims
    assert claims["aud"] == "someone-else" and "nonce" not in claims and claims["email_verified"] is False
    assert google.id_token_overrides == {}

    google.sign_next_with_unpublished_key()
    id_token = google_token(google, location(google_authorize(google))["code"]).json()["id_token"]
    kids = {key["kid"] for key in google.jwks["keys"]}
    assert _jws_kid(id_token) not in kids
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(id_token, KeySet.import_key_set(google.jwks))

    old = google.kid
    new = google.rotate_key(keep_old=True)
    assert {old, new} == {key["kid"] for key in google.jwks["keys"]}
    google.rotate_key()
    assert len(google.jwks["keys"]) == 1 and google.kid not in (old, new)

    google.fail_next(503, which="discovery")
    google.garbage_next(which="jwks")
    assert requests.get(google.discovery_url, timeout=5).status_code == 503
    garbage = requests.get(f"{google.url}/oauth2/v3/certs", timeout=5)
    assert garbage.status_code == 200 and garbage.headers["Content-Type"].startswith("text/html")
    google.hang_next(0.5, which="token")
    with pytest.raises(requests.Timeout):
        requests.post(f"{google.url}/token", data={}, timeout=0.1)

    google.stop()  # down ...
    with pytest.raises(requests.ConnectionError):
        requests.get(google.discovery_url, timeout=1)
    google.start()  # ... and back, same port, same state
    assert requests.get(google.discovery_url, timeout=5).status_code == 200
    assert len(google.authorizations) == 2 and google.jwks_fetches == 1
    assert [seen.path for seen in google.requests].count("/token") == 3


def _jws_kid(token: str) -> str:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


# ----------------------------------------------------------------------------------- GitHub


@pytest.fixture
def github():
    server = GitHubServer()
    server.redirect_uris = {REDIRECT}
    server.add_account(4242, "octocat", [("octo@private.example", True, True), ("old@example.com", False, False)],
                       name="The Octocat", public_email=None)
    with server:
        yield server


API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def github_authorize(github: GitHubServer, challenge: str | None = None, **extra) -> requests.Response:
    params = {"client_id": github.client_id, "redirect_uri": REDIRECT, "scope": "read:user user:email",
              "state": "gh-state", **extra}
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return requests.get(f"{github.url}/login/oauth/authorize", params=params, allow_redirects=False, timeout=5)


def github_token(github: GitHubServer, code: str, verifier: str | None = None, json: bool = True,
                 **extra) -> requests.Response:
    data = {"client_id": github.client_id, "client_secret": github.client_secret, "code": code,
            "redirect_uri": REDIRECT, **extra}
    if verifier is not None:
        data["code_verifier"] = verifier
    headers = {"Accept": "application/json"} if json else {}
    return requests.post(f"{github.url}/login/oauth/access_token", data=data, headers=headers, timeout=5)


def test_github_round_trip(github):
    verifier, challenge = pkce()
    back = location(github_authorize(github, challenge))
    assert back["state"] == "gh-state" and len(back["code"]) == 20
    int(back["code"], 16)
    assert github.authorizations[0]["code_challenge"] == challenge

    response = github_token(github, back["code"], verifier)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    tokens = response.json()
    assert tokens["token_type"] == "bearer" and tokens["scope"] == "read:user,user:email"
    assert tokens["access_token"].startswith("gho_") and len(tokens["access_token"]) == 40

    auth = {"Authorization": f"Bearer {tokens['access_token']}", **API_HEADERS}
    user = requests.get(f"{github.api_url}/user", headers=auth, timeout=5)
    assert user.status_code == 200
    assert {k: user.json()[k] for k in ("login", "id", "type", "name", "email")} == {
        "login": "octocat", "id": 4242, "type": "User", "name": "The Octocat", "email": None}
    emails = requests.get(f"{github.api_url}/user/emails", headers=auth, timeout=5).json()
    assert emails == [{"email": "octo@private.example", "primary": True, "verified": True, "visibility": "private"},
                      {"email": "old@example.com", "primary": False, "verified": False, "visibility": None}]
    api_calls = [seen for seen in github.requests if seen.path.startswith("/api/v3/")]
    assert [(s.accept, s.api_version) for s in api_calls] == [("application/vnd.github+json", "2022-11-28")] * 2

    again = github_token(github, back["code"], verifier)
    assert again.status_code == 200 and again.json()["error"] == "bad_verification_code"
    bad = requests.get(f"{github.api_url}/user", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"


def test_github_form_encoded_and_refusals(github):
    verifier, challenge = pkce()
    code = location(github_authorize(github, challenge, scope="read:user"))["code"]
    wrong = github_token(github, code, "x" * 43, json=False)
    assert wrong.status_code == 200 and parse_qs(wrong.text)["error"] == ["bad_verification_code"]
    creds = github_token(github, code, verifier, client_secret="nope")
    assert creds.json()["error"] == "incorrect_client_credentials"
    mismatch = github_token(github, code, verifier, redirect_uri="http://127.0.0.1:9/elsewhere")
    assert mismatch.json()["error"] == "redirect_uri_mismatch"

    response = github_token(github, code, verifier, json=False)
    assert response.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = {k: v[0] for k, v in parse_qs(response.text).items()}
    assert form["token_type"] == "bearer" and form["scope"] == "read:user"
    auth = {"Authorization": f"token {form['access_token']}"}
    assert requests.get(f"{github.api_url}/user", headers=auth, timeout=5).status_code == 200
    no_scope = requests.get(f"{github.api_url}/user/emails", headers=auth, timeout=5)
    assert no_scope.status_code == 404 and no_scope.json()["message"] == "Not Found"

    github.deny_next = True
    denied = location(github_authorize(github))
    assert denied["error"] == "access_denied" and denied["state"] == "gh-state"
    assert denied["error_description"] == "The user has denied your application access."
    unknown = github_authorize(github, client_id="nobody")
    assert unknown.status_code == 404 and "Location" not in unknown.headers
    elsewhere = github_authorize(github, redirect_uri="https://evil.example/cb")
    assert "Location" not in elsewhere.headers and "not associated with this application" in elsewhere.text

    github.fail_next(502, which="user")
    github.garbage_next(which="emails")
    assert requests.get(f"{github.api_url}/user", headers=auth, timeout=5).status_code == 502
    garbage = requests.get(f"{github.api_url}/user/emails", headers=auth, timeout=5)
    assert garbage.status_code == 200 and garbage.headers["Content-Type"].startswith("text/html")
