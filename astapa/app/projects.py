"""Projects (each is its own OAuth client for signing users in) and machine clients."""

from astapa.crypto import new_public_id, new_secret, sha256_hex
from astapa.domain.errors import ProjectNotFoundError, RegistrationClosedError
from astapa.domain.projects import Client, ClientIndex, Project
from astapa.domain.refresh import DEFAULT_REUSE_GRACE
from astapa.oauth.client_metadata import ClientMetadata
from astapa.store.events import Decision, EventStore

DEMO_PROJECT_ID = "proj_demo"
DEMO_REUSE_GRACE = 30  # seconds: the demo forgives one lost refresh answer


class ProjectCommands(EventStore):
    def create_project(
        self, name: str, redirect_uris: list[str], mode: str, scopes: list[str],
        project_id: str | None = None, require_verified_email: bool = False,
        allow_registration: bool = False, refresh_reuse_grace: int = DEFAULT_REUSE_GRACE,
        post_logout_redirect_uris: list[str] | None = None,
    ) -> Decision:
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
                      post_logout_redirect_uris: list[str] | None = None) -> Decision:
        """A machine client (client_credentials): a secret, or with `jwks`/`jwks_uri` its
        own keys (private_key_jwt) and no secret at all. With `redirect_uris`, a client of
        the code flow with refresh instead (an app of the project's own); `public`: one
        with no credentials at all (a native or browser app)."""
        if not self.exists(Project.create_id(project_id)):
            raise ProjectNotFoundError(project_id)
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

    def set_sign_in_policy(self, project_id: str, require_verified_email: bool) -> Decision:
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        if project.require_verified_email != require_verified_email:
            project.change_sign_in_policy(project_id=project_id,
                                          require_verified_email=require_verified_email)
        return Decision([project], {"project_id": project_id,
                                    "require_verified_email": require_verified_email})

    def set_post_logout_redirect_uris(self, project_id: str, uris: list[str]) -> Decision:
        """Where RP-initiated logout may return to for the project's own client: `uris`
        replace what was registered."""
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        if project.post_logout_redirect_uris != list(uris):
            project.change_post_logout_redirect_uris(project_id=project_id, post_logout_redirect_uris=list(uris))
        return Decision([project], {"project_id": project_id, "post_logout_redirect_uris": list(uris)})

    def set_registration_policy(self, project_id: str, allow_registration: bool) -> Decision:
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        if project.allow_registration != allow_registration:
            project.change_registration_policy(project_id=project_id, allow_registration=allow_registration)
        return Decision([project], {"project_id": project_id, "allow_registration": allow_registration})

    def set_refresh_reuse_grace(self, project_id: str, seconds: int) -> Decision:
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        if project.refresh_reuse_grace != seconds:
            project.change_refresh_reuse_grace(project_id=project_id, refresh_reuse_grace=seconds)
        return Decision([project], {"project_id": project_id, "refresh_reuse_grace": seconds})

    def add_resource(self, project_id: str, uri: str, scopes: list[str]) -> Decision:
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        if project.resources.get(uri) != list(scopes):
            project.add_resource(project_id=project_id, uri=uri, scopes=list(scopes))
        return Decision([project], {"project_id": project_id, "resource": uri, "scopes": list(scopes),
                                    "resources": sorted(project.resources)})

    def configure_payments(self, project_id: str, secret_key_hash: str, callback_token_hash: str | None) -> Decision:
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        project.configure_payments(project_id=project_id, secret_key_hash=secret_key_hash,
                                   callback_token_hash=callback_token_hash)
        return Decision([project], {"project_id": project_id, "mode": project.mode, "xendit": "configured"})

    def configure_providers(self, project_id: str, configured: dict[str, tuple[str, str]],
                            removed: list[str]) -> Decision:
        """`configured`: provider -> (client id, SHA-256 of the client secret)."""
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        for provider, (client_id, secret_hash) in configured.items():
            project.configure_provider(project_id=project_id, provider=provider, client_id=client_id,
                                       client_secret_hash=secret_hash)
        for provider in removed:
            if provider in project.providers:
                project.remove_provider(project_id=project_id, provider=provider)
        return Decision([project], {"project_id": project_id,
                                    "providers": sorted(project.providers)})

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


def new_client_credentials() -> tuple[str, str, str]:
    """A fresh client_id, its secret (shown once), and the secret's hash (what is kept)."""
    secret = new_secret()
    return new_public_id("cid"), secret, sha256_hex(secret)
