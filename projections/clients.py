"""Projects and clients: what token-endpoint client authentication reads."""

import json

from sqlite_utils import Database

from astapa.domain.projects import Client, Project

NAME = "clients"


def create_tables(db: Database) -> None:
    db["projects"].create(
        {"project_id": str, "name": str, "client_id": str, "mode": str, "created_at": str,
         "require_verified_email": int, "providers": str},  # providers: JSON {provider: client id}
        pk="project_id",
        if_not_exists=True,
    )
    db["clients"].create(
        {
            "client_id": str,
            "kind": str,
            "project_id": str,
            "name": str,
            "secret_hash": str,
            "scopes": str,
            "token_ttl": int,
            "redirect_uris": str,
            "mode": str,
            "created_at": str,
        },
        pk="client_id",
        if_not_exists=True,
    )
    db["clients"].create_index(["project_id"], if_not_exists=True)


def project_created(db: Database, e: Project.Created) -> None:
    created = e.timestamp.isoformat()
    db.execute(
        "INSERT INTO projects (project_id, name, client_id, mode, created_at, require_verified_email,"
        " providers) VALUES (?, ?, ?, ?, ?, ?, '{}')",
        [e.project_id, e.name, e.client_id, e.mode, created,
         int(getattr(e, "require_verified_email", False))],
    )
    db.execute(
        "INSERT INTO clients (client_id, kind, project_id, name, secret_hash, scopes, token_ttl,"
        " redirect_uris, mode, created_at) VALUES (?, 'project', ?, ?, ?, ?, NULL, ?, ?, ?)",
        [e.client_id, e.project_id, e.name, e.secret_hash, json.dumps(e.scopes),
         json.dumps(e.redirect_uris), e.mode, created],
    )


def client_created(db: Database, e: Client.Created) -> None:
    db.execute(
        "INSERT INTO clients (client_id, kind, project_id, name, secret_hash, scopes, token_ttl,"
        " redirect_uris, mode, created_at)"
        " SELECT ?, 'machine', ?, ?, ?, ?, ?, '[]', mode, ? FROM projects WHERE project_id = ?",
        [e.client_id, e.project_id, e.name, e.secret_hash, json.dumps(e.scopes), e.token_ttl,
         e.timestamp.isoformat(), e.project_id],
    )


def redirect_uri_added(db: Database, e: Project.RedirectUriAdded) -> None:
    db.execute(
        "UPDATE clients SET redirect_uris = json_insert(redirect_uris, '$[#]', ?)"
        " WHERE kind = 'project' AND project_id = ?",
        [e.redirect_uri, e.project_id],
    )


def sign_in_policy_changed(db: Database, e: Project.SignInPolicyChanged) -> None:
    db.execute("UPDATE projects SET require_verified_email = ? WHERE project_id = ?",
               [int(e.require_verified_email), e.project_id])


def provider_configured(db: Database, e: Project.ProviderConfigured) -> None:
    db.execute("UPDATE projects SET providers = json_set(providers, '$.' || ?, ?) WHERE project_id = ?",
               [e.provider, e.client_id, e.project_id])


def provider_removed(db: Database, e: Project.ProviderRemoved) -> None:
    db.execute("UPDATE projects SET providers = json_remove(providers, '$.' || ?) WHERE project_id = ?",
               [e.provider, e.project_id])


HANDLERS = {
    Project.Created: project_created,
    Project.SignInPolicyChanged: sign_in_policy_changed,
    Project.ProviderConfigured: provider_configured,
    Project.ProviderRemoved: provider_removed,
    Project.RedirectUriAdded: redirect_uri_added,
    Client.Created: client_created,
}
