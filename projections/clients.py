"""Projects and clients: what token-endpoint client authentication reads."""

import json

from sqlite_utils import Database

from astapa.domain.projects import Client, Project
from astapa.domain.refresh import DEFAULT_REUSE_GRACE

NAME = "clients"


def create_tables(db: Database) -> None:
    db["projects"].create(
        {"project_id": str, "name": str, "client_id": str, "mode": str, "created_at": str,
         "require_verified_email": int, "providers": str,  # providers: JSON {provider: client id}
         "scopes": str, "allow_registration": int, "resources": str,  # resources: JSON {uri: [scope]}
         "refresh_reuse_grace": int,
         # Refresh lifetimes in seconds (NULL: the defaults), and whether PIN sign-in is on.
         "refresh_ttl": int, "pin_sign_in": int, "pin_refresh_ttl": int,
         # Two-factor required since (epoch seconds; NULL: not required), and the grace.
         "two_factor_required_since": float, "two_factor_grace": int,
         # Twins: a sandbox's live project once it went live; a live twin's sandbox.
         "live_project_id": str, "sandbox_project_id": str},
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
            "auth_method": str,
            "jwks": str,  # JSON JWK Set (public keys) or NULL
            "jwks_uri": str,
            "grant_types": str,  # JSON list
            "registered": int,
            "post_logout_redirect_uris": str,  # JSON list
            # The secret before the last rotation, accepted until the time (epoch seconds).
            "previous_secret_hash": str,
            "previous_secret_valid_until": float,
        },
        pk="client_id",
        if_not_exists=True,
    )
    db["clients"].create_index(["project_id"], if_not_exists=True)
    # How the hosted pages show a project (BrandingChanged); no row: their defaults.
    db["project_branding"].create({"project_id": str, "display_name": str, "logo_url": str, "primary_color": str},
                                  pk="project_id", if_not_exists=True)


def project_created(db: Database, e: Project.Created) -> None:
    created = e.timestamp.isoformat()
    db.execute(
        "INSERT INTO projects (project_id, name, client_id, mode, created_at, require_verified_email,"
        " providers, scopes, allow_registration, resources, refresh_reuse_grace, sandbox_project_id)"
        " VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?, '{}', ?, ?)",
        [e.project_id, e.name, e.client_id, e.mode, created,
         int(getattr(e, "require_verified_email", False)), json.dumps(e.scopes),
         int(getattr(e, "allow_registration", False)),
         getattr(e, "refresh_reuse_grace", DEFAULT_REUSE_GRACE), getattr(e, "sandbox_project_id", None)],
    )
    db.execute(
        "INSERT INTO clients (client_id, kind, project_id, name, secret_hash, scopes, token_ttl,"
        " redirect_uris, mode, created_at, auth_method, grant_types, registered, post_logout_redirect_uris)"
        " VALUES (?, 'project', ?, ?, ?, ?, NULL, ?, ?, ?, 'client_secret_basic', ?, 0, ?)",
        [e.client_id, e.project_id, e.name, e.secret_hash, json.dumps(e.scopes),
         json.dumps(e.redirect_uris), e.mode, created,
         json.dumps(["authorization_code", "refresh_token", "client_credentials"]),
         json.dumps(getattr(e, "post_logout_redirect_uris", None) or [])],
    )


def client_created(db: Database, e: Client.Created) -> None:
    registered = bool(getattr(e, "registered", False))
    jwks = getattr(e, "jwks", None)
    db.execute(
        "INSERT INTO clients (client_id, kind, project_id, name, secret_hash, scopes, token_ttl,"
        " redirect_uris, mode, created_at, auth_method, jwks, jwks_uri, grant_types, registered,"
        " post_logout_redirect_uris)"
        " SELECT ?, ?, ?, ?, ?, ?, ?, ?, mode, ?, ?, ?, ?, ?, ?, ? FROM projects WHERE project_id = ?",
        [e.client_id, "registered" if registered else "machine", e.project_id, e.name, e.secret_hash,
         json.dumps(e.scopes), e.token_ttl, json.dumps(getattr(e, "redirect_uris", None) or []),
         e.timestamp.isoformat(), getattr(e, "auth_method", "client_secret_basic"),
         None if jwks is None else json.dumps(jwks), getattr(e, "jwks_uri", None),
         json.dumps(getattr(e, "grant_types", None) or ["client_credentials"]), int(registered),
         json.dumps(getattr(e, "post_logout_redirect_uris", None) or []), e.project_id],
    )


