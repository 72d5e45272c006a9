"""MCP authorization end to end, with nothing simulated:

- a real Astapa server (in-process thread, as in tests/conftest.py) whose project is the
  authorization server, with the MCP server registered as a protected resource;
- examples/mcp_server/server.py as a real process on a loopback port;
- the official `mcp` SDK's client, unmodified: `OAuthClientProvider` (discovery, dynamic
  registration or a Client ID Metadata Document, authorization code + PKCE) and the
  client-credentials extension. The browser part of the authorization code flow drives
  Astapa's hosted pages over HTTP (sign up, consent), as a person without JavaScript would.

One Astapa and one MCP server serve the whole module; each test makes its own clients and users.
"""

import contextlib
import datetime
import io
import ipaddress
import json
import re
import ssl
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import anyio
import httpx2
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from astapa import cli
from astapa.clock import FakeClock
from tests.conftest import Server, ServerThread, wait_for_client
from tests.flows import PASSWORD, query_of
from tests.process import REPO, child_env, free_port, jwt_claims

EXAMPLE = REPO / "examples" / "mcp_server" / "server.py"
SCOPE = "mcp:tools"
READ_SCOPE = "mcp:read"  # a scope of the resource that is not enough to call it
# The client's loopback redirect URI. Nothing listens there: the hosted pages' last redirect
# is read from its Location header, as a native app's loopback listener would receive it.
REDIRECT_URI = f"http://127.0.0.1:{free_port()}/callback"
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "raw", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


# --- Astapa's CLI, in-process ------------------------------------------------------------

def astapa(server: Server, *args: str):
    """`astapa ARGS --data-dir D` in-process; its JSON output (None if it prints none)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main([*args, "--data-dir", str(server.data_dir)])
    assert status == 0, f"astapa {' '.join(args)} exited {status}"
    text = out.getvalue().strip()
    return json.loads(text) if text.startswith("{") else None


@dataclass
class Setup:
    astapa: Server
    project: dict
    issuer: str      # the project's own issuer: {astapa}/projects/{project_id}
    resource: str    # the MCP server's URL, registered as a resource of the project
    other: str       # another registered resource of the same project
    metadata: dict   # the project's RFC 8414 metadata

    def machine_client(self, *scopes: str, extra: tuple[str, ...] = ()) -> dict:
        args = ["client", "create", "--project", self.project["project_id"], "--name", "agent", *extra]
        for scope in scopes:
            args += ["--scope", scope]
        client = astapa(self.astapa, *args)
        wait_for_client(self.astapa, client)
        return client

    def token(self, client: dict, **params: str) -> requests.Response:
        """client_credentials at the project's token endpoint (from its metadata), HTTP Basic."""
        return requests.post(self.metadata["token_endpoint"], data={"grant_type": "client_credentials", **params},
                             auth=(client["client_id"], client["client_secret"]), timeout=10)

    def call_raw(self, access_token: str | None) -> requests.Response:
        headers = dict(MCP_HEADERS)
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        return requests.post(self.resource, json=INITIALIZE, headers=headers, timeout=10)


def _start_example(issuer: str, resource: str, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    proc = subprocess.Popen([sys.executable, str(EXAMPLE)], cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT,
                            env=child_env({"ASTAPA_ISSUER_URL": issuer, "MCP_RESOURCE_URL": resource}))
    log.close()
    prm = _prm_url(resource)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the example MCP server exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(prm, timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.1)
    _stop(proc)
    raise AssertionError(f"the example MCP server did not start:\n{log_path.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # this child's PID only
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _prm_url(resource: str) -> str:
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "astapa test documents")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tls) -> Setup:
    data_dir = tmp_path_factory.mktemp("astapa")
    # Client ID Metadata Documents may live on loopback (ASTAPA_CIMD_ALLOW_HTTP_LOOPBACK) and
    # be served over https with the test's own certificate (ASTAPA_CIMD_CA_FILE).
    thread = ServerThread(data_dir, FakeClock(), cimd_allow_http_loopback=True, cimd_ca_file=str(tls[0]))
    server = thread.start()
    proc = None
    try:
        project = astapa(server, "project", "create", "--name", "mcp", "--allow-registration",
                         "--redirect-uri", "https://app.example/callback")
        project_id = project["project_id"]
        resource = f"http://127.0.0.1:{free_port()}/mcp"
        other = f"http://127.0.0.1:{free_port()}/other-mcp"
        astapa(server, "resource", "add", "--project", project_id, "--uri", resource,
               "--scope", SCOPE, "--scope", READ_SCOPE)
        astapa(server, "resource", "add", "--project", project_id, "--uri", other, "--scope", SCOPE)
        wait_for_client(server, project)
        issuer = f"{server.url}/projects/{project_id}"
        response = requests.get(f"{server.url}/.well-known/oauth-authorization-server/projects/{project_id}",
                                timeout=10)
        assert response.status_code == 200, response.text
        proc = _start_example(issuer, resource, data_dir / "mcp_server.log")
        yield Setup(server, project, issuer, resource, other, response.json())
    finally:
        if proc is not None:
            _stop(proc)
        thread.stop()


