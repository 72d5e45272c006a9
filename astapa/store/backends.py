"""Where the state several server processes share lives: files under the data dir (one
server, or its workers), or a PostgreSQL store (a cluster's nodes).

Shared state: the event log; the vault of secrets (signing keys, page keys, project
secrets); the throttle log through which processes count failures together; and the
leadership that picks the one process running the one-time jobs (mail, plan expiry,
payment settlement). Each process keeps its own read models (projections/runner.py),
following the one log.
"""

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Callable, Protocol

from eventsourcing.persistence import PersistenceError

from astapa.store.files import PRIVATE_FILE
from astapa.store.vault import FileVault, Vault

THROTTLE_LOG = "throttles.db"
STORE_OPEN_ATTEMPTS = 5


class SecretKeyError(Exception):
    """The store's secrets were asked for without ASTAPA_SECRET_KEY, or with another key
    than the one they were sealed with."""


class Leadership(Protocol):
    def try_lead(self) -> bool:
        """Lead now if nobody does; whether this process leads."""

    def close(self) -> None:
        """Step down."""


class FileLeadership:
    """An exclusive lock on a file in the data dir: the kernel lets it go when the process
    dies, however it dies, so the next try elsewhere takes over."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()

    def try_lead(self) -> bool:
        with self._lock:
            if self._fd is not None:
                return True
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            return True

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class Backend:
    """Opens the shared parts for one process; see the module's docstring."""

    def __init__(self, data_dir: Path | None, store_url: str | None = None, secret_key: str | None = None,
                 shared: bool = False) -> None:
        """`data_dir` may be None with a store URL (a CLI command run on any machine)."""
        self.data_dir = data_dir
        self.store_url = store_url
        self.secret_key = secret_key
        self.shared = shared or store_url is not None

    @property
    def postgres(self) -> bool:
        return self.store_url is not None

    def event_store(self, cls: type):
        """`cls` (the application) on this store."""
        if not self.postgres:
            return cls(self.data_dir / "events.db", shared=self.shared)
        for attempt in range(STORE_OPEN_ATTEMPTS):
            try:
                return cls(store_url=self.store_url, secret_key=self.secret_key)
            except PersistenceError:
                # Nodes starting at the same instant each replace the library's functions
                # ("tuple concurrently updated"): the one that lost tries again.
                if attempt == STORE_OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def vault(self) -> Vault:
        if not self.postgres:
            return FileVault(self.data_dir / "keys")
        from astapa.store.postgres import PostgresVault, SecretBox, WrongSecretKey

        if self.secret_key is None:
            raise SecretKeyError("this command reads or writes the store's secrets: it needs ASTAPA_SECRET_KEY")
        vault = PostgresVault(self.store_url, SecretBox(self.secret_key))
        try:
            vault.check()
        except BaseException as e:
            vault.close()
            if isinstance(e, WrongSecretKey):
                raise SecretKeyError("ASTAPA_SECRET_KEY is not the key the store's secrets were sealed with: give"
                                     " every node the same key (to change it, see `astapa secrets rekey`)") from None
            raise
        return vault

    def throttle_log(self):
        if not self.postgres:
            from astapa.store.throttle_log import SqliteThrottleLog

            return SqliteThrottleLog(self.data_dir / THROTTLE_LOG)
        from astapa.store.postgres import PostgresThrottleLog

        return PostgresThrottleLog(self.store_url)

    def leadership(self, name: str) -> Leadership:
        if not self.postgres:
            return FileLeadership(self.data_dir / f"{name}.lock")
        from astapa.store.postgres import PostgresLeadership

        return PostgresLeadership(self.store_url, f"astapa/{name}")

    def follow_notifications(self, on_commit: Callable[[int | None], None], stopping: threading.Event) -> None:
        """Call `on_commit` soon after any process commits to a PostgreSQL store (its
        NOTIFY); SQLite's followers poll."""
        if self.postgres:
            from astapa.store.postgres import NOTIFY_CHANNEL, listen

            listen(self.store_url, NOTIFY_CHANNEL, lambda: on_commit(None), stopping)

