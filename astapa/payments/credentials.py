"""Per-project Xendit credentials: kept out of the event log, in the vault (xendit/).

`astapa project payments` writes `xendit/<project_id>.json` and records only SHA-256 hashes of the
key and the token as an event (see project_secrets). The server falls back to the
deployment's ASTAPA_XENDIT_SECRET_KEY and ASTAPA_XENDIT_CALLBACK_TOKEN.
"""

from dataclasses import dataclass
from astapa.store.project_secrets import ProjectSecrets, write_secrets
from astapa.store.vault import Vault

KIND = "xendit"
KEY_PREFIX = {"sandbox": "xnd_development_", "live": "xnd_production_"}


@dataclass(frozen=True)
class XenditCredentials:
    secret_key: str
    callback_token: str | None


def write_credentials(vault: Vault, project_id: str, credentials: XenditCredentials) -> None:
    write_secrets(vault, KIND, project_id,
                  {"secret_key": credentials.secret_key, "callback_token": credentials.callback_token})


class ProjectKeys:
    """Reads the per-project documents."""

    def __init__(self, vault: Vault) -> None:
        self.files = ProjectSecrets(vault, KIND)

    def get(self, project_id: str) -> XenditCredentials | None:
        document = self.files.get(project_id)
        if document is None or not isinstance(document.get("secret_key"), str):
            return None
        token = document.get("callback_token")
        return XenditCredentials(document["secret_key"], token if isinstance(token, str) else None)
