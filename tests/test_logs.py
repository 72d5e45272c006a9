"""C-112: the server's log never holds a client secret or a token, whatever is sent to it."""

import signal
from pathlib import Path

import requests

from tests.process import client_credentials, run_cli


def test_the_log_holds_no_secret(spawn, tmp_path: Path):
    data_dir = tmp_path / "d"
    project = run_cli("project", "create", "--name", "p", "--redirect-uri", "https://p.example/cb",
                      "--scope", "read", data_dir=data_dir)
    server = spawn(data_dir)
    url = server.url
    tokens = [client_credentials(url, project).json()["access_token"] for _ in range(3)]
    auth = (project["client_id"], project["client_secret"])
    # Failures of every kind, some carrying the secret or a token where it does not belong.
    client_credentials(url, {**project, "client_secret": project["client_secret"] + "x"})
    requests.post(f"{url}/oauth/token?client_secret={project['client_secret']}",
                  data={"grant_type": "client_credentials", "client_id": project["client_id"]})
    requests.post(f"{url}/oauth/token?access_token={tokens[0]}", data={"grant_type": "client_credentials"}, auth=auth)
    requests.post(f"{url}/oauth/introspect", data={"token": tokens[1]}, auth=auth)
    requests.post(f"{url}/oauth/revoke", data={"token": tokens[2]}, auth=auth)
    requests.post(f"{url}/oauth/token", data=f"grant_type=client_credentials&scope=x&secret={tokens[1]}",
                  headers={"Content-Type": "text/plain"}, auth=auth)
    server.stop(signal.SIGTERM)
    log = server.stderr()
    assert "POST /oauth/token 200" in log and "POST /oauth/token 401" in log  # the log is on
    for secret in (project["client_secret"], *tokens, *(t.split(".")[2] for t in tokens)):
        assert secret not in log
