"""Documents a client points us at: Client ID Metadata Documents and private_key_jwt
clients' `jwks_uri`. The URL comes from whoever sends a request, so fetching it must not
become a way into the network behind us (SSRF):

- https only; http only to loopback, and only when ASTAPA_CIMD_ALLOW_HTTP_LOOPBACK is set
  (for tests);
- every address the host resolves to is checked, and the connection goes to a checked
  address (the connector connects to the addresses the resolver answers, never looking the
  name up again): only global unicast addresses (see `global_unicast`), and loopback when
  that setting allows it, so a DNS answer cannot turn a public name into 10.0.0.1;
- no redirects, no cookies, no proxy from the environment, a size limit and a time limit;
- each answer is cached as its Cache-Control says (five minutes without one, a day at
  most), failures for a few seconds (negative caching), and concurrent asks for one URL
  share one fetch.
"""

import asyncio
import ipaddress
import json
import socket
import ssl
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import SplitResult, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import ThreadedResolver

from astapa.oauth.client_metadata import DocumentError

DEFAULT_MAX_AGE = 300
MAX_MAX_AGE = 86400
FAILURE_MAX_AGE = 10
MAX_URL = 2048
CACHE_SIZE = 1000


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _networks(*names: str) -> tuple:
    return tuple(ipaddress.ip_network(name) for name in names)


