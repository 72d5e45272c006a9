"""Discovery advertises exactly what works (RFC 8414, OpenID Connect Discovery 1.0 §3).

For the service's issuer and a project's own, every member of the metadata documents is
checked against behaviour: each endpoint answers its methods, and each response type,
response mode, grant type, client authentication method (and signing algorithm), PKCE
method, scope, prompt value, claim and flag listed works, while the neighbours that are
not listed are refused. A member this test does not know how to check fails it, so
nothing can be advertised without being proven here.
"""

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from tests.clients.conftest import ConsentBrowser, cli
from tests.clients.test_metadata_documents import DocumentServer, document
from tests.conftest import Server
from tests.flows import pkce_pair, query_of

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REDIRECT_URI = "https://app.example/callback"
PUBLIC_REDIRECT_URI = "http://127.0.0.1/callback"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEYS = {"ES256": ec.generate_private_key(ec.SECP256R1()), "ES384": ec.generate_private_key(ec.SECP384R1()),
           "ES512": ec.generate_private_key(ec.SECP521R1())}
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def signing_key(alg: str):
    """(private key, kid) for a JWS algorithm: RSA for RS* and PS*, the curve's key for ES*."""
    if alg[:2] in ("RS", "PS"):
        return RSA_KEY, "rsa"
    if alg in EC_KEYS:
        return EC_KEYS[alg], alg.lower()
    assert alg == "EdDSA", alg
    return ED_KEY, "ed"


def key_set() -> dict:
    keys = [{**RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True), "kid": "rsa"},
            {**OKPAlgorithm.to_jwk(ED_KEY.public_key(), as_dict=True), "kid": "ed"}]
    keys += [{**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": alg.lower()}
             for alg, key in EC_KEYS.items()]
    return {"keys": keys}


@pytest.fixture
def server(start_server) -> Server:
    return start_server(cimd_allow_http_loopback=True)


@pytest.fixture
def docs():
    document_server = DocumentServer()
    document_server.thread.start()
    yield document_server
    document_server.release.set()
    document_server.shutdown()
    document_server.server_close()


@dataclass
class Setting:
    """One issuer, its clients, and a browser signed in to it."""

    server: Server
    issuer: str
    metadata: dict
    project: dict  # the project's own client (confidential, client_secret_basic/post)
    machine: dict  # a client_credentials client with a secret
    keyed: dict  # a private_key_jwt client holding one key per algorithm
    public: dict  # a public client (auth method none)
    docs: DocumentServer
    browser: ConsentBrowser = field(init=False)
    tokens: dict = field(default_factory=dict)

    def url(self, name: str) -> str:
        value = self.metadata[name]
        assert value.startswith(self.issuer + "/"), (name, value)
        return value

    def authorize(self, client_id: str = "", redirect_uri: str = REDIRECT_URI, **params: str) -> requests.Response:
        query = {"response_type": "code", "client_id": client_id or self.project["client_id"],
                 "redirect_uri": redirect_uri, "state": "st", **params}
        return self.browser.get(f"{self.url('authorization_endpoint')}?{urlencode(query)}")

    def assertion(self, client_id: str, alg: str = "RS256") -> str:
        key, kid = signing_key(alg)
        now = int(self.server.clock.now())
        claims = {"iss": client_id, "sub": client_id, "aud": self.issuer, "iat": now, "exp": now + 300,
                  "jti": uuid.uuid4().hex}
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def authenticated(self, method: str, endpoint: str, data: dict, alg: str = "RS256") -> requests.Response:
        """`data` posted to an endpoint, the client authenticating with `method`."""
        auth = None
        if method == "client_secret_basic":
            auth = (self.project["client_id"], self.project["client_secret"])
        elif method == "client_secret_post":
            data = {**data, "client_id": self.project["client_id"], "client_secret": self.project["client_secret"]}
        elif method == "private_key_jwt":
            data = {**data, "client_assertion_type": JWT_BEARER,
                    "client_assertion": self.assertion(self.keyed["client_id"], alg)}
        else:
            assert method == "none", method
            data = {**data, "client_id": self.public["client_id"]}
        return requests.post(self.url(endpoint), data=data, auth=auth, timeout=15)


@pytest.fixture(params=["service", "project"])
def setting(request, server: Server, tmp_path: Path, docs: DocumentServer) -> Setting:
    project = cli(server, "project", "create", "--name", "Capabilities", "--redirect-uri", REDIRECT_URI,
                  "--scope", "read", "--allow-registration")
    p = project["project_id"]
    machine = cli(server, "client", "create", "--project", p, "--name", "bot", "--scope", "read")
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(key_set()))
    keyed = cli(server, "client", "create", "--project", p, "--name", "keyed", "--scope", "read",
                "--jwk-file", str(keys))
    public = cli(server, "client", "create", "--project", p, "--name", "native", "--public",
                 "--redirect-uri", PUBLIC_REDIRECT_URI)
    issuer = server.url if request.param == "service" else f"{server.url}/projects/{p}"
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    made = Setting(server, issuer, metadata, project, machine, keyed, public, docs)
    made.browser = ConsentBrowser(server.url)
    return made


