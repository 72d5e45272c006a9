"""What handlers use: the running service's parts, built by server.create_app."""

import asyncio
import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from astapa.app import AstapaApplication
from astapa.clock import SystemClock
from astapa.config import Settings
from astapa.keys import KeySnapshot
from astapa.mail.mailer import Mailer
from astapa.oauth.client_metadata import (
    check_metadata_url,
    is_metadata_url,
    metadata_client,
    metadata_document,
)
from astapa.web.documents import Documents
from astapa.passwords import Passwords
from astapa.domain.clients import ClientRecord, ProjectRecord
from astapa.queries import client_by_id, project_by_id
from astapa.web.throttle import Throttle
from astapa.app.issuing import TokenIssuer
from astapa.web.csrf import Csrf
from astapa.store.writer import Writer
from projections.runner import Runner, connect

log = logging.getLogger("astapa")


class ReadModels:
    """Queries over read.db in a small thread pool, one read-only connection per thread."""

    def __init__(self, path: Path, workers: int = 4) -> None:
        self.path = path
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="astapa-read")
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path, readonly=True)
        return conn

    def run(self, query: Callable[..., Any], *args: Any) -> Any:
        return query(self._conn(), *args)

    async def query(self, query: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, self.run, query, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class ClientCache:
    """Client and project records by id, dropped whenever the clients read model changes;
    clients known by their metadata document (a URL), from the fetched document.

    A change replaces the dicts; a lookup that started before it stores its row in the
    dict it started with, which is already discarded, so a stale row never outlives a change.
    """

    def __init__(self, reads: ReadModels, documents: Documents | None = None) -> None:
        self.reads = reads
        self.documents = documents
        self._records: dict[str, ClientRecord] = {}
        self._projects: dict[str, ProjectRecord] = {}

    def invalidate(self, changed: set[str]) -> None:
        if "clients" in changed:
            self._records = {}
            self._projects = {}

    async def get(self, client_id: str) -> ClientRecord | None:
        return await self._cached(self._records, client_by_id, client_id)

    async def project(self, project_id: str) -> ProjectRecord | None:
        return await self._cached(self._projects, project_by_id, project_id)

    async def _cached(self, records: dict, query: Callable[..., Any], key: str) -> Any:
        """`records` is the dict as it was when the lookup started (see above)."""
        record = records.get(key)
        if record is None:
            record = await self.reads.query(query, key)
            if record is not None:
                records[key] = record
        return record

    async def lookup(self, client_id: str, project_id: str | None) -> ClientRecord | None:
        """The client as the authorization server answering knows it: `project_id` names
        a project's own server (None: the service-wide one), which knows only the
        project's clients, and also clients whose client_id is their metadata document's
        URL. DocumentError when such a document cannot be used."""
        if project_id is not None and self.documents is not None and is_metadata_url(client_id):
            project = await self.project(project_id)
            if project is None:
                return None
            check_metadata_url(client_id)
            metadata = await self.documents.get("client", client_id,
                                                lambda document: metadata_document(client_id, document))
            return metadata_client(client_id, project, metadata)
        record = await self.get(client_id)
        if record is not None and project_id is not None and record.project_id != project_id:
            return None
        return record


@dataclass
class Context:
    settings: Settings
    clock: SystemClock
    app: AstapaApplication
    writer: Writer
    runner: Runner
    reads: ReadModels
    clients: ClientCache
    issuer: TokenIssuer
    passwords: Passwords
    csrf: Csrf
    account_throttle: Throttle
    ip_throttle: Throttle
    client_auth_throttle: Throttle
    grant_throttle: Throttle
    mail_throttle: Throttle  # action mails per address
    link_ip_throttle: Throttle  # requests for mailed links per client IP
    external_ip_throttle: Throttle  # Google and GitHub sign-ins started per client IP
    registration_throttle: Throttle  # RFC 7591 registrations per client IP
    mailer: Mailer | None = None
    scheduler: Any = None  # apscheduler's AsyncIOScheduler, started with the service
    payments: Any = None  # astapa.payments.jobs.Payments
    providers: Any = None  # astapa.providers.service.Providers: Google and GitHub sign-in
    background: set = field(default_factory=set)  # tasks answered before they finish
    snapshot: KeySnapshot | None = None
    ready: bool = False
    discovery: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    async def run_each(self, command: Callable, calls: list[tuple]) -> int:
        """The command once per argument tuple, concurrently (the writer commits them in
        groups); returns how many recorded something, once the read models show it."""
        outcomes = await asyncio.gather(*(self.writer.run(command, *args) for args in calls))
        positions = [position for _, position in outcomes if position]
        if positions:
            await self.runner.wait(max(positions), self.settings.projection_wait)
        return len(positions)

    def later(self, work: Awaitable[Any]) -> None:
        """Run `work` after the answer is sent (keeping a reference until it is done);
        a failure is logged. For writes whose outcome the answer must not reveal."""
        task = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(_finished)
        task.add_done_callback(self.background.discard)

    def keys(self) -> KeySnapshot:
        assert self.snapshot is not None, "signing keys are loaded before the server serves"
        return self.snapshot


def _finished(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background work failed: %r", task.exception())
