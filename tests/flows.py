"""Driving the hosted pages with `requests`, as a browser without JavaScript would.

A `Browser` keeps cookies, reads the form's hidden fields, and posts it back; redirects
to the client are not followed, so tests read `code`, `state` and `iss` from Location.
"""

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

REDIRECT_URI = "https://app.example/callback"
PASSWORD = "correct horse battery"

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden_fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in HIDDEN.findall(html)}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


@dataclass
class Redirect:
    status: int
    location: str

    @property
    def params(self) -> dict[str, str]:
        return query_of(self.location)


class FromAddress(HTTPAdapter):
    """Connections from one local address: 127.0.0.2, say, is another client address to a
    server listening on 127.0.0.1 (all of 127.0.0.0/8 is loopback)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


class Browser:
    def __init__(self, base_url: str, source: str | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if source is not None:  # the client address the server sees
            self.session.mount("http://", FromAddress(source))

    def authorize_url(self, client_id: str, redirect_uri: str = REDIRECT_URI, path: str = "/auth/login",
                      **params: str) -> str:
        query = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code", **params}
        return f"{self.base_url}{path}?{urlencode(query)}"

    def get(self, url: str) -> requests.Response:
        return self.session.get(url, allow_redirects=False, timeout=10)

    def submit(self, page: requests.Response, path: str, **fields: str) -> requests.Response:
        """Post the page's form: its hidden fields plus `fields`, to /auth/<action>."""
        assert page.status_code in (200, 401, 403, 409, 400, 429), page.text[:500]
        data = {**hidden_fields(page.text), **fields}
        return self.session.post(f"{self.base_url}/auth/{path}", data=data, allow_redirects=False,
                                 timeout=10)

    def sign_up(self, url: str, email: str, password: str = PASSWORD) -> Redirect:
        page = self.get(url.replace("/auth/login", "/auth/signup"))
        response = self.submit(page, "signup", email=email, password=password, action="signup")
        assert response.status_code == 303, response.text[:1000]
        return Redirect(response.status_code, response.headers["Location"])

    def sign_in(self, url: str, email: str, password: str = PASSWORD) -> requests.Response:
        page = self.get(url)
        return self.submit(page, "login", email=email, password=password, action="login")


def exchange(base_url: str, project: dict, code: str, redirect_uri: str = REDIRECT_URI,
             **params: str) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, **params}
    return requests.post(f"{base_url}/oauth/token", data=data,
                         auth=(project["client_id"], project["client_secret"]), timeout=10)


def refresh(base_url: str, project: dict, refresh_token: str, **params: str) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **params}
    return requests.post(f"{base_url}/oauth/token", data=data,
                         auth=(project["client_id"], project["client_secret"]), timeout=10)


def open_link(browser: Browser, link: str, **fields: str) -> requests.Response:
    """Open a mailed link (GET shows a page with one form) and press its button (POST)."""
    page = browser.get(link)
    assert page.status_code == 200, page.text[:500]
    path = urlsplit(link).path.removeprefix("/auth/")
    return browser.submit(page, path, **fields)
