"""Per-project secrets kept out of the event log: one JSON file per project and kind,
`DATA_DIR/keys/<kind>/<project_id>.json` (0600, written atomically).

The CLI writes the file and records only SHA-256 hashes of the secrets as an event. The
server reads a file when it needs it, cached until the file changes. Kinds: `xendit`
(payments), `providers` (Google and GitHub sign-in).
"""

import contextlib
import json
import os
import re
import tempfile
import threading
from pathlib import Path

from astapa.store.files import private_directory

PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def secrets_file(keys_dir: Path, kind: str, project_id: str) -> Path:
    if not PROJECT_ID.fullmatch(project_id):
        raise ValueError("not a project id")
    return keys_dir / kind / f"{project_id}.json"


def write_secrets(keys_dir: Path, kind: str, project_id: str, document: dict) -> None:
    path = secrets_file(keys_dir, kind, project_id)
    private_directory(keys_dir)
    private_directory(path.parent)
    # A name of its own for each write (mkstemp: 0600, never shared), so two writers at once
    # each replace the file whole; the last one's is kept.
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{project_id}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(document, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


def read_secrets(keys_dir: Path, kind: str, project_id: str) -> dict:
    """The document as it is now ({} when there is none); for the CLI, which merges."""
    return ProjectSecrets(keys_dir, kind).get(project_id) or {}


class ProjectSecrets:
    """Reads one kind's files, cached until a file changes."""

    def __init__(self, keys_dir: Path, kind: str) -> None:
        self.keys_dir = keys_dir
        self.kind = kind
        self._cache: dict[str, tuple[float, dict | None]] = {}
        self._lock = threading.Lock()

    def get(self, project_id: str) -> dict | None:
        try:
            path = secrets_file(self.keys_dir, self.kind, project_id)
            mtime = path.stat().st_mtime
        except (ValueError, OSError):
            return None
        with self._lock:
            cached = self._cache.get(project_id)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            document = None
        if not isinstance(document, dict):
            document = None
        with self._lock:
            self._cache[project_id] = (mtime, document)
        return document
