"""A real Astapa server on a loopback port, SQLite files in a temp dir, an injected clock.

The server runs the same create_app as `astapa serve`, in its own thread and event loop,
so tests can drive it with unmodified synchronous clients (requests, Authlib, PyJWT).
"""

import asyncio
import contextlib
import io
import itertools
import json
import os
import stat
import threading
import uuid
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import requests
from aiohttp import web
from joserfc.jwk import RSAKey

from astapa import cli
from astapa.web.appkeys import application_key, runner_key, vault_key
from astapa.clock import FakeClock
from astapa.config import Settings
from astapa.keys import generate_key
from astapa.server import NewKey, create_app
from tests import described_responses


@dataclass
class Server:
    url: str
    data_dir: Path
    clock: FakeClock
    web_app: web.Application
    stop: Callable[[], None]
    loop: asyncio.AbstractEventLoop | None = None

    def run(self, coroutine, timeout: float = 10):
        """Run a coroutine on the server's event loop (a scheduler job, say); its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def token(self, client: dict, **params) -> requests.Response:
        data = {"grant_type": "client_credentials", **params}
        return requests.post(f"{self.url}/oauth/token", data=data,
                             auth=(client["client_id"], client["client_secret"]), timeout=10)

    def access_token(self, client: dict, **params) -> str:
        response = self.token(client, **params)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]


DESCRIBED = described_responses.load()


class ServerThread:
    def __init__(self, data_dir: Path, clock: FakeClock, demo: bool = False, new_key: NewKey = generate_key,
                 **settings) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self.demo = demo
        self.new_key = new_key
        self.overrides = settings
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.error: BaseException | None = None
        self.violations: list[str] = []  # JSON answers openapi.json does not describe
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as e:  # surfaced to the test
            self.error = e
            self.started.set()
            return
        self.started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    async def _start(self) -> None:
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        overrides = dict(self.overrides)
        host = overrides.pop("issuer_host", "127.0.0.1")  # "localhost": a name passkeys accept as RP id
        settings = Settings(**{"port": port, "data_dir": self.data_dir,
                               "issuer": f"http://{host}:{port}", "bcrypt_cost": 4,
                               "demo": self.demo, "poll_interval": 0.05, **overrides})
        self.web_app = create_app(settings, clock=self.clock, new_key=self.new_key)
        # First, so it sees every answer as it leaves, error renderings included.
        self.web_app.middlewares.insert(0, described_responses.middleware(DESCRIBED, self.violations))
        self.runner = web.AppRunner(self.web_app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = settings.issuer
        self.port = port

    def start(self) -> Server:
        self.thread.start()
        self.started.wait(30)
        if self.error is not None:
            raise self.error
        return Server(self.url, self.data_dir, self.clock, self.web_app, self.stop, self.loop)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class KeyPool:
    """RSA-2048 signing keys made once per session and handed out again in every test.

    Every server makes two keys at its first start, and each costs tens of milliseconds. A test
    takes keys from the start of the pool, in order: all the keys of one test's servers are
    distinct (rotation and foreign-key tests rely on it), and the session makes only as many
    keys as its hungriest test takes.
    """

    def __init__(self) -> None:
        self._keys: list[RSAKey] = []
        self._lock = threading.Lock()

    def get(self, index: int) -> RSAKey:
        with self._lock:
            while len(self._keys) <= index:
                self._keys.append(RSAKey.generate_key(2048, private=True))
            return self._keys[index]


@pytest.fixture(scope="session")
def key_pool() -> KeyPool:
    return KeyPool()


@pytest.fixture
def new_key(key_pool: KeyPool) -> NewKey:
    """create_app's new_key for this test: the pool's keys in order, each written as a server
    writes a new one (astapa.keys.generate_key)."""
    taken = itertools.count()
    return lambda vault: generate_key(vault, key_pool.get(next(taken)))


@pytest.fixture(scope="session")
def provider_key() -> RSAKey:
    """The key a fake identity provider signs with first (tests/fakes/google.py), made once."""
    return RSAKey.generate_key(2048, private=True)


# ASTAPA_TEST_STORE=postgresql: every server a test starts is two nodes sharing one
# PostgreSQL store behind a round-robin balancer (tests/balancer.py), whose URL is the issuer;
# the CLI run in-process uses that store too. scripts/test.sh runs the token, sign-in,
# refresh, revocation, management and payment suites so, after the whole suite on SQLite.
TEST_STORE = os.environ.get("ASTAPA_TEST_STORE")
CLUSTER_SECRET_KEY = "test-cluster-" + "s" * 32


@pytest.fixture
def start_server(request: pytest.FixtureRequest, data_dir: Path, clock: FakeClock, new_key: NewKey,
                 monkeypatch: pytest.MonkeyPatch):
    threads: list[ServerThread] = []
    balancers: list = []
    stores: dict[Path, str] = {}

    def start(directory: Path | None = None, demo: bool = False, **settings) -> Server:
        """A server on `directory` (default the test's data dir); `settings` override Settings."""
        directory = directory or data_dir
        if TEST_STORE == "postgresql":
            return start_two_nodes(directory, demo, settings)
        thread = ServerThread(directory, clock, demo=demo, new_key=new_key, **settings)
        threads.append(thread)
        return thread.start()

    def start_two_nodes(directory: Path, demo: bool, settings: dict) -> Server:
        from tests.balancer import RoundRobin

        if directory not in stores:  # a server started again on its data dir finds its store
            stores[directory] = request.getfixturevalue("postgres_server").create_database(
                f"t_{uuid.uuid4().hex[:12]}")
        store = stores[directory]
        monkeypatch.setenv("ASTAPA_STORE_URL", store)
        monkeypatch.setenv("ASTAPA_SECRET_KEY", CLUSTER_SECRET_KEY)
        balancer = RoundRobin([])
        balancers.append(balancer)
        shared = {"issuer": balancer.url, "store_url": store, "secret_key": CLUSTER_SECRET_KEY, **settings}
        # The first node starts first, and so leads: mail goes to its outbox (data_dir/outbox).
        nodes = [ServerThread(directory, clock, demo=demo, new_key=new_key, **shared)]
        threads.append(nodes[0])
        first = nodes[0].start()
        second_dir = directory.with_name(directory.name + "-node-b")
        second_dir.mkdir(exist_ok=True)
        nodes.append(ServerThread(second_dir, clock, demo=demo, new_key=new_key, **shared))
        threads.append(nodes[1])
        nodes[1].start()
        balancer.ports.extend(node.port for node in nodes)
        balancer.connections.update({node.port: 0 for node in nodes})
        balancer.start()

        def stop_both() -> None:
            balancer.stop()
            for node in nodes:
                node.stop()

        first.stop = stop_both
        return first

    yield start
    for balancer in balancers:
        balancer.stop()
    for thread in threads:
        thread.stop()
    violations = [v for thread in threads for v in thread.violations]
    assert not violations, "answers openapi.json does not describe:\n" + "\n".join(violations)


@pytest.fixture
def server(start_server) -> Server:
    return start_server()


def throttles_shared() -> None:
    """With several nodes (ASTAPA_TEST_STORE), each counts what the others counted within
    astapa.web.shared_throttles.SYNC_INTERVAL: a test checking a limit right after reaching
    it through several nodes waits that long, as a client of a cluster may have to."""
    if TEST_STORE:
        time.sleep(0.6)  # several intervals: a loaded machine may run one late


single_node = pytest.mark.skipif(TEST_STORE is not None, reason="measures one node's internals")
sqlite_store_only = pytest.mark.skipif(TEST_STORE is not None, reason="reads a data dir's SQLite event store")


def kept_secret(server: Server, kind: str, project_id: str) -> dict:
    """A project's secrets document as the server keeps it: a 0600 file under DATA_DIR/keys,
    or sealed in the PostgreSQL store (ASTAPA_TEST_STORE)."""
    from astapa.store.project_secrets import secrets_name

    if TEST_STORE is None:
        path = server.data_dir / "keys" / secrets_name(kind, project_id)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = server.web_app[vault_key].read(secrets_name(kind, project_id))
    assert data is not None, f"no {kind} secrets for {project_id}"
    return json.loads(data)


def kept_secret_names(server: Server) -> list[str]:
    """Every project secrets document kept, by name (kind/project_id.json)."""
    if TEST_STORE is None:
        keys = server.data_dir / "keys"
        return sorted(path.relative_to(keys).as_posix() for path in keys.rglob("*.json"))
    return [name for name in server.web_app[vault_key].names() if name.endswith(".json")]


def stored_states(server: Server, topic_suffix: str) -> list[dict]:
    """The states of the events in `server`'s store whose topic ends with `topic_suffix`
    (read through the store, SQLite or PostgreSQL alike), oldest first."""
    recorder = server.web_app[application_key].recorder
    notifications = recorder.select_notifications(start=1, limit=1_000_000)
    return [json.loads(n.state) for n in notifications if n.topic.endswith(topic_suffix)]


def open_store(data_dir: Path):
    """The application on the store a stopped server used (its events.db, or the PostgreSQL
    store of ASTAPA_TEST_STORE): to write what another version or a dying server did."""
    from astapa.app import AstapaApplication

    if TEST_STORE == "postgresql":
        return AstapaApplication(store_url=os.environ["ASTAPA_STORE_URL"])
    return AstapaApplication(data_dir / "events.db")


def run_cli(*args: str) -> dict:
    """The CLI in-process (fast); tests/cli covers it as a subprocess."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(list(args))
    assert status == 0, f"astapa {' '.join(args)} exited {status}"
    return json.loads(out.getvalue())


def wait_for_client(server: Server, client: dict, timeout: float = 5.0) -> None:
    """Until the server's read models hold the client. A server finds the CLI's writes at its
    next poll of the log (tests/cli covers that); this CLI ran in-process, so its server is
    nudged to read them now, as its own writer nudges it after a commit."""
    server.web_app[runner_key].nudge()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.web_app[runner_key].position >= server.web_app[application_key].recorder.max_notification_id():
            return
        time.sleep(0.005)
    raise AssertionError("the server did not pick up the CLI's writes")


def project_on(server: Server, *scopes: str, name: str = "app", live: bool = False) -> dict:
    """A project on `server`'s data dir, once the server serves it (a sandbox unless `live`:
    sign-in limits are a live project's, ten times stricter)."""
    args = ["project", "create", "--data-dir", str(server.data_dir), "--name", name,
            "--redirect-uri", "https://app.example/callback", *(["--live"] if live else [])]
    for scope in scopes:
        args += ["--scope", scope]
    project = run_cli(*args)
    wait_for_client(server, project)
    return project


@pytest.fixture
def make_project(server: Server):
    def make(*scopes: str, name: str = "app") -> dict:
        return project_on(server, *scopes, name=name)

    return make


@pytest.fixture
def make_client(server: Server, make_project):
    def make(*scopes: str, project: dict | None = None, ttl: int | None = None) -> dict:
        project = project or make_project()
        args = ["client", "create", "--data-dir", str(server.data_dir),
                "--project", project["project_id"], "--name", "bot"]
        for scope in scopes:
            args += ["--scope", scope]
        if ttl is not None:
            args += ["--token-ttl", str(ttl)]
        client = run_cli(*args)
        wait_for_client(server, client)
        return client

    return make


@pytest.fixture
def spawn():
    """Start `astapa serve` subprocesses (tests.process.start_server); each one started is
    cleaned up afterwards (only those PIDs)."""
    from tests.process import start_server

    started = []

    def start(*args, **kwargs):
        server = start_server(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.cleanup()


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a loopback port; tests/fakes/smtp.py."""
    from tests.fakes.smtp import SmtpServer

    mail_server = SmtpServer()
    mail_server.start()
    yield mail_server
    mail_server.stop()


@pytest.fixture
def mail_server(start_server, smtp) -> Server:
    """A server that sends its mail to the `smtp` fixture, looking for due mail often."""
    return start_server(smtp_url=smtp.url, mail_interval=0.1)


# The slow groups, so a developer can leave them out:
# pytest -m "not browser and not subprocess and not fuzz".
# browser: the test drives headless Chromium (it uses the `browser` fixture: tests/pages).
# subprocess: the test starts `astapa serve`, the CLI, a script or another program as a child
# process (these modules, and any test using the `spawn` fixture). A single quick
# scripts/export_events.py call in an otherwise in-process module does not count.
# fuzz: Schemathesis sends a few thousand generated requests to a server (FUZZ_TESTS).
FUZZ_TESTS = ("tests/test_fuzz.py",)
SUBPROCESS_TESTS = (
    "tests/cli/", "tests/mcp/", "tests/node/", "tests/test_crash.py", "tests/payments/test_payments_crash.py",
    "tests/test_readme_examples.py", "tests/test_doc_examples.py", "tests/test_docs.py",
    "tests/test_architecture.py", "tests/test_keys.py", "tests/test_export.py", "tests/test_logs.py",
    "tests/projections/test_rebuild.py",
)
ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        path = item.path.resolve().relative_to(ROOT).as_posix()
        if "spawn" in fixtures or path.startswith(SUBPROCESS_TESTS):
            item.add_marker(pytest.mark.subprocess)
        if path.startswith(FUZZ_TESTS):
            item.add_marker(pytest.mark.fuzz)


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server (tests/postgres.py), started once for the session."""
    from tests.postgres import PostgresServer

    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(postgres_server) -> str:
    """The URL of a new empty database on the session's PostgreSQL server, for this test."""
    from uuid import uuid4

    return postgres_server.create_database(f"t_{uuid4().hex[:12]}")
