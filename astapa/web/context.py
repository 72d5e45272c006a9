"""The running service's shared parts that are not services of their own: the read models
as handlers query them, the client cache, throttles, background work, readiness, and the
server.py builds each in its own cleanup context (web/appkeys.py)."""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from astapa.clock import SystemClock
from astapa.config import Settings
from astapa.domain.console import CONSOLE_PROJECT_ID
from astapa.domain.clients import ClientRecord, ProjectRecord
from astapa.oauth.client_metadata import (
    check_metadata_url,
    is_metadata_url,
    metadata_client,
    metadata_document,
)
from astapa.queries import ReadModels, client_by_id, project_by_id
from astapa.web.documents import Documents
from astapa.web.throttle import Throttle

log = logging.getLogger("astapa")


class ClientCache:
    """Client and project records by id, dropped whenever the clients read model changes;
    clients known by their metadata document (a URL), from the fetched document.

    A change replaces the dicts; a lookup that started before it stores its row in the
    dict it started with, which is already discarded, so a stale row never outlives a change.
    """

    def __init__(self, reads: ReadModels, documents: Documents | None = None,
                 fresh: Callable[[], Awaitable[None]] | None = None) -> None:
        """`fresh`, when other processes write the store too: waits until this process has
        applied everything in the log (and so dropped what a change elsewhere made stale),
        before each lookup, cached or not."""
        self.reads = reads
        self.documents = documents
        self.fresh = fresh
        self._records: dict[str, ClientRecord] = {}
        self._projects: dict[str, ProjectRecord] = {}

    def invalidate(self, changed: set[str]) -> None:
        if "clients" in changed:
            self._records = {}
            self._projects = {}

    async def get(self, client_id: str) -> ClientRecord | None:
        return await self._cached("_records", client_by_id, client_id)

    async def project(self, project_id: str) -> ProjectRecord | None:
        return await self._cached("_projects", project_by_id, project_id)

    async def _cached(self, which: str, query: Callable[..., Any], key: str) -> Any:
        """The dict named `which`, as it is once the lookup starts (see above)."""
        if self.fresh is not None:
            await self.fresh()
        records = getattr(self, which)
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
        if project_id == CONSOLE_PROJECT_ID and is_metadata_url(client_id):
            return None  # the console's project serves the console alone: no client brings its own
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


# A sandbox project's sign-in and sign-up limits allow this many times as many attempts as a
# live one's: developers sign in and up again and again while they build.
SANDBOX_LENIENCY = 10


@dataclass(frozen=True)
class SignInThrottles:
    """The hosted pages' sign-in and sign-up limits for the projects of one mode."""

    account: Throttle  # failed sign-ins per account
    ip: Throttle  # failed sign-ins per client IP
    signup_ip: Throttle  # sign-ups per client IP
    signup_project: Throttle  # sign-ups per project, from all addresses


@dataclass(frozen=True)
class Throttles:
    """Failure and request counts the service limits, each with its own bound and window.
    The sign-in and sign-up limits (account, ip, signup_ip, signup_project) are a live
    project's; `sandbox` holds a sandbox project's, in tables of their own, so a sandbox's
    lenient counts never lift or tighten a live project's (sign_in picks by mode)."""

    account: Throttle  # failed sign-ins per account
    ip: Throttle  # failed sign-ins per client IP
    client_auth: Throttle  # failed client authentications per client and IP
    grant: Throttle  # refused codes and refresh tokens per client and IP
    mail: Throttle  # action mails per address
    link_ip: Throttle  # requests for mailed links per client IP
    external_ip: Throttle  # Google and GitHub sign-ins started per client IP
    registration: Throttle  # RFC 7591 registrations per client IP
    mail_ip: Throttle  # action mails per client IP that caused them
    signup_ip: Throttle  # sign-ups per client IP
    signup_project: Throttle  # sign-ups per project, from all addresses
    sandbox: SignInThrottles  # the four above, SANDBOX_LENIENCY times as lenient
    console_invites: Throttle  # invitations per console user
    console_projects: Throttle  # projects created per console user

    def sign_in(self, mode: str) -> SignInThrottles:
        """The sign-in and sign-up limits of a project of `mode`."""
        if mode == "sandbox":
            return self.sandbox
        return SignInThrottles(self.account, self.ip, self.signup_ip, self.signup_project)

    @classmethod
    def from_settings(cls, settings: Settings, clock: SystemClock) -> "Throttles":
        """Each throttle its own table: the per-account counts are bounded apart from the
        rest, so no flood of other keys can take their place."""
        s = settings

        def throttle(limit: int, window: int, keys: int = s.throttle_keys) -> Throttle:
            return Throttle(clock, limit, window, max_keys=keys)

        sandbox = SignInThrottles(
            account=throttle(s.login_failures_per_account * SANDBOX_LENIENCY, s.login_failure_window,
                             s.throttle_accounts),
            ip=throttle(s.login_failures_per_ip * SANDBOX_LENIENCY, s.login_failure_window),
            signup_ip=throttle(s.signups_per_ip * SANDBOX_LENIENCY, s.mail_window),
            signup_project=throttle(s.signups_per_project * SANDBOX_LENIENCY, s.mail_window),
        )

        return cls(
            account=throttle(s.login_failures_per_account, s.login_failure_window, s.throttle_accounts),
            ip=throttle(s.login_failures_per_ip, s.login_failure_window),
            client_auth=throttle(s.client_auth_failures, s.token_failure_window),
            grant=throttle(s.grant_failures, s.token_failure_window),
            mail=throttle(s.mails_per_address, s.mail_window),
            link_ip=throttle(s.link_requests_per_ip, s.mail_window),
            external_ip=throttle(s.external_sign_ins_per_ip, s.mail_window),
            registration=throttle(s.registrations_per_ip, s.mail_window),
            mail_ip=throttle(s.mails_per_ip, s.mail_window),
            signup_ip=throttle(s.signups_per_ip, s.mail_window),
            signup_project=throttle(s.signups_per_project, s.mail_window),
            sandbox=sandbox,
            console_invites=throttle(s.console_invites_per_hour, 3600),
            console_projects=throttle(s.console_projects_per_hour, 3600),
        )


def off_loop(function: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    """`function(*args)` in the default executor: work that blocks (SQLite, files, key
    generation) never runs on the event loop."""
    return asyncio.get_running_loop().run_in_executor(None, function, *args)


class Background:
    """Work that runs after the answer is sent: for writes whose outcome the answer must
    not reveal. A reference is kept until each is done; shutdown waits for them."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def later(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(_finished)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, timeout: float) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)


class Readiness:
    """Whether the service answers /healthz with ok: set once every part has started."""

    ready: bool = False


def _finished(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background work failed: %r", task.exception())
