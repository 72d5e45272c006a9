"""A project's own authorization server: a project that takes registrations, with one
protected resource, and a browser that signs up and answers the consent page."""

import re
from html import unescape
from urllib.parse import urlencode

import pytest
import requests

from tests.conftest import Server, run_cli, wait_for_client
from tests.flows import PASSWORD, Browser, Redirect, hidden_fields, pkce_pair

RESOURCE = "https://mcp.example/mcp"
SIGN_UP_LINK = re.compile(r'href="(/auth/signup\?[^"]+)"')


def cli(server: Server, *args: str) -> dict:
    value = run_cli(*args[:2], "--data-dir", str(server.data_dir), *args[2:])
    wait_for_client(server, value)
    return value


@pytest.fixture
def project(server: Server) -> dict:
    return tools_project(server)


def tools_project(server: Server) -> dict:
    """A project taking registrations, with the resource RESOURCE (scopes mcp:tools, mcp:admin)."""
    made = cli(server, "project", "create", "--name", "Tools", "--redirect-uri", "https://app.example/callback",
               "--scope", "read", "--allow-registration")
    cli(server, "resource", "add", "--project", made["project_id"], "--uri", RESOURCE,
        "--scope", "mcp:tools", "--scope", "mcp:admin")
    made["issuer"] = f"{server.url}/projects/{made['project_id']}"
    return made


def register(project: dict, **metadata) -> dict:
    body = {"client_name": "Agent Smith", "redirect_uris": ["http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none", **metadata}
    response = requests.post(f"{project['issuer']}/oauth/register", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


class ConsentBrowser(Browser):
    """Signs up through a project's authorization endpoint and answers consent pages."""

    def authorization(self, issuer: str, client_id: str, redirect_uri: str, **params: str) -> tuple[str, str]:
        """(authorize URL, PKCE verifier) with S256 and a state."""
        verifier, challenge = pkce_pair()
        query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                 "code_challenge": challenge, "code_challenge_method": "S256", "state": "st-1", **params}
        return f"{issuer}/oauth/authorize?{urlencode(query)}", verifier

    def sign_up_at(self, url: str, email: str) -> requests.Response:
        """Open the authorize URL, follow "Sign up", and post the form: a consent page or
        a redirect."""
        page = self.get(url)
        assert page.status_code == 200, page.text[:500]
        signup = self.get(self.base_url + unescape(SIGN_UP_LINK.search(page.text).group(1)))
        return self.submit(signup, "signup", email=email, password=PASSWORD, action="signup")

    def answer(self, consent: requests.Response, action: str = "allow") -> Redirect:
        assert consent.status_code == 200 and "consent" in consent.text, consent.text[:500]
        response = self.session.post(f"{self.base_url}/auth/consent",
                                     data={**hidden_fields(consent.text), "action": action},
                                     allow_redirects=False, timeout=10)
        assert response.status_code == 303, response.text[:500]
        return Redirect(303, response.headers["Location"])
