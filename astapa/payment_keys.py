"""Per-project Xendit credentials: kept out of the event log, in DATA_DIR/keys/xendit/.

`astapa project payments` writes `<project_id>.json` (0600, atomically) and records only
SHA-256 hashes of the key and the token as an event. The server reads the file when a
payment needs it (cached by modification time), falling back to the deployment's
ASTAPA_XENDIT_SECRET_KEY and ASTAPA_XENDIT_CALLBACK_TOKEN.
"""

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
KEY_PREFIX = {"sandbox": "xnd_development_", "live": "xnd_production_"}


@dataclass(frozen=True)
class XenditCredentials:
    secret_key: str
    callback_token: str | None


def key_file(keys_dir: Path, project_id: str) -> Path:
    if not PROJECT_ID.fullmatch(project_id):
        raise ValueError("not a project id")
    return keys_dir / "xendit" / f"{project_id}.json"


def write_credentials(keys_dir: Path, project_id: str, credentials: XenditCredentials) -> None:
    path = key_file(keys_dir, project_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"secret_key": credentials.secret_key, "callback_token": credentials.callback_token}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


class ProjectKeys:
    """Reads the per-project files, cached until a file changes."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = keys_dir
        self._cache: dict[str, tuple[float, XenditCredentials | None]] = {}
        self._lock = threading.Lock()

    def get(self, project_id: str) -> XenditCredentials | None:
        try:
            path = key_file(self.keys_dir, project_id)
            mtime = path.stat().st_mtime
        except (ValueError, OSError):
            return None
        with self._lock:
            cached = self._cache.get(project_id)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            document = json.loads(path.read_text())
            credentials = XenditCredentials(str(document["secret_key"]), document.get("callback_token"))
        except (OSError, ValueError, KeyError, TypeError):
            credentials = None
        with self._lock:
            self._cache[project_id] = (mtime, credentials)
        return credentials
