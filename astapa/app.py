"""The eventsourcing Application: every command the service can perform.

A command loads what it needs by id, lets the aggregates decide, and returns a Decision:
the aggregates holding new events plus the value for the caller. It does not save: the
server's writer thread saves many decisions together (group commit), the CLI saves one at
a time with `execute`. Either way one decision is saved atomically, all or nothing.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.utils import Environment
from eventsourcing.persistence import IntegrityError, OperationalError

from astapa.domain.errors import (
    ConflictError,
    KeyRingMissingError,
    ProjectNotFoundError,
    StoreBusyError,
    StoreNotDurableError,
)
from astapa.domain.keys import KeyRing
from astapa.domain.projects import Client, ClientIndex, Project
from astapa.domain.tokens import AccessToken
from astapa.secrets import new_public_id, new_secret, sha256_hex


@dataclass
class Decision:
    aggregates: list[Aggregate] = field(default_factory=list)
    value: Any = None

    def event_count(self) -> int:
        return sum(len(a.pending_events) for a in self.aggregates)


class AstapaApplication(Application):
    name = "astapa"

    def __init__(self, events_db: Path, lock_timeout: int = 5) -> None:
        super().__init__(
            env={
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(events_db),
                "SQLITE_LOCK_TIMEOUT": str(lock_timeout),
            }
        )

    def construct_env(self, name: str, env: dict | None = None) -> Environment:
        """Only the settings passed in: eventsourcing would otherwise also read the process
        environment, where ASTAPA_* (our application's prefix) could redirect the store."""
        return Environment(name, dict(env or {}))

    # -- durability ---------------------------------------------------------------------

    def check_durability(self) -> None:
        """Refuse to run unless commits are durable: WAL journal and synchronous=FULL."""
        with self.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
            c.execute("PRAGMA journal_mode")
            journal = c.fetchone()[0]
            c.execute("PRAGMA synchronous")
            synchronous = c.fetchone()[0]
        if str(journal).lower() != "wal" or synchronous < 2:
            raise StoreNotDurableError(f"journal_mode={journal}, synchronous={synchronous}")

    # -- saving -------------------------------------------------------------------------

    def execute(self, command: Callable[..., Decision], *args: Any, **kwargs: Any) -> tuple[Any, int]:
        """Decide and save one command now; retry on conflicts and a locked store.

        Returns (value, position of the last event saved, or 0 when nothing was saved).
        """
        for attempt in range(_ATTEMPTS):
            decision = command(*args, **kwargs)
            try:
                return decision.value, self.save_decisions([decision])[0]
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise ConflictError(command.__name__) from None
            except OperationalError:
                if attempt == _ATTEMPTS - 1:
                    raise StoreBusyError(command.__name__) from None
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def save_decisions(self, decisions: list[Decision]) -> list[int]:
        """Save every decision's events in one transaction; return each one's last position."""
        counts = [d.event_count() for d in decisions]
        aggregates = [a for d in decisions for a in d.aggregates]
        recordings = self.save(*aggregates) if aggregates else []
        positions, index = [], 0
        for count in counts:
            index += count
            positions.append(recordings[index - 1].notification.id if count else 0)
        return positions

    # -- projects and clients -----------------------------------------------------------

    def create_project(
        self, name: str, redirect_uris: list[str], mode: str, scopes: list[str]
    ) -> Decision:
        project_id = new_public_id("proj")
        client_id, secret, secret_hash = new_client_credentials()
        project = Project(
            project_id=project_id,
            name=name,
            client_id=client_id,
            secret_hash=secret_hash,
            redirect_uris=redirect_uris,
            mode=mode,
            scopes=scopes,
        )
        index = ClientIndex(client_id=client_id, kind="project", owner_id=project.id)
        credentials = {
            "project_id": project_id,
            "client_id": client_id,
            "client_secret": secret,
            "mode": mode,
        }
        return Decision([project, index], credentials)

    def create_client(self, project_id: str, name: str, scopes: list[str], token_ttl: int) -> Decision:
        try:
            self.repository.get(Project.create_id(project_id))
        except AggregateNotFoundError:
            raise ProjectNotFoundError(project_id) from None
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

    # -- signing keys -------------------------------------------------------------------

    def key_ring(self) -> KeyRing:
        try:
            return self.repository.get(KeyRing.create_id())
        except AggregateNotFoundError:
            raise KeyRingMissingError() from None

    def create_key_ring(self, current: tuple[str, dict], next_: tuple[str, dict]) -> Decision:
        """First start: a current key and a published next key (PEMs already on disk)."""
        try:
            return Decision([], self.key_ring())
        except KeyRingMissingError:
            pass
        ring = KeyRing(
            current_kid=current[0], current_jwk=current[1], next_kid=next_[0], next_jwk=next_[1]
        )
        return Decision([ring], ring)

    def rotate_keys(self, next_: tuple[str, dict]) -> Decision:
        ring = self.key_ring()
        ring.rotate(
            activated_kid=ring.next_kid,
            retired_kid=ring.current_kid,
            next_kid=next_[0],
            next_jwk=next_[1],
        )
        return Decision([ring], ring.current_kid)

    # -- access tokens ------------------------------------------------------------------

    def issue_access_token(
        self,
        jti: str,
        client_id: str,
        project_id: str,
        subject: str,
        scopes: list[str],
        audience: str,
        expires_at: int,
    ) -> Decision:
        token = AccessToken(
            jti=jti,
            client_id=client_id,
            project_id=project_id,
            subject=subject,
            scopes=scopes,
            audience=audience,
            expires_at=expires_at,
        )
        return Decision([token])

    def revoke_access_token(self, jti: str, by_client_id: str) -> Decision:
        try:
            token: AccessToken = self.repository.get(AccessToken.create_id(jti))
        except AggregateNotFoundError:
            return Decision([])
        token.revoke(by_client_id=by_client_id)
        return Decision([token])


_ATTEMPTS = 5


def new_client_credentials() -> tuple[str, str, str]:
    """A fresh client_id, its secret (shown once), and the secret's hash (what is kept)."""
    secret = new_secret()
    return new_public_id("cid"), secret, sha256_hex(secret)
