"""The event log exported as JSON Lines holds every event and no secret in clear."""

import json
import subprocess
import sys

import requests

from tests.conftest import Server


def export(server: Server) -> str:
    return subprocess.run([sys.executable, "scripts/export_events.py", "--data-dir", str(server.data_dir)],
                          capture_output=True, text=True, check=True, timeout=60).stdout


def test_export_is_ordered_json_lines_without_secrets(server: Server, make_project, make_client):
    project = make_project("read")
    client = make_client("read", project=project)
    tokens = [server.access_token(client), server.access_token(project)]
    requests.post(f"{server.url}/oauth/revoke", data={"token": tokens[0]},
                  auth=(client["client_id"], client["client_secret"]))
    text = export(server)
    events = [json.loads(line) for line in text.splitlines()]
    assert [e["position"] for e in events] == list(range(1, len(events) + 1))
    for event in events:
        assert {"position", "type", "aggregate_id", "version", "timestamp"} <= set(event)
    types = [e["type"] for e in events]
    for expected in ("Project.Created", "Client.Created", "ClientIndex.Registered", "KeyRing.Created",
                     "AccessToken.Issued", "AccessToken.Revoked"):
        assert expected in types
    # No secret the test created appears anywhere, not even in part.
    for secret in (project["client_secret"], client["client_secret"], *tokens, *(t.split(".")[2] for t in tokens)):
        assert secret not in text
    for pem in (server.data_dir / "keys").glob("*.pem"):
        for line in pem.read_text().splitlines()[1:-1]:
            assert line not in text
    # Fields that derive from secrets are hashes, named *_hash.
    created = next(e for e in events if e["type"] == "Client.Created")
    assert len(created["secret_hash"]) == 64 and "secret" not in {k for k in created if k != "secret_hash"}
