"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document) at a
project's own authorization server: a client whose client_id is the URL of a JSON document
describing it. The document is served over real HTTP by a small threaded server on a
loopback port; Astapa runs with ASTAPA_CIMD_ALLOW_HTTP_LOOPBACK (`cimd_allow_http_loopback`)
so it may fetch it, except in the tests about refusing.

What is checked: the whole code flow (consent page, token at the project's endpoint as a
public client with PKCE); documents that must be refused, on an error page (400, no
Location: §4.1.2.1, never a redirect to an unverified URI); SSRF rules with the default
settings (nothing ever reaches the document server); https documents and the CAs trusted
(`cimd_ca_file`); HTTP caching, negative caching and singleflight, with the injected clock
moved instead of sleeping.
"""

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from astapa.web.appkeys import clients_key
from tests.clients.conftest import RESOURCE, ConsentBrowser, cli, tools_project
from tests.conftest import Server
from tests.flows import pkce_pair, query_of

REDIRECT_URI = "https://cb.agent-tools.example/callback"
LOOPBACK_REDIRECT_URI = "http://127.0.0.1/callback"
CLIENT_NAME = "Agent Tools"
DOC_PATH = "/clients/agent.json"
REFUSED_DOCUMENT = "client metadata document cannot be used"


# --- a document server: real HTTP on a loopback port, counting what reaches it ------------

@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (cut short when the test ends)
    pause: float = 0.0  # if set, the body goes out in two writes this many seconds apart


class DocumentServer(ThreadingHTTPServer):
    """Serves `routes` by path; records every path requested (`seen`) and every TCP
    connection accepted (`connections`, which also counts a TLS handshake that never
    becomes an HTTP request)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scheme = "http"
        if tls is not None:  # https with this certificate and key
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.socket = context.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"
        self.lock = threading.Lock()
        self.routes: dict[str, Route] = {}
        self._seen: list[str] = []
        self._connections = 0
        self.release = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="cimd-documents", daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str = DOC_PATH) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def get_request(self):
        with self.lock:
            self._connections += 1  # counted before any TLS handshake, which may fail
        return super().get_request()

    @property
    def seen(self) -> list[str]:
        with self.lock:
            return list(self._seen)

    @property
    def connections(self) -> int:
        with self.lock:
            return self._connections

    def requests_for(self, path: str = DOC_PATH) -> int:
        return self.seen.count(path)

    def serve_json(self, document: object, path: str = DOC_PATH, cache_control: str | None = None,
                   delay: float = 0.0) -> None:
        headers = {"Content-Type": "application/json"}
        if cache_control is not None:
            headers["Cache-Control"] = cache_control
        with self.lock:
            self.routes[path] = Route(200, json.dumps(document).encode(), headers, delay)

    def serve(self, route: Route, path: str = DOC_PATH) -> None:
        with self.lock:
            self.routes[path] = route


class _Handler(BaseHTTPRequestHandler):
    server: DocumentServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path
        with self.server.lock:
            self.server._seen.append(path)
            route = self.server.routes.get(path)
        if route is None:
            route = Route(404, b'{"error": "not found"}', {"Content-Type": "application/json"})
        if route.delay:
            self.server.release.wait(route.delay)
        try:
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            if route.pause:
                half = len(route.body) // 2
                self.wfile.write(route.body[:half])
                self.wfile.flush()
                self.server.release.wait(route.pause)
                self.wfile.write(route.body[half:])
            else:
                self.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher gave up (time limit, size limit)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def docs():
    document_server = DocumentServer()
    document_server.thread.start()
    yield document_server
    document_server.release.set()
    document_server.shutdown()
    document_server.server_close()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files: a self-signed certificate for 127.0.0.1 and localhost,
    which is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "astapa test documents")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


@pytest.fixture
def https_docs(tls):
    document_server = DocumentServer(tls)
    document_server.thread.start()
    yield document_server
    document_server.release.set()
    document_server.shutdown()
    document_server.server_close()


# --- Astapa with loopback documents allowed (tests override `server_settings`) -------------

