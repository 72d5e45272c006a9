"""GET /metrics: Prometheus metrics, to loopback clients or with ASTAPA_METRICS_TOKEN.

The tests' servers listen on loopback only, and no test sends traffic anywhere else: a
client at another address is a request made in-process (no socket), handed to the handler
on the server's own event loop.
"""

import re
from unittest import mock

import jwt
import pytest
import requests
from aiohttp.test_utils import make_mocked_request

from astapa.config import ConfigError, load_settings
from astapa.metrics import CONTENT_TYPE, Metrics
from astapa.oauth.errors import InvalidTokenError
from astapa.web.metrics import is_loopback, may_scrape, metrics
from tests.conftest import Server, project_on, wait_for_client
from tests.flows import Browser, exchange, refresh

TOKEN = "a-metrics-token-of-some-length"
ELSEWHERE = "203.0.113.7"  # TEST-NET-3: never contacted, only named as a peer


def scrape(server: Server, **headers: str) -> str:
    response = requests.get(f"{server.url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response.headers["Cache-Control"] == "no-store"
    return response.text


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value (labels in any order); 0 when the series is not there yet."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or "")) == labels:
            return float(match.group(2))
    return 0.0


def test_requests_are_counted_by_route_name_method_and_status(server: Server):
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
    requests.get(f"{server.url}/no/such/page/4711", timeout=10)
    text = scrape(server)
    assert value(text, "astapa_http_requests_total", route="service.healthz", method="GET", status="200") == 1
    assert value(text, "astapa_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value(text, "astapa_http_request_duration_seconds_count", route="service.healthz", method="GET") == 1
    assert 'le="0.001"' in text and 'le="5.0"' in text
    assert "/no/such/page" not in text  # the path asked for is never a label


def test_tokens_are_counted_by_grant_type(server: Server, make_client):
    client = make_client()
    server.access_token(client)
    server.access_token(client)
    text = scrape(server)
    assert value(text, "astapa_tokens_issued_total", grant_type="client_credentials") == 2
    assert value(text, "astapa_http_requests_total", route="oauth.token", method="POST", status="200") == 2


def test_end_user_grants_are_counted_as_theirs(server: Server, make_project):
    project = make_project()
    browser = Browser(server.url)
    code = browser.sign_up(browser.authorize_url(project["client_id"]), "ada@example.org").params["code"]
    tokens = exchange(server.url, project, code).json()
    assert refresh(server.url, project, tokens["refresh_token"]).status_code == 200
    text = scrape(server)
    assert value(text, "astapa_tokens_issued_total", grant_type="authorization_code") == 1
    assert value(text, "astapa_tokens_issued_total", grant_type="refresh_token") == 1
    assert value(text, "astapa_tokens_issued_total", grant_type="client_credentials") == 0


def test_sign_ins_are_counted_by_outcome(server: Server, make_project):
    project = make_project()
    browser = Browser(server.url)
    url = browser.authorize_url(project["client_id"])
    browser.sign_up(url, "ada@example.org")
    assert Browser(server.url).sign_in(url, "ada@example.org", password="not the password").status_code == 401
    assert Browser(server.url).sign_in(url, "nobody@example.org").status_code == 401
    assert Browser(server.url).sign_in(url, "ada@example.org").status_code == 303
    text = scrape(server)
    assert value(text, "astapa_sign_ins_total", outcome="wrong_credentials") == 2
    assert value(text, "astapa_sign_ins_total", outcome="success") == 1
    assert "astapa_sign_ins_total{outcome=\"throttled\"} 0.0" in text  # every outcome shows, at 0


def test_projection_lag_is_zero_when_caught_up_and_the_mail_queue_is_shown(server: Server, make_client):
    server.access_token(make_client())
    wait_for_client(server, {})
    text = scrape(server)
    assert value(text, "astapa_projection_lag_events") == 0
    assert "astapa_mail_queue_length " in text
    assert value(text, "astapa_mail_queue_length") >= 0


def test_each_server_counts_only_its_own_requests(start_server, tmp_path):
    first, second = start_server(), start_server(tmp_path / "second")
    requests.get(f"{first.url}/healthz", timeout=10)
    assert value(scrape(second), "astapa_http_requests_total", route="service.healthz", method="GET",
                 status="200") == 0


def test_loopback_is_served_whatever_the_token_says(start_server):
    server = start_server(metrics_token=TOKEN)
    assert "astapa_http_requests_total" in scrape(server)
    assert "astapa_http_requests_total" in scrape(server, Authorization="Bearer wrong-token")


def handled(server: Server, peer: str, **headers: str):
    """GET /metrics as if from `peer`, on the server's loop, with no socket involved."""
    async def call():
        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda name, default=None: (
            (peer, 40000) if name == "peername" else default)
        request = make_mocked_request("GET", "/metrics", headers=headers, app=server.web_app, transport=transport)
        return await metrics(request)
    return server.run(call())


def test_another_address_needs_the_token(start_server):
    server = start_server(metrics_token=TOKEN)
    with pytest.raises(InvalidTokenError):
        handled(server, ELSEWHERE)
    with pytest.raises(InvalidTokenError):
        handled(server, ELSEWHERE, Authorization="Bearer not-the-metrics-token")
    response = handled(server, ELSEWHERE, Authorization=f"Bearer {TOKEN}")
    assert response.status == 200 and response.headers["Content-Type"] == CONTENT_TYPE
    assert b"astapa_projection_lag_events" in response.body


def test_without_a_token_configured_another_address_is_refused(server: Server):
    with pytest.raises(InvalidTokenError):
        handled(server, ELSEWHERE, Authorization="Bearer ")


@pytest.mark.parametrize("remote, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.1", False), ("203.0.113.7", False), ("::2", False), ("", False), (None, False), ("unix", False),
])
def test_loopback_addresses(remote, loopback):
    assert is_loopback(remote) is loopback


