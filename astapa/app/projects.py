"""Projects (each is its own OAuth client for signing users in) and machine clients."""

from datetime import datetime, timezone

from astapa.crypto import new_public_id, new_secret, sha256_hex
from astapa.domain.branding import check_branding
from astapa.domain.errors import (
    ClientNotFoundError,
    ProjectClientKeptError,
    ProjectNotFoundError,
    RedirectUriRefusedError,
    RegistrationClosedError,
    SettingRefusedError,
)
from astapa.domain.projects import (
    MAX_TWO_FACTOR_GRACE,
    Client,
    ClientIndex,
    Project,
    ResourceIndex,
    kept_on_rotation,
)
from astapa.domain.refresh import DEFAULT_REUSE_GRACE, MAX_REFRESH_TTL, MIN_REFRESH_TTL
from astapa.domain.resources import canonical
from astapa.oauth.authorize import check_redirect_uri
from astapa.inputs import MAX_SCOPES, MAX_TOKEN_TTL
from astapa.oauth.scopes import is_scope_token
from astapa.oauth.client_metadata import ClientMetadata
from astapa.store.events import Decision, EventStore

DEMO_PROJECT_ID = "proj_demo"
DEMO_REUSE_GRACE = 30  # seconds: the demo forgives one lost refresh answer

# What update_project changes: a setting (the Project attribute, and its event's field) ->
# the Project method recording a new value.
SETTINGS = {
    "name": "rename",
    "redirect_uris": "change_redirect_uris",
    "post_logout_redirect_uris": "change_post_logout_redirect_uris",
    "require_verified_email": "change_sign_in_policy",
    "allow_registration": "change_registration_policy",
    "refresh_reuse_grace": "change_refresh_reuse_grace",
    "scopes": "change_scopes",
    "access_token_ttl": "change_access_token_ttl",
    "refresh_ttl": "change_refresh_ttl",
    "pin_sign_in": "change_pin_sign_in",
    "pin_refresh_ttl": "change_pin_refresh_ttl",
}
# Settings recorded together, by one event: the method, and every field it records.
POLICIES = {("two_factor_required", "two_factor_grace"): "change_two_factor_policy"}


