"""A throwaway PostgreSQL server for the tests: its own cluster in a temp dir, on a loopback port.

Built for speed over durability (fsync, synchronous_commit and full_page_writes off): a
database is a quick CREATE DATABASE, and a crash loses nothing a test needs. Astapa connects
as the role `astapa` with a password over TCP (scram-sha-256), as it would in production;
only the superuser's maintenance (creating databases) goes through the unix socket.

PostgreSQL refuses to run as root, and CI runs as root: then every server binary runs as the
`postgres` system user (made by Debian's package) and the temp dir is handed to that user.
"""

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import psycopg
from psycopg import sql

ROLE = "astapa"
SUPERUSER = "postgres"
SERVER_USER = "postgres"  # the system user the binaries run as when we are root
CONFIG = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "password_encryption": "'scram-sha-256'",
}
HBA = (
    f"local all {SUPERUSER} trust\n"
    "host all all 127.0.0.1/32 scram-sha-256\n"
)


def find_binaries() -> Path:
    """The bin/ of the newest PostgreSQL under /usr/lib/postgresql (Debian's layout)."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql "
                           "package (scripts/test.sh does)")
    newest = max(found, key=lambda path: int(Path(path).parent.parent.name))
    return Path(newest).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One cluster: `start`/`stop`/`restart`/`kill` keep its data and its port; `close` ends it."""

    def __init__(self) -> None:
        self.bin = find_binaries()
        self.as_server_user = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="astapa-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self._admin: psycopg.Connection | None = None
        self._admin_lock = threading.Lock()
        if self.as_server_user:
            shutil.chown(self.root, SERVER_USER, SERVER_USER)
        self._initdb()

    def url(self, dbname: str) -> str:
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        """Start and wait until it accepts connections; the role is made at the first start."""
        self._pg_ctl("start", "-w", "-t", "30", "-l", str(self.log),
                     "-o", f"-p {self.port} -k {self.root}")
        self._ensure_role()

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected, the data is kept."""
        self._drop_admin()
        self._pg_ctl("stop", "-w", "-m", "fast")

    def kill(self) -> None:
        """Immediate shutdown, as a crash would: no checkpoint, recovery at the next start."""
        self._drop_admin()
        self._pg_ctl("stop", "-w", "-m", "immediate")

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        """A new empty database owned by the role `astapa`: its URL."""
        with self._admin_lock:
            admin = self._admin_connection()
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(ROLE)))
        return self.url(name)

    def close(self) -> None:
        """Stop the server if it runs, and remove its files."""
        self._drop_admin()
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-w", "-m", "immediate", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--no-locale", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in CONFIG.items())
        (self.data / "pg_hba.conf").write_text(HBA)

    def _ensure_role(self) -> None:
        with self._admin_lock:
            admin = self._admin_connection()
            if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE]).fetchone():
                return
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(self.password)))

    def _admin_connection(self) -> psycopg.Connection:
        """The superuser's connection over the unix socket, kept for the next database."""
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(host=str(self.root), port=self.port, user=SUPERUSER,
                                          dbname="postgres", autocommit=True, connect_timeout=5)
        return self._admin

    def _drop_admin(self) -> None:
        with self._admin_lock:
            if self._admin is not None:
                self._admin.close()
                self._admin = None

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        self._run("pg_ctl", "-D", str(self.data), *args, check=check)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        """A server binary, as the `postgres` user when we are root; its log in the error."""
        command = [str(self.bin / program), *args]
        if self.as_server_user:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=60,
                              check=False)
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} exited {done.returncode}:\n"
                               f"{done.stdout}{done.stderr}{log}")
