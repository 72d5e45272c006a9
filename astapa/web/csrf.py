"""CSRF protection for every hosted form, sign-in included (login CSRF).

Before any session exists the browser gets a random pre-session cookie (HttpOnly,
SameSite=Lax). Each form carries HMAC(page key, cookie): a POST needs the cookie and the
matching token, compared in constant time, and is refused when the browser says it came
from another site (Origin, Sec-Fetch-Site). A token from another browser never matches.
"""

import hashlib
import hmac
import secrets

from aiohttp import web

from astapa.config import Settings
from astapa.store.vault import Vault


class CsrfError(Exception):
    """The form's token is missing, foreign or stale, or the POST came from another site."""


def load_page_key(vault: Vault, name: str = "pages.key") -> bytes:
    """An HMAC key made once per service (and shared by every node of a cluster):
    `pages.key` for form tokens, `links.key` for the tokens of mailed links,
    `external.key` for the PKCE verifiers and nonces of Google and GitHub sign-in."""
    key = vault.create(name, secrets.token_bytes(PAGE_KEY_BYTES))
    if len(key) != PAGE_KEY_BYTES:  # never an HMAC under a truncated (or empty) key
        raise ValueError(f"the page key {name} is not {PAGE_KEY_BYTES} bytes: remove it to make a new one")
    return key


PAGE_KEY_BYTES = 32


def cookie_name(settings: Settings, name: str) -> str:
    """`__Host-` names (Secure, Path=/, no Domain) when the issuer is https."""
    return f"__Host-{name}" if settings.secure_cookies else name


def set_cookie(response: web.StreamResponse, settings: Settings, name: str, value: str,
               max_age: int | None = None, path: str = "/") -> None:
    response.set_cookie(cookie_name(settings, name) if path == "/" else name, value,
                        max_age=max_age, path=path, httponly=True, samesite="Lax",
                        secure=settings.secure_cookies)


def clear_cookie(response: web.StreamResponse, settings: Settings, name: str, path: str = "/") -> None:
    response.del_cookie(cookie_name(settings, name) if path == "/" else name, path=path,
                        secure=settings.secure_cookies, httponly=True, samesite="Lax")


class Csrf:
    COOKIE = "astapa_csrf"

    def __init__(self, key: bytes, settings: Settings) -> None:
        self.key = key
        self.settings = settings
        self.origin = _origin(settings.issuer)

    def _token_for(self, cookie: str) -> str:
        return hmac.new(self.key, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()

    def token(self, request: web.Request) -> tuple[str, str | None]:
        """(form token, new cookie value to set or None when the browser has one)."""
        cookie = request.cookies.get(cookie_name(self.settings, self.COOKIE))
        if cookie and len(cookie) <= 64:
            return self._token_for(cookie), None
        cookie = secrets.token_urlsafe(32)
        return self._token_for(cookie), cookie

    def check(self, request: web.Request, form_token: str | None) -> None:
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            raise CsrfError(f"Sec-Fetch-Site {site}")
        # Browsers send `Origin: null` on our own forms: the pages' Referrer-Policy is
        # no-referrer (Fetch §3.2). Sec-Fetch-Site and the token still decide those.
        origin = request.headers.get("Origin")
        if origin not in (None, "null") and origin != self.origin:
            raise CsrfError(f"Origin {origin}")
        cookie = request.cookies.get(cookie_name(self.settings, self.COOKIE))
        if not cookie or not form_token:
            raise CsrfError("no token")
        if not hmac.compare_digest(self._token_for(cookie).encode(), form_token.encode("utf-8", "replace")):
            raise CsrfError("token mismatch")

    def remember(self, response: web.StreamResponse, new_cookie: str | None) -> None:
        if new_cookie is not None:
            set_cookie(response, self.settings, self.COOKIE, new_cookie)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
