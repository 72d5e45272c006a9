"""A log written before personal data was sealed: no server starts on it, and the migration
runs only with the servers stopped; nor does one start on a log without its person keys."""

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from astapa.server import lock_data_dir
from astapa.store import sealing
from tests.cli.test_serve import serve_fails
from tests.erasure.test_sealing import ADA, open_app, sign_up
from tests.process import REPO, child_env, free_port


def unmigrated_log(data_dir: Path) -> None:
    """A log with events and no sealed marker: as a log of before sealing looks to this code."""
    data_dir.mkdir()
    app = open_app(data_dir / "events.db")
    sign_up(app, ADA)
    app.close()
    with contextlib.closing(sqlite3.connect(data_dir / "events.db")) as db, db:
        db.execute(f"DELETE FROM {sealing.MARKER_TABLE}")


def test_a_server_refuses_to_start_on_an_unmigrated_log(tmp_path: Path):
    data_dir = tmp_path / "data"
    unmigrated_log(data_dir)
    line = serve_fails("--port", str(free_port()), "--data-dir", str(data_dir))
    assert "astapa log encrypt-personal-data" in line
    assert not (data_dir / "read.db").exists()  # no read models built from the unsealed log


def test_a_server_refuses_to_start_on_a_log_without_its_person_keys(tmp_path: Path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    app = open_app(data_dir / "events.db")
    sign_up(app, ADA)
    app.close()
    (data_dir / "person-keys.db").unlink()
    line = serve_fails("--port", str(free_port()), "--data-dir", str(data_dir))
    assert "person-keys.db is missing" in line
    assert not (data_dir / "person-keys.db").exists()


def test_the_migration_refuses_while_a_server_holds_the_data_dir(tmp_path: Path):
    data_dir = tmp_path / "data"
    unmigrated_log(data_dir)
    lock = lock_data_dir(data_dir)  # as a running server holds it
    try:
        done = subprocess.run([sys.executable, "-m", "astapa", "log", "encrypt-personal-data", "--data-dir",
                               str(data_dir)], capture_output=True, text=True, timeout=60, env=child_env(None),
                              cwd=REPO)
    finally:
        os.close(lock)
    assert done.returncode == 2 and "another astapa server is using data dir" in done.stderr, done.stderr
    done = subprocess.run([sys.executable, "-m", "astapa", "log", "encrypt-personal-data", "--data-dir",
                           str(data_dir)], capture_output=True, text=True, timeout=60, env=child_env(None), cwd=REPO)
    assert done.returncode == 0, done.stderr
    app = open_app(data_dir / "events.db")
    sealing.require_sealed(app)  # marked: servers start now
    app.close()
