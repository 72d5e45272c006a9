"""Where Astapa may fetch a client's documents from (astapa/web/documents.py): only global
unicast addresses, judged after resolving, and the connection goes to the very address that
was judged (no second lookup a DNS answer could change in between: DNS rebinding).

Names are resolved by a stub resolver; nothing here looks a name up or connects anywhere but
loopback (guards on socket.getaddrinfo and on connecting refuse anything else, and record it).
"""

import datetime
import errno
import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from astapa.clock import FakeClock
from astapa.oauth.client_metadata import DocumentError
from astapa.web.documents import CheckedResolver, Documents, address_allowed
from tests.clients.test_metadata_documents import DOC_PATH, DocumentServer

NOT_GLOBAL = [
    # IPv4: this network, private, shared (CGNAT), loopback, link-local, IETF protocol
    # assignments, documentation, the old 6to4 relay, benchmarking, multicast, reserved.
    "0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "127.0.0.1", "127.255.255.254", "169.254.169.254",
    "172.16.0.1", "172.31.255.255", "192.0.0.1", "192.0.0.9", "192.0.2.1", "192.88.99.1", "192.168.1.1",
    "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255",
    # IPv6 outside 2000::/3: unspecified, loopback, IPv4-compatible (::127.0.0.1), local-use
    # NAT64, discard, ULA, link-local, site-local, multicast.
    "::", "::1", "::7f00:1", "::a00:1", "::808:808", "64:ff9b:1::a00:1", "64:ff9b:1::808:808", "100::1",
    "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%1", "fec0::1", "feff::1", "ff02::1", "ff0e::1",
    # IPv6 inside 2000::/3 but not global: Teredo and the rest of the IETF protocol
    # assignments (benchmarking, ORCHID), 6to4, documentation.
    "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:2::1", "2001:10::1", "2001:20::1",
    "2001:db8::1", "2002:7f00:1::1", "2002:a00:1::1", "2002:808:808::1", "3fff::1",
    # Embedded IPv4 addresses are judged themselves: IPv4-mapped and NAT64 of private ones.
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "64:ff9b::a00:1",
    "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:101",
    # Not addresses at all.
    "", "localhost", "127.1", "2130706433", "0127.0.0.1", "1.2.3.4.5", "::ffff:1.2.3",
]
GLOBAL = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
          "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NOT_GLOBAL)
def test_only_global_unicast_addresses_are_fetched_from(address: str):
    assert not address_allowed(address, allow_loopback=False)


@pytest.mark.parametrize("address", GLOBAL)
def test_global_unicast_addresses_may_be_fetched_from(address: str):
    assert address_allowed(address, allow_loopback=False)


@pytest.mark.parametrize("address, allowed", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("::ffff:127.0.0.1", True),
    # Loopback only in name: they do not reach this machine's loopback interface.
    ("::7f00:1", False), ("64:ff9b::7f00:1", False), ("2002:7f00:1::1", False), ("10.0.0.1", False),
    ("fec0::1", False),
])
def test_loopback_when_allowed_is_only_the_loopback_interface(address: str, allowed: bool):
    assert address_allowed(address, allow_loopback=True) is allowed


# --- the resolver ------------------------------------------------------------------------

