"""Google and GitHub sign-in against the fakes in tests/fakes/, through the hosted pages."""

import time

import jwt
import pytest
import requests

from tests.conftest import Server, project_on, run_cli, wait_for_client
from tests.fakes.github import GitHubServer
from tests.fakes.google import GoogleServer
from tests.flows import Browser, exchange, pkce_pair, query_of

GOOGLE_ID, GOOGLE_SECRET = "google-client-id.apps.googleusercontent.com", "GOCSPX-google-secret"
GITHUB_ID, GITHUB_SECRET = "Iv1.github-client-id", "github-client-secret-0123456789"


@pytest.fixture
def google(clock, provider_key):
    with GoogleServer(client_id=GOOGLE_ID, client_secret=GOOGLE_SECRET, now=clock.now,
                      signing_key=provider_key) as fake:
        fake.add_account("10769150350006150715113", "ada@gmail.com", name="Ada Lovelace")
        yield fake


@pytest.fixture
def github(clock):
    with GitHubServer(client_id=GITHUB_ID, client_secret=GITHUB_SECRET, now=clock.now) as fake:
        fake.add_account(583231, "octocat", [("octo@example.org", True, True), ("old@example.org", False, True)],
                         name="The Octocat")
        yield fake


@pytest.fixture
def social_server(start_server, google, github, smtp) -> Server:
    server = start_server(google_discovery_url=google.discovery_url, github_url=github.url,
                          github_api_url=github.api_url, smtp_url=smtp.url, mail_interval=0.1,
                          provider_timeout=1.0)
    google.redirect_uris = {f"{server.url}/auth/callback/google"}
    github.redirect_uris = {f"{server.url}/auth/callback/github"}
    return server


def configure(server: Server, project: dict, *providers: str) -> dict:
    args = ["project", "providers", "--data-dir", str(server.data_dir), "--project", project["project_id"]]
    if "google" in providers:
        args += ["--google-client-id", GOOGLE_ID, "--google-client-secret", GOOGLE_SECRET]
    if "github" in providers:
        args += ["--github-client-id", GITHUB_ID, "--github-client-secret", GITHUB_SECRET]
    value = run_cli(*args)
    wait_for_client(server, value)
    wait_for_buttons(server, project, providers)
    return value


def wait_for_buttons(server: Server, project: dict, providers, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        page = Browser(server.url).get(Browser(server.url).authorize_url(project["client_id"]))
        if all(f"Continue with {'Google' if p == 'google' else 'GitHub'}" in page.text for p in providers):
            return
        assert time.monotonic() < deadline, "the login page did not show the provider buttons"
        time.sleep(0.05)


@pytest.fixture
def project(social_server: Server) -> dict:
    project = project_on(social_server)
    configure(social_server, project, "google", "github")
    return project


class Trip:
    """One browser's sign-in with a provider: the authorize request, and each hop."""

    def __init__(self, server: Server, project: dict, browser: Browser | None = None, state: str = "st-1",
                 mode: str = "login") -> None:
        self.server, self.project = server, project
        self.browser = browser or Browser(server.url)
        self.verifier, challenge = pkce_pair()
        self.state = state
        self.url = self.browser.authorize_url(project["client_id"], state=state, code_challenge=challenge,
                                              code_challenge_method="S256", scope="openid email",
                                              nonce="n-1")
        if mode == "signup":
            self.url = self.url.replace("/auth/login", "/auth/signup")

    def start(self, provider: str) -> requests.Response:
        """Press "Continue with …": the answer is a redirect to the provider."""
        page = self.browser.get(self.url)
        assert page.status_code == 200, page.text[:500]
        path = "signup" if "/auth/signup" in self.url else "login"
        return self.browser.submit(page, path, action=provider)

    def at_provider(self, provider: str) -> str:
        """Through the provider (the fake plays the user): the callback URL it sends back to."""
        started = self.start(provider)
        assert started.status_code == 303, started.text[:800]
        at = requests.get(started.headers["Location"], allow_redirects=False, timeout=10)
        assert at.status_code == 302, at.text[:500]
        return at.headers["Location"]

    def callback(self, url: str, browser: Browser | None = None) -> requests.Response:
        return (browser or self.browser).get(url)

    def sign_in(self, provider: str) -> requests.Response:
        return self.callback(self.at_provider(provider))

    def tokens(self, response: requests.Response) -> dict:
        assert response.status_code == 303, response.text[:1500]
        location = response.headers["Location"]
        assert location.startswith("https://app.example/callback?"), location
        params = query_of(location)
        assert params["state"] == self.state and params["iss"] == self.server.url
        result = exchange(self.server.url, self.project, params["code"], code_verifier=self.verifier)
        assert result.status_code == 200, result.text
        return result.json()


def claims_of(tokens: dict) -> dict:
    return jwt.decode(tokens["id_token"] if "id_token" in tokens else tokens["access_token"],
                      options={"verify_signature": False})


def access_claims(tokens: dict) -> dict:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})
