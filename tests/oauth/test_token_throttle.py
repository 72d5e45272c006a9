"""C-36: repeated bad client secrets, and repeated refused codes, from one source for one
client are throttled (429 + Retry-After), the right secret included; other clients are not."""

import requests

from tests.conftest import Server, project_on, throttles_shared
from tests.flows import exchange


def test_bad_secrets_are_throttled_then_released(server: Server, make_client):
    client, bystander = make_client(), make_client()
    wrong = {**client, "client_secret": "wrong"}
    assert all(server.token(wrong).status_code == 401 for _ in range(20))
    throttles_shared()
    throttled = server.token(client)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert server.token(bystander).status_code == 200
    server.clock.advance(301)
    assert server.token(client).status_code == 200


def test_guessing_codes_is_throttled(start_server):
    server = start_server(grant_failures=5)
    project = project_on(server)
    for i in range(5):
        assert exchange(server.url, project, f"guess-{i}").json()["error"] == "invalid_grant"
    throttles_shared()
    assert exchange(server.url, project, "guess-5").status_code == 429
    assert requests.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                         auth=(project["client_id"], project["client_secret"])).status_code == 429
