"""The process environment cannot redirect the event store; rebuild --into cannot destroy it."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def astapa(data_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "astapa", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def events(path: Path) -> int:
    return sqlite3.connect(path).execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]


def test_eventsourcing_settings_in_the_environment_are_ignored(tmp_path: Path):
    elsewhere = tmp_path / "elsewhere.db"
    done = astapa(tmp_path / "d", "project", "create", "--name", "p", "--redirect-uri", "https://p.example/cb",
                  env={"ASTAPA_SQLITE_DBNAME": str(elsewhere), "ASTAPA_PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["project_id"]
    assert events(tmp_path / "d" / "events.db") == 2
    assert not elsewhere.exists()


def test_rebuild_into_refuses_live_files_and_foreign_files(tmp_path: Path):
    data = tmp_path / "d"
    assert astapa(data, "project", "create", "--name", "p", "--redirect-uri", "https://p.example/cb").returncode == 0
    stranger = tmp_path / "notes.txt"
    stranger.write_text("keep me")
    for target in (data / "events.db", data / "read.db", stranger):
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / "rebuild_projections.py"), "--data-dir", str(data),
                               "--into", str(target)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert events(data / "events.db") == 2
    assert stranger.read_text() == "keep me"
