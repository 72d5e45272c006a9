"""`astapa serve` and the write commands as an operator runs them: real child processes.

Contract, "Running it": every flag has an ASTAPA_* twin and the flag wins; --issuer defaults
to http://HOST:PORT; bad configuration or a bad command line exits non-zero with one clear
line on stderr; `project create` / `client create` work beside a running server, which serves
their result within one second; SIGTERM/SIGINT let in-flight requests finish.
"""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.process import (HOST, REPO, child_env, cli, client_credentials, export_events, free_port,
                           jwt_claims, run_cli)
from tests.test_data_dir_permissions import assert_private, umask_022  # noqa: F401 (a fixture)

REDIRECT = "https://app.example/callback"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"  # the server and the CLI create it


def issuer_of(url: str) -> str:
    response = requests.get(f"{url}/.well-known/openid-configuration", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["issuer"]


def make_project(data_dir: Path, *scopes: str) -> dict:
    args = ["project", "create", "--name", "app", "--redirect-uri", REDIRECT]
    for scope in scopes:
        args += ["--scope", scope]
    return run_cli(*args, data_dir=data_dir)


def token_claims(url: str, client: dict) -> dict:
    response = client_credentials(url, client)
    assert response.status_code == 200, response.text
    return jwt_claims(response.json()["access_token"])


def serve_fails(*args: str, env: dict[str, str] | None = None, timeout: float = 20) -> str:
    """`astapa serve ARGS` must exit non-zero by itself with exactly one line on stderr."""
    try:
        done = subprocess.run([sys.executable, "-m", "astapa", "serve", *args], capture_output=True,
                              text=True, timeout=timeout, env=child_env(env), cwd=REPO,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:  # run() has killed its own child
        raise AssertionError(f"astapa serve {' '.join(args)} kept running; stderr: {e.stderr!r}") from None
    assert done.returncode != 0, f"exit 0; stderr: {done.stderr!r}"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{done.stderr}"
    return lines[0]


def assert_nothing_listens(port: int) -> None:
    with socket.socket() as sock:
        sock.settimeout(1)
        assert sock.connect_ex((HOST, port)) != 0, f"something listens on {port}"


# -- flags and their environment twins ------------------------------------------------------


def test_every_flag_works(spawn, data_dir: Path):
    project = make_project(data_dir)
    port = free_port()
    issuer = "https://auth.example.test/tenant"
    server = spawn(data_dir, port=port, extra_args=("--host", HOST, "--issuer", issuer))
    assert server.url == f"http://{HOST}:{port}"
    assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"status": "ok"}
    assert issuer_of(server.url) == issuer
    assert token_claims(server.url, project)["iss"] == issuer
    assert (data_dir / "events.db").exists() and (data_dir / "read.db").exists()


def test_issuer_defaults_to_http_host_port(spawn, data_dir: Path):
    project = make_project(data_dir)
    server = spawn(data_dir, extra_args=("--host", HOST))
    assert issuer_of(server.url) == f"http://{HOST}:{server.port}"
    assert token_claims(server.url, project)["iss"] == f"http://{HOST}:{server.port}"


def test_issuer_trailing_slash_is_dropped(spawn, data_dir: Path):
    server = spawn(data_dir, extra_args=("--issuer", "https://auth.example.test/"))
    assert issuer_of(server.url) == "https://auth.example.test"


def test_every_environment_twin_works(spawn, data_dir: Path):
    project = make_project(data_dir)
    port = free_port()
    env = {"ASTAPA_HOST": HOST, "ASTAPA_PORT": str(port), "ASTAPA_DATA_DIR": str(data_dir),
           "ASTAPA_ISSUER": "https://env.example.test"}
    server = spawn(None, env=env)  # no flags at all
    assert server.port == port
    assert issuer_of(server.url) == "https://env.example.test"
    # The data dir came from ASTAPA_DATA_DIR: the project made there before is served.
    assert token_claims(server.url, project)["iss"] == "https://env.example.test"


def test_default_issuer_follows_the_port_from_the_environment(spawn, data_dir: Path):
    port = free_port()
    server = spawn(data_dir, env={"ASTAPA_PORT": str(port)})
    assert issuer_of(server.url) == f"http://{HOST}:{port}"


def test_host_comes_from_the_environment(data_dir: Path):
    # 192.0.2.1 (TEST-NET-1) is on no local interface: binding it fails, which proves the
    # variable was used, and nothing is ever sent there. (The one-line rule for a failed
    # bind is test_cannot_listen's.)
    done = subprocess.run([sys.executable, "-m", "astapa", "serve", "--port", str(free_port()),
                           "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=20,
                          env=child_env({"ASTAPA_HOST": "192.0.2.1"}), cwd=REPO, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert "192.0.2.1" in done.stderr.strip().splitlines()[-1]


def test_a_flag_beats_its_environment_twin(spawn, tmp_path: Path):
    env_dir, flag_dir = tmp_path / "env-data", tmp_path / "flag-data"
    env_port, flag_port = free_port(), free_port()
    env = {"ASTAPA_HOST": "192.0.2.1", "ASTAPA_PORT": str(env_port), "ASTAPA_DATA_DIR": str(env_dir),
           "ASTAPA_ISSUER": "https://env.example.test"}
    server = spawn(flag_dir, port=flag_port, env=env,
                   extra_args=("--host", HOST, "--issuer", "https://flag.example.test"))
    assert server.port == flag_port
    assert issuer_of(server.url) == "https://flag.example.test"
    assert (flag_dir / "events.db").exists()
    assert not env_dir.exists()
    assert_nothing_listens(env_port)


def test_cli_data_dir_comes_from_the_environment(tmp_path: Path):
    data_dir = tmp_path / "env-data"
    done = cli("project", "create", "--name", "app", "--redirect-uri", REDIRECT,
               env={"ASTAPA_DATA_DIR": str(data_dir)})
    assert done.returncode == 0, done.stderr
    assert (data_dir / "events.db").exists()
    created = [e for e in export_events(data_dir) if e["type"] == "Project.Created"]
    assert [e["project_id"] for e in created] == [json.loads(done.stdout)["project_id"]]


# -- bad configuration: non-zero, one line ---------------------------------------------------


@pytest.mark.parametrize("port", ["abc", "70000", "0", "-1", ""])
def test_bad_port_flag(tmp_path: Path, port: str):
    line = serve_fails("--port", port, "--data-dir", str(tmp_path / "d"))
    assert "port" in line


@pytest.mark.parametrize("port", ["abc", "70000"])
def test_bad_port_variable(tmp_path: Path, port: str):
    line = serve_fails("--data-dir", str(tmp_path / "d"), env={"ASTAPA_PORT": port})
    assert "port" in line


def test_port_already_in_use(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = serve_fails("--port", str(port), "--data-dir", str(tmp_path / "d"))
    assert str(port) in line
    # The port is taken before anything starts: a failed start writes nothing.
    assert not (tmp_path / "d" / "events.db").exists()
    assert not (tmp_path / "d" / "keys").exists()


def test_host_not_on_this_machine(tmp_path: Path):
    # 192.0.2.1 (TEST-NET-1): the bind fails locally; nothing is sent anywhere.
    line = serve_fails("--host", "192.0.2.1", "--port", str(free_port()), "--data-dir", str(tmp_path / "d"))
    assert "192.0.2.1" in line


@pytest.mark.parametrize("via", ["flag", "env"])
def test_unwritable_data_dir(tmp_path: Path, via: str):
    # Tests run as root, so chmod would not stop the server: a directory under a regular file
    # cannot exist for anyone.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    bad = blocker / "data"
    port = str(free_port())
    if via == "flag":
        line = serve_fails("--port", port, "--data-dir", str(bad))
    else:
        line = serve_fails("--port", port, env={"ASTAPA_DATA_DIR": str(bad)})
    assert str(bad) in line or "data dir" in line


@pytest.mark.parametrize("issuer", ["ftp://x", "not-a-url", "http://x/?q=1", "http://x/#frag", "https://",
                                    "/relative/path"])
def test_issuer_must_be_an_absolute_http_url(tmp_path: Path, issuer: str):
    line = serve_fails("--port", str(free_port()), "--data-dir", str(tmp_path / "d"), "--issuer", issuer)
    assert "issuer" in line


def test_bad_issuer_variable(tmp_path: Path):
    line = serve_fails("--port", str(free_port()), "--data-dir", str(tmp_path / "d"),
                       env={"ASTAPA_ISSUER": "ftp://x"})
    assert "issuer" in line


@pytest.mark.parametrize("args", [["--bogus"], ["--port"], ["extra-positional"]])
def test_bad_command_line(tmp_path: Path, args: list[str]):
    serve_fails("--data-dir", str(tmp_path / "d"), *args)


def test_a_second_server_on_the_same_data_dir_is_refused(spawn, data_dir: Path):
    first = spawn(data_dir)
    line = serve_fails("--port", str(free_port()), "--data-dir", str(data_dir))
    assert "data dir" in line or "another" in line
    assert first.alive()
    assert requests.get(f"{first.url}/healthz", timeout=5).status_code == 200


# -- signals ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    sent: float
    done: float
    status: int | None
    jti: str | None = None
    error: str | None = None


EXIT_BOUND = 15.0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_lets_in_flight_requests_finish(spawn, data_dir: Path, sig: int):
    project = make_project(data_dir)
    server = spawn(data_dir)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    signalled = threading.Event()
    stop = threading.Event()
    deadline = time.monotonic() + 30

    def burst() -> None:
        for _ in range(2000):  # bounded in count and in time
            if stop.is_set() or time.monotonic() > deadline:
                return
            sent = time.monotonic()
            try:
                response = client_credentials(server.url, project, timeout=20)
            except requests.RequestException as e:
                with lock:
                    outcomes.append(Outcome(sent, time.monotonic(), None, error=type(e).__name__))
                if signalled.is_set():
                    return  # the server has gone away, as asked
                continue
            jti = jwt_claims(response.json()["access_token"])["jti"] if response.status_code == 200 else None
            with lock:
                outcomes.append(Outcome(sent, time.monotonic(), response.status_code, jti))

    threads = [threading.Thread(target=burst, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        warm = time.monotonic() + 10
        while time.monotonic() < warm:  # let the burst get going
            with lock:
                if sum(o.status == 200 for o in outcomes) >= 40:
                    break
            time.sleep(0.01)
        signalled_at = time.monotonic()
        signalled.set()
        server.send_signal(sig)
        # In-flight token requests take milliseconds; the slowest legitimate one is bounded by
        # the writer's 10 s deadline. So a graceful stop must not take longer than that.
        try:
            code = server.wait(EXIT_BOUND)
        except subprocess.TimeoutExpired:
            try:  # for the report: does it exit at all, and when?
                late = f"it exited {server.wait(30)} after {time.monotonic() - signalled_at:.1f} s"
            except subprocess.TimeoutExpired:
                late = "it was still running 45 s after the signal"
            stop.set()
            for thread in threads:
                thread.join(25)
            with lock:
                hung = [o for o in outcomes if o.done - o.sent > EXIT_BOUND]
            raise AssertionError(
                f"the server did not exit within {EXIT_BOUND} s of {sig!r}; {late}; requests left "
                f"hanging: {[(round(o.sent - signalled_at, 3), round(o.done - o.sent, 1), o.status, o.error) for o in hung]}"
            ) from None
        exited_at = time.monotonic()
    finally:
        stop.set()
        for thread in threads:
            thread.join(25)
    assert not any(t.is_alive() for t in threads)
    server.cleanup()

    assert code == 0, server.stderr()[-3000:]
    assert exited_at - signalled_at < EXIT_BOUND
    assert "Traceback" not in server.stderr(), server.stderr()[-3000:]
    answered = [o for o in outcomes if o.status is not None]
    assert answered, "no request was answered at all"
    assert [o.status for o in answered if o.status != 200] == [], "a request got a non-200 answer"
    # Requests already sent when the signal came: they must have been answered 200 or never
    # answered (connection refused/reset); seeing at least one shows the test hit the window.
    in_flight = [o for o in outcomes if o.sent < signalled_at <= o.done]
    assert in_flight, "no request was in flight when the signal was sent"

    restarted = spawn(data_dir)
    issued = {e["jti"] for e in export_events(data_dir) if e["type"] == "AccessToken.Issued"}
    acknowledged = {o.jti for o in answered}
    assert acknowledged - issued == set(), "tokens were answered but their events are not in the log"
    assert token_claims(restarted.url, project)["jti"]


# -- the write commands beside a running server --------------------------------------------------


def first_200_after(url: str, client: dict, since: float, limit: float = 3.0) -> tuple[float, requests.Response]:
    """Poll the token endpoint every 50 ms (bounded) until 200; seconds since `since`."""
    response = None
    for _ in range(int(limit / 0.05) + 1):
        response = client_credentials(url, client, timeout=5)
        if response.status_code == 200:
            return time.monotonic() - since, response
        assert response.status_code == 401, f"{response.status_code} {response.text}"
        if time.monotonic() - since > limit:
            break
        time.sleep(0.05)
    raise AssertionError(f"the server never accepted the new client: {response.status_code} {response.text}")


def test_cli_project_and_client_are_served_within_one_second(spawn, data_dir: Path):
    server = spawn(data_dir)

    project = run_cli("project", "create", "--name", "shop", "--redirect-uri", REDIRECT, "--scope", "read",
                      data_dir=data_dir)
    elapsed, response = first_200_after(server.url, project, time.monotonic())
    assert elapsed < 1.0, f"project served {elapsed:.2f}s after the CLI exited"
    assert project["mode"] == "sandbox"
    assert jwt_claims(response.json()["access_token"])["project_id"] == project["project_id"]

    client = run_cli("client", "create", "--project", project["project_id"], "--name", "bot",
                     "--scope", "read", "--scope", "write", "--token-ttl", "120", data_dir=data_dir)
    elapsed, response = first_200_after(server.url, client, time.monotonic())
    assert elapsed < 1.0, f"client served {elapsed:.2f}s after the CLI exited"
    assert client["project_id"] == project["project_id"]
    assert sorted(client["scopes"]) == ["read", "write"]
    body = response.json()
    assert body["expires_in"] == 120
    assert sorted(body["scope"].split()) == ["read", "write"]
    claims = jwt_claims(body["access_token"])
    assert claims["sub"] == client["client_id"] and claims["project_id"] == project["project_id"]


# -- CLI errors: non-zero, one line -------------------------------------------------------------


def one_line_failure(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout
    assert done.stdout == "", f"nothing may be printed on stdout: {done.stdout!r}"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{done.stderr}"
    return lines[0]


def test_client_create_for_an_unknown_project(data_dir: Path):
    make_project(data_dir)
    done = cli("client", "create", "--project", "proj_does_not_exist", "--name", "bot", data_dir=data_dir)
    assert "proj_does_not_exist" in one_line_failure(done)
    assert "Client.Created" not in [e["type"] for e in export_events(data_dir)]


@pytest.mark.parametrize("args", [["--token-ttl", "0"], ["--token-ttl", "-5"], ["--token-ttl", "abc"],
                                  ["--token-ttl", "86401"], ["--scope", 'a"b'], ["--scope", ""],
                                  ["--scope", "a b"]])
def test_client_create_rejects_bad_arguments_with_status_2(data_dir: Path, args: list[str]):
    project = make_project(data_dir)
    done = cli("client", "create", "--project", project["project_id"], "--name", "bot", *args,
               data_dir=data_dir)
    one_line_failure(done)
    assert done.returncode == 2
    assert "Client.Created" not in [e["type"] for e in export_events(data_dir)]


@pytest.mark.parametrize("args", [["--scope", 'a"b'], ["--redirect-uri", "not-a-uri"], ["--bogus"]])
def test_project_create_rejects_bad_arguments_with_status_2(data_dir: Path, args: list[str]):
    base = ["project", "create", "--name", "app"]
    if "--redirect-uri" not in args:
        base += ["--redirect-uri", REDIRECT]
    done = cli(*base, *args, data_dir=data_dir)
    one_line_failure(done)
    assert done.returncode == 2


def test_cli_with_an_unwritable_data_dir(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    done = cli("project", "create", "--name", "app", "--redirect-uri", REDIRECT, data_dir=blocker / "data")
    one_line_failure(done)


@pytest.mark.usefixtures("umask_022")
def test_serve_makes_a_private_data_dir_whatever_the_umask(spawn, tmp_path: Path):
    """`astapa serve` on a data dir it creates, under umask 022: nothing in it is readable by
    another user (DATA_DIR 0700, the databases and their -wal and -shm 0600)."""
    data_dir = tmp_path / "new" / "var"
    server = spawn(data_dir)
    server.stop()
    assert_private(data_dir, "events.db", "read.db", "keys")
