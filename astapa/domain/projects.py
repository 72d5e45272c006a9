"""Projects (each is also the app's own OAuth client), machine clients, and the client index."""

from types import MappingProxyType
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.ids import index_id


class Project(Aggregate):
    """A developer's project; its own confidential OAuth client signs users in."""

    # Sign-in providers configured: provider -> OAuth client id. Replaced, never changed in
    # place; the class-level default serves projects created before providers existed.
    providers = MappingProxyType({})

    @event("Created")
    def __init__(
        self,
        project_id: str,
        name: str,
        client_id: str,
        secret_hash: str,
        redirect_uris: list[str],
        mode: str,
        scopes: list[str],
        require_verified_email: bool = False,  # absent from events older than the setting
    ) -> None:
        self.project_id = project_id
        self.name = name
        self.client_id = client_id
        self.secret_hash = secret_hash
        self.redirect_uris = list(redirect_uris)
        self.mode = mode
        self.scopes = list(scopes)
        self.require_verified_email = require_verified_email

    @staticmethod
    def create_id(project_id: str) -> UUID:
        return index_id("project", project_id)

    @event("RedirectUriAdded")
    def add_redirect_uri(self, project_id: str, redirect_uri: str) -> None:
        """The event names the project_id too, for read models keyed by it."""
        self.redirect_uris.append(redirect_uri)

    @event("PaymentsConfigured")
    def configure_payments(self, project_id: str, secret_key_hash: str, callback_token_hash: str | None) -> None:
        """The project's own Xendit key (and webhook token): kept in DATA_DIR/keys/xendit/,
        only their SHA-256 here."""
        self.xendit_secret_key_hash = secret_key_hash

    @event("ProviderConfigured")
    def configure_provider(self, project_id: str, provider: str, client_id: str, client_secret_hash: str) -> None:
        """Google or GitHub sign-in: the OAuth client id, and only the SHA-256 of its secret
        (the secret is kept in DATA_DIR/keys/providers/)."""
        self.providers = {**self.providers, provider: client_id}

    @event("ProviderRemoved")
    def remove_provider(self, project_id: str, provider: str) -> None:
        self.providers = {k: v for k, v in self.providers.items() if k != provider}

    @event("SignInPolicyChanged")
    def change_sign_in_policy(self, project_id: str, require_verified_email: bool) -> None:
        """With require_verified_email, sign-in waits until the user's address is verified."""
        self.require_verified_email = require_verified_email


class Client(Aggregate):
    """A machine client of a project: a backend, an AI agent or an MCP server."""

    @event("Created")
    def __init__(
        self,
        client_id: str,
        project_id: str,
        name: str,
        secret_hash: str,
        scopes: list[str],
        token_ttl: int,
    ) -> None:
        self.client_id = client_id
        self.project_id = project_id
        self.name = name
        self.secret_hash = secret_hash
        self.scopes = list(scopes)
        self.token_ttl = token_ttl

    @staticmethod
    def create_id(client_id: str) -> UUID:
        return index_id("machine-client", client_id)


class ClientIndex(Aggregate):
    """One per client_id across projects and machine clients: keeps client ids unique."""

    @event("Registered")
    def __init__(self, client_id: str, kind: str, owner_id: UUID) -> None:
        self.client_id = client_id
        self.kind = kind
        self.owner_id = owner_id

    @staticmethod
    def create_id(client_id: str) -> UUID:
        return index_id("client", client_id)
