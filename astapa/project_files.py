"""A project's secrets outside the event log, changed the same way by the CLI and the
console: its Google and GitHub clients' secrets, its Xendit key, and the copies a live twin
starts with. A secret goes to the vault (store/project_secrets.py) before its SHA-256
goes into the log, so no event names a secret the server cannot find.

Everything here reads or writes the vault (files, or PostgreSQL): the console calls it off
the event loop.
"""

import threading
from dataclasses import dataclass

from astapa.app.golive import ProjectParts
from astapa.crypto import new_public_id, sha256_hex
from astapa.domain.errors import GoLiveRefusedError
from astapa.payments.credentials import KEY_PREFIX, ProjectKeys, XenditCredentials, write_credentials
from astapa.payments.credentials import KIND as XENDIT_KIND
from astapa.providers import SECRETS_KIND
from astapa.store.project_secrets import delete_secrets, read_secrets, write_secrets
from astapa.store.vault import Vault

MIN_TOKEN, MAX_TOKEN = 8, 512

# One read-merge-write of a providers file at a time in this process (two console saves
# at once would otherwise each keep only their own provider).
_merging = threading.Lock()


# -- Google and GitHub ----------------------------------------------------------------------

def save_providers(vault: Vault, project_id: str, configured: dict[str, tuple[str, str]],
                   removed: list[str]) -> dict[str, tuple[str, str]]:
    """The project's providers file, merged with what is there: `configured` is provider ->
    (client id, secret), `removed` are gone. What configure_providers records: provider ->
    (client id, SHA-256 of the secret)."""
    with _merging:
        document = read_secrets(vault, SECRETS_KIND, project_id)
        for name in removed:
            document.pop(name, None)
        for name, (client_id, secret) in configured.items():
            document[name] = {"client_id": client_id, "client_secret": secret}
        write_secrets(vault, SECRETS_KIND, project_id, document)
    return {name: (client_id, sha256_hex(secret)) for name, (client_id, secret) in configured.items()}


# -- Xendit ---------------------------------------------------------------------------------

def xendit_credentials(mode: str, key: str, token: str | None) -> XenditCredentials:
    """A Xendit key for a project of `mode` (KEY_PREFIX), and its webhook token if any;
    ValueError says what is wrong."""
    check_xendit_key(mode, key)
    if token is not None:
        check_callback_token(token)
    return XenditCredentials(key, token)


def check_xendit_key(mode: str, key: str) -> None:
    if not key.startswith(KEY_PREFIX[mode]) or len(key) < len(KEY_PREFIX[mode]) + 8:
        raise ValueError(f"a {mode} project needs a Xendit secret key starting {KEY_PREFIX[mode]}")


def check_callback_token(token: str) -> None:
    if not MIN_TOKEN <= len(token) <= MAX_TOKEN:
        raise ValueError(f"the callback token must be {MIN_TOKEN} to {MAX_TOKEN} characters")


def save_payments(vault: Vault, project_id: str, credentials: XenditCredentials) -> tuple[str, str | None]:
    """The project's Xendit file; what configure_payments records: the SHA-256 of the key
    and of the token (None: no token)."""
    write_credentials(vault, project_id, credentials)
    token = credentials.callback_token
    return sha256_hex(credentials.secret_key), sha256_hex(token) if token else None


def payments_mode(vault: Vault, project_id: str) -> str | None:
    """Which kind of Xendit key the project's own file holds ("sandbox": a development key,
    "live": a production one); None: it has none."""
    credentials = ProjectKeys(vault).get(project_id)
    if credentials is None:
        return None
    return next((mode for mode, prefix in KEY_PREFIX.items() if credentials.secret_key.startswith(prefix)), None)


# -- going live -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Twin:
    """A live twin whose files are written, for app.go_live to record."""

    project_id: str  # chosen before its files were written
    development: bool | None  # whether the sandbox's own Xendit key is a development one (None: none)
    xendit: tuple[str, str | None] | None  # the SHA-256 of the twin's production key and token
    parts: ProjectParts | None = None  # what go_live copies, read here, off the writer


def prepare_twin(app, vault: Vault, project_id: str, smtp_configured: bool,
                 live_key: XenditCredentials | None) -> Twin:
    """Refused with every reason (GoLiveRefusedError) before any file is written; else the
    twin's files: the sandbox's providers' secrets copied, and its production Xendit key
    (`live_key`, checked for "live" mode by the caller). Then
    `app.go_live(project_id, smtp_configured, twin.development, live_xendit=twin.xendit,
    live_project_id=twin.project_id)` records it."""
    mode = payments_mode(vault, project_id)
    development = None if mode is None else mode == "sandbox"
    parts = app.project_parts(project_id)
    reasons = app.go_live_reasons(project_id, smtp_configured, None if live_key else development, parts)
    if reasons:
        raise GoLiveRefusedError(reasons)
    live_project_id = new_public_id("proj")
    providers = read_secrets(vault, SECRETS_KIND, project_id)
    if providers:
        write_secrets(vault, SECRETS_KIND, live_project_id, providers)
    xendit = save_payments(vault, live_project_id, live_key) if live_key is not None else None
    return Twin(live_project_id, development, xendit, parts)


def discard_twin(vault: Vault, twin: Twin) -> None:
    """The files prepare_twin wrote, when recording the twin failed: no secret is left
    behind for a project that does not exist."""
    for kind in (SECRETS_KIND, XENDIT_KIND):
        delete_secrets(vault, kind, twin.project_id)