@pytest.fixture
def server_settings() -> dict:
    return {"cimd_allow_http_loopback": True}


@pytest.fixture
def server(start_server, server_settings) -> Server:
    return start_server(**server_settings)


def document(url: str, **changes) -> dict:
    """A valid public client's document for `url`; a change to None removes that member."""
    body = {"client_id": url, "client_name": CLIENT_NAME, "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"]}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def authorize_url(project: dict, client_id: str, redirect_uri: str = REDIRECT_URI, pkce: bool = True,
                  **params: str) -> str:
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "state": "st-1", "scope": "openid mcp:tools", "resource": RESOURCE, **params}
    if pkce:
        query.update(code_challenge=pkce_pair()[1], code_challenge_method="S256")
    return f"{project['issuer']}/oauth/authorize?{urlencode(query)}"


def authorize(project: dict, client_id: str, **kwargs) -> requests.Response:
    """A fresh browser (no session) opening the authorization endpoint."""
    return requests.get(authorize_url(project, client_id, **kwargs), allow_redirects=False, timeout=15)


def assert_sign_in_page(response: requests.Response) -> None:
    assert response.status_code == 200, response.text[:500]
    assert CLIENT_NAME in response.text and 'name="password"' in response.text


def assert_error_page(response: requests.Response, text: str = REFUSED_DOCUMENT) -> None:
    """Refused on our own page: 400, never a redirect anywhere."""
    assert response.status_code == 400, (response.status_code, response.headers.get("Location"),
                                         response.text[:500])
    assert "Location" not in response.headers
    assert text in response.text.lower(), response.text[:800]


def fetches(server: Server) -> int:
    return server.web_app[clients_key].documents.fetches


# --- the whole flow ----------------------------------------------------------------------