class ProjectCommands(EventStore):
    def create_project(
        self, name: str, redirect_uris: list[str], mode: str, scopes: list[str],
        project_id: str | None = None, require_verified_email: bool = False,
        allow_registration: bool = False, refresh_reuse_grace: int = DEFAULT_REUSE_GRACE,
        post_logout_redirect_uris: list[str] | None = None, sandbox_project_id: str | None = None,
        by: str | None = None,
    ) -> Decision:
        """A project with its own client. The operator's redirect URIs must suit `mode`; a
        project made with a chosen id is one of the server's own (the demo, the console),
        whose redirect URI is a page of this server under its issuer, or a live twin whose
        URIs going live has checked already."""
        if project_id is None:
            check_redirect_uris([*redirect_uris, *(post_logout_redirect_uris or [])], mode)
        project_id = project_id or new_public_id("proj")
        client_id, secret, secret_hash = new_client_credentials()
        project = Project(
            project_id=project_id,
            name=name,
            client_id=client_id,
            secret_hash=secret_hash,
            redirect_uris=redirect_uris,
            mode=mode,
            scopes=scopes,
            require_verified_email=require_verified_email,
            allow_registration=allow_registration,
            refresh_reuse_grace=refresh_reuse_grace,
            post_logout_redirect_uris=list(post_logout_redirect_uris or []),
            sandbox_project_id=sandbox_project_id,
            by=by,
        )
        index = ClientIndex(client_id=client_id, kind="project", owner_id=project.id)
        credentials = {
            "project_id": project_id,
            "client_id": client_id,
            "client_secret": secret,
            "mode": mode,
            "require_verified_email": require_verified_email,
            "allow_registration": allow_registration,
            "refresh_reuse_grace": refresh_reuse_grace,
        }
        if post_logout_redirect_uris:
            credentials["post_logout_redirect_uris"] = list(post_logout_redirect_uris)
        return Decision([project, index], credentials)

    def create_client(self, project_id: str, name: str, scopes: list[str], token_ttl: int | None,
                      jwks: dict | None = None, jwks_uri: str | None = None, public: bool = False,
                      redirect_uris: list[str] | None = None,
                      post_logout_redirect_uris: list[str] | None = None, by: str | None = None) -> Decision:
        """A machine client (client_credentials): a secret, or with `jwks`/`jwks_uri` its
        own keys (private_key_jwt) and no secret at all. With `redirect_uris`, a client of
        the code flow with refresh instead (an app of the project's own); `public`: one
        with no credentials at all (a native or browser app)."""
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        check_redirect_uris([*(redirect_uris or []), *(post_logout_redirect_uris or [])], project.mode)
        keyed = jwks is not None or jwks_uri is not None
        method = "private_key_jwt" if keyed else "none" if public else "client_secret_basic"
        grant_types = ["authorization_code", "refresh_token"] if redirect_uris else ["client_credentials"]
        client_id, secret, secret_hash = new_client_credentials()
        client = Client(
            client_id=client_id,
            project_id=project_id,
            name=name,
            secret_hash=secret_hash if method == "client_secret_basic" else None,
            scopes=scopes,
            token_ttl=token_ttl,
            auth_method=method,
            jwks=jwks,
            jwks_uri=jwks_uri,
            redirect_uris=redirect_uris,
            grant_types=grant_types,
            post_logout_redirect_uris=list(post_logout_redirect_uris or []),
            by=by,
        )
        index = ClientIndex(client_id=client_id, kind="machine", owner_id=client.id)
        credentials = {"client_id": client_id, "client_secret": secret, "scopes": scopes,
                       "project_id": project_id, "token_endpoint_auth_method": method,
                       "grant_types": grant_types}
        if redirect_uris:
            credentials["redirect_uris"] = redirect_uris
        if post_logout_redirect_uris:
            credentials["post_logout_redirect_uris"] = list(post_logout_redirect_uris)
        if method != "client_secret_basic":
            del credentials["client_secret"]
        if token_ttl is not None:
            credentials["token_ttl"] = token_ttl
        return Decision([client, index], credentials)

    def register_client(self, project_id: str, metadata: ClientMetadata, now: float) -> Decision:
        """RFC 7591 §3.2.1: a client registered itself; a secret only for the secret methods."""
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        if not project.allow_registration:
            raise RegistrationClosedError(project_id)
        client_id, secret, secret_hash = new_client_credentials()
        with_secret = metadata.auth_method in ("client_secret_basic", "client_secret_post")
        client = Client(
            client_id=client_id, project_id=project_id, name=metadata.name,
            secret_hash=secret_hash if with_secret else None, scopes=list(metadata.scopes),
            token_ttl=None, auth_method=metadata.auth_method, jwks=metadata.jwks,
            jwks_uri=metadata.jwks_uri, redirect_uris=list(metadata.redirect_uris),
            grant_types=list(metadata.grant_types), registered=True,
        )
        index = ClientIndex(client_id=client_id, kind="registered", owner_id=client.id)
        response = {"client_id": client_id, "client_id_issued_at": int(now), **metadata.response()}
        if with_secret:
            response.update(client_secret=secret, client_secret_expires_at=0)
        return Decision([client, index], response)


    def add_resource(self, project_id: str, uri: str, scopes: list[str], by: str | None = None) -> Decision:
        """The resource for the project, unless another project registered it
        (ResourceTakenError); the first registration claims it (ResourceIndex)."""
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        made: list = [project]
        index_id = ResourceIndex.create_id(canonical(uri))
        if self.exists(index_id):
            index: ResourceIndex = self.load(index_id, lambda: ProjectNotFoundError(project_id), read_only=True)
            index.check_may_register(project)
        else:
            made.append(ResourceIndex(uri=canonical(uri), project_id=project_id))
        if project.resources.get(uri) != list(scopes):
            project.add_resource(project_id=project_id, uri=uri, scopes=list(scopes), by=by)
        return Decision(made, {"project_id": project_id, "resource": uri, "scopes": list(scopes),
                               "resources": sorted(project.resources)})

    def configure_payments(self, project_id: str, secret_key_hash: str, callback_token_hash: str | None,
                           by: str | None = None) -> Decision:
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        project.configure_payments(project_id=project_id, secret_key_hash=secret_key_hash,
                                   callback_token_hash=callback_token_hash, by=by)
        return Decision([project], {"project_id": project_id, "mode": project.mode, "xendit": "configured"})

    def configure_providers(self, project_id: str, configured: dict[str, tuple[str, str]],
                            removed: list[str], by: str | None = None) -> Decision:
        """`configured`: provider -> (client id, SHA-256 of the client secret)."""
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        for provider, (client_id, secret_hash) in configured.items():
            project.configure_provider(project_id=project_id, provider=provider, client_id=client_id,
                                       client_secret_hash=secret_hash, by=by)
        for provider in removed:
            if provider in project.providers:
                project.remove_provider(project_id=project_id, provider=provider, by=by)
        return Decision([project], {"project_id": project_id,
                                    "providers": sorted(project.providers)})

    def rename_project(self, project_id: str, name: str) -> Decision:
        return self.update_project(project_id, {"name": name})

    def set_redirect_uris(self, project_id: str, uris: list[str]) -> Decision:
        """The project's own client's redirect URIs: `uris` replace what was registered, so
        an authorization request naming a URI left out is refused from then on."""
        return self.update_project(project_id, {"redirect_uris": list(uris)})

    def set_branding(self, project_id: str, display_name: str, logo_url: str, primary_color: str,
                     by: str | None = None) -> Decision:
        """How the hosted pages show the project; each "" for the page's default. A logo off
        https or a colour below WCAG AA contrast is refused (BrandingRefusedError)."""
        branding = {"display_name": display_name, "logo_url": logo_url, "primary_color": primary_color}
        return self.update_project(project_id, {}, by, branding)

    def update_project(self, project_id: str, changes: dict, by: str | None = None,
                       branding: dict[str, str] | None = None) -> Decision:
        """Any of the SETTINGS, and with `branding` (display_name, logo_url, primary_color)
        how the hosted pages show the project, in one decision: the project is loaded once
        and every change checked before any is recorded, so a refused one changes nothing
        (the management API's PATCH sends several at once). A value as it is records
        nothing. The value: the project_id, `changes` and `branding`."""
        if branding is not None:
            check_branding(branding["display_name"], branding["logo_url"], branding["primary_color"])
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        unknown = sorted(set(changes) - set(SETTINGS) - {name for names in POLICIES for name in names})
        if unknown:
            raise ValueError(f"not a project setting: {', '.join(unknown)}")
        changes = {setting: list(value) if isinstance(value, list) else value for setting, value in changes.items()}
        check_redirect_uris([*changes.get("redirect_uris", []), *changes.get("post_logout_redirect_uris", [])],
                            project.mode)
        check_settings(changes)
        for setting, value in changes.items():
            if setting in SETTINGS and getattr(project, setting) != value:
                getattr(project, SETTINGS[setting])(project_id=project_id, by=by, **{setting: value})
        for names, method in POLICIES.items():
            values = {name: changes.get(name, getattr(project, name)) for name in names}
            if any(getattr(project, name) != value for name, value in values.items()):
                getattr(project, method)(project_id=project_id, by=by, **values)
        if branding is not None and any(getattr(project, name) != value for name, value in branding.items()):
            project.change_branding(project_id=project_id, by=by, **branding)
        return Decision([project], {"project_id": project_id, **changes, **(branding or {})})

    def rotate_secret(self, client_id: str, now: float, revoke_old: bool = False, by: str | None = None) -> Decision:
        """A new secret, shown once, for a project's own client or a client with a secret.
        The one it replaces keeps working for ROTATION_GRACE seconds, time to deploy the
        new one; with `revoke_old` (a leaked secret) it stops at once."""
        owner = self._client_owner(client_id)
        if isinstance(owner, Client):
            owner.check_rotatable()
        secret = new_secret()
        previous_hash, valid_until = kept_on_rotation(owner.secret_hash, now, revoke_old)
        owner.rotate_secret(**_named(owner), secret_hash=sha256_hex(secret), previous_secret_hash=previous_hash,
                            previous_valid_until=valid_until, by=by)
        return Decision([owner], {"client_id": client_id, "client_secret": secret,
                                  "previous_secret_valid_until": None if valid_until is None else _iso(valid_until)})

    def revoke_previous_secret(self, client_id: str, by: str | None = None) -> Decision:
        """The secret before the last rotation stops working now (it leaked, or every
        deployment has the new one)."""
        owner = self._client_owner(client_id)
        if owner.previous_secret_hash is not None:
            owner.revoke_previous_secret(**_named(owner), by=by)
        return Decision([owner], {"client_id": client_id, "previous_secret_valid_until": None})

    def delete_client(self, client_id: str, by: str | None = None) -> Decision:
        """A machine or registered client authenticates no more; its id is never reused.
        A project's own client goes only with its project."""
        owner = self._client_owner(client_id)
        if isinstance(owner, Project):
            raise ProjectClientKeptError(owner.project_id, client_id)
        owner.delete(client_id=client_id, by=by)
        return Decision([owner], {"client_id": client_id, "deleted": True})

    def _client_owner(self, client_id: str) -> Project | Client:
        """The aggregate holding a client's credentials, found through the client index:
        the project (its own client) or the Client. ClientNotFoundError when unknown or
        deleted."""
        index: ClientIndex = self.load(ClientIndex.create_id(client_id), lambda: ClientNotFoundError(client_id))
        owner: Project | Client = self.load(index.owner_id, lambda: ClientNotFoundError(client_id))
        if isinstance(owner, Client):
            owner.check_exists()
        return owner

    def project_mode(self, project_id: str) -> str:
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        return project.mode

    def create_demo_project(self, redirect_uri: str) -> Decision:
        """`serve --demo`: the demo project, once. Served under another issuer later, it
        gains that issuer's demo page as a redirect URI."""
        if self.exists(Project.create_id(DEMO_PROJECT_ID)):
            project: Project = self.repository.get(Project.create_id(DEMO_PROJECT_ID))
            if redirect_uri in project.redirect_uris:
                return Decision([], None)
            project.add_redirect_uri(project_id=DEMO_PROJECT_ID, redirect_uri=redirect_uri)
            return Decision([project], None)
        return self.create_project("Astapa demo", [redirect_uri], "sandbox", [],
                                   project_id=DEMO_PROJECT_ID, refresh_reuse_grace=DEMO_REUSE_GRACE)