def registration_policy_changed(db: Database, e: Project.RegistrationPolicyChanged) -> None:
    db.execute("UPDATE projects SET allow_registration = ? WHERE project_id = ?",
               [int(e.allow_registration), e.project_id])


def resource_added(db: Database, e: Project.ResourceAdded) -> None:
    row = db.execute("SELECT resources FROM projects WHERE project_id = ?", [e.project_id]).fetchone()
    if row is not None:
        resources = {**json.loads(row[0] or "{}"), e.uri: list(e.scopes)}
        db.execute("UPDATE projects SET resources = ? WHERE project_id = ?",
                   [json.dumps(resources), e.project_id])


def redirect_uri_added(db: Database, e: Project.RedirectUriAdded) -> None:
    db.execute(
        "UPDATE clients SET redirect_uris = json_insert(redirect_uris, '$[#]', ?)"
        " WHERE kind = 'project' AND project_id = ?",
        [e.redirect_uri, e.project_id],
    )


def post_logout_redirect_uris_changed(db: Database, e: Project.PostLogoutRedirectUrisChanged) -> None:
    db.execute("UPDATE clients SET post_logout_redirect_uris = ? WHERE kind = 'project' AND project_id = ?",
               [json.dumps(e.post_logout_redirect_uris), e.project_id])


def sign_in_policy_changed(db: Database, e: Project.SignInPolicyChanged) -> None:
    db.execute("UPDATE projects SET require_verified_email = ? WHERE project_id = ?",
               [int(e.require_verified_email), e.project_id])


def refresh_reuse_grace_changed(db: Database, e: Project.RefreshReuseGraceChanged) -> None:
    db.execute("UPDATE projects SET refresh_reuse_grace = ? WHERE project_id = ?",
               [e.refresh_reuse_grace, e.project_id])


def refresh_ttl_changed(db: Database, e: Project.RefreshTtlChanged) -> None:
    db.execute("UPDATE projects SET refresh_ttl = ? WHERE project_id = ?", [e.refresh_ttl, e.project_id])


def pin_sign_in_changed(db: Database, e: Project.PinSignInChanged) -> None:
    db.execute("UPDATE projects SET pin_sign_in = ? WHERE project_id = ?", [int(e.pin_sign_in), e.project_id])


def pin_refresh_ttl_changed(db: Database, e: Project.PinRefreshTtlChanged) -> None:
    db.execute("UPDATE projects SET pin_refresh_ttl = ? WHERE project_id = ?", [e.pin_refresh_ttl, e.project_id])


def two_factor_policy_changed(db: Database, e: Project.TwoFactorPolicyChanged) -> None:
    """Required since this event, unless it was already (a grace changed alone)."""
    since = e.timestamp.timestamp() if e.two_factor_required else None
    db.execute("UPDATE projects SET two_factor_required_since = CASE WHEN ? IS NULL THEN NULL"
               " ELSE COALESCE(two_factor_required_since, ?) END, two_factor_grace = ? WHERE project_id = ?",
               [since, since, e.two_factor_grace, e.project_id])


def provider_configured(db: Database, e: Project.ProviderConfigured) -> None:
    db.execute("UPDATE projects SET providers = json_set(providers, '$.' || ?, ?) WHERE project_id = ?",
               [e.provider, e.client_id, e.project_id])


def provider_removed(db: Database, e: Project.ProviderRemoved) -> None:
    db.execute("UPDATE projects SET providers = json_remove(providers, '$.' || ?) WHERE project_id = ?",
               [e.provider, e.project_id])


def went_live(db: Database, e: Project.WentLive) -> None:
    db.execute("UPDATE projects SET live_project_id = ? WHERE project_id = ?", [e.live_project_id, e.project_id])


def project_renamed(db: Database, e: Project.Renamed) -> None:
    """The project's own client shows the project's name on sign-in pages."""
    db.execute("UPDATE projects SET name = ? WHERE project_id = ?", [e.name, e.project_id])
    db.execute("UPDATE clients SET name = ? WHERE kind = 'project' AND project_id = ?", [e.name, e.project_id])


