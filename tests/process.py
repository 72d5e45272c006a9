"""Astapa as the operator runs it: `python -m astapa ...` and the scripts, as child processes.

Everything here targets 127.0.0.1 only, every wait is bounded, and a helper only ever signals
the PID of a process it started itself.
"""

import base64
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
HOST = "127.0.0.1"
READY_TIMEOUT = 20.0
CLI_TIMEOUT = 60.0


def free_port() -> int:
    """A loopback port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without any ASTAPA_* leaking in, plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTAPA_")}
    base["PYTHONUNBUFFERED"] = "1"
    base.update(env or {})
    return base


class ServerProcess:
    """One `python -m astapa serve` child. Its stdout and stderr go to files (never a pipe
    nobody drains, which would stall a chatty server)."""

    def __init__(self, proc: subprocess.Popen, port: int, data_dir: Path | None, log_dir: Path):
        self.proc = proc
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.data_dir = data_dir
        self.log_dir = log_dir
        self._stderr: str | None = None
        self._stdout: str | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        if self._stderr is not None:
            return self._stderr
        return _read(self.log_dir / "stderr")

    def stdout(self) -> str:
        if self._stdout is not None:
            return self._stdout
        return _read(self.log_dir / "stdout")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)  # this child's PID only

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal the server and wait for it; if it outlives `timeout`, SIGKILL it and raise."""
        self.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            self._collect()
            raise AssertionError(
                f"server pid {self.pid} did not exit within {timeout}s of signal {sig}; "
                f"stderr:\n{self.stderr()[-4000:]}") from None
        self._collect()
        return code

    def kill(self) -> int:
        return self.stop(signal.SIGKILL, timeout=10)

    def cleanup(self) -> None:
        """For finalizers: make sure the child is gone (SIGTERM, then SIGKILL); never raises."""
        for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
            try:
                if self.proc.poll() is not None:
                    break
                self.proc.send_signal(sig)
                self.proc.wait(grace)
            except Exception:
                pass
        self._collect()

    def _collect(self) -> None:
        if self._stderr is None and self.proc.poll() is not None:
            self._stderr = _read(self.log_dir / "stderr")
            self._stdout = _read(self.log_dir / "stdout")
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def start_server(data_dir: Path | str | None, port: int | None = None, env: dict[str, str] | None = None,
                 extra_args: tuple[str, ...] | list[str] = (), ready_timeout: float = READY_TIMEOUT,
                 ) -> ServerProcess:
    """Start `python -m astapa serve` and wait (bounded) until GET /healthz answers 200.

    `data_dir` None: no --data-dir flag (use ASTAPA_DATA_DIR in `env`). `port` None: the port
    from ASTAPA_PORT in `env` when given there, else a free one passed as --port.
    """
    env = dict(env or {})
    args = [sys.executable, "-m", "astapa", "serve"]
    if port is None and "ASTAPA_PORT" in env:
        port = int(env["ASTAPA_PORT"])
    elif port is None:
        port = free_port()
        args += ["--port", str(port)]
    else:
        args += ["--port", str(port)]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    args += list(extra_args)
    log_dir = Path(tempfile.mkdtemp(prefix="astapa-server-"))
    with open(log_dir / "stdout", "ab") as out, open(log_dir / "stderr", "ab") as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=child_env(env), cwd=REPO)
    server = ServerProcess(proc, port, Path(data_dir) if data_dir is not None else None, log_dir)
    try:
        wait_ready(server, ready_timeout)
    except BaseException:
        server.cleanup()
        raise
    return server


def wait_ready(server: ServerProcess, timeout: float = READY_TIMEOUT) -> float:
    """Poll /healthz until 200; returns the seconds it took. Fails with the server's stderr."""
    start = time.monotonic()
    deadline = start + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(
                f"server exited with {server.proc.returncode} before it was ready; "
                f"stderr:\n{_read(server.log_dir / 'stderr')[-4000:]}")
        try:
            response = requests.get(f"{server.url}/healthz", timeout=2)
            if response.status_code == 200:
                return time.monotonic() - start
            last = f"{response.status_code} {response.text[:200]}"
        except requests.RequestException as e:
            last = repr(e)
        time.sleep(0.05)
    raise AssertionError(f"server not ready within {timeout}s (last: {last}); "
                         f"stderr:\n{_read(server.log_dir / 'stderr')[-4000:]}")


