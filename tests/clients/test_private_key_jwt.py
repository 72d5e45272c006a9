"""Machine clients that authenticate with their own keys: RFC 7523 §2.2 `private_key_jwt`,
registered with `astapa client create ... --jwk-file F` or `--jwks-uri URL`, asking for
tokens with the client_credentials grant (RFC 6749 §4.4) at the service's token endpoint
and at a project's own (`{issuer}/projects/P/oauth/token`).

Assertions are signed here with PyJWT (RS256, ES256) or put together by hand when they
must be malformed (`alg: none`, HS256 keyed with the public key). The server's clock is
the injected FakeClock: assertions' `iat`/`exp` are taken from it, and moving it is how
the jwks_uri cache ages.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from astapa.web.appkeys import application_key
from tests.clients.conftest import cli
from tests.conftest import Server
from tests.fakes.base import FakeServer
from tests.process import cli as cli_process
from tests.process import export_events

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NEW_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key, kid: str) -> dict:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig"}


def private_jwk(key, kid: str) -> dict:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    return {**algorithm.to_jwk(key, as_dict=True), "kid": kid}


KEY_SET = {"keys": [public_jwk(RSA_KEY, "rsa-1"), public_jwk(EC_KEY, "ec-1")]}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- the server, clients and assertions ---------------------------------------------------

@pytest.fixture
def server_settings() -> dict:
    return {"cimd_allow_http_loopback": True}


@pytest.fixture
def server(start_server, server_settings) -> Server:
    return start_server(**server_settings)


def create_client(server: Server, project: dict, tmp_path: Path, *extra: str, key_set: dict | None = None,
                  ttl: int | None = None) -> dict:
    args = ["client", "create", "--project", project["project_id"], "--name", "bot", "--scope", "read"]
    if key_set is not None:
        path = tmp_path / f"keys-{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(key_set))
        args += ["--jwk-file", str(path)]
    if ttl is not None:
        args += ["--token-ttl", str(ttl)]
    return cli(server, *args, *extra)


@pytest.fixture
def client(server: Server, project: dict, tmp_path: Path) -> dict:
    """A private_key_jwt client of `project` whose JWK file holds an RSA and an EC key."""
    made = create_client(server, project, tmp_path, key_set=KEY_SET, ttl=120)
    assert made["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in made
    return made


def endpoints(server: Server, project: dict) -> dict[str, tuple[str, str]]:
    """{name: (issuer, token endpoint)} of the service's server and the project's own."""
    return {"global": (server.url, f"{server.url}/oauth/token"),
            "project": (project["issuer"], f"{project['issuer']}/oauth/token")}


def sign(server: Server, client_id: str, aud, key=RSA_KEY, kid: str = "rsa-1", alg: str = "RS256",
         **claims) -> str:
    """An assertion for `client_id` valid five minutes on the server's clock; a claim given
    as None is left out."""
    now = int(server.clock.now())
    body = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 300,
            "jti": uuid.uuid4().hex, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg,
                      headers={"kid": kid})


def hand_made(header: dict, claims: dict, signing_input_key: bytes | None) -> str:
    """A compact JWS put together by hand: HS256 over `signing_input_key`, or no signature."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if signing_input_key is None:
        return signing_input + "."
    mac = hmac.new(signing_input_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def token(endpoint: str, assertion: str, auth=None, **extra: str) -> requests.Response:
    data = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion, **extra}
    return requests.post(endpoint, data=data, auth=auth, timeout=15)