def test_the_token_is_a_bearer_token_and_only_the_configured_one():
    assert may_scrape(ELSEWHERE, f"Bearer {TOKEN}", TOKEN)
    assert may_scrape(ELSEWHERE, f"bearer {TOKEN}", TOKEN)
    assert not may_scrape(ELSEWHERE, f"Basic {TOKEN}", TOKEN)
    assert not may_scrape(ELSEWHERE, TOKEN, TOKEN)
    assert not may_scrape(ELSEWHERE, "Bearer ", None)
    assert not may_scrape(ELSEWHERE, "", None)


def test_an_unknown_sign_in_outcome_is_a_bug():
    with pytest.raises(ValueError):
        Metrics().sign_in("maybe")


def test_the_token_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("ASTAPA_METRICS_TOKEN", TOKEN)
    assert load_settings(data_dir=str(tmp_path)).metrics_token == TOKEN
    monkeypatch.setenv("ASTAPA_METRICS_TOKEN", "short")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        load_settings(data_dir=str(tmp_path))
    monkeypatch.delenv("ASTAPA_METRICS_TOKEN")
    assert load_settings(data_dir=str(tmp_path)).metrics_token is None


def test_a_disabled_account_and_a_throttled_source_are_counted_as_such(start_server):
    server = start_server(login_failures_per_account=1)
    project = project_on(server, live=True)  # a live project: its limits are the strict ones
    browser = Browser(server.url)
    url = browser.authorize_url(project["client_id"])
    sub = jwt_sub(exchange(server.url, project, browser.sign_up(url, "ada@example.org").params["code"]).json())
    auth = (project["client_id"], project["client_secret"])
    assert requests.patch(f"{server.url}/api/platform/users/{sub}", json={"disabled": True}, auth=auth,
                          timeout=10).status_code == 200
    assert Browser(server.url).sign_in(url, "ada@example.org").status_code == 401  # the right password
    assert Browser(server.url).sign_in(url, "ada@example.org").status_code == 429  # one failure is the limit
    text = scrape(server)
    assert value(text, "astapa_sign_ins_total", outcome="disabled") == 1
    assert value(text, "astapa_sign_ins_total", outcome="throttled") == 1
    assert value(text, "astapa_sign_ins_total", outcome="wrong_credentials") == 0


def jwt_sub(tokens: dict) -> str:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
