"""RFC 7009 token revocation for access tokens."""

import requests

from tests.conftest import Server, stored_states
from tests.oauth.test_introspection import introspect


def revoke(server: Server, caller: dict, token: str, **extra) -> requests.Response:
    return requests.post(f"{server.url}/oauth/revoke", data={"token": token, **extra},
                         auth=(caller["client_id"], caller["client_secret"]))


def revoked_events(server: Server) -> list[dict]:
    return stored_states(server, "AccessToken.Revoked")


def test_revoked_token_is_inactive_at_once(server: Server, make_client):
    client = make_client()
    token = server.access_token(client)
    response = revoke(server, client, token, token_type_hint="access_token")
    assert response.status_code == 200
    assert introspect(server, client, token).json() == {"active": False}
    assert [e["by_client_id"] for e in revoked_events(server)] == [client["client_id"]]


def test_revoking_twice_records_one_event(server: Server, make_client):
    client = make_client()
    token = server.access_token(client)
    assert revoke(server, client, token).status_code == 200
    assert revoke(server, client, token, token_type_hint="refresh_token").status_code == 200
    assert len(revoked_events(server)) == 1


def test_unknown_and_malformed_tokens_get_200(server: Server, make_client):
    client = make_client()
    for token in ("unknown", "a.b.c", "x" * 5000):
        assert revoke(server, client, token).status_code == 200
    assert revoked_events(server) == []


def test_a_client_cannot_revoke_another_clients_token(server: Server, make_project, make_client):
    project = make_project()
    a, b = make_client(project=project), make_client(project=project)
    token = server.access_token(a)
    assert revoke(server, b, token).status_code == 200
    assert introspect(server, a, token).json()["active"] is True
    assert revoked_events(server) == []


def test_revocation_requires_client_authentication(server: Server, make_client):
    client = make_client()
    token = server.access_token(client)
    response = requests.post(f"{server.url}/oauth/revoke", data={"token": token})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert revoke(server, {**client, "client_secret": "no"}, token).status_code == 401
    assert introspect(server, client, token).json()["active"] is True


def test_missing_token_is_invalid_request(server: Server, make_client):
    client = make_client()
    response = requests.post(f"{server.url}/oauth/revoke", data={},
                             auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
