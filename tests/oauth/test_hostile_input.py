"""Input that must never reach a 500, and never fail anyone else's request (found in review)."""

import concurrent.futures
import gzip
import json

import requests

from tests.conftest import Server, run_cli, wait_for_client
from tests.oauth.test_token_client_credentials import error_of


def credentials(client: dict) -> dict:
    return {"client_id": client["client_id"], "client_secret": client["client_secret"]}


def post_json(server: Server, body: str, **headers) -> requests.Response:
    return requests.post(f"{server.url}/oauth/token", data=body.encode(),
                         headers={"Content-Type": "application/json", **headers})


def test_lone_surrogates_in_json_are_invalid_request(server: Server, make_client):
    client = make_client()
    base = {"grant_type": "client_credentials", **credentials(client)}
    assert post_json(server, json.dumps(base)).status_code == 200
    for name in ("client_id", "client_secret", "resource", "scope"):
        body = json.dumps(base)[:-1] + f', "{name}": "\\ud800"}}'
        if name in ("client_id", "client_secret"):
            body = json.dumps({**base, name: "X"}).replace('"X"', '"\\ud800"')
        error_of(post_json(server, body), 400, "invalid_request")


def test_one_bad_request_never_fails_its_batch_neighbours(server: Server, make_client):
    client = make_client()
    good = json.dumps({"grant_type": "client_credentials", **credentials(client)})
    bad = json.dumps({"grant_type": "client_credentials", **credentials(client), "resource": "X"}).replace('"X"', '"\\ud800"')

    def send(i: int) -> int:
        return post_json(server, bad if i % 10 == 0 else good).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(send, range(100)))
    assert statuses.count(200) == 90 and statuses.count(400) == 10


def test_a_body_that_does_not_match_its_content_encoding_is_invalid_request(server: Server, make_client):
    client = make_client()
    plain = "grant_type=client_credentials"
    for encoding in ("gzip", "deflate"):
        response = requests.post(f"{server.url}/oauth/token", data=plain, auth=(client["client_id"], client["client_secret"]),
                                 headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": encoding})
        error_of(response, 400, "invalid_request")
    # A real gzip body is fine.
    response = requests.post(f"{server.url}/oauth/token", data=gzip.compress(plain.encode()),
                             auth=(client["client_id"], client["client_secret"]),
                             headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"})
    assert response.status_code == 200


def test_an_overlong_resource_is_invalid_target(server: Server, make_client):
    client = make_client()
    long_enough = "https://api.example/" + "a" * 1900
    run_cli("resource", "add", "--data-dir", str(server.data_dir), "--project", client["project_id"],
            "--uri", long_enough)
    wait_for_client(server, client)
    error_of(server.token(client, resource="https://api.example/" + "a" * 2048), 400, "invalid_target")
    assert server.token(client, resource=long_enough).status_code == 200


def test_json_null_counts_as_omitted(server: Server, make_client):
    client = make_client("read")
    body = json.dumps({"grant_type": "client_credentials", **credentials(client), "scope": None, "resource": None})
    response = post_json(server, body)
    assert response.status_code == 200
    assert response.json()["scope"] == "read"