def claims_of(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def assert_invalid_client(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


# --- tokens ------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["global", "project"])
@pytest.mark.parametrize("audience", ["issuer", "token_endpoint"])
@pytest.mark.parametrize("key, kid, alg", [(RSA_KEY, "rsa-1", "RS256"), (EC_KEY, "ec-1", "ES256")],
                         ids=["RS256", "ES256"])
def test_an_assertion_gets_a_client_credentials_token(server: Server, project: dict, client: dict,
                                                      where: str, audience: str, key, kid: str, alg: str):
    issuer, endpoint = endpoints(server, project)[where]
    aud = issuer if audience == "issuer" else endpoint
    response = token(endpoint, sign(server, client["client_id"], aud, key, kid, alg), scope="read")
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "read"
    assert body["expires_in"] == 120  # --token-ttl 120
    assert "refresh_token" not in body
    claims = claims_of(body["access_token"])
    assert claims["iss"] == issuer
    assert claims["sub"] == claims["client_id"] == client["client_id"]
    assert claims["project_id"] == project["project_id"]
    assert claims["exp"] - claims["iat"] == 120
    assert claims["iat"] == int(server.clock.now())


def test_client_id_in_the_body_and_an_audience_list_are_accepted(server: Server, project: dict, client: dict):
    issuer, endpoint = endpoints(server, project)["project"]
    assertion = sign(server, client["client_id"], ["https://elsewhere.example", issuer])
    response = token(endpoint, assertion, client_id=client["client_id"])
    assert response.status_code == 200, response.text


def test_an_assertion_valid_for_just_under_an_hour_is_accepted(server: Server, project: dict, client: dict):
    issuer, endpoint = endpoints(server, project)["global"]
    now = int(server.clock.now())
    response = token(endpoint, sign(server, client["client_id"], issuer, exp=now + 3590))
    assert response.status_code == 200, response.text


# --- refusals ----------------------------------------------------------------------------

def _wrong_aud(server, project, client, issuer):
    return sign(server, client["client_id"], "https://evil.example/oauth/token")


def _other_server_aud(server, project, client, issuer):
    """The project's own issuer, sent to the service-wide endpoint."""
    return sign(server, client["client_id"], project["issuer"])


def _no_aud(server, project, client, issuer):
    return sign(server, client["client_id"], None)


def _expired(server, project, client, issuer):
    now = int(server.clock.now())
    return sign(server, client["client_id"], issuer, iat=now - 600, exp=now - 120)


def _too_long(server, project, client, issuer):
    return sign(server, client["client_id"], issuer, exp=int(server.clock.now()) + 3600 + 120)


def _no_exp(server, project, client, issuer):
    return sign(server, client["client_id"], issuer, exp=None)


def _no_jti(server, project, client, issuer):
    return sign(server, client["client_id"], issuer, jti=None)


def _iss_not_sub(server, project, client, issuer):
    return sign(server, client["client_id"], issuer, iss="someone-else")


def _another_key(server, project, client, issuer):
    return sign(server, client["client_id"], issuer, key=OTHER_RSA_KEY, kid="rsa-1")


def _another_key_without_kid(server, project, client, issuer):
    now = int(server.clock.now())
    return jwt.encode({"iss": client["client_id"], "sub": client["client_id"], "aud": issuer,
                       "exp": now + 300, "jti": uuid.uuid4().hex}, OTHER_RSA_KEY, algorithm="RS256")


def _alg_none(server, project, client, issuer):
    now = int(server.clock.now())
    return hand_made({"alg": "none", "typ": "JWT", "kid": "rsa-1"},
                     {"iss": client["client_id"], "sub": client["client_id"], "aud": issuer,
                      "exp": now + 300, "jti": uuid.uuid4().hex}, None)


def _hs256_public_pem(server, project, client, issuer):
    pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(server.clock.now())
    return hand_made({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
                     {"iss": client["client_id"], "sub": client["client_id"], "aud": issuer,
                      "exp": now + 300, "jti": uuid.uuid4().hex}, pem)


def _hs256_public_jwk(server, project, client, issuer):
    now = int(server.clock.now())
    return hand_made({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
                     {"iss": client["client_id"], "sub": client["client_id"], "aud": issuer,
                      "exp": now + 300, "jti": uuid.uuid4().hex},
                     json.dumps(public_jwk(RSA_KEY, "rsa-1")).encode())


def _hs256_modulus(server, project, client, issuer):
    n = base64.urlsafe_b64decode(public_jwk(RSA_KEY, "rsa-1")["n"] + "==")
    now = int(server.clock.now())
    return hand_made({"alg": "HS256", "typ": "JWT"},
                     {"iss": client["client_id"], "sub": client["client_id"], "aud": issuer,
                      "exp": now + 300, "jti": uuid.uuid4().hex}, n)


def _tampered(server, project, client, issuer):
    header, payload, signature = sign(server, client["client_id"], issuer).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "admin"
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


REFUSED = {
    "wrong-aud": _wrong_aud,
    "aud-of-the-project-server": _other_server_aud,
    "no-aud": _no_aud,
    "expired": _expired,
    "exp-more-than-an-hour-ahead": _too_long,
    "no-exp": _no_exp,
    "no-jti": _no_jti,
    "iss-not-sub": _iss_not_sub,
    "signed-by-another-key": _another_key,
    "signed-by-another-key-no-kid": _another_key_without_kid,
    "alg-none": _alg_none,
    "hs256-keyed-with-public-pem": _hs256_public_pem,
    "hs256-keyed-with-public-jwk": _hs256_public_jwk,
    "hs256-keyed-with-modulus": _hs256_modulus,
    "tampered-payload": _tampered,
}


@pytest.mark.parametrize("make", list(REFUSED.values()), ids=list(REFUSED))
def test_a_bad_assertion_is_invalid_client(server: Server, project: dict, client: dict, make):
    issuer, endpoint = endpoints(server, project)["global"]
    response = token(endpoint, make(server, project, client, issuer))
    assert_invalid_client(response)
    # The client itself is fine: a good assertion still works after the refusal.
    assert token(endpoint, sign(server, client["client_id"], issuer)).status_code == 200


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["NaN", "Infinity", "-Infinity"])
def test_an_assertion_whose_times_are_not_finite_numbers_is_invalid_client(server: Server, project: dict,
                                                                           client: dict, claim: str, value):
    """A JSON payload holding NaN or ±Infinity is not JSON (RFC 8259 §6); a NaN `exp` would
    otherwise pass both "not expired" and "within the hour" and never expire."""
    issuer, endpoint = endpoints(server, project)["global"]
    log = server.web_app[application_key].recorder
    before = log.max_notification_id()
    assert_invalid_client(token(endpoint, sign(server, client["client_id"], issuer, **{claim: value})))
    assert log.max_notification_id() == before  # nothing recorded
    assert token(endpoint, sign(server, client["client_id"], issuer)).status_code == 200


def test_the_global_issuer_is_not_an_audience_of_the_project_server(server: Server, project: dict,
                                                                      client: dict):
    _, endpoint = endpoints(server, project)["project"]
    assert_invalid_client(token(endpoint, sign(server, client["client_id"], server.url)))


@pytest.mark.parametrize("second", ["global", "project"])
def test_a_replayed_assertion_is_refused(server: Server, project: dict, client: dict, second: str):
    issuer, endpoint = endpoints(server, project)["global"]
    assertion = sign(server, client["client_id"], [issuer, project["issuer"]])
    assert token(endpoint, assertion).status_code == 200
    assert_invalid_client(token(endpoints(server, project)[second][1], assertion))


def test_a_refused_grant_does_not_spend_the_assertion(server: Server, project: dict, client: dict):
    """The jti is recorded in the save that records the token: invalid_scope spends nothing."""
    issuer, endpoint = endpoints(server, project)["project"]
    assertion = sign(server, client["client_id"], issuer)
    refused = token(endpoint, assertion, scope="not-granted")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    assert token(endpoint, assertion, scope="read").status_code == 200
    assert_invalid_client(token(endpoint, assertion, scope="read"))


def test_a_replayed_jti_in_a_fresh_assertion_is_refused(server: Server, project: dict, client: dict):
    issuer, endpoint = endpoints(server, project)["global"]
    assert token(endpoint, sign(server, client["client_id"], issuer, jti="once")).status_code == 200
    server.clock.advance(30)
    assert_invalid_client(token(endpoint, sign(server, client["client_id"], issuer, jti="once",
                                               key=EC_KEY, kid="ec-1", alg="ES256")))


def test_one_assertion_sent_eight_times_at_once_gets_one_token(server: Server, project: dict, client: dict):
    issuer, endpoint = endpoints(server, project)["global"]
    assertion = sign(server, client["client_id"], issuer)
    barrier = threading.Barrier(8)
    results: list = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait(5)
        try:
            response = token(endpoint, assertion)
            outcome = (response.status_code, response.json().get("error"))
        except Exception as e:  # noqa: BLE001 (counted below)
            outcome = (None, repr(e))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 8
    assert sorted(results, key=str) == sorted([(200, None)] + [(401, "invalid_client")] * 7, key=str), results


def test_a_client_secret_next_to_an_assertion_is_invalid_request(server: Server, project: dict, client: dict):
    issuer, endpoint = endpoints(server, project)["global"]
    response = token(endpoint, sign(server, client["client_id"], issuer), client_secret="anything")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    response = token(endpoint, sign(server, client["client_id"], issuer), auth=(client["client_id"], "anything"))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_a_wrong_assertion_type_is_invalid_request(server: Server, project: dict, client: dict):
    issuer, endpoint = endpoints(server, project)["global"]
    response = token(endpoint, sign(server, client["client_id"], issuer),
                     client_assertion_type="urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text


def test_a_secret_client_cannot_use_an_assertion(server: Server, project: dict, tmp_path: Path):
    secret_client = create_client(server, project, tmp_path)
    assert secret_client["token_endpoint_auth_method"] == "client_secret_basic"
    issuer, endpoint = endpoints(server, project)["global"]
    assert_invalid_client(token(endpoint, sign(server, secret_client["client_id"], issuer)))
    # Its secret still works.
    response = requests.post(endpoint, data={"grant_type": "client_credentials"},
                             auth=(secret_client["client_id"], secret_client["client_secret"]), timeout=15)
    assert response.status_code == 200, response.text


def test_a_keyed_client_cannot_go_without_its_assertion(server: Server, project: dict, client: dict):
    _, endpoint = endpoints(server, project)["global"]
    response = requests.post(endpoint, data={"grant_type": "client_credentials", "client_id": client["client_id"]},
                             timeout=15)
    assert_invalid_client(response)


def test_an_assertion_signed_with_one_clients_key_cannot_name_another(server: Server, project: dict,
                                                                       client: dict, tmp_path: Path):
    other = create_client(server, project, tmp_path, key_set={"keys": [public_jwk(OTHER_RSA_KEY, "rsa-1")]})
    issuer, endpoint = endpoints(server, project)["global"]
    assert_invalid_client(token(endpoint, sign(server, other["client_id"], issuer, key=RSA_KEY)))
    assert token(endpoint, sign(server, other["client_id"], issuer, key=OTHER_RSA_KEY)).status_code == 200


def test_a_client_of_another_project_is_unknown_at_this_projects_server(server: Server, project: dict,
                                                                         tmp_path: Path):
    elsewhere = cli(server, "project", "create", "--name", "Elsewhere", "--redirect-uri",
                    "https://elsewhere.example/cb", "--scope", "read")
    stranger = create_client(server, elsewhere, tmp_path, key_set=KEY_SET)
    issuer, endpoint = endpoints(server, project)["project"]
    assert_invalid_client(token(endpoint, sign(server, stranger["client_id"], issuer)))


# --- the CLI refuses keys it must not hold -----------------------------------------------

@pytest.mark.parametrize("content", [
    pytest.param(json.dumps(private_jwk(RSA_KEY, "rsa-1")), id="private-rsa-jwk"),
    pytest.param(json.dumps({"keys": [public_jwk(EC_KEY, "ec-1"), private_jwk(EC_KEY, "ec-2")]}),
                 id="jwk-set-with-a-private-ec-key"),
    pytest.param(json.dumps({"kty": "oct", "k": b64(b"a shared secret, not a public key")}), id="symmetric-key"),
    pytest.param("-----BEGIN PUBLIC KEY-----\nnot json\n-----END PUBLIC KEY-----\n", id="not-json"),
])
def test_the_cli_refuses_a_key_file_it_must_not_register(tmp_path: Path, content: str):
    data_dir = tmp_path / "cli-data"
    path = tmp_path / "key.json"
    path.write_text(content)
    done = cli_process("client", "create", "--project", "p-none", "--name", "bot", "--jwk-file", str(path),
                       data_dir=data_dir)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("astapa: error:"), done.stderr
    for secret in (private_jwk(RSA_KEY, "rsa-1")["d"], private_jwk(EC_KEY, "ec-2")["d"]):
        assert secret not in done.stderr


# --- a client publishing its keys at a jwks_uri --------------------------------------------

class JwksServer(FakeServer):
    NAME = "jwks"

    def __init__(self) -> None:
        super().__init__()
        self.key_set: dict = {"keys": []}
        self.fetches = 0
        self.status = 200
        self.in_two_parts = False  # the body written in two parts a moment apart

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/jwks.json", self._jwks)

    async def _jwks(self, request: web.Request) -> web.Response:
        with self._lock:
            self.fetches += 1
            body = json.dumps(self.key_set).encode()
            status, in_two_parts = self.status, self.in_two_parts
        if not in_two_parts:
            return web.Response(status=status, body=body, content_type="application/json")
        response = web.StreamResponse(status=status, headers={"Content-Type": "application/json",
                                                              "Content-Length": str(len(body))})
        await response.prepare(request)
        await response.write(body[:len(body) // 2])
        await asyncio.sleep(0.3)
        try:
            await response.write(body[len(body) // 2:])
            await response.write_eof()
        except ConnectionResetError:
            pass  # the fetcher stopped reading after the first part
        return response


@pytest.fixture
def jwks_server():
    with JwksServer() as fake:
        yield fake


def test_a_jwks_uri_client_rotates_its_key(server: Server, project: dict, tmp_path: Path, jwks_server: JwksServer):
    jwks_server.key_set = {"keys": [public_jwk(RSA_KEY, "k1")]}
    made = create_client(server, project, tmp_path, "--jwks-uri", f"{jwks_server.url}/jwks.json")
    assert made["token_endpoint_auth_method"] == "private_key_jwt"
    issuer, endpoint = endpoints(server, project)["project"]
    assert token(endpoint, sign(server, made["client_id"], issuer, kid="k1")).status_code == 200
    assert jwks_server.fetches == 1
    assert token(endpoint, sign(server, made["client_id"], issuer, kid="k1")).status_code == 200
    assert jwks_server.fetches == 1  # cached

    jwks_server.key_set = {"keys": [public_jwk(NEW_RSA_KEY, "k2")]}
    # Within ten seconds of the last fetch an unknown key is not worth another fetch.
    server.clock.advance(5)
    assert_invalid_client(token(endpoint, sign(server, made["client_id"], issuer, key=NEW_RSA_KEY, kid="k2")))
    assert jwks_server.fetches == 1
    server.clock.advance(6)  # eleven seconds after the fetch
    response = token(endpoint, sign(server, made["client_id"], issuer, key=NEW_RSA_KEY, kid="k2"))
    assert response.status_code == 200, response.text
    assert jwks_server.fetches == 2
    # The retired key is gone with the old copy.
    assert_invalid_client(token(endpoint, sign(server, made["client_id"], issuer, kid="k1")))


def test_a_jwks_uri_that_fails_is_invalid_client(server: Server, project: dict, tmp_path: Path,
                                                  jwks_server: JwksServer):
    jwks_server.key_set = {"keys": [public_jwk(RSA_KEY, "k1")]}
    jwks_server.status = 500
    made = create_client(server, project, tmp_path, "--jwks-uri", f"{jwks_server.url}/jwks.json")
    issuer, endpoint = endpoints(server, project)["global"]
    assert_invalid_client(token(endpoint, sign(server, made["client_id"], issuer, kid="k1")))
    assert jwks_server.fetches == 1
    jwks_server.status = 200
    server.clock.advance(11)  # the failure was remembered for ten seconds
    assert token(endpoint, sign(server, made["client_id"], issuer, kid="k1")).status_code == 200
    assert jwks_server.fetches == 2


def test_a_key_set_that_arrives_in_two_parts_is_read_whole(server: Server, project: dict, tmp_path: Path,
                                                           jwks_server: JwksServer):
    """A slow network (or a chunked answer) delivers the JWKS in two parts: the fetcher
    must read to the end of the body."""
    jwks_server.key_set = {"keys": [public_jwk(RSA_KEY, "k1"), public_jwk(NEW_RSA_KEY, "k2")]}
    jwks_server.in_two_parts = True
    made = create_client(server, project, tmp_path, "--jwks-uri", f"{jwks_server.url}/jwks.json")
    issuer, endpoint = endpoints(server, project)["global"]
    response = token(endpoint, sign(server, made["client_id"], issuer, kid="k1"))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("server_settings", [{}])
def test_a_loopback_jwks_uri_is_never_fetched_by_default(server: Server, project: dict, tmp_path: Path,
                                                         jwks_server: JwksServer):
    jwks_server.key_set = {"keys": [public_jwk(RSA_KEY, "k1")]}
    made = create_client(server, project, tmp_path, "--jwks-uri", f"{jwks_server.url}/jwks.json")
    issuer, endpoint = endpoints(server, project)["global"]
    assert_invalid_client(token(endpoint, sign(server, made["client_id"], issuer, kid="k1")))
    assert jwks_server.fetches == 0


# --- the event log -----------------------------------------------------------------------

def test_no_event_holds_an_assertion(server: Server, project: dict, client: dict):
    issuer, endpoint = endpoints(server, project)["global"]
    jti = "jti-" + uuid.uuid4().hex
    assertion = sign(server, client["client_id"], issuer, jti=jti)
    assert token(endpoint, assertion).status_code == 200
    assert_invalid_client(token(endpoint, assertion))  # a replay records nothing either
    events = export_events(server.data_dir)
    dumped = json.dumps(events)
    signature = assertion.rsplit(".", 1)[1]
    for part in (assertion, signature, assertion.split(".")[1]):
        assert part not in dumped
    raw = b"".join(path.read_bytes() for path in server.data_dir.glob("events.db*"))
    assert signature.encode() not in raw and assertion.split(".")[1].encode() not in raw
    # What is kept is the jti's hash, once.
    used = [e for e in events if hashlib.sha256(jti.encode()).hexdigest() in json.dumps(e)]
    assert len(used) == 1, used
    assert jti not in dumped
