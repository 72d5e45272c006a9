"""The console driven as a browser without JavaScript would: `requests` with cookies,
following the console's own redirects and the hosted sign-in in between."""

import re
import secrets
from html import unescape
from urllib.parse import urljoin

import pytest
import requests

from tests.conftest import Server, run_cli
from tests.flows import PASSWORD, hidden_fields

ADMIN = "admin@example.com"


class ConsoleBrowser:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.session = requests.Session()

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(urljoin(self.server.url, path), params=params or None, timeout=10)

    def post(self, path: str, page: requests.Response | None = None, **fields: str) -> requests.Response:
        """Post a form of `page` (its hidden fields, the CSRF token among them) with `fields`."""
        data = {**(hidden_fields(page.text) if page is not None else {}), **fields}
        if "csrf_token" not in data:
            data["csrf_token"] = csrf_of(self.get("/dashboard").text)
        return self.session.post(urljoin(self.server.url, path), data=data, timeout=10)

    def sign_in(self, email: str, password: str = PASSWORD) -> requests.Response:
        """From /dashboard through the hosted sign-in page and back; the console page."""
        page = self.get("/dashboard")
        assert "/auth/login" in page.url, page.url
        fields = hidden_fields(page.text)
        answer = self.session.post(urljoin(self.server.url, "/auth/login"),
                                   data={**fields, "email": email, "password": password, "action": "login"},
                                   timeout=10)
        assert "/dashboard" in answer.url, (answer.url, answer.text[:500])
        return answer


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return unescape(match.group(1))


def add_admin(server: Server, email: str = ADMIN) -> dict:
    return run_cli("console", "add-admin", "--email", email, "--data-dir", str(server.data_dir),
                   "--issuer", server.url)


def admin_browser(server: Server, email: str = ADMIN, password: str = PASSWORD) -> ConsoleBrowser:
    """An instance admin, set up through the link add-admin prints, signed in."""
    link = add_admin(server, email)["setup_url"]
    browser = ConsoleBrowser(server)
    page = browser.session.get(link, timeout=10)
    assert page.status_code == 200, page.text[:500]
    landed = browser.session.post(urljoin(server.url, "/dashboard/setup"),
                                  data={**hidden_fields(page.text), "password": password}, timeout=10)
    assert landed.status_code == 200 and landed.url.rstrip("/").endswith("/dashboard"), (landed.url, landed.text[:300])
    return browser


@pytest.fixture
def admin(server: Server) -> ConsoleBrowser:
    return admin_browser(server)


def member_browser(server: Server, email: str, project_id: str | None = None, role: str = "viewer",
                   password: str = PASSWORD) -> ConsoleBrowser:
    """A console user who is no instance admin, signed in; with `project_id`, a member of it
    with `role` (invited as an owner would). Their account is made through a setup link,
    as an admin's is, but without the admin grant."""
    from astapa.crypto import sha256_hex
    from astapa.domain.console import SetupLink
    from astapa.domain.users import normalise_email
    from astapa.store.events import Decision
    from astapa.web.appkeys import application_key, writer_key

    app = server.web_app[application_key]
    writer = server.web_app[writer_key]
    address, key = normalise_email(email)
    if project_id is not None:
        _, position = server.run(writer.run(app.invite_member, project_id, address, key, role, "console:owner@example.com",
                                            server.clock.now()))
    link_key = secrets.token_hex(16)
    token = f"{link_key}.{secrets.token_urlsafe(32)}"

    def issue() -> Decision:
        return Decision([SetupLink(link_key=link_key, email=address, email_key=key, token_hash=sha256_hex(token),
                                   expires_at=server.clock.now() + 3600)])

    server.run(writer.run(issue))
    browser = ConsoleBrowser(server)
    page = browser.session.get(f"{server.url}/dashboard/setup", params={"token": token}, timeout=10)
    assert page.status_code == 200, page.text[:300]
    landed = browser.session.post(f"{server.url}/dashboard/setup", data={**hidden_fields(page.text),
                                                                       "password": password}, timeout=10)
    assert "/dashboard" in landed.url, landed.url
    return browser


def create_project(admin: ConsoleBrowser, name: str = "Shop",
                   redirect_uris: str = "https://shop.example/cb") -> dict:
    """A project made in the console: its ids and secret as the created page shows them."""
    page = admin.post("/dashboard/projects", name=name, redirect_uris=redirect_uris)
    assert page.status_code == 200, page.text[:500]
    return {name: unescape(re.search(rf'<code id="{name}"[^>]*>([^<]+)</code>', page.text).group(1))
            for name in ("project_id", "client_id", "client_secret")}


def sign_up_to_console(server: Server, email: str, password: str = PASSWORD) -> ConsoleBrowser:
    """Someone signs up at the console's hosted sign-up page and proves their address with
    the mailed link, as a person invited (or, with open sign-up, anyone) would."""
    from tests.mail import only_action_link, outbox_messages, wait_for_outbox

    browser = ConsoleBrowser(server)
    login = browser.get("/dashboard")
    signup_page = browser.session.get(login.url.replace("/auth/login", "/auth/signup"), timeout=10)
    sent = len(outbox_messages(server.data_dir))
    answer = browser.session.post(urljoin(server.url, "/auth/signup"), timeout=10, data={
        **hidden_fields(signup_page.text), "email": email, "password": password, "action": "signup"})
    assert answer.status_code == 200, answer.text[:500]
    mail = [m for m in wait_for_outbox(server.data_dir, sent + 1) if m["To"] == email][-1]
    link_page = browser.session.get(only_action_link(mail, server.url), timeout=10)
    landed = browser.session.post(urljoin(server.url, "/auth/verify-email"), data=hidden_fields(link_page.text),
                                  timeout=10)
    assert "/dashboard" in landed.url, (landed.url, landed.text[:500])
    return browser
