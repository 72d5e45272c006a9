"""Operating a running service from the command line: list and show projects, change a
project's name and redirect URIs, list clients, rotate a client's secret (the old one
works 24 more hours unless revoked), delete a client. Each prints one JSON object; the
server serves the change once it has read the log (wait_for_client nudges it)."""

import json
import time
from pathlib import Path

import pytest
import requests

from astapa import __version__
from astapa import cli as astapa_cli
from astapa.app import AstapaApplication
from astapa.domain.projects import ROTATION_GRACE
from tests.clients.conftest import cli
from tests.conftest import Server, run_cli, wait_for_client
from tests.process import cli as cli_process

OLD_URI = "https://app.example/callback"
NEW_URI = "https://new.example/callback"


def refused(capsys, *args: str, data_dir: Path) -> str:
    """The one line on stderr of a command that exits 1."""
    capsys.readouterr()
    status = astapa_cli.main([*args[:2], "--data-dir", str(data_dir), *args[2:]])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1, (status, err)
    return err


def create_project(server: Server, name: str = "Shop") -> dict:
    return cli(server, "project", "create", "--name", name, "--redirect-uri", OLD_URI)


def machine(server: Server, project: dict, *extra: str) -> dict:
    return cli(server, "client", "create", "--project", project["project_id"], "--name", "bot", *extra)


def authorize(server: Server, client_id: str, redirect_uri: str) -> requests.Response:
    return requests.get(f"{server.url}/oauth/authorize", allow_redirects=False, timeout=10,
                        params={"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code"})


def with_secret(client: dict, secret: str) -> dict:
    return {"client_id": client["client_id"], "client_secret": secret}


def assert_refused(server: Server, client: dict) -> None:
    response = server.token(client)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client", response.text


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exited:
        astapa_cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"astapa {__version__}\n"