# -- the checks, one per member -------------------------------------------------------------------

def check_issuer(s: Setting, value) -> None:
    assert value == s.issuer


def check_documents_agree(s: Setting) -> None:
    """Both well-known documents, at every place clients look, say the same."""
    p = s.project["project_id"]
    urls = [f"{s.issuer}/.well-known/oauth-authorization-server"]
    if s.issuer != s.server.url:
        urls += [f"{s.server.url}/.well-known/oauth-authorization-server/projects/{p}",
                 f"{s.server.url}/.well-known/openid-configuration/projects/{p}"]
    for url in urls:
        assert requests.get(url, timeout=10).json() == s.metadata, url


def check_authorization_endpoint(s: Setting, value) -> None:
    """A signed-out browser gets the sign-in form; signing up sends back a code."""
    response = s.authorize(scope="openid email", nonce="n-1")
    assert response.status_code == 200 and 'name="password"' in response.text
    url = f"{s.url('authorization_endpoint')}?" + urlencode({
        "response_type": "code", "client_id": s.project["client_id"], "redirect_uri": REDIRECT_URI,
        "state": "st", "scope": "openid email offline_access", "nonce": "n-1"})
    answer = s.browser.sign_up_at(url, "caps@example.org")
    assert answer.status_code == 303, answer.text[:300]
    s.tokens["code_redirect"] = answer.headers["Location"]