def cli(*args: str, data_dir: Path | str | None = None, env: dict[str, str] | None = None,
        timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """`python -m astapa ARGS [--data-dir D]`, whatever its exit status."""
    command = [sys.executable, "-m", "astapa", *args]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=child_env(env), cwd=REPO, stdin=subprocess.DEVNULL)


def run_cli(*args: str, data_dir: Path | str | None, env: dict[str, str] | None = None,
            timeout: float = CLI_TIMEOUT) -> dict:
    """`python -m astapa ARGS --data-dir D`, which must exit 0 and print one JSON object."""
    done = cli(*args, data_dir=data_dir, env=env, timeout=timeout)
    assert done.returncode == 0, (
        f"astapa {' '.join(args)} exited {done.returncode}; stderr: {done.stderr.strip()}")
    return json.loads(done.stdout)


def run_script(name: str, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(SCRIPTS / name), *args], capture_output=True, text=True,
                          timeout=timeout, env=child_env(), cwd=REPO, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{name} {' '.join(args)} exited {done.returncode}; stderr: {done.stderr.strip()}"
    return done


def export_events(data_dir: Path | str) -> list[dict]:
    """The whole event log via scripts/export_events.py, oldest first."""
    done = run_script("export_events.py", "--data-dir", str(data_dir))
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def rebuild_projections(data_dir: Path | str, *extra: str) -> None:
    run_script("rebuild_projections.py", "--data-dir", str(data_dir), *extra)


def _sort_key(row: tuple) -> tuple:
    # SQLite columns may mix types (and NULL); order by type first so sorting never fails.
    return tuple((0, "", 0) if v is None else (1, type(v).__name__, v) for v in row)


def read_tables(db_path: Path | str) -> dict[str, list[tuple]]:
    """{table: rows sorted} for every table of a SQLite file, opened read-only."""
    path = Path(db_path)
    assert path.exists(), f"no database at {path}"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {name: sorted((tuple(r) for r in conn.execute(f'SELECT * FROM "{name}"')), key=_sort_key)
                for name in names}
    finally:
        conn.close()


def jwt_claims(token: str) -> dict:
    """The payload of a JWT, decoded without verifying anything."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def client_credentials(url: str, client: dict, timeout: float = 10.0, session=None, **params) -> requests.Response:
    """POST /oauth/token, grant_type=client_credentials, HTTP Basic."""
    post = session.post if session is not None else requests.post
    return post(f"{url}/oauth/token", data={"grant_type": "client_credentials", **params},
                auth=(client["client_id"], client["client_secret"]), timeout=timeout)


def introspect(url: str, client: dict, token: str) -> dict:
    response = requests.post(f"{url}/oauth/introspect", data={"token": token},
                             auth=(client["client_id"], client["client_secret"]), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def revoke(url: str, client: dict, token: str) -> None:
    response = requests.post(f"{url}/oauth/revoke", data={"token": token},
                             auth=(client["client_id"], client["client_secret"]), timeout=10)
    assert response.status_code == 200, response.text


def mixed_load(url: str, client: dict, stop: threading.Event, acknowledged: list[str],
               statuses: list[int]) -> None:
    """Tokens issued, and every fifth one introspected and revoked, until `stop`. The
    tokens answered 200 and not revoked go to `acknowledged`; every status to `statuses`
    (0: no answer, the connection was at a process just killed)."""
    count = 0
    while not stop.is_set():
        try:
            response = client_credentials(url, client, timeout=10)
            statuses.append(response.status_code)
            if response.status_code != 200:
                continue
            token = response.json()["access_token"]
            count += 1
            if count % 5:
                acknowledged.append(token)
                continue
            statuses.append(requests.post(f"{url}/oauth/introspect", data={"token": token}, timeout=10,
                                          auth=(client["client_id"], client["client_secret"])).status_code)
            statuses.append(requests.post(f"{url}/oauth/revoke", data={"token": token}, timeout=10,
                                          auth=(client["client_id"], client["client_secret"])).status_code)
        except requests.RequestException:  # the connection was at the process just killed
            statuses.append(0)
