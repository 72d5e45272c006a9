"""Machine clients and resources in the console: what is made there works at the token
endpoint and shows in discovery; rotation, revocation and deletion take effect; bad fields
are shown next to the field and change nothing."""

import json
import re
from html import unescape

import requests
from joserfc.jwk import ECKey

from astapa.web.appkeys import application_key
from tests.conftest import Server
from tests.console.conftest import ConsoleBrowser, create_project
from tests.console.test_settings import code_of, console_actions


def clients_path(project: dict) -> str:
    return f"/dashboard/projects/{project['project_id']}/clients"


def log_position(server: Server) -> int:
    return server.web_app[application_key].recorder.max_notification_id() or 0


def create_client(admin: ConsoleBrowser, project: dict, **fields: str) -> dict:
    page = admin.get(clients_path(project))
    created = admin.post(clients_path(project), page=page, **{"name": "Billing job", "scopes": "billing:read",
                                                                  "credential": "secret", **fields})
    assert created.status_code == 200, created.text[:1000]
    client = {"client_id": code_of(created.text, "client_id")}
    if 'id="client_secret"' in created.text:
        client["client_secret"] = code_of(created.text, "client_secret")
    return client


def test_a_client_made_in_the_console_gets_tokens_and_is_listed(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    client = create_client(admin, project, scopes="billing:read billing:write", token_ttl="120")
    token = server.token(client, scope="billing:read")
    assert token.status_code == 200 and token.json()["expires_in"] == 120
    listed = admin.get(clients_path(project))
    assert client["client_id"] in listed.text and "Billing job" in listed.text
    assert client["client_secret"] not in listed.text  # shown once
    assert "Billing job" in console_actions(server, project["project_id"])


def test_bad_fields_are_shown_next_to_them_and_nothing_is_made(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(clients_path(project))
    before = log_position(server)
    answer = admin.post(clients_path(project), page=page, name="", scopes="ok bad\"scope", token_ttl="0",
                        credential="jwks_uri", jwks_uri="ftp://keys.example/jwks")
    assert answer.status_code == 400
    for field in ("name", "scopes", "token_ttl", "jwks_uri"):
        assert f'id="{field}-error"' in answer.text, field
    assert 'autofocus' in answer.text.split('id="name"')[1].split(">")[0]
    private = admin.post(clients_path(project), page=page, name="Keyed", credential="jwk",
                         jwk=json.dumps(ECKey.generate_key("P-256").as_dict(private=True)))
    assert private.status_code == 400 and 'id="jwk-error"' in private.text and "private" in private.text
    assert log_position(server) == before


def test_a_client_with_its_own_public_key_gets_no_secret(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    key = ECKey.generate_key("P-256")
    client = create_client(admin, project, name="Signer", credential="jwk",
                           jwk=json.dumps(key.as_dict(private=False)))
    assert "client_secret" not in client
    listed = admin.get(clients_path(project))
    row = listed.text.split(client["client_id"])[1].split("</tr>")[0]
    assert "private_key_jwt" in row and "Rotate secret" not in row
    by_uri = create_client(admin, project, name="Published", credential="jwks_uri",
                           jwks_uri="https://keys.example/jwks.json")
    assert "client_secret" not in by_uri


def test_rotate_keeps_the_old_secret_for_a_day_unless_revoked(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    client = create_client(admin, project)
    page = admin.get(clients_path(project))
    rotated = admin.post(f"{clients_path(project)}/{client['client_id']}/rotate-secret", page=page)
    assert rotated.status_code == 200 and "keeps working for 24 hours" in rotated.text
    new = {"client_id": client["client_id"], "client_secret": code_of(rotated.text, "client_secret")}
    assert server.token(new).status_code == 200 and server.token(client).status_code == 200
    server.clock.advance(24 * 3600 + 1)
    assert server.token(client).status_code == 401  # the day is over
    again = admin.post(f"{clients_path(project)}/{client['client_id']}/rotate-secret", page=page)
    newer = {"client_id": client["client_id"], "client_secret": code_of(again.text, "client_secret")}
    revoked = admin.post(f"{clients_path(project)}/{client['client_id']}/revoke-old-secret", page=again)
    assert revoked.status_code == 200 and "no longer works" in revoked.text
    assert server.token(new).status_code == 401 and server.token(newer).status_code == 200
    assert client["client_id"] in console_actions(server, project["project_id"])


def test_delete_asks_first_then_the_client_authenticates_no_more(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    client = create_client(admin, project)
    confirm = admin.get(f"{clients_path(project)}/{client['client_id']}/delete")
    assert confirm.status_code == 200 and "Delete Billing job?" in confirm.text
    assert server.token(client).status_code == 200  # nothing changed by looking
    deleted = admin.post(f"{clients_path(project)}/{client['client_id']}/delete", page=confirm)
    assert deleted.status_code == 200 and "Client deleted" in deleted.text
    assert client["client_id"] not in deleted.text
    assert server.token(client).status_code == 401
    assert client["client_id"] in console_actions(server, project["project_id"])


def test_a_client_of_another_project_is_not_found_here(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    other = create_project(admin, name="Other")
    client = create_client(admin, other)
    page = admin.get(clients_path(project))
    before = log_position(server)
    assert admin.get(f"{clients_path(project)}/{client['client_id']}/delete").status_code == 404
    assert admin.post(f"{clients_path(project)}/{client['client_id']}/delete", page=page).status_code == 404
    assert admin.post(f"{clients_path(project)}/{client['client_id']}/rotate-secret", page=page).status_code == 404
    assert log_position(server) == before
    assert server.token(client).status_code == 200


def test_the_project_own_client_cannot_be_deleted_here(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(clients_path(project))
    assert f"{project['client_id']}/delete" not in page.text
    refused = admin.post(f"{clients_path(project)}/{project['client_id']}/delete", page=page)
    assert refused.status_code == 409 and "own client" in refused.text
    assert server.token(project).status_code == 200


def test_resources_added_appear_in_the_project_discovery(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(clients_path(project))
    bad = admin.post(f"/dashboard/projects/{project['project_id']}/resources", page=page,
                     resource_uri="not a uri", resource_scopes="orders:read")
    assert bad.status_code == 400 and 'id="resource_uri-error"' in bad.text
    added = admin.post(f"/dashboard/projects/{project['project_id']}/resources", page=page,
                       resource_uri="https://api.shop.example/", resource_scopes="orders:read orders:write")
    assert added.status_code == 200 and "Resource saved." in added.text
    assert "https://api.shop.example/" in unescape(added.text)
    metadata = requests.get(f"{server.url}/projects/{project['project_id']}/.well-known/oauth-authorization-server",
                            timeout=10).json()
    assert {"orders:read", "orders:write"} <= set(metadata["scopes_supported"])
    assert "https://api.shop.example/" in console_actions(server, project["project_id"])
    assert re.search(r"orders:read orders:write", added.text)


def test_another_projects_resource_cannot_be_registered_in_the_console(server: Server, admin: ConsoleBrowser):
    """The management API refuses it, and so must the console (and the command under both:
    the CLI too)."""
    victim, attacker = create_project(admin, "Victim"), create_project(admin, "Attacker")
    taken = admin.post(f"/dashboard/projects/{victim['project_id']}/resources",
                       resource_uri="https://api.victim.example/", resource_scopes="read")
    assert taken.status_code == 200, taken.text[:300]
    refused = admin.post(f"/dashboard/projects/{attacker['project_id']}/resources",
                         resource_uri="HTTPS://API.victim.example:443", resource_scopes="read")
    assert refused.status_code == 409 and "Another project registered this resource" in refused.text
    from astapa import cli

    assert cli.main(["resource", "add", "--data-dir", str(server.data_dir), "--project", attacker["project_id"],
                     "--uri", "https://api.victim.example/", "--scope", "read"]) == 1
