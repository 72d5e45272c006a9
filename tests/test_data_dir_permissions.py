"""The data directory is private whatever the umask: DATA_DIR, keys/ and outbox/ 0700,
events.db, read.db, their -wal and -shm files, keys and mails 0600. Another local user
reads no email address, password hash or key (tests run under umask 022, the usual
default, set here and restored after)."""

import os
import stat
import time
from pathlib import Path

import pytest

from tests.conftest import project_on, run_cli
from tests.flows import Browser
from tests.mail_flows.test_links import ask
from tests.oauth.test_refresh_token import tokens_for

DATABASES = ("events.db", "events.db-wal", "events.db-shm", "read.db", "read.db-wal", "read.db-shm")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(data_dir: Path) -> dict[str, int]:
    """{path relative to data_dir ("." for itself): permission bits} of everything in it."""
    found = {".": stat.S_IMODE(data_dir.stat().st_mode)}
    for path in data_dir.rglob("*"):
        found[str(path.relative_to(data_dir))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(data_dir: Path, *expected: str) -> None:
    found = modes(data_dir)
    for name in expected:
        assert name in found, f"{name} is not in the data dir: {sorted(found)}"
    loose = {name: oct(mode) for name, mode in found.items()
             if mode != (0o700 if (data_dir / name).is_dir() else 0o600)}
    assert not loose, f"not private: {loose}"


def test_the_data_dir_and_every_database_are_private_whatever_the_umask(umask_022, start_server, tmp_path: Path):
    data_dir = tmp_path / "fresh"
    data_dir.mkdir()  # as an operator would under umask 022: 0755
    server = start_server(data_dir)
    project = project_on(server)
    tokens_for(server, project, "private@example.org")  # a user, a mail in the outbox
    ask(Browser(server.url), project, "forgot-password", "private@example.org")
    outbox = data_dir / "outbox"
    deadline = time.monotonic() + 10  # mail goes out in the background
    while len(list(outbox.glob("*.eml"))) < 2:
        assert time.monotonic() < deadline, "the mails were not written"
        time.sleep(0.05)
    assert_private(data_dir, *DATABASES[:2], "read.db", "read.db-wal", "keys", "outbox")

    # What an older version left readable (the directories, the databases) is tightened at
    # the next start.
    server.stop()
    for path in [data_dir, data_dir / "keys", outbox]:
        path.chmod(0o755)
    for path in data_dir.glob("*.db*"):
        path.chmod(0o644)
    start_server(data_dir)
    assert_private(data_dir, *DATABASES[:2], "read.db", "read.db-wal", "keys", "outbox")


def test_the_cli_makes_a_private_data_dir_whatever_the_umask(umask_022, tmp_path: Path):
    data_dir = tmp_path / "made-by-the-cli" / "var"
    run_cli("project", "create", "--data-dir", str(data_dir), "--name", "x",
            "--redirect-uri", "https://app.example/callback")
    assert_private(data_dir, "events.db")