# --- the SDK's side: storage, the browser part, calling tools ----------------------------

class MemoryStorage:
    """The SDK's TokenStorage protocol, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
ATTR = re.compile(r'([a-zA-Z_-]+)="([^"]*)"')
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.IGNORECASE | re.DOTALL)


def forms(html: str) -> list[tuple[str, dict[str, str], str]]:
    """Each form of the page: (action, its hidden fields, its HTML)."""
    found = []
    for form in FORM.findall(html):
        attrs = dict(ATTR.findall(form[:form.index(">")]))
        hidden = {}
        for tag in INPUT.findall(form):
            fields = {k.lower(): unescape(v) for k, v in ATTR.findall(tag)}
            if fields.get("type") == "hidden" and "name" in fields:
                hidden[fields["name"]] = fields.get("value", "")
        found.append((unescape(attrs.get("action", "")), hidden, form))
    return found


class HostedPages:
    """The SDK's redirect_handler and callback_handler: a person who signs up on Astapa's
    hosted pages and allows the client on the consent page."""

    def __init__(self, email: str, client_name: str) -> None:
        self.email = email
        self.client_name = client_name
        self.authorize_url: str | None = None
        self.consent_page: str | None = None
        self.result: AuthorizationCodeResult | None = None

    async def redirect_handler(self, url: str) -> None:
        self.authorize_url = url
        self.result = await anyio.to_thread.run_sync(self._walk, url)

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result

    def _walk(self, url: str) -> AuthorizationCodeResult:
        session = requests.Session()
        response = self._follow(session, session.get(url, allow_redirects=False, timeout=10))
        assert response.status_code == 200, f"authorize answered {response.status_code}: {response.text[:500]}"
        # The sign-in page links to sign-up, which carries the same authorization request.
        link = re.search(r'href="([^"]*/auth/signup\?[^"]*)"', response.text)
        assert link, f"no sign-up link on the sign-in page: {response.text[:1000]}"
        page = session.get(urljoin(response.url, unescape(link.group(1))), allow_redirects=False, timeout=10)
        assert page.status_code == 200, page.text[:500]
        action, hidden, _ = next(f for f in forms(page.text) if 'name="password"' in f[2])
        response = session.post(urljoin(page.url, action), allow_redirects=False, timeout=10,
                                data={**hidden, "email": self.email, "password": PASSWORD, "action": "signup"})
        # Third-party client: the consent page comes next (maybe after a redirect).
        response = self._follow(session, response)
        consent = [f for f in forms(response.text) if "/auth/consent" in f[0]] if response.status_code == 200 else []
        assert consent, f"expected the consent page, got {response.status_code}: {response.text[:1000]}"
        assert self.client_name in response.text  # the page names the client
        self.consent_page = response.text
        action, hidden, _ = consent[0]
        response = session.post(urljoin(response.url, action), data={**hidden, "action": "allow"},
                                allow_redirects=False, timeout=10)
        assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:500]}"
        location = response.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?"), location
        params = query_of(location)
        assert "error" not in params, params
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    @staticmethod
    def _follow(session: requests.Session, response: requests.Response) -> requests.Response:
        """Follow redirects that stay on the hosted pages (never the one to the client)."""
        for _ in range(5):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(REDIRECT_URI):
                return response
            response = session.get(location, allow_redirects=False, timeout=10)
        return response


async def _use_tools(resource: str, auth: httpx2.Auth) -> tuple[int, dict]:
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with Client(streamable_http_client(resource, http_client=http)) as client:
            added = await client.call_tool("add", {"a": 2, "b": 40})
            who = await client.call_tool("whoami", {})
    assert not added.is_error and not who.is_error, (added, who)
    return added.structured_content["result"], json.loads(who.content[0].text)


def use_tools(resource: str, auth: httpx2.Auth) -> tuple[int, dict]:
    """Connect with the SDK client through `auth`, call `add(2, 40)` and `whoami()`."""
    return anyio.run(_use_tools, resource, auth)


def assert_token_for(setup: Setup, access_token: str, scope: str = SCOPE) -> dict:
    claims = jwt_claims(access_token)
    assert claims["iss"] == setup.issuer
    assert claims["aud"] in (setup.resource, [setup.resource])
    assert scope in claims.get("scope", "").split()
    return claims


# --- discovery: what the SDK relies on ---------------------------------------------------

def test_the_example_server_points_clients_at_the_project(setup: Setup):
    response = setup.call_raw(None)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{_prm_url(setup.resource)}"' in challenge

    prm = requests.get(_prm_url(setup.resource), timeout=10).json()
    assert prm["resource"] == setup.resource
    assert prm["authorization_servers"] == [setup.issuer]
    assert prm["scopes_supported"] == [SCOPE]

    # RFC 8414 path-inserted metadata, the first URL the SDK probes for this issuer.
    metadata = setup.metadata
    assert metadata["issuer"] == setup.issuer  # the SDK refuses any other
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["registration_endpoint"]
    assert {"client_secret_basic", "private_key_jwt"} <= set(metadata["token_endpoint_auth_methods_supported"])
    for endpoint in ("authorization_endpoint", "token_endpoint", "registration_endpoint"):
        assert metadata[endpoint].startswith(setup.issuer + "/"), metadata[endpoint]


# --- interactive clients: authorization code + PKCE ---------------------------------------

def test_sdk_client_registers_dynamically_signs_in_and_calls_tools(setup: Setup):
    storage = MemoryStorage()
    email = f"dcr-{uuid.uuid4().hex[:8]}@example.com"
    pages = HostedPages(email, "DCR test client")
    provider = OAuthClientProvider(
        server_url=setup.resource,
        client_metadata=OAuthClientMetadata(client_name="DCR test client", redirect_uris=[REDIRECT_URI]),
        storage=storage, redirect_handler=pages.redirect_handler, callback_handler=pages.callback_handler)

    assert use_tools(setup.resource, provider)[0] == 42

    registered = storage.client_info
    assert registered is not None and registered.client_id and not registered.client_id.startswith("http")
    assert registered.issuer == setup.issuer  # the SDK bound it to the registration endpoint's issuer
    request = query_of(pages.authorize_url)
    assert pages.authorize_url.startswith(setup.metadata["authorization_endpoint"] + "?")
    assert request["resource"] == setup.resource
    assert request["code_challenge_method"] == "S256"
    assert SCOPE in request["scope"].split()
    assert "127.0.0.1" in pages.consent_page  # the redirect host
    claims = assert_token_for(setup, storage.tokens.access_token)
    assert claims["email"] == email

    # Once the access token has expired the SDK refreshes it (with `resource` again, and the
    # registered client's secret); whoami answers for the signed-in person.
    first = storage.tokens
    provider.context.token_expiry_time = time.time() - 1
    _, who = use_tools(setup.resource, provider)
    assert storage.tokens.access_token != first.access_token
    assert storage.tokens.refresh_token != first.refresh_token  # rotated
    assert assert_token_for(setup, storage.tokens.access_token)["sub"] == claims["sub"]
    assert who["sub"] == claims["sub"] and who["email"] == email and SCOPE in who["scopes"]


class MetadataDocument:
    """A Client ID Metadata Document served over https on loopback; counts the fetches."""

    def __init__(self, client_name: str, tls: tuple[Path, Path]) -> None:
        self.fetches = 0
        document = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/client.json":
                    self.send_error(404)
                    return
                document.fetches += 1
                body = json.dumps(document.body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        self.http.socket = context.wrap_socket(self.http.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.http.server_address[1]}/client.json"
        self.body = {"client_id": self.url, "client_name": client_name, "redirect_uris": [REDIRECT_URI],
                     "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                     "token_endpoint_auth_method": "none", "scope": SCOPE}
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> "MetadataDocument":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.http.shutdown()
        self.http.server_close()


def test_sdk_client_with_a_client_id_metadata_document_signs_in_and_calls_tools(setup: Setup, tls):
    storage = MemoryStorage()
    email = f"cimd-{uuid.uuid4().hex[:8]}@example.com"
    with MetadataDocument("CIMD test client", tls) as document:
        pages = HostedPages(email, "CIMD test client")
        # The SDK takes only an https client_metadata_url; it uses it because the metadata
        # says client_id_metadata_document_supported.
        provider = OAuthClientProvider(
            server_url=setup.resource,
            client_metadata=OAuthClientMetadata(client_name="CIMD test client", redirect_uris=[REDIRECT_URI]),
            storage=storage, redirect_handler=pages.redirect_handler, callback_handler=pages.callback_handler,
            client_metadata_url=document.url)

        assert use_tools(setup.resource, provider)[0] == 42
        assert document.fetches >= 1  # Astapa fetched the document

    assert storage.client_info.client_id == document.url  # CIMD: no registration request
    assert storage.client_info.token_endpoint_auth_method == "none"
    assert query_of(pages.authorize_url)["client_id"] == document.url
    assert "127.0.0.1" in pages.consent_page
    assert assert_token_for(setup, storage.tokens.access_token)["email"] == email


# --- agents: the client-credentials extension ---------------------------------------------

@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_agent_with_a_machine_client_calls_tools(setup: Setup, method: str):
    client = setup.machine_client(SCOPE)
    storage = MemoryStorage()
    provider = ClientCredentialsOAuthProvider(
        server_url=setup.resource, storage=storage, client_id=client["client_id"],
        client_secret=client["client_secret"], token_endpoint_auth_method=method, issuer=setup.issuer)

    total, who = use_tools(setup.resource, provider)

    assert total == 42
    assert who["sub"] == client["client_id"]
    claims = assert_token_for(setup, storage.tokens.access_token)
    assert claims["sub"] == client["client_id"]


def test_agent_authenticating_with_private_key_jwt_calls_tools(setup: Setup, tmp_path: Path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk_file = tmp_path / "agent.jwk"
    jwk_file.write_text(json.dumps({**public, "alg": "RS256", "use": "sig"}))
    client = setup.machine_client(SCOPE, extra=("--jwk-file", str(jwk_file)))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    # The SDK signs {iss, sub: client_id, aud: the AS issuer (the project's), exp, iat, jti}, RS256, no kid.
    assertion = SignedJWTParameters(issuer=client["client_id"], subject=client["client_id"], signing_key=pem)
    storage = MemoryStorage()
    provider = PrivateKeyJWTOAuthProvider(
        server_url=setup.resource, storage=storage, client_id=client["client_id"],
        assertion_provider=assertion.create_assertion_provider(), issuer=setup.issuer)

    total, who = use_tools(setup.resource, provider)

    assert total == 42 and who["sub"] == client["client_id"]
    assert_token_for(setup, storage.tokens.access_token)


# --- refusals -----------------------------------------------------------------------------

def test_a_token_for_another_resource_or_issuer_is_refused(setup: Setup):
    client = setup.machine_client(SCOPE)

    good = setup.token(client, resource=setup.resource)
    assert good.status_code == 200, good.text
    assert setup.call_raw(good.json()["access_token"]).status_code == 200

    refused = {
        # same project, another of its resources
        "other resource": setup.token(client, resource=setup.other),
        # no resource: aud is the client_id
        "no resource": setup.token(client),
        # the right resource, but Astapa's root issuer instead of the project's
        "root issuer": requests.post(f"{setup.astapa.url}/oauth/token", timeout=10,
                                     data={"grant_type": "client_credentials", "resource": setup.resource},
                                     auth=(client["client_id"], client["client_secret"])),
    }
    for case, response in refused.items():
        assert response.status_code == 200, (case, response.text)
        answer = setup.call_raw(response.json()["access_token"])
        assert answer.status_code == 401, (case, answer.status_code, answer.text)
        assert f'resource_metadata="{_prm_url(setup.resource)}"' in answer.headers["WWW-Authenticate"], case
    assert jwt_claims(refused["other resource"].json()["access_token"])["aud"] in (setup.other, [setup.other])

    forged = good.json()["access_token"][:-4] + "AAAA"
    assert setup.call_raw(forged).status_code == 401


def test_a_token_without_the_required_scope_is_refused(setup: Setup):
    client = setup.machine_client(READ_SCOPE)
    response = setup.token(client, resource=setup.resource, scope=READ_SCOPE)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert jwt_claims(token)["scope"].split() == [READ_SCOPE]

    answer = setup.call_raw(token)

    assert answer.status_code == 403
    challenge = answer.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert f'resource_metadata="{_prm_url(setup.resource)}"' in challenge