# IPv4 blocks that are not global unicast: this network, private, shared (RFC 6598),
# loopback, link-local, IETF protocol assignments, the three documentation blocks, the
# deprecated 6to4 relay anycast, benchmarking, multicast, reserved and broadcast.
NOT_GLOBAL_V4 = _networks(
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")
# IPv6 global unicast is 2000::/3 (RFC 4291 §2.4), less: the IETF protocol assignments
# 2001::/23 (Teredo 2001::/32, benchmarking 2001:2::/48, ORCHID), documentation 2001:db8::/32
# and 3fff::/20, and 6to4 2002::/16 (a tunnel to whatever IPv4 address it embeds).
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
NOT_GLOBAL_V6 = _networks("2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20")
# NAT64's well-known prefix (RFC 6052) reaches the IPv4 address in its last 32 bits.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def global_unicast(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether `address` is global unicast, stricter than Python's `is_global` (which calls
    ::7f00:1, fec0::/10 and 64:ff9b::/96 global). An IPv4-mapped address (::ffff:a.b.c.d) and
    a NAT64 one (64:ff9b::a.b.c.d) reach the IPv4 address they embed, so that address is
    judged; everything else outside 2000::/3 is refused: IPv4-compatible ::a.b.c.d, local-use
    NAT64 64:ff9b:1::/48, unique local fc00::/7, link-local, site-local fec0::/10, multicast."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return global_unicast(address.ipv4_mapped)
        if address in NAT64:
            return global_unicast(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        return address in GLOBAL_UNICAST_V6 and not any(address in n for n in NOT_GLOBAL_V6) \
            and address.is_global
    return not any(address in n for n in NOT_GLOBAL_V4) and address.is_global


def address_allowed(value: str, allow_loopback: bool) -> bool:
    """Whether we may connect to the address `value` (a numeric address, as a resolver
    answers it): global unicast, or loopback when `allow_loopback` (127.0.0.0/8, ::1 and
    their IPv4-mapped forms; nothing that only embeds a loopback address)."""
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    if allow_loopback and (_address(value) or address).is_loopback:
        return True
    return global_unicast(address)


class CheckedResolver(AbstractResolver):
    """The system resolver (or `resolver`), keeping only the addresses we may connect to.
    aiohttp's connector connects to the addresses a resolver answers (it resolves a name
    only through its resolver), so the address checked is the address connected to."""

    def __init__(self, allow_loopback: bool, resolver: AbstractResolver | None = None) -> None:
        self.allow_loopback = allow_loopback
        self._inner = resolver or ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        found = await self._inner.resolve(host, port, family)
        allowed = [entry for entry in found if address_allowed(entry["host"], self.allow_loopback)]
        if not allowed:
            raise OSError(f"{host} resolves to no address we may fetch from")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def split_url(url: str) -> tuple[SplitResult, str, int | None]:
    """The URL's parts, its host and its port; DocumentError if any is malformed (a port
    out of range or not a number, an unclosed IPv6 bracket, a host name with an empty or
    too long label), which urllib and the IDNA codec report as ValueError or UnicodeError."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
        if host and _address(host) is None:
            host.encode("idna")
    except UnicodeError:
        raise DocumentError("URL host has an empty or too long label") from None
    except ValueError as e:
        raise DocumentError(f"URL is malformed: {e}") from None
    return parts, host, port


def check_url(url: str, allow_http_loopback: bool) -> None:
    """The URL rules before any network use."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise DocumentError("URL too long")
    parts, host, _ = split_url(url)
    loopback_host = host == "localhost" or (_address(host) is not None and _address(host).is_loopback)
    if parts.scheme == "http":
        if not (allow_http_loopback and loopback_host):
            raise DocumentError("URL must use https")
    elif parts.scheme != "https":
        raise DocumentError("URL must use https")
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise DocumentError("URL must name a host, without user info or fragment")
    literal = _address(host)
    if literal is not None and not address_allowed(host, allow_http_loopback):
        raise DocumentError("URL names an address we may not fetch from")
    if host == "localhost" and not allow_http_loopback:
        raise DocumentError("URL names an address we may not fetch from")


def cache_seconds(headers: Any) -> int:
    """Seconds an answer may be kept: 0 for no-store/no-cache, else max-age within a day."""
    directives = {}
    for part in headers.get("Cache-Control", "").split(","):
        name, _, value = part.strip().partition("=")
        directives[name.lower()] = value.strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0
    value = directives.get("max-age", "")
    if value.isascii() and value.isdigit():
        return min(int(value), MAX_MAX_AGE)
    return DEFAULT_MAX_AGE


@dataclass
class _Entry:
    value: Any
    error: DocumentError | None
    expires_at: float
    fetched_at: float


class Documents:
    """Fetch JSON documents under the rules above, validated and cached by URL."""

    def __init__(self, clock: Any, allow_http_loopback: bool = False, timeout: float = 5.0,
                 max_bytes: int = 64 * 1024, ca_file: str | None = None,
                 resolver: AbstractResolver | None = None) -> None:
        """`resolver`: where names are looked up (default the system's, in threads)."""
        self.clock = clock
        self.resolver = resolver
        self.allow_http_loopback = allow_http_loopback
        # Certificates are checked against the system's CAs, or those in `ca_file`.
        self.ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None
        self._cache: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._inflight: dict[tuple[str, str], asyncio.Future] = {}
        self.fetches = 0  # network fetches made (tests read it)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=CheckedResolver(self.allow_http_loopback, self.resolver),
                                             ttl_dns_cache=10, limit=50)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": "Astapa", "Accept": "application/json"}, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def forget(self, kind: str, url: str) -> None:
        self._cache.pop((kind, url), None)

    def age_ok(self, kind: str, url: str, min_age: float) -> bool:
        """Whether the cached copy is at least `min_age` old (or absent): may refetch."""
        entry = self._cache.get((kind, url))
        return entry is None or entry.fetched_at + min_age <= self.clock.now()

    async def get(self, kind: str, url: str, validate: Callable[[Any], Any]) -> Any:
        """`validate(document)` of the document at `url`, from the cache when fresh.
        DocumentError when it cannot be fetched or `validate` refuses it."""
        key = (kind, url)
        entry = self._cache.get(key)
        now = self.clock.now()
        if entry is not None and now < entry.expires_at:
            self._cache.move_to_end(key)
            if entry.error is not None:
                raise entry.error
            return entry.value
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch_and_keep(key, url, validate))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(key, None))
        entry = await asyncio.shield(pending)
        if entry.error is not None:
            raise entry.error
        return entry.value

    async def _fetch_and_keep(self, key: tuple[str, str], url: str, validate: Callable[[Any], Any]) -> _Entry:
        now = self.clock.now()
        try:
            document, seconds = await self._fetch(url)
            entry = _Entry(validate(document), None, now + seconds, now)
        except DocumentError as e:
            entry = _Entry(None, e, now + FAILURE_MAX_AGE, now)
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry

    async def _fetch(self, url: str) -> tuple[Any, int]:
        check_url(url, self.allow_http_loopback)
        self.fetches += 1
        try:
            async with self.session().get(url, allow_redirects=False, ssl=self.ssl) as response:
                status, headers = response.status, response.headers
                body = b""
                while len(body) <= self.max_bytes:  # read() answers what has arrived so far
                    chunk = await response.content.read(self.max_bytes + 1 - len(body))
                    if not chunk:
                        break
                    body += chunk
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as e:
            raise DocumentError(f"cannot fetch {url}: {type(e).__name__}") from None
        if status != 200:
            raise DocumentError(f"{url} answered {status}")
        if len(body) > self.max_bytes:
            raise DocumentError(f"{url} is larger than {self.max_bytes} bytes")
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise DocumentError(f"{url} is not JSON") from None
        return document, cache_seconds(headers)
