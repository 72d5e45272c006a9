"""Google and GitHub as the service talks to them: each project's OAuth client for them
(kept in DATA_DIR/keys/providers/<project>.json), the URL a browser is sent to, and the
account the answer proves.

Every call has a time limit and a size limit; anything a provider answers that is not what
its documentation promises is a ProviderError, which the pages turn into a friendly
message (never a 500).
"""

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from astapa.store.project_secrets import ProjectSecrets

SECRETS_KIND = "providers"
MAX_ANSWER = 1 << 20  # bytes: no provider document comes close


class ProviderError(Exception):
    """The provider could not be used. `unavailable`: down, slow or answering garbage (try
    again later); otherwise its answer was refused (a bad ID token, a spent code)."""

    def __init__(self, message: str, unavailable: bool = True) -> None:
        super().__init__(message)
        self.unavailable = unavailable


@dataclass(frozen=True)
class ProviderClient:
    """A project's OAuth client at one provider."""

    client_id: str
    client_secret: str


def project_client(files: ProjectSecrets, project_id: str, provider: str) -> ProviderClient | None:
    entry = (files.get(project_id) or {}).get(provider)
    if not isinstance(entry, dict):
        return None
    client_id, secret = entry.get("client_id"), entry.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(secret, str):
        return None
    return ProviderClient(client_id, secret)


class Http:
    """One aiohttp session for provider calls: a time limit, no cookies, no redirects
    followed, answers read up to MAX_ANSWER bytes and parsed as JSON."""

    def __init__(self, timeout: float) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar(),
                                                  headers={"User-Agent": "Astapa"})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def json(self, who: str, method: str, url: str, **kwargs: Any) -> tuple[int, Any, dict]:
        """(status, parsed JSON, headers). ProviderError when unreachable or not JSON."""
        try:
            async with self.session().request(method, url, allow_redirects=False, **kwargs) as response:
                body = await response.content.read(MAX_ANSWER + 1)
                status, headers = response.status, dict(response.headers)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
            raise ProviderError(f"{who} did not answer: {type(e).__name__}") from None
        if len(body) > MAX_ANSWER:
            raise ProviderError(f"{who} answered more than {MAX_ANSWER} bytes")
        try:
            return status, json.loads(body), headers
        except ValueError:
            raise ProviderError(f"{who} answered {status} without JSON") from None


def max_age(headers: dict, default: int, low: int = 60, high: int = 86400) -> int:
    """Seconds a document may be cached, from Cache-Control max-age, within [low, high]."""
    for part in headers.get("Cache-Control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.isascii() and value.isdigit():
            return max(low, min(high, int(value)))
    return default


def string(document: Any, name: str, who: str) -> str:
    value = document.get(name) if isinstance(document, dict) else None
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise ProviderError(f"{who} answered without {name}")
    return value
