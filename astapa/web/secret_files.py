"""A project's secrets as the server changes them, for the console's settings and the
management API alike: the providers' secrets, the Xendit key, and a live twin's copies.

A secret goes to the vault before its SHA-256 goes into the log (project_files.py), so each
change holds the project's lock of that kind of secret from the write to the event: two
changes at once in this process (a person in the console, a backend through the API) never
leave the vault and the log disagreeing. (Across workers or nodes the last write wins; the
log then names both hashes.) The vault is written off the event loop.
"""

import asyncio
from typing import Any, Awaitable, Callable

from aiohttp import web

from astapa.domain.errors import DomainError, StoreBusyError
from astapa.payments.credentials import XenditCredentials
from astapa.project_files import Twin, discard_twin, prepare_twin
from astapa.web.appkeys import application_key, settings_key, vault_key
from astapa.web.context import off_loop

PROVIDERS_FILE, XENDIT_FILE, TWIN_FILES = "providers", "xendit", "twin"

# One change of a project's secret at a time (in this process's event loop), from the
# vault's write to the event recording its hash, so the two never disagree. Once the secret
# is written, the event is recorded whatever else changed meanwhile (no version check then):
# a secret saved must never be left unrecorded.
_locks: dict[tuple[int, str, str], asyncio.Lock] = {}


def secret_lock(project_id: str, kind: str) -> asyncio.Lock:
    """The lock of the project's `kind` of secret (PROVIDERS_FILE, XENDIT_FILE, TWIN_FILES),
    in the running event loop (a lock belongs to one loop)."""
    return _locks.setdefault((id(asyncio.get_running_loop()), project_id, kind), asyncio.Lock())


async def went_live(web_app: web.Application, project_id: str, live_key: XenditCredentials | None,
                    save: Callable[[Twin, bool], Awaitable[tuple[Any, int]]]) -> tuple[Any, int]:
    """The sandbox's live twin, as the CLI's go-live makes it: its files first (prepare_twin,
    refused with every reason before any is written), then `save(twin, smtp_configured)`
    records its events in one save. When that is refused, nothing was saved and the files
    go (no secret is left for a project that does not exist); when the store was busy it
    may still be saved, so they stay. One go-live of a sandbox at a time here."""
    settings = web_app[settings_key]
    smtp_configured = settings.smtp_url is not None
    async with secret_lock(project_id, TWIN_FILES):
        twin = await off_loop(prepare_twin, web_app[application_key], web_app[vault_key], project_id,
                              smtp_configured, live_key)
        try:
            return await save(twin, smtp_configured)
        except StoreBusyError:
            raise
        except DomainError:
            await off_loop(discard_twin, web_app[vault_key], twin)
            raise
