"""Where the service keeps its secrets, outside the event log: private signing keys, the
pages' HMAC keys, and projects' provider and Xendit secrets.

A Vault holds bytes by name (`<kid>.pem`, `pages.key`, `providers/<project_id>.json`).
One server keeps them as 0600 files under DATA_DIR/keys (FileVault); servers sharing a
PostgreSQL store keep them there, sealed with ASTAPA_SECRET_KEY (store/postgres.py,
PostgresVault), so every node signs with the same keys and reads the same project secrets.
A secret is always written before the event that names it (by its kid or its SHA-256), so
no event names a secret the service cannot find.
"""

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from astapa.store.files import private_directory

NAME = re.compile(r"(?:[A-Za-z0-9_-]{1,64}/)?[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")


class Vault(Protocol):
    def read(self, name: str) -> bytes | None:
        """The secret, or None when there is none by that name."""

    def write(self, name: str, data: bytes) -> None:
        """Keep `data` under `name`, replacing what was there, durably before returning."""

    def create(self, name: str, data: bytes) -> bytes:
        """Keep `data` under `name` unless something is there already; what is kept now."""

    def delete(self, name: str) -> None:
        """Forget `name` (nothing happens when there is none)."""


def checked(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"not a secret's name: {name!r}")
    return name


class FileVault:
    """0600 files under one 0700 directory; each write is whole (a temporary file of its
    own, fsynced, renamed), and so is the directory entry, so a power cut cannot keep an
    event and lose the secret it names."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = keys_dir

    def _path(self, name: str) -> Path:
        return self.keys_dir / checked(name)

    def read(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        directory = self._directory(path)
        # A name of its own for each write (mkstemp: 0600, never shared), so two writers at
        # once each replace the file whole; the last one's is kept.
        partial = self._written(directory, path, data)
        try:
            os.replace(partial, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        _sync_directory(directory)

    def create(self, name: str, data: bytes) -> bytes:
        """The file appears whole or not at all (written under a name of its own, then
        linked into place, which fails if another process got there first): workers
        starting at once all get the one value that won, never a half-written one."""
        path = self._path(name)
        directory = self._directory(path)
        partial = self._written(directory, path, data)
        try:
            os.link(partial, path)
        except FileExistsError:
            return path.read_bytes()
        finally:
            os.unlink(partial)
        _sync_directory(directory)
        return data

    @staticmethod
    def _written(directory: Path, path: Path, data: bytes) -> str:
        """`data` in a new 0600 file of its own in `directory`, fsynced: its name."""
        fd, partial = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        return partial

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()

    def _directory(self, path: Path) -> Path:
        private_directory(self.keys_dir)
        return private_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