class StubResolver(AbstractResolver):
    """Answers from a table (host -> successive answers, the last one repeated); counts asks."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict]:
        self.asked.append(host)
        turns = self.answers.get(host)
        if not turns:
            raise OSError(f"stub resolver: no answer for {host}")
        found = turns[min(self.asked.count(host), len(turns)) - 1]
        return [{"hostname": host, "host": address, "port": port,
                 "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV} for address in found]

    async def close(self) -> None:
        pass


@dataclass
class Guard:
    names: list[str] = field(default_factory=list)  # names something tried to look up
    connects: list[object] = field(default_factory=list)  # addresses off loopback


@pytest.fixture
def loopback_only(monkeypatch) -> Guard:
    """socket.getaddrinfo answers numeric addresses only (what connecting to an address
    asks): a name reaching it is recorded and refused, so nothing is looked up for real. A
    connection to anything but loopback is recorded and refused before it leaves."""
    guard = Guard()
    real_getaddrinfo, real_connect, real_connect_ex = socket.getaddrinfo, socket.socket.connect, \
        socket.socket.connect_ex

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(str(host).split("%", 1)[0])
        except ValueError:
            guard.names.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "tests make no lookups") from None
        return real_getaddrinfo(host, port, *args, **kwargs)

    def off_loopback(address) -> bool:
        if not isinstance(address, tuple):
            return False  # a Unix socket
        host = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        mapped = getattr(host, "ipv4_mapped", None)
        return not (host.is_loopback or (mapped is not None and mapped.is_loopback))

    def connect(sock, address):
        if off_loopback(address):
            guard.connects.append(address)
            raise ConnectionRefusedError(f"tests connect to loopback only, not {address}")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if off_loopback(address):
            guard.connects.append(address)
            return errno.ECONNREFUSED
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return guard


async def test_the_resolver_keeps_only_global_unicast_addresses(loopback_only):
    stub = StubResolver({
        "mixed.example": [["fec0::1", "8.8.8.8", "::7f00:1", "64:ff9b::a00:1", "2606:4700:4700::1111",
                           "::ffff:10.0.0.1", "2002:a00:1::1", "192.0.2.1"]],
        "inside.example": [["fec0::1", "64:ff9b::7f00:1", "::ffff:127.0.0.1", "2001::1", "10.0.0.1"]],
    })
    resolver = CheckedResolver(allow_loopback=False, resolver=stub)
    kept = await resolver.resolve("mixed.example", 443, socket.AF_UNSPEC)
    assert [entry["host"] for entry in kept] == ["8.8.8.8", "2606:4700:4700::1111"]
    with pytest.raises(OSError):
        await resolver.resolve("inside.example", 443, socket.AF_UNSPEC)
    assert loopback_only == Guard()


def certificate_for(directory: Path, name: str) -> tuple[Path, Path]:
    """(certificate, key): self-signed for `name`, its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


NAME = "docs.rebind.test"


@pytest.fixture
def named_docs(tmp_path: Path):
    """An https document server on 127.0.0.1 with a certificate for NAME, and that CA."""
    tls = certificate_for(tmp_path, NAME)
    server = DocumentServer(tls)
    server.thread.start()
    yield server, tls[0]
    server.release.set()
    server.shutdown()
    server.server_close()


async def test_a_document_is_fetched_from_the_address_that_was_checked(named_docs, loopback_only):
    """The name is resolved once, by the checking resolver, and the connection goes to the
    address it approved: a DNS answer that changes afterwards (here to 10.0.0.1, then to a
    name nobody may look up) is never asked for or used. Only 127.0.0.1 is ever connected to
    (loopback allowed, as the tests' setting does)."""
    docs, ca = named_docs
    docs.serve_json({"hello": "world"}, cache_control="no-store")
    stub = StubResolver({NAME: [["127.0.0.1"], ["10.0.0.1"]]})
    documents = Documents(FakeClock(), allow_http_loopback=True, timeout=5, ca_file=str(ca), resolver=stub)
    url = f"https://{NAME}:{docs.port}{DOC_PATH}"
    try:
        assert await documents.get("test", url, lambda document: document) == {"hello": "world"}
        assert stub.asked == [NAME] and docs.requests_for() == 1
        # Again (nothing cached): the resolver's answer was kept for its TTL, not asked again,
        # and still only 127.0.0.1 answered.
        assert await documents.get("test", url, lambda document: document) == {"hello": "world"}
        assert stub.asked == [NAME] and docs.requests_for() == 2
    finally:
        await documents.close()
    assert loopback_only == Guard()


async def test_a_name_whose_every_address_is_refused_is_never_connected_to(named_docs, loopback_only):
    docs, ca = named_docs
    docs.serve_json({"hello": "world"})
    stub = StubResolver({NAME: [["::7f00:1", "fec0::1", "64:ff9b::7f00:1", "2002:7f00:1::1"]]})
    documents = Documents(FakeClock(), allow_http_loopback=False, timeout=5, ca_file=str(ca), resolver=stub)
    try:
        with pytest.raises(DocumentError):
            await documents.get("test", f"https://{NAME}:{docs.port}{DOC_PATH}", lambda document: document)
    finally:
        await documents.close()
    assert stub.asked == [NAME] and docs.connections == 0 and loopback_only == Guard()
