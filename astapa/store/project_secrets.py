"""Per-project secrets kept out of the event log: one JSON document per project and kind,
`<kind>/<project_id>.json` in the vault (store/vault.py).

The CLI and the console write the document and record only SHA-256 hashes of the secrets as
an event. The server reads a document when it needs it (a sign-in with Google, a payment):
never on a hot path, so nothing is cached and every node reads what was last written.
Kinds: `xendit` (payments), `providers` (Google and GitHub sign-in).
"""

import json
import re

from astapa.store.vault import Vault

PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def secrets_name(kind: str, project_id: str) -> str:
    if not PROJECT_ID.fullmatch(project_id):
        raise ValueError("not a project id")
    return f"{kind}/{project_id}.json"


def write_secrets(vault: Vault, kind: str, project_id: str, document: dict) -> None:
    vault.write(secrets_name(kind, project_id), json.dumps(document).encode())


def read_secrets(vault: Vault, kind: str, project_id: str) -> dict:
    """The document as it is now ({} when there is none); for the CLI, which merges."""
    return ProjectSecrets(vault, kind).get(project_id) or {}


def delete_secrets(vault: Vault, kind: str, project_id: str) -> None:
    vault.delete(secrets_name(kind, project_id))


class ProjectSecrets:
    """Reads one kind's documents."""

    def __init__(self, vault: Vault, kind: str) -> None:
        self.vault = vault
        self.kind = kind

    def get(self, project_id: str) -> dict | None:
        try:
            data = self.vault.read(secrets_name(self.kind, project_id))
            document = json.loads(data) if data is not None else None
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
