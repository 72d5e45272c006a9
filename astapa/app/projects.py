"""Projects (each is its own OAuth client for signing users in) and machine clients."""

from astapa.app.core import Decision, EventStore
from astapa.domain.errors import ProjectNotFoundError
from astapa.domain.projects import Client, ClientIndex, Project
from astapa.secrets import new_public_id, new_secret, sha256_hex

DEMO_PROJECT_ID = "proj_demo"


class ProjectCommands(EventStore):
    def create_project(
        self, name: str, redirect_uris: list[str], mode: str, scopes: list[str],
        project_id: str | None = None, require_verified_email: bool = False,
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
        )
        index = ClientIndex(client_id=client_id, kind="project", owner_id=project.id)
        credentials = {
            "project_id": project_id,
            "client_id": client_id,
            "client_secret": secret,
            "mode": mode,
            "require_verified_email": require_verified_email,
        }
        return Decision([project, index], credentials)

    def create_client(self, project_id: str, name: str, scopes: list[str], token_ttl: int) -> Decision:
        if not self.exists(Project.create_id(project_id)):
            raise ProjectNotFoundError(project_id)
        client_id, secret, secret_hash = new_client_credentials()
        client = Client(
            client_id=client_id,
            project_id=project_id,
            name=name,
            secret_hash=secret_hash,
            scopes=scopes,
            token_ttl=token_ttl,
        )
        index = ClientIndex(client_id=client_id, kind="machine", owner_id=client.id)
        credentials = {
            "client_id": client_id,
            "client_secret": secret,
            "scopes": scopes,
            "project_id": project_id,
        }
        return Decision([client, index], credentials)

    def set_sign_in_policy(self, project_id: str, require_verified_email: bool) -> Decision:
        project: Project = self.load(Project.create_id(project_id), lambda: ProjectNotFoundError(project_id))
        if project.require_verified_email != require_verified_email:
            project.change_sign_in_policy(project_id=project_id,
                                          require_verified_email=require_verified_email)
        return Decision([project], {"project_id": project_id,
                                    "require_verified_email": require_verified_email})

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
                                   project_id=DEMO_PROJECT_ID)


def new_client_credentials() -> tuple[str, str, str]:
    """A fresh client_id, its secret (shown once), and the secret's hash (what is kept)."""
    secret = new_secret()
    return new_public_id("cid"), secret, sha256_hex(secret)
