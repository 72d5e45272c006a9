"""`astapa project providers`: per-project Google and GitHub clients, secrets kept out of the
event log (a 0600 file under DATA_DIR/keys/providers/, only hashes in events)."""

import hashlib
import json
import sqlite3
import stat

import pytest

from astapa import cli
from tests.conftest import Server, project_on, run_cli, wait_for_client
from tests.social.conftest import GITHUB_SECRET, GOOGLE_ID, GOOGLE_SECRET, configure
from tests.flows import Browser


def event_bytes(server: Server) -> bytes:
    """Every stored event's state, and the read models' file (WAL included)."""
    conn = sqlite3.connect(f"file:{server.data_dir / 'events.db'}?mode=ro", uri=True)
    try:
        states = [row[0] for row in conn.execute("SELECT state FROM stored_events")]
    finally:
        conn.close()
    return b"\n".join(states)


def test_providers_are_kept_out_of_events(server: Server):
    project = project_on(server)
    value = configure(server, project, "google", "github")
    assert value == {"project_id": project["project_id"], "providers": ["github", "google"]}
    path = server.data_dir / "keys" / "providers" / f"{project['project_id']}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["google"] == {"client_id": GOOGLE_ID, "client_secret": GOOGLE_SECRET}
    events = event_bytes(server)
    for secret in (GOOGLE_SECRET, GITHUB_SECRET):
        assert secret.encode() not in events
    assert hashlib.sha256(GOOGLE_SECRET.encode()).hexdigest().encode() in events


def test_one_provider_can_change_without_the_other_and_be_removed(server: Server):
    project = project_on(server)
    configure(server, project, "google", "github")
    run_cli("project", "providers", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--github-client-id", "Iv1.new", "--github-client-secret", "new-secret-value")
    path = server.data_dir / "keys" / "providers" / f"{project['project_id']}.json"
    document = json.loads(path.read_text())
    assert document["google"]["client_secret"] == GOOGLE_SECRET
    assert document["github"] == {"client_id": "Iv1.new", "client_secret": "new-secret-value"}
    value = run_cli("project", "providers", "--data-dir", str(server.data_dir), "--project",
                    project["project_id"], "--remove", "google")
    assert value["providers"] == ["github"] and "google" not in json.loads(path.read_text())
    wait_for_client(server, project)
    page = Browser(server.url).get(Browser(server.url).authorize_url(project["client_id"]))
    assert "Continue with Google" not in page.text


@pytest.mark.parametrize("args, message", [
    (["--google-client-id", "x"], "--google-client-id and --google-client-secret go together"),
    (["--github-client-secret", "x"], "--github-client-id and --github-client-secret go together"),
    ([], "give a provider's client id and secret, or --remove PROVIDER"),
    (["--google-client-id", "a b", "--google-client-secret", "s"], "printable ASCII characters without spaces"),
    (["--remove", "facebook"], "invalid choice"),
    (["--remove", "google", "--google-client-id", "a", "--google-client-secret", "s"], "choose one"),
])
def test_bad_command_lines_exit_2_with_one_line(server: Server, capsys, args, message):
    project = project_on(server)
    capsys.readouterr()
    status = cli.main(["project", "providers", "--data-dir", str(server.data_dir),
                       "--project", project["project_id"], *args])
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.count("\n") == 1, err


def test_unknown_project_exits_1(server: Server, capsys):
    status = cli.main(["project", "providers", "--data-dir", str(server.data_dir), "--project", "proj_nope",
                       "--google-client-id", "a", "--google-client-secret", "s"])
    assert status == 1 and "no project 'proj_nope'" in capsys.readouterr().err
    assert not (server.data_dir / "keys" / "providers" / "proj_nope.json").exists()