def check_token_endpoint(s: Setting, value) -> None:
    code = query_of(s.tokens["code_redirect"])["code"]
    response = s.authenticated("client_secret_basic", "token_endpoint", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
    assert response.status_code == 200, response.text
    s.tokens.update(response.json())


def check_jwks_uri(s: Setting, value) -> None:
    keys = requests.get(value, timeout=10).json()["keys"]
    assert jwt.get_unverified_header(s.tokens["id_token"])["kid"] in {k["kid"] for k in keys}


def check_userinfo_endpoint(s: Setting, value) -> None:
    header = {"Authorization": f"Bearer {s.tokens['access_token']}"}
    for response in (requests.get(value, headers=header, timeout=10),
                     requests.post(value, headers=header, timeout=10),
                     requests.post(value, data={"access_token": s.tokens["access_token"]}, timeout=10)):
        assert response.status_code == 200 and response.json()["email"] == "caps@example.org", response.text


def check_introspection_endpoint(s: Setting, value) -> None:
    for token in (s.tokens["access_token"], s.tokens["refresh_token"]):
        response = s.authenticated("client_secret_basic", "introspection_endpoint", {"token": token})
        assert response.json()["active"] is True, response.text


def check_revocation_endpoint(s: Setting, value) -> None:
    response = s.authenticated("client_secret_basic", "revocation_endpoint", {"token": "not-a-token"})
    assert response.status_code == 200


def check_end_session_endpoint(s: Setting, value) -> None:
    for response in (requests.get(value, timeout=10), requests.post(value, timeout=10)):
        assert response.status_code == 200 and "signed out" in response.text, response.text[:300]


def check_registration_endpoint(s: Setting, value) -> None:
    assert s.issuer != s.server.url, "only a project's server takes registrations"
    response = requests.post(value, json={"client_name": "Registered", "redirect_uris": [PUBLIC_REDIRECT_URI],
                                          "token_endpoint_auth_method": "none"}, timeout=10)
    assert response.status_code == 201, response.text


def check_grant_types(s: Setting, value) -> None:
    assert sorted(value) == ["authorization_code", "client_credentials", "refresh_token"]
    # authorization_code: check_token_endpoint. The other two:
    refreshed = s.authenticated("client_secret_post", "token_endpoint", {
        "grant_type": "refresh_token", "refresh_token": s.tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    s.tokens.update(refreshed.json())
    machine = requests.post(s.url("token_endpoint"), data={"grant_type": "client_credentials"},
                            auth=(s.machine["client_id"], s.machine["client_secret"]), timeout=10)
    assert machine.status_code == 200, machine.text
    for unlisted in ("password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"):
        refused = s.authenticated("client_secret_basic", "token_endpoint", {"grant_type": unlisted})
        assert refused.json()["error"] == "unsupported_grant_type", unlisted


def signed_in_code(s: Setting, **params: str) -> dict:
    """The redirect of an authorization request of the signed-in browser, as a dict."""
    response = s.authorize(**params)
    assert response.status_code == 303, response.text[:300]
    return query_of(response.headers["Location"]) | {"_location": response.headers["Location"]}


def check_response_types(s: Setting, value) -> None:
    assert value == ["code"]
    assert "code" in signed_in_code(s)
    for unlisted in ("token", "id_token", "code id_token", "none"):
        assert signed_in_code(s, response_type=unlisted)["error"] == "unsupported_response_type", unlisted


def check_response_modes(s: Setting, value) -> None:
    assert value == ["query"]
    location = urlsplit(signed_in_code(s)["_location"])
    assert "code=" in location.query and not location.fragment


def check_code_challenge_methods(s: Setting, value) -> None:
    assert value == ["S256"]
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert "code" in signed_in_code(s, code_challenge=challenge, code_challenge_method="S256")
    refused = signed_in_code(s, code_challenge=challenge, code_challenge_method="plain")
    assert refused["error"] == "invalid_request"


def check_iss_parameter(s: Setting, value) -> None:
    assert value is True
    assert signed_in_code(s)["iss"] == s.issuer


def check_scopes(s: Setting, value) -> None:
    expected = ["openid", "email", "profile", "offline_access"]
    assert value == (expected if s.issuer == s.server.url else [*expected, "read"])
    for scope in value:
        assert "code" in signed_in_code(s, scope=scope), scope
    assert signed_in_code(s, scope="admin")["error"] == "invalid_scope"


def check_prompts(s: Setting, value) -> None:
    assert sorted(value) == ["consent", "login", "none", "select_account"]
    assert "code" in signed_in_code(s, prompt="none")
    assert "code" in signed_in_code(s, prompt="consent")  # the project's own client needs no consent
    login = s.authorize(prompt="login")
    assert login.status_code == 200 and 'name="password"' in login.text
    select = s.authorize(prompt="select_account")
    assert select.status_code in (200, 303) and "error=" not in select.headers.get("Location", "")
    assert signed_in_code(s, prompt="create")["error"] == "invalid_request"


def check_acr_values(s: Setting, value) -> None:
    """A second factor, when a client asks for it: this user (signed in with a password)
    has none, so no code from the session, but a fresh sign-in (which then sets one up);
    with prompt=none, login_required."""
    assert value == ["http://schemas.openid.net/pape/policies/2007/06/multi-factor"]
    asked = s.authorize(acr_values=" ".join(value), scope="openid")
    assert asked.status_code == 200 and 'name="password"' in asked.text
    assert signed_in_code(s, acr_values=" ".join(value), prompt="none")["error"] == "login_required"
    assert "code" in signed_in_code(s, acr_values="urn:unknown:acr")  # values it does not offer are voluntary


def check_claims(s: Setting, value) -> None:
    """Every claim listed is in the ID token of an `openid email` request with a nonce."""
    id_token = jwt.decode(s.tokens["id_token"], options={"verify_signature": False})
    assert set(value) <= set(id_token), sorted(set(value) - set(id_token))


def check_id_token_algs(s: Setting, value) -> None:
    assert value == ["RS256"]
    token = s.tokens["id_token"]
    key = jwt.PyJWKClient(s.url("jwks_uri")).get_signing_key_from_jwt(token).key
    claims = jwt.decode(token, key, algorithms=value, audience=s.project["client_id"], issuer=s.issuer)
    assert claims["sub"]


def check_subject_types(s: Setting, value) -> None:
    """public: one user has one sub, whichever client asks."""
    assert value == ["public"]
    id_token = jwt.decode(s.tokens["id_token"], options={"verify_signature": False})
    me = requests.get(s.url("userinfo_endpoint"), headers={"Authorization": f"Bearer {s.tokens['access_token']}"},
                      timeout=10).json()
    assert me["sub"] == id_token["sub"]


def check_token_auth_methods(s: Setting, value) -> None:
    assert value == ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    for method in ("client_secret_basic", "client_secret_post", "private_key_jwt"):
        response = s.authenticated(method, "token_endpoint", {"grant_type": "client_credentials"})
        assert response.status_code == 200, (method, response.text)
    # none: a public client redeems its code with PKCE.
    verifier, challenge = pkce_pair()
    code = signed_in_code(s, client_id=s.public["client_id"], redirect_uri=PUBLIC_REDIRECT_URI,
                          code_challenge=challenge, code_challenge_method="S256")["code"]
    response = s.authenticated("none", "token_endpoint", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": PUBLIC_REDIRECT_URI,
        "code_verifier": verifier})
    assert response.status_code == 200, response.text
    unlisted = requests.post(s.url("token_endpoint"), data={
        "grant_type": "client_credentials", "client_assertion_type": "urn:example:unknown",
        "client_assertion": "x", "client_id": s.machine["client_id"]}, timeout=10)
    assert unlisted.status_code in (400, 401)


def check_signing_algs(endpoint: str, grant: dict):
    def check(s: Setting, value) -> None:
        assert value == ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
        for alg in value:
            response = s.authenticated("private_key_jwt", endpoint, grant(s), alg=alg)
            assert response.status_code == 200, (endpoint, alg, response.text)
        hs = jwt.encode({"iss": s.keyed["client_id"], "sub": s.keyed["client_id"], "aud": s.issuer,
                         "exp": int(s.server.clock.now()) + 60, "jti": uuid.uuid4().hex}, "k" * 32, algorithm="HS256")
        refused = requests.post(s.url(endpoint), data={**grant(s), "client_assertion_type": JWT_BEARER,
                                                       "client_assertion": hs}, timeout=10)
        assert refused.status_code == 401
    return check


def check_introspection_auth_methods(s: Setting, value) -> None:
    assert value == ["client_secret_basic", "client_secret_post", "private_key_jwt"]
    for method in value:
        response = s.authenticated(method, "introspection_endpoint", {"token": s.tokens["access_token"]})
        assert response.status_code == 200 and response.json()["active"] is True, (method, response.text)
    public = s.authenticated("none", "introspection_endpoint", {"token": s.tokens["access_token"]})
    assert public.status_code == 401


def check_revocation_auth_methods(s: Setting, value) -> None:
    assert value == ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    for method in value:
        response = s.authenticated(method, "revocation_endpoint", {"token": "not-a-token"})
        assert response.status_code == 200, (method, response.text)
    anonymous = requests.post(s.url("revocation_endpoint"), data={"token": "not-a-token"}, timeout=10)
    assert anonymous.status_code == 401


def check_request_objects_unsupported(error: str, parameter: str):
    """OpenID Connect Core §6: a server that takes no request objects says so, and refuses
    a request that sends one rather than ignoring what it asks."""

    def check(s: Setting, value) -> None:
        assert value is False
        refused = signed_in_code(s, **{parameter: "https://app.example/request.jwt" if parameter == "request_uri"
                                       else "eyJhbGciOiJub25lIn0.e30."})
        assert refused["error"] == error and refused["state"] == "st"
    return check


def check_claims_parameter_unsupported(s: Setting, value) -> None:
    """Core §5.5: without support, the `claims` parameter is ignored (the listed claims still come)."""
    assert value is False
    assert "code" in signed_in_code(s, scope="openid", claims='{"id_token": {"email": null}}')


def check_metadata_documents(s: Setting, value) -> None:
    assert value is True and s.issuer != s.server.url
    url = s.docs.url()
    s.docs.serve_json(document(url, client_name="Doc Client", redirect_uris=[REDIRECT_URI]))
    response = requests.get(f"{s.url('authorization_endpoint')}?" + urlencode({
        "response_type": "code", "client_id": url, "redirect_uri": REDIRECT_URI,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}),
        allow_redirects=False, timeout=15)
    assert response.status_code == 200 and "Doc Client" in response.text, response.text[:300]


# In the order they run: later checks use the tokens earlier ones obtained.
CHECKS = {
    "issuer": check_issuer,
    "authorization_endpoint": check_authorization_endpoint,
    "token_endpoint": check_token_endpoint,
    "jwks_uri": check_jwks_uri,
    "userinfo_endpoint": check_userinfo_endpoint,
    "introspection_endpoint": check_introspection_endpoint,
    "revocation_endpoint": check_revocation_endpoint,
    "end_session_endpoint": check_end_session_endpoint,
    "registration_endpoint": check_registration_endpoint,
    "claims_supported": check_claims,
    "id_token_signing_alg_values_supported": check_id_token_algs,
    "subject_types_supported": check_subject_types,
    "grant_types_supported": check_grant_types,
    "response_types_supported": check_response_types,
    "response_modes_supported": check_response_modes,
    "code_challenge_methods_supported": check_code_challenge_methods,
    "authorization_response_iss_parameter_supported": check_iss_parameter,
    "scopes_supported": check_scopes,
    "prompt_values_supported": check_prompts,
    "acr_values_supported": check_acr_values,
    "token_endpoint_auth_methods_supported": check_token_auth_methods,
    "token_endpoint_auth_signing_alg_values_supported": check_signing_algs(
        "token_endpoint", lambda s: {"grant_type": "client_credentials"}),
    "introspection_endpoint_auth_methods_supported": check_introspection_auth_methods,
    "introspection_endpoint_auth_signing_alg_values_supported": check_signing_algs(
        "introspection_endpoint", lambda s: {"token": s.tokens["access_token"]}),
    "revocation_endpoint_auth_methods_supported": check_revocation_auth_methods,
    "revocation_endpoint_auth_signing_alg_values_supported": check_signing_algs(
        "revocation_endpoint", lambda s: {"token": "not-a-token"}),
    "request_parameter_supported": check_request_objects_unsupported("request_not_supported", "request"),
    "request_uri_parameter_supported": check_request_objects_unsupported("request_uri_not_supported",
                                                                         "request_uri"),
    "claims_parameter_supported": check_claims_parameter_unsupported,
    "client_id_metadata_document_supported": check_metadata_documents,
}
# What a document must say, because the default of leaving it out would claim more
# (OpenID Connect Discovery §3: request_uri_parameter_supported defaults to true).
REQUIRED = {"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
            "end_session_endpoint", "response_types_supported", "subject_types_supported",
            "id_token_signing_alg_values_supported", "request_uri_parameter_supported",
            "code_challenge_methods_supported"}


def test_every_advertised_capability_works(setting: Setting):
    metadata = setting.metadata
    assert REQUIRED <= set(metadata), sorted(REQUIRED - set(metadata))
    unknown = set(metadata) - set(CHECKS)
    assert not unknown, f"advertised, but no check proves it: {sorted(unknown)}"
    check_documents_agree(setting)
    for name, check in CHECKS.items():
        if name in metadata:
            check(setting, metadata[name])