def _named(owner: Project | Client) -> dict[str, str]:
    """The id an owner's credential events name, for read models keyed by it."""
    return {"project_id": owner.project_id} if isinstance(owner, Project) else {"client_id": owner.client_id}


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


def check_redirect_uris(uris: list[str], mode: str) -> None:
    """The redirect URIs an operator registers for a project of `mode` (a sandbox takes http
    on any host, a live project only https and loopback http): the first one refused raises
    RedirectUriRefusedError saying why. The CLI and the console check their syntax first."""
    for uri in uris:
        try:
            check_redirect_uri(uri, mode)
        except ValueError as e:
            raise RedirectUriRefusedError(str(e)) from None


def check_settings(changes: dict) -> None:
    """The rules of the settings every caller (CLI, console, API) gives: SettingRefusedError
    names the first one broken."""
    scopes = changes.get("scopes", [])
    if not all(isinstance(s, str) and is_scope_token(s) for s in scopes) or len(scopes) > MAX_SCOPES:
        raise SettingRefusedError("scopes", f"scopes must be at most {MAX_SCOPES} scope tokens (RFC 6749 §3.3)")
    ttl = changes.get("access_token_ttl")
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TOKEN_TTL):
        raise SettingRefusedError("access_token_ttl", f"access_token_ttl must be whole seconds from 1 to"
                                  f" {MAX_TOKEN_TTL}, or null for the server's default")
    lifetimes = f"whole seconds from {MIN_REFRESH_TTL} to {MAX_REFRESH_TTL}"
    if changes.get("refresh_ttl") is not None and not _whole(changes["refresh_ttl"], MIN_REFRESH_TTL, MAX_REFRESH_TTL):
        raise SettingRefusedError("refresh_ttl", f"refresh_ttl must be {lifetimes}, or null for the server's default")
    if "pin_refresh_ttl" in changes and not _whole(changes["pin_refresh_ttl"], MIN_REFRESH_TTL, MAX_REFRESH_TTL):
        raise SettingRefusedError("pin_refresh_ttl", f"pin_refresh_ttl must be {lifetimes}")
    for name in ("pin_sign_in", "two_factor_required"):
        if name in changes and not isinstance(changes[name], bool):
            raise SettingRefusedError(name, f"{name} must be true or false")
    if "two_factor_grace" in changes and not _whole(changes["two_factor_grace"], 0, MAX_TWO_FACTOR_GRACE):
        raise SettingRefusedError("two_factor_grace", f"two_factor_grace must be whole seconds from 0 to"
                                  f" {MAX_TWO_FACTOR_GRACE}")


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def new_client_credentials() -> tuple[str, str, str]:
    """A fresh client_id, its secret (shown once), and the secret's hash (what is kept)."""
    secret = new_secret()
    return new_public_id("cid"), secret, sha256_hex(secret)