def test_metadata_document_client_signs_up_consents_and_exchanges_its_code(
        server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    docs.serve_json(document(url, scope="openid mcp:tools"))
    browser = ConsentBrowser(server.url)
    authorization, verifier = browser.authorization(project["issuer"], url, REDIRECT_URI,
                                                    scope="openid mcp:tools", resource=RESOURCE)
    consent = browser.sign_up_at(authorization, "cimd@example.com")
    assert f"<strong>{CLIENT_NAME}</strong>" in consent.text
    assert '<strong class="redirect-host">cb.agent-tools.example</strong>' in consent.text
    assert "mcp:tools" in consent.text
    back = browser.answer(consent)
    assert back.location.startswith(REDIRECT_URI + "?")
    assert back.params["iss"] == project["issuer"] and back.params["state"] == "st-1"

    token = requests.post(f"{project['issuer']}/oauth/token", data={
        "grant_type": "authorization_code", "code": back.params["code"], "client_id": url,
        "redirect_uri": REDIRECT_URI, "code_verifier": verifier, "resource": RESOURCE}, timeout=15)
    assert token.status_code == 200, token.text
    assert token.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["iss"] == project["issuer"]
    assert claims["aud"] == RESOURCE
    assert claims["client_id"] == url
    assert claims["scope"] == "openid mcp:tools"
    # No Cache-Control: kept five minutes, so the whole flow fetched the document once.
    assert docs.requests_for() == 1


def test_the_code_of_a_metadata_document_client_needs_its_verifier(
        server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    docs.serve_json(document(url))
    browser = ConsentBrowser(server.url)
    authorization, verifier = browser.authorization(project["issuer"], url, REDIRECT_URI,
                                                    scope="mcp:tools", resource=RESOURCE)
    back = browser.answer(browser.sign_up_at(authorization, "verifier@example.com"))
    token = requests.post(f"{project['issuer']}/oauth/token", data={
        "grant_type": "authorization_code", "code": back.params["code"], "client_id": url,
        "redirect_uri": REDIRECT_URI, "resource": RESOURCE}, timeout=15)
    assert token.status_code == 400, token.text
    assert token.json()["error"] == "invalid_grant"


def test_pkce_is_required_of_a_metadata_document_client(server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    docs.serve_json(document(url, redirect_uris=[LOOPBACK_REDIRECT_URI]))
    response = authorize(project, url, redirect_uri=LOOPBACK_REDIRECT_URI, pkce=False)
    # Client and a loopback redirect_uri are valid: the error goes back to the client
    # (§4.1.2.1; RFC 8252: a loopback URI reaches only the user's own machine).
    assert response.status_code in (302, 303), response.text[:500]
    location = response.headers["Location"]
    assert location.startswith(LOOPBACK_REDIRECT_URI + "?")
    params = query_of(location)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-1" and params["iss"] == project["issuer"]
    assert "code" not in params


def test_errors_before_the_user_interacted_are_a_page_for_a_metadata_document_client(
        server: Server, project: dict, docs: DocumentServer):
    """RFC 9700 §4.11.2: whoever publishes a document names any redirect URI, and nobody
    vetted it; an error found before the user did anything is shown on our page (no open
    redirect). The same errors for a loopback redirect URI go back to the client."""
    url = docs.url()
    docs.serve_json(document(url, redirect_uris=[REDIRECT_URI, LOOPBACK_REDIRECT_URI]))
    for params, text in (({"pkce": False}, "code_challenge is required"),
                         ({"response_type": "token"}, "only response_type=code"),
                         ({"prompt": "none"}, "not signed in"),
                         ({"scope": "admin:everything"}, "scope is invalid"),
                         ({"resource": "https://elsewhere.example/api"}, "resource")):
        assert_error_page(authorize(project, url, **params), text)
        back = authorize(project, url, redirect_uri=LOOPBACK_REDIRECT_URI, **params)
        assert back.status_code == 303 and back.headers["Location"].startswith(LOOPBACK_REDIRECT_URI + "?error=")


# --- documents that are refused ----------------------------------------------------------

@pytest.mark.parametrize("change", [
    pytest.param(lambda url: {"client_id": url.replace("agent.json", "other.json")}, id="client_id-not-its-url"),
    pytest.param(lambda url: {"client_id": url + "?x=1"}, id="client_id-with-a-query"),
    pytest.param(lambda url: {"client_id": None}, id="no-client_id"),
    pytest.param(lambda url: {"client_name": None}, id="no-client_name"),
    pytest.param(lambda url: {"redirect_uris": None}, id="no-redirect_uris"),
    pytest.param(lambda url: {"token_endpoint_auth_method": "client_secret_basic"}, id="client_secret_basic"),
    pytest.param(lambda url: {"token_endpoint_auth_method": "client_secret_post"}, id="client_secret_post"),
    pytest.param(lambda url: {"redirect_uris": ["javascript:alert(1)"]}, id="bad-redirect-uri"),
])
def test_an_unusable_document_is_refused_on_an_error_page(server: Server, project: dict, docs: DocumentServer,
                                                            change):
    url = docs.url()
    docs.serve_json(document(url, **change(url)))
    assert_error_page(authorize(project, url))
    assert docs.requests_for() == 1


def test_a_redirect_uri_the_document_does_not_list_is_refused(server: Server, project: dict,
                                                               docs: DocumentServer):
    url = docs.url()
    docs.serve_json(document(url))
    assert_sign_in_page(authorize(project, url))  # the document itself is fine
    for other in ("https://evil.example/callback", REDIRECT_URI + "/x", "https://cb.agent-tools.example/"):
        assert_error_page(authorize(project, url, redirect_uri=other), "redirect_uri is not registered")


def test_a_body_that_is_not_json_is_refused(server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    docs.serve(Route(200, b"<html><body>client</body></html>", {"Content-Type": "text/html"}))
    assert_error_page(authorize(project, url))
    assert docs.requests_for() == 1


def test_a_json_array_is_refused(server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    docs.serve(Route(200, json.dumps([document(url)]).encode(), {"Content-Type": "application/json"}))
    assert_error_page(authorize(project, url))


def test_an_error_status_is_refused(server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    docs.serve(Route(404, json.dumps(document(url)).encode(), {"Content-Type": "application/json"}))
    assert_error_page(authorize(project, url))


@pytest.mark.parametrize("server_settings", [{"cimd_allow_http_loopback": True,
                                               "client_document_max_bytes": 1024}])
def test_a_document_larger_than_the_limit_is_refused(server: Server, project: dict, docs: DocumentServer):
    small, large = docs.url("/small.json"), docs.url("/large.json")
    docs.serve_json(document(small), path="/small.json")
    docs.serve_json(document(large, client_uri="https://agent-tools.example/" + "a" * 4000), path="/large.json")
    assert_sign_in_page(authorize(project, small))
    assert_error_page(authorize(project, large))
    assert docs.requests_for("/large.json") == 1


@pytest.mark.parametrize("server_settings", [{"cimd_allow_http_loopback": True,
                                               "client_document_max_bytes": 1024}])
def test_the_size_limit_holds_even_when_the_first_bytes_are_a_whole_document(
        server: Server, project: dict, docs: DocumentServer):
    """Valid JSON followed by padding: a fetcher that only truncated at the limit would
    read a complete document; the limit itself must refuse it."""
    url = docs.url()
    body = json.dumps(document(url)).encode() + b" " * 4000
    docs.serve(Route(200, body, {"Content-Type": "application/json"}))
    assert_error_page(authorize(project, url))


def test_a_document_that_arrives_in_two_parts_is_read_whole(server: Server, project: dict,
                                                             docs: DocumentServer):
    """The body is written in two parts a moment apart (a slow network, a chunked
    answer): the fetcher must read to the end, not take the first part for the document."""
    url = docs.url()
    body = json.dumps(document(url)).encode()
    docs.serve(Route(200, body, {"Content-Type": "application/json"}, pause=0.3))
    assert_sign_in_page(authorize(project, url))
    assert docs.requests_for() == 1


def test_a_redirect_from_the_document_url_is_not_followed(server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    target = docs.url("/target.json")
    # The target would be a perfectly good document for `url`, if the redirect were followed.
    docs.serve_json(document(url), path="/target.json")
    docs.serve(Route(302, b"", {"Location": target}))
    assert_error_page(authorize(project, url))
    assert docs.requests_for() == 1
    assert docs.requests_for("/target.json") == 0


@pytest.mark.parametrize("server_settings", [{"cimd_allow_http_loopback": True,
                                               "client_document_timeout": 0.5}])
def test_a_document_server_that_hangs_gives_an_error_page_quickly(server: Server, project: dict,
                                                                  docs: DocumentServer):
    url = docs.url()
    docs.serve_json(document(url), delay=10)
    started = time.monotonic()
    response = authorize(project, url)
    elapsed = time.monotonic() - started
    assert_error_page(response)
    assert elapsed < 3, f"took {elapsed:.1f}s with a 0.5s limit"
    assert docs.requests_for() == 1


@pytest.mark.parametrize("path", ["", "/", "/clients/./agent.json", "/clients/../agent.json",
                                  "/clients/agent.json#frag"])
def test_a_client_id_url_without_a_usable_path_is_refused_before_any_fetch(
        server: Server, project: dict, docs: DocumentServer, path: str):
    url = f"http://127.0.0.1:{docs.port}{path}"
    docs.serve_json(document(url), path=urlsplit(url).path or "/")
    assert_error_page(authorize(project, url))
    assert docs.seen == [] and docs.connections == 0
    assert fetches(server) == 0


def test_the_service_wide_server_does_not_fetch_metadata_documents(server: Server, project: dict,
                                                                    docs: DocumentServer):
    """A document names no project: only a project's own server takes such client_ids."""
    url = docs.url()
    docs.serve_json(document(url))
    service_wide = {**project, "issuer": server.url}
    assert_error_page(authorize(service_wide, url), "not registered")
    assert docs.seen == [] and fetches(server) == 0


# --- SSRF: the default settings fetch from public https addresses only ---------------------

@pytest.mark.parametrize("server_settings", [{}])
def test_loopback_and_private_addresses_are_never_fetched_by_default(server: Server, project: dict,
                                                                     docs: DocumentServer):
    port = docs.port
    urls = [
        f"http://127.0.0.1:{port}{DOC_PATH}",
        f"https://127.0.0.1:{port}{DOC_PATH}",
        f"https://localhost:{port}{DOC_PATH}",
        f"http://localhost:{port}{DOC_PATH}",
        f"https://10.0.0.1{DOC_PATH}",
        f"https://192.168.1.1{DOC_PATH}",
        f"https://169.254.169.254/latest/meta-data{DOC_PATH}",
        f"https://[::1]:{port}{DOC_PATH}",
        f"https://[::ffff:127.0.0.1]:{port}{DOC_PATH}",
        f"https://0.0.0.0:{port}{DOC_PATH}",
        # Short and decimal forms of 127.0.0.1 (whichever layer refuses them).
        f"https://127.1:{port}{DOC_PATH}",
        f"https://2130706433:{port}{DOC_PATH}",
    ]
    for url in urls:
        docs.serve_json(document(url))
        assert_error_page(authorize(project, url))
        assert docs.connections == 0, f"{url} reached the document server"
    assert docs.seen == []


def loopback_name() -> str | None:
    """A host name (not "localhost", not an address) that resolves only to loopback
    addresses on this machine, if there is one."""
    candidates = [socket.gethostname(), "localhost.localdomain", "ip6-localhost", "runsc", "vm"]
    for name in candidates:
        if not name or name == "localhost":
            continue
        try:
            found = {entry[4][0] for entry in socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)}
        except OSError:
            continue
        if found and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in found):
            return name
    return None


@pytest.mark.parametrize("server_settings", [{}])
def test_a_name_resolving_to_loopback_is_refused_before_connecting(server: Server, project: dict,
                                                                   docs: DocumentServer):
    """Not a literal address, so only the checked resolver stands between the name and a
    connection to 127.0.0.1 (a DNS answer turning a public name into a private address)."""
    name = loopback_name()
    if name is None:
        pytest.skip("no host name here resolves to loopback only")
    url = f"https://{name}:{docs.port}{DOC_PATH}"
    docs.serve_json(document(url))
    assert_error_page(authorize(project, url))
    assert docs.connections == 0, f"{url} reached the document server"


def test_with_loopback_allowed_the_same_server_is_reachable(server: Server, project: dict,
                                                              docs: DocumentServer):
    """The control for the test above: the document server does answer, when allowed."""
    url = docs.url()
    docs.serve_json(document(url))
    assert_sign_in_page(authorize(project, url))
    assert docs.connections >= 1 and docs.requests_for() == 1


# --- https documents and the CAs trusted (ASTAPA_CIMD_CA_FILE) ----------------------------

def test_an_https_document_is_fetched_with_the_configured_ca(start_server, tls, https_docs: DocumentServer):
    server = start_server(cimd_allow_http_loopback=True, cimd_ca_file=str(tls[0]))
    project = tools_project(server)
    url = https_docs.url()
    assert url.startswith("https://")
    https_docs.serve_json(document(url))
    assert_sign_in_page(authorize(project, url))
    assert https_docs.requests_for() == 1


def test_an_https_document_with_an_untrusted_certificate_is_refused(server: Server, project: dict,
                                                                      https_docs: DocumentServer):
    url = https_docs.url()
    https_docs.serve_json(document(url))
    assert_error_page(authorize(project, url))
    assert https_docs.requests_for() == 0  # the handshake failed: no request was sent


# --- caching -----------------------------------------------------------------------------

def test_a_document_is_cached_for_its_max_age(server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    docs.serve_json(document(url), cache_control="max-age=60")
    assert_sign_in_page(authorize(project, url))
    assert_sign_in_page(authorize(project, url))
    assert docs.requests_for() == 1 and fetches(server) == 1
    server.clock.advance(50)
    assert_sign_in_page(authorize(project, url))
    assert docs.requests_for() == 1
    server.clock.advance(11)  # 61 s after the fetch
    assert_sign_in_page(authorize(project, url))
    assert docs.requests_for() == 2 and fetches(server) == 2


def test_a_changed_document_is_seen_once_the_cached_copy_expires(server: Server, project: dict,
                                                                   docs: DocumentServer):
    url = docs.url()
    docs.serve_json(document(url), cache_control="max-age=60")
    assert_sign_in_page(authorize(project, url))
    docs.serve_json(document(url, client_name=None), cache_control="max-age=60")  # now broken
    assert_sign_in_page(authorize(project, url))  # the cached copy still serves
    server.clock.advance(61)
    assert_error_page(authorize(project, url))
    assert docs.requests_for() == 2


def test_a_no_store_document_is_fetched_every_time(server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    docs.serve_json(document(url), cache_control="no-store")
    for expected in (1, 2, 3):
        assert_sign_in_page(authorize(project, url))
        assert docs.requests_for() == expected


def test_a_failure_is_cached_for_about_ten_seconds(server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    docs.serve(Route(500, b"oops", {"Content-Type": "text/plain"}))
    assert_error_page(authorize(project, url))
    assert docs.requests_for() == 1
    docs.serve_json(document(url))  # fixed, but the failure is remembered
    assert_error_page(authorize(project, url))
    server.clock.advance(5)
    assert_error_page(authorize(project, url))
    assert docs.requests_for() == 1
    server.clock.advance(6)  # 11 s after the failure
    assert_sign_in_page(authorize(project, url))
    assert docs.requests_for() == 2


def test_concurrent_authorizations_share_one_fetch(server: Server, project: dict, docs: DocumentServer):
    url = docs.url()
    # The answer takes a moment, so all five requests arrive while the fetch is under way.
    docs.serve_json(document(url), delay=0.8)
    barrier = threading.Barrier(5)
    results: list[requests.Response | BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait(5)
        try:
            response = authorize(project, url)
        except BaseException as e:  # noqa: BLE001 (reported below)
            response = e
        with lock:
            results.append(response)

    threads = [threading.Thread(target=one) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(results) == 5
    for response in results:
        assert isinstance(response, requests.Response), response
        assert_sign_in_page(response)
    assert docs.requests_for() == 1 and fetches(server) == 1


@pytest.mark.parametrize("control", ["\n", "\t", "\x7f", "\x85", "\x9b"], ids=["LF", "TAB", "DEL", "NEL", "CSI"])
def test_a_document_listing_a_redirect_uri_holding_a_control_character_is_refused(
        server: Server, project: dict, docs: DocumentServer, control):
    url = docs.url()
    uri = REDIRECT_URI.replace("call", f"call{control}")
    docs.serve_json(document(url, redirect_uris=[REDIRECT_URI, uri]))
    assert_error_page(authorize(project, url, redirect_uri=REDIRECT_URI))
    assert docs.requests_for() == 1


def test_reuse_grace_a_metadata_document_client_has_its_projects_grace(
        server: Server, project: dict, docs: DocumentServer):
    """A client known by its metadata document retries a lost refresh response like any
    other client of the project: the previous token, within the grace, gets new tokens."""
    cli(server, "project", "update", "--project", project["project_id"], "--refresh-reuse-grace", "30")
    url = docs.url()
    docs.serve_json(document(url, scope="openid mcp:tools"))
    browser = ConsentBrowser(server.url)
    authorization, verifier = browser.authorization(project["issuer"], url, REDIRECT_URI,
                                                    scope="openid mcp:tools", resource=RESOURCE)
    back = browser.answer(browser.sign_up_at(authorization, "cimd@example.com"))
    token_url = f"{project['issuer']}/oauth/token"
    first = requests.post(token_url, data={
        "grant_type": "authorization_code", "code": back.params["code"], "client_id": url,
        "redirect_uri": REDIRECT_URI, "code_verifier": verifier, "resource": RESOURCE}, timeout=15).json()

    def refresh(token: str) -> requests.Response:
        return requests.post(token_url, data={"grant_type": "refresh_token", "refresh_token": token,
                                              "client_id": url}, timeout=15)

    assert refresh(first["refresh_token"]).status_code == 200  # its answer is lost
    server.clock.advance(10)
    retried = refresh(first["refresh_token"])
    assert retried.status_code == 200, retried.text
    assert refresh(retried.json()["refresh_token"]).status_code == 200
