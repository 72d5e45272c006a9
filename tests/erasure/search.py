"""Where a person's data could be left: every file under the data dirs, byte for byte, and a
PostgreSQL store's every table (ASTAPA_TEST_STORE=postgresql)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_STORE


def data_dirs(data_dir: Path) -> list[Path]:
    """The test's data dir, and the second node's with a PostgreSQL store (conftest)."""
    second = data_dir.with_name(data_dir.name + "-node-b")
    return [data_dir, *([second] if second.is_dir() else [])]


def files_holding(directory: Path, needles: list[bytes]) -> list[str]:
    """Each file under `directory` (recursively, whatever its kind: databases, their -wal,
    keys, mail, logs) that holds one of `needles`, as `path: needle`.

    Read in another process: closing a file this process opened would drop the POSIX locks
    the server (a thread of this process) holds on it, SQLite's own among them."""
    out = subprocess.run([sys.executable, "-c", SEARCH, str(directory), *(n.hex() for n in needles)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return json.loads(out)


SEARCH = """
import json, os, sys
from pathlib import Path
directory, needles = sys.argv[1], [bytes.fromhex(n) for n in sys.argv[2:]]
found = []
for root, _, names in os.walk(directory):
    for name in names:
        path = Path(root) / name
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            continue
        found += [f"{path}: {needle!r}" for needle in needles if needle in data]
print(json.dumps(found))
"""


def store_tables_holding(needles: list[bytes]) -> list[str]:
    """With a PostgreSQL store: each table of the store (the events, snapshots, chain,
    secrets, person keys, throttles...) whose rows, as text, hold one of `needles` (bytea
    columns print as hex: searched for that too)."""
    if TEST_STORE != "postgresql":
        return []
    import psycopg

    found = []
    with psycopg.connect(os.environ["ASTAPA_STORE_URL"]) as db:
        tables = [row[0] for row in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
        for table in tables:
            rows = db.execute(f'SELECT t::text FROM "{table}" t').fetchall()
            text = "\n".join(row[0] for row in rows).encode()
            for needle in needles:
                if needle in text or needle.hex().encode() in text.lower():
                    found.append(f"{table}: {needle!r}")
    return found