def test_version_as_a_process():
    done = cli_process("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"astapa {__version__}\n"


def test_project_list_and_show_name_no_secret(server: Server):
    shop = create_project(server, "Shop")
    blog = create_project(server, "Blog")
    ours = {shop["project_id"], blog["project_id"]}  # the server may have made its own
    listed = [p for p in cli(server, "project", "list")["projects"] if p["project_id"] in ours]
    assert [p["project_id"] for p in listed] == [shop["project_id"], blog["project_id"]]
    assert listed[0] == {"project_id": shop["project_id"], "name": "Shop", "mode": "sandbox",
                         "client_id": shop["client_id"], "created_at": listed[0]["created_at"]}
    shown = cli(server, "project", "show", "--project", shop["project_id"])
    assert shown["name"] == "Shop" and shown["client_id"] == shop["client_id"]
    assert shown["redirect_uris"] == [OLD_URI] and shown["post_logout_redirect_uris"] == []
    assert shown["providers"] == [] and shown["resources"] == {} and shown["scopes"] == []
    assert shown["require_verified_email"] is False and shown["allow_registration"] is False
    assert {"refresh_reuse_grace", "created_at", "mode"} <= set(shown)
    text = json.dumps(shown)
    assert shop["client_secret"] not in text and "hash" not in text and "secret" not in text


def test_the_commands_need_no_server_and_leave_read_db_alone(tmp_path: Path):
    """The CLI builds what it lists from the event log, in memory: read.db is the server's."""
    data_dir = tmp_path / "data"
    made = run_cli("project", "create", "--data-dir", str(data_dir), "--name", "Alone", "--redirect-uri", OLD_URI)
    listed = run_cli("project", "list", "--data-dir", str(data_dir))
    assert [p["project_id"] for p in listed["projects"]] == [made["project_id"]]
    clients = run_cli("client", "list", "--data-dir", str(data_dir), "--project", made["project_id"])
    assert [c["client_id"] for c in clients["clients"]] == [made["client_id"]]
    assert not (data_dir / "read.db").exists()


def test_unknown_projects_and_clients_are_one_line_and_exit_1(server: Server, capsys):
    assert refused(capsys, "project", "show", "--project", "proj_nope", data_dir=server.data_dir) \
        == "astapa: error: no project 'proj_nope'"
    assert "no project 'proj_nope'" in refused(capsys, "client", "list", "--project", "proj_nope",
                                               data_dir=server.data_dir)
    assert "no project 'proj_nope'" in refused(capsys, "project", "update", "--project", "proj_nope",
                                               "--name", "x", data_dir=server.data_dir)
    for action in ("rotate-secret", "delete"):
        assert refused(capsys, "client", action, "--client", "cid_nope", data_dir=server.data_dir) \
            == "astapa: error: no client 'cid_nope'"


def test_update_needs_an_option(tmp_path: Path, capsys):
    assert astapa_cli.main(["project", "update", "--data-dir", str(tmp_path), "--project", "proj_any"]) == 2
    assert "give --name, --redirect-uri," in capsys.readouterr().err


def test_update_renames_and_replaces_the_redirect_uris(server: Server):
    project = create_project(server, "Shop")
    assert authorize(server, project["client_id"], OLD_URI).status_code == 200
    changed = cli(server, "project", "update", "--project", project["project_id"], "--name", "Shop Two",
                  "--redirect-uri", NEW_URI, "--redirect-uri", "http://127.0.0.1:9000/cb")
    assert changed == {"project_id": project["project_id"], "name": "Shop Two",
                       "redirect_uris": [NEW_URI, "http://127.0.0.1:9000/cb"]}
    old = authorize(server, project["client_id"], OLD_URI)
    assert old.status_code == 400 and "redirect_uri is not registered" in old.text
    new = authorize(server, project["client_id"], NEW_URI)
    assert new.status_code == 200 and "Shop Two" in new.text
    shown = cli(server, "project", "show", "--project", project["project_id"])
    assert shown["name"] == "Shop Two" and shown["redirect_uris"] == [NEW_URI, "http://127.0.0.1:9000/cb"]
    listed = cli(server, "project", "list")["projects"]
    assert [p["name"] for p in listed if p["project_id"] == project["project_id"]] == ["Shop Two"]


def test_update_refuses_a_bad_redirect_uri(server: Server, capsys):
    project = create_project(server)
    status = astapa_cli.main(["project", "update", "--data-dir", str(server.data_dir), "--project",
                              project["project_id"], "--redirect-uri", "https://a.example/cb#frag"])
    assert status == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_client_list_shows_the_projects_clients_without_secrets(server: Server):
    project = create_project(server)
    bot = machine(server, project, "--scope", "read", "--token-ttl", "600")
    other = machine(server, create_project(server, "Other"))
    listed = cli(server, "client", "list", "--project", project["project_id"])["clients"]
    assert [c["client_id"] for c in listed] == [project["client_id"], bot["client_id"]]
    own, made = listed
    assert own["kind"] == "project" and own["name"] == "Shop" and own["redirect_uris"] == [OLD_URI]
    assert made == {"client_id": bot["client_id"], "name": "bot", "kind": "machine",
                    "auth_method": "client_secret_basic", "scopes": ["read"], "token_ttl": 600,
                    "grant_types": ["client_credentials"], "redirect_uris": [],
                    "created_at": made["created_at"], "previous_secret_valid_until": None}
    text = json.dumps(listed)
    assert bot["client_secret"] not in text and "hash" not in text and other["client_id"] not in text


def test_a_rotated_secret_works_and_the_old_one_for_24_hours(server: Server):
    project = create_project(server)
    bot = machine(server, project)
    rotated = cli(server, "client", "rotate-secret", "--client", bot["client_id"])
    assert set(rotated) == {"client_id", "client_secret", "previous_secret_valid_until"}
    assert rotated["client_id"] == bot["client_id"] and rotated["client_secret"] != bot["client_secret"]
    assert rotated["previous_secret_valid_until"].endswith("Z")
    assert server.token(rotated).status_code == 200
    assert server.token(bot).status_code == 200  # the old one, still
    listed = cli(server, "client", "list", "--project", project["project_id"])["clients"]
    assert listed[1]["previous_secret_valid_until"] == rotated["previous_secret_valid_until"]
    server.clock.advance(ROTATION_GRACE + 60)  # the CLI's clock is the real one, a little ahead
    assert_refused(server, bot)
    assert server.token(rotated).status_code == 200


def test_rotating_again_keeps_only_the_last_previous_secret(server: Server):
    bot = machine(server, create_project(server))
    second = cli(server, "client", "rotate-secret", "--client", bot["client_id"])
    third = cli(server, "client", "rotate-secret", "--client", bot["client_id"])
    assert_refused(server, bot)
    assert server.token(second).status_code == 200
    assert server.token(third).status_code == 200


def test_revoke_old_stops_the_old_secret_at_once(server: Server):
    bot = machine(server, create_project(server))
    rotated = cli(server, "client", "rotate-secret", "--client", bot["client_id"], "--revoke-old")
    assert rotated["previous_secret_valid_until"] is None
    assert_refused(server, bot)
    assert server.token(rotated).status_code == 200


def test_the_previous_secret_can_be_revoked_after_the_rotation(server: Server):
    bot = machine(server, create_project(server))
    rotated = cli(server, "client", "rotate-secret", "--client", bot["client_id"])
    args = astapa_cli.build_parser().parse_args(["project", "list", "--data-dir", str(server.data_dir)])
    app = astapa_cli.open_backend(args).event_store(AstapaApplication)
    try:
        value, _ = app.execute(app.revoke_previous_secret, bot["client_id"])
    finally:
        app.close()
    assert value == {"client_id": bot["client_id"], "previous_secret_valid_until": None}
    wait_for_client(server, value)
    assert_refused(server, bot)
    assert server.token(rotated).status_code == 200


def test_a_projects_own_client_rotates_too(server: Server):
    project = create_project(server)
    assert server.token(project).status_code == 200
    rotated = cli(server, "client", "rotate-secret", "--client", project["client_id"])
    assert server.token(rotated).status_code == 200
    assert server.token(project).status_code == 200
    own = cli(server, "client", "list", "--project", project["project_id"])["clients"][0]
    assert own["previous_secret_valid_until"] == rotated["previous_secret_valid_until"]
    server.clock.advance(ROTATION_GRACE + 60)
    assert_refused(server, project)
    assert server.token(rotated).status_code == 200


def test_a_client_without_a_secret_has_none_to_rotate(server: Server, capsys):
    project = create_project(server)
    public = machine(server, project, "--public", "--redirect-uri", OLD_URI)
    err = refused(capsys, "client", "rotate-secret", "--client", public["client_id"], data_dir=server.data_dir)
    assert f"client '{public['client_id']}' authenticates with none, not a secret" in err


def test_a_deleted_client_authenticates_no_more(server: Server, capsys):
    project = create_project(server)
    bot = machine(server, project)
    assert server.token(bot).status_code == 200
    assert cli(server, "client", "delete", "--client", bot["client_id"]) == {"client_id": bot["client_id"],
                                                                             "deleted": True}
    assert_refused(server, bot)
    listed = cli(server, "client", "list", "--project", project["project_id"])["clients"]
    assert [c["client_id"] for c in listed] == [project["client_id"]]
    for action in ("rotate-secret", "delete"):
        assert refused(capsys, "client", action, "--client", bot["client_id"], data_dir=server.data_dir) \
            == f"astapa: error: no client '{bot['client_id']}'"


def test_a_projects_own_client_is_not_deleted(server: Server, capsys):
    project = create_project(server)
    err = refused(capsys, "client", "delete", "--client", project["client_id"], data_dir=server.data_dir)
    assert "own client" in err and project["project_id"] in err
    assert server.token(project).status_code == 200


def test_the_previous_secret_is_checked_only_while_it_is_valid():
    """authenticate, alone: an empty previous-secret slot matches nothing, not even the
    secret an unknown client is compared with; an expired one matches nothing either."""
    from astapa.crypto import sha256_hex
    from astapa.domain.clients import ClientRecord
    from astapa.oauth.client_auth import Credentials, authenticate
    from astapa.oauth.errors import InvalidClientError

    def client(**previous) -> ClientRecord:
        return ClientRecord(client_id="cid_x", kind="machine", project_id="proj_x", secret_hash=sha256_hex("new"),
                            scopes=(), token_ttl=None, grant_types=("client_credentials",), **previous)

    def accepts(record: ClientRecord, secret: str, now: float = 100.0) -> bool:
        try:
            authenticate(record, Credentials("cid_x", secret, "client_secret_basic"), now)
            return True
        except InvalidClientError:
            return False

    rotated = client(previous_secret_hash=sha256_hex("old"), previous_secret_valid_until=200.0)
    assert accepts(rotated, "new") and accepts(rotated, "old")
    assert not accepts(rotated, "old", now=200.0) and accepts(rotated, "new", now=200.0)
    assert not accepts(client(), "no such client") and not accepts(client(), "old")


def test_update_sets_the_projects_scopes_and_access_token_lifetime(server: Server):
    project = run_cli("project", "create", "--data-dir", str(server.data_dir), "--name", "shop",
                      "--redirect-uri", "https://shop.example/cb", "--scope", "old")
    wait_for_client(server, project)
    updated = run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
                      "--scope", "orders:read", "--scope", "orders:write", "--token-ttl", "300")
    assert updated["scopes"] == ["orders:read", "orders:write"] and updated["access_token_ttl"] == 300
    deadline = time.monotonic() + 5
    while (answer := server.token(project, scope="orders:write")).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)
    assert answer.json()["expires_in"] == 300
    assert server.token(project, scope="old").json()["error"] == "invalid_scope"
    shown = run_cli("project", "show", "--data-dir", str(server.data_dir), "--project", project["project_id"])
    assert shown["scopes"] == ["orders:read", "orders:write"] and shown["access_token_ttl"] == 300
