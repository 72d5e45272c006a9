"""The providers as the running service holds them: one HTTP session, Google's cached
discovery and keys, the projects' OAuth clients, and the per-trip PKCE verifier and nonce.

The verifier and the nonce are MACs of the trip's state under a key in the vault, so
they are never stored, yet only this server can know them (the state alone, which travels
through the browser, does not reveal them).
"""

from astapa.crypto import keyed_mac
from astapa.domain.identities import GITHUB, GOOGLE
from astapa.oauth.pkce import s256
from astapa.providers import SECRETS_KIND, Http, ProviderClient, project_client
from astapa.providers.github import GitHub
from astapa.providers.google import Google
from astapa.store.project_secrets import ProjectSecrets
from astapa.store.vault import Vault


class Providers:
    def __init__(self, vault: Vault, secret: bytes, google_discovery_url: str, github_url: str,
                 github_api_url: str, timeout: float) -> None:
        self.http = Http(timeout)
        self.files = ProjectSecrets(vault, SECRETS_KIND)
        self.secret = secret
        self.by_name = {GOOGLE: Google(self.http, google_discovery_url),
                        GITHUB: GitHub(self.http, github_url, github_api_url)}

    def client(self, project_id: str, provider: str) -> ProviderClient | None:
        """Reads the vault: call it off the event loop."""
        return project_client(self.files, project_id, provider)

    def verifier(self, state: str) -> str:
        return keyed_mac(self.secret, f"pkce/{state}")

    def challenge(self, state: str) -> str:
        return s256(self.verifier(state))

    def nonce(self, state: str) -> str:
        return keyed_mac(self.secret, f"nonce/{state}")

    async def close(self) -> None:
        await self.http.close()