def redirect_uris_changed(db: Database, e: Project.RedirectUrisChanged) -> None:
    db.execute("UPDATE clients SET redirect_uris = ? WHERE kind = 'project' AND project_id = ?",
               [json.dumps(e.redirect_uris), e.project_id])


def project_secret_rotated(db: Database, e: Project.SecretRotated) -> None:
    db.execute("UPDATE clients SET secret_hash = ?, previous_secret_hash = ?, previous_secret_valid_until = ?"
               " WHERE kind = 'project' AND project_id = ?",
               [e.secret_hash, e.previous_secret_hash, e.previous_valid_until, e.project_id])


def project_previous_secret_revoked(db: Database, e: Project.PreviousSecretRevoked) -> None:
    db.execute("UPDATE clients SET previous_secret_hash = NULL, previous_secret_valid_until = NULL"
               " WHERE kind = 'project' AND project_id = ?", [e.project_id])


def client_secret_rotated(db: Database, e: Client.SecretRotated) -> None:
    db.execute("UPDATE clients SET secret_hash = ?, previous_secret_hash = ?, previous_secret_valid_until = ?"
               " WHERE client_id = ?",
               [e.secret_hash, e.previous_secret_hash, e.previous_valid_until, e.client_id])


def client_previous_secret_revoked(db: Database, e: Client.PreviousSecretRevoked) -> None:
    db.execute("UPDATE clients SET previous_secret_hash = NULL, previous_secret_valid_until = NULL"
               " WHERE client_id = ?", [e.client_id])


def client_deleted(db: Database, e: Client.Deleted) -> None:
    """The row goes, rather than being marked: every query that finds clients (client_by_id
    for authentication, clients_of for listings) then cannot find it, even one written
    later that forgets a flag. The log keeps its history."""
    db.execute("DELETE FROM clients WHERE client_id = ?", [e.client_id])


def branding_changed(db: Database, e: Project.BrandingChanged) -> None:
    db.execute("INSERT OR REPLACE INTO project_branding (project_id, display_name, logo_url, primary_color)"
               " VALUES (?, ?, ?, ?)", [e.project_id, e.display_name, e.logo_url, e.primary_color])


def scopes_changed(db: Database, e: Project.ScopesChanged) -> None:
    """The project's scopes, which are its own client's too (what client_credentials grants)."""
    db.execute("UPDATE projects SET scopes = ? WHERE project_id = ?", [json.dumps(e.scopes), e.project_id])
    db.execute("UPDATE clients SET scopes = ? WHERE kind = 'project' AND project_id = ?",
               [json.dumps(e.scopes), e.project_id])


def access_token_ttl_changed(db: Database, e: Project.AccessTokenTtlChanged) -> None:
    """The own client's token lifetime (NULL: the server's default), as a machine client's."""
    db.execute("UPDATE clients SET token_ttl = ? WHERE kind = 'project' AND project_id = ?",
               [e.access_token_ttl, e.project_id])


HANDLERS = {
    Project.Created: project_created,
    Project.ScopesChanged: scopes_changed,
    Project.AccessTokenTtlChanged: access_token_ttl_changed,
    Project.BrandingChanged: branding_changed,
    Project.SignInPolicyChanged: sign_in_policy_changed,
    Project.ProviderConfigured: provider_configured,
    Project.ProviderRemoved: provider_removed,
    Project.RedirectUriAdded: redirect_uri_added,
    Project.PostLogoutRedirectUrisChanged: post_logout_redirect_uris_changed,
    Project.RegistrationPolicyChanged: registration_policy_changed,
    Project.ResourceAdded: resource_added,
    Project.RefreshReuseGraceChanged: refresh_reuse_grace_changed,
    Project.RefreshTtlChanged: refresh_ttl_changed,
    Project.PinSignInChanged: pin_sign_in_changed,
    Project.PinRefreshTtlChanged: pin_refresh_ttl_changed,
    Project.TwoFactorPolicyChanged: two_factor_policy_changed,
    Project.WentLive: went_live,
    Project.Renamed: project_renamed,
    Project.RedirectUrisChanged: redirect_uris_changed,
    Project.SecretRotated: project_secret_rotated,
    Project.PreviousSecretRevoked: project_previous_secret_revoked,
    Client.Created: client_created,
    Client.SecretRotated: client_secret_rotated,
    Client.PreviousSecretRevoked: client_previous_secret_revoked,
    Client.Deleted: client_deleted,
}
