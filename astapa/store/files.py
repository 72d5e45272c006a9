"""The data directory's files are this user's only, whatever the umask: DATA_DIR, keys/ and
outbox/ 0700; events.db, read.db (with their -wal and -shm), keys and mails 0600.

SQLite creates a database with the process's umask (0644 under the usual 022) and gives its
-wal and -shm files the database's own mode, so a database file is made here, 0600, before
SQLite first opens it. Anything an older version left readable by others is tightened when
it is next opened. Only bits are taken away, never added.
"""

import os
import stat
from pathlib import Path

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def private_directory(path: Path) -> Path:
    """`path`, made with any missing parents, searchable by this user only."""
    path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    tighten(path, PRIVATE_DIRECTORY)
    return path


def private_database(path: Path | str) -> None:
    """Before SQLite opens the database at `path`: the file made 0600 if it is new, and the
    file and its -wal and -shm tightened to 0600 if they are older and looser."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass
    for name in (str(path), f"{path}-wal", f"{path}-shm"):
        tighten(Path(name), PRIVATE_FILE)


def private_file(path: Path) -> int:
    """A new file at `path` (replacing one there), 0600, open for writing: its descriptor."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) & PRIVATE_FILE)
    return fd


def tighten(path: Path, mode: int) -> None:
    """Take from `path` every permission bit outside `mode`, if it exists and is ours to
    change (a file owned by another user is left alone: chmod would be refused)."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return
    current = stat.S_IMODE(found.st_mode)
    if current & ~mode and (found.st_uid == os.geteuid() or os.geteuid() == 0):
        path.chmod(current & mode)
