"""Crash consistency and store contention, against `astapa serve` as a child process.

SECURITY-CHECKLIST §5.6:
- T1: kill -9 under load loses nothing that was acknowledged (tokens answered 200, projects
  printed by the CLI), the log stays intact (integrity_check, contiguous positions), and the
  restarted server serves every acknowledged project.
- T2: after the crashes, rebuilding the read models gives the live tables, twice over.
- T4 (part): `project create` runs in a loop beside the loaded server.
- T5: another process holding the store's write lock for 3 s makes token requests wait and
  end 200 or 503 + Retry-After, never 500, while reads that need no write (JWKS, health)
  keep answering fast: the store is never touched on the event loop.
- Refresh chains killed mid-rotation: a chain whose rotation committed but whose answer was
  lost goes on after the restart with the token it still holds (the reuse grace).

Every loop is bounded in count and time; only 127.0.0.1; only our own child PIDs are signalled.
"""

import json
import random
import signal
import sqlite3
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.process import (ServerProcess, cli, client_credentials, export_events, jwt_claims,
                           read_tables, rebuild_projections, run_cli)

REDIRECT = "https://app.example/callback"
ROUNDS = 3
TOKEN_THREADS = 8
CLI_THREADS = 2


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def integrity(db: Path) -> str:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


# -- T1 + T2: kill -9 under load, then rebuild -----------------------------------------------------


@dataclass
class Load:
    jtis: set[str] = field(default_factory=set)
    projects: dict[str, dict] = field(default_factory=dict)  # project_id -> CLI output
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # token requests with no answer (connection refused/reset after the kill)
    cli_failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def token_burst(url: str, client: dict, load: Load, stop: threading.Event, deadline: float) -> None:
    with requests.Session() as session:
        for _ in range(5000):  # bounded in count and in time
            if stop.is_set() or time.monotonic() > deadline:
                return
            try:
                response = client_credentials(url, client, timeout=15, session=session)
            except requests.RequestException:
                with load.lock:
                    load.errors += 1
                time.sleep(0.01)  # the server is gone: don't spin until `stop`
                continue
            jti = jwt_claims(response.json()["access_token"])["jti"] if response.status_code == 200 else None
            with load.lock:
                load.statuses[response.status_code] = load.statuses.get(response.status_code, 0) + 1
                if jti:
                    load.jtis.add(jti)


def project_loop(data_dir: Path, load: Load, stop: threading.Event, deadline: float, tag: str) -> None:
    for i in range(50):  # bounded in count and in time
        if stop.is_set() or time.monotonic() > deadline:
            return
        try:
            done = cli("project", "create", "--name", f"{tag}-{i}", "--redirect-uri", REDIRECT,
                       "--scope", "read", data_dir=data_dir, timeout=30)
        except subprocess.TimeoutExpired:
            with load.lock:
                load.cli_failures.append("timed out after 30 s")
            continue
        with load.lock:
            if done.returncode == 0:
                project = json.loads(done.stdout)
                load.projects[project["project_id"]] = project
            else:
                load.cli_failures.append(f"exit {done.returncode}: {done.stderr.strip()}")


def load_then_kill(server: ServerProcess, client: dict, data_dir: Path, delay: float, round_no: int) -> Load:
    load = Load()
    stop = threading.Event()
    deadline = time.monotonic() + delay + 20
    threads = [threading.Thread(target=token_burst, args=(server.url, client, load, stop, deadline), daemon=True)
               for _ in range(TOKEN_THREADS)]
    threads += [threading.Thread(target=project_loop, args=(data_dir, load, stop, deadline, f"r{round_no}t{n}"),
                                 daemon=True) for n in range(CLI_THREADS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(delay)
        code = server.kill()  # SIGKILL to this server's PID only
    finally:
        stop.set()
        for thread in threads:
            thread.join(40)  # a CLI started before the kill may still finish: let it
    assert code == -signal.SIGKILL, f"server exited {code} before the kill"
    assert not any(t.is_alive() for t in threads), "a load thread did not stop"
    return load


def test_kill_9_under_load_loses_nothing_acknowledged_and_rebuild_matches(spawn, data_dir: Path):
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    client = run_cli("project", "create", "--name", "load", "--redirect-uri", REDIRECT, "--scope", "read",
                     data_dir=data_dir)
    acknowledged_jtis: set[str] = set()
    acknowledged_projects: dict[str, dict] = {}
    report = []

    server = spawn(data_dir)
    for round_no in range(ROUNDS):
        delay = rng.uniform(0.5, 2.0)
        load = load_then_kill(server, client, data_dir, delay, round_no)
        report.append(f"round {round_no} (seed {seed}): killed after {delay:.2f}s; "
                      f"{len(load.jtis)} tokens, {len(load.projects)} projects acknowledged, "
                      f"statuses {load.statuses}, {load.errors} unanswered, CLI failures {load.cli_failures}")
        assert load.jtis, report[-1]
        # Nothing was answered but 200, and a CLI beside the server either succeeded or said
        # in one line why (a retryable busy store).
        assert set(load.statuses) == {200}, report[-1]
        for failure in load.cli_failures:
            assert "\n" not in failure and "Traceback" not in failure, failure
        acknowledged_jtis |= load.jtis
        acknowledged_projects.update(load.projects)

        started = time.monotonic()
        server = spawn(data_dir)
        assert time.monotonic() - started < 20, "the server did not serve again within 20 s of a restart"

        events = export_events(data_dir)
        positions = [e["position"] for e in events]
        assert positions == list(range(1, len(events) + 1)), "notification positions are not contiguous"
        issued = {e["jti"] for e in events if e["type"] == "AccessToken.Issued"}
        lost = acknowledged_jtis - issued
        assert not lost, f"{len(lost)} acknowledged tokens have no AccessToken.Issued event; {report}"
        created = {e["project_id"]: e for e in events if e["type"] == "Project.Created"}
        missing = set(acknowledged_projects) - set(created)
        assert not missing, f"acknowledged projects missing from the log: {missing}; {report}"
        for project_id, project in load.projects.items():
            assert created[project_id]["client_id"] == project["client_id"]
            response = client_credentials(server.url, project, timeout=10)
            assert response.status_code == 200, f"{project_id}: {response.status_code} {response.text}"
            assert jwt_claims(response.json()["access_token"])["project_id"] == project_id
        assert integrity(data_dir / "events.db") == "ok"

    # Every project acknowledged in any round still works after all the crashes.
    for project in acknowledged_projects.values():
        assert client_credentials(server.url, project, timeout=10).status_code == 200
    assert server.stop(signal.SIGTERM) == 0, server.stderr()[-3000:]

    assert integrity(data_dir / "events.db") == "ok"
    assert integrity(data_dir / "read.db") == "ok"
    # Each event's chain link was committed with it, whatever the kills interrupted.
    verified = run_cli("audit", "verify", data_dir=data_dir)
    assert verified["events"] == len(export_events(data_dir))
    live = read_tables(data_dir / "read.db")
    assert live.get("tracking"), "no tracking position in the live read models"
    rebuild_projections(data_dir)
    first = read_tables(data_dir / "read.db")
    assert first.keys() == live.keys()
    for table in live:
        assert first[table] == live[table], f"table {table!r} differs after a rebuild"
    rebuild_projections(data_dir)
    assert read_tables(data_dir / "read.db") == first, "a second rebuild differs from the first"

    # And the service answers as before from the rebuilt read models.
    server = spawn(data_dir)
    for project in list(acknowledged_projects.values())[:5] + [client]:
        assert client_credentials(server.url, project, timeout=10).status_code == 200
    print("\n".join(report))


# -- T5: a long write lock held by another process ---------------------------------------------------


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def test_a_long_write_lock_never_blocks_reads_and_never_500s(spawn, data_dir: Path):
    client = run_cli("project", "create", "--name", "app", "--redirect-uri", REDIRECT, data_dir=data_dir)
    server = spawn(data_dir)
    assert client_credentials(server.url, client).status_code == 200  # warm

    locked, released = threading.Event(), threading.Event()
    hold_error: list[BaseException] = []

    def hold_lock() -> None:
        conn = sqlite3.connect(data_dir / "events.db", isolation_level=None, timeout=10)
        try:
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            time.sleep(3.0)
            conn.execute("ROLLBACK")
        except BaseException as e:
            hold_error.append(e)
        finally:
            conn.close()
            released.set()

    token_results: list[tuple[int, str | None, str | None, float]] = []  # status, Retry-After, jti, seconds
    results_lock = threading.Lock()

    def token_requests() -> None:
        for _ in range(50):  # bounded: the lock lasts 3 s and each request waits for it
            if released.is_set():
                return
            sent = time.monotonic()
            response = client_credentials(server.url, client, timeout=30)
            took = time.monotonic() - sent
            jti = jwt_claims(response.json()["access_token"])["jti"] if response.status_code == 200 else None
            with results_lock:
                token_results.append((response.status_code, response.headers.get("Retry-After"), jti, took))

    holder = threading.Thread(target=hold_lock, daemon=True)
    holder.start()
    assert locked.wait(10), f"could not take the write lock: {hold_error}"
    workers = [threading.Thread(target=token_requests, daemon=True) for _ in range(4)]
    for worker in workers:
        worker.start()

    jwks_latency: list[float] = []
    health_latency: list[float] = []
    with requests.Session() as session:
        for _ in range(5000):  # bounded; ends when the lock is released
            if released.is_set():
                break
            for path, samples in (("/.well-known/jwks.json", jwks_latency), ("/healthz", health_latency)):
                sent = time.perf_counter()
                response = session.get(f"{server.url}{path}", timeout=5)
                samples.append(time.perf_counter() - sent)
                assert response.status_code == 200, f"{path}: {response.status_code}"
            time.sleep(0.005)
    holder.join(10)
    for worker in workers:
        worker.join(40)
    assert not hold_error, hold_error
    assert not holder.is_alive() and not any(w.is_alive() for w in workers)

    statuses = sorted({status for status, *_ in token_results})
    assert token_results, "no token request was made during the lock"
    assert set(statuses) <= {200, 503}, f"token statuses during the lock: {statuses}"
    for status, retry_after, _, _ in token_results:
        if status == 503:
            assert retry_after and retry_after.isdigit(), "503 without Retry-After"
    # The lock really held writes back: some request waited for it (or was told to retry).
    assert max(took for *_, took in token_results) > 1.0 or 503 in statuses, token_results

    assert len(jwks_latency) >= 20, f"only {len(jwks_latency)} JWKS samples in 3 s"
    assert p99(jwks_latency) < 0.100, (
        f"JWKS p99 {p99(jwks_latency) * 1000:.0f} ms during the lock (max {max(jwks_latency) * 1000:.0f} ms, "
        f"{len(jwks_latency)} samples): the event loop waited on the store")
    assert p99(health_latency) < 0.100, f"/healthz p99 {p99(health_latency) * 1000:.0f} ms during the lock"

    print(f"\nT5: token statuses {statuses}, longest wait {max(t for *_, t in token_results):.2f}s, "
          f"JWKS p99 {p99(jwks_latency) * 1000:.1f} ms over {len(jwks_latency)} samples, "
          f"health p99 {p99(health_latency) * 1000:.1f} ms")
    # Nothing partial: every token answered 200 is in the log, and writes work again.
    issued = {e["jti"] for e in export_events(data_dir) if e["type"] == "AccessToken.Issued"}
    answered = {jti for _, _, jti, _ in token_results if jti}
    assert answered <= issued
    assert client_credentials(server.url, client).status_code == 200


# -- a refresh response lost in the crash ----------------------------------------------------------

CHAINS = 16


def refresh(url: str, project: dict, token: str, session=None, timeout: float = 15) -> requests.Response:
    post = session.post if session is not None else requests.post
    return post(f"{url}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token},
                auth=(project["client_id"], project["client_secret"]), timeout=timeout)


def refresh_chains(url: str, project: dict, count: int) -> list[str]:
    """One user signed in `count` times: a refresh token per sign-in (each its own family)."""
    from tests.flows import Browser, exchange, query_of

    browser = Browser(url)
    location = browser.sign_up(browser.authorize_url(project["client_id"]), "ada@example.org").location
    tokens = []
    for _ in range(count):
        response = exchange(url, project, query_of(location)["code"])
        assert response.status_code == 200, response.text
        tokens.append(response.json()["refresh_token"])
        location = browser.get(browser.authorize_url(project["client_id"])).headers["Location"]
    return tokens


def rotate_until_killed(server: ServerProcess, project: dict, held: list[str], delay: float) -> dict[int, int]:
    """Every chain rotates as fast as it can until the server is killed; `held` keeps each
    chain's last token answered. The statuses seen."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + delay + 20

    def chain(index: int) -> None:
        with requests.Session() as session:
            for _ in range(5000):  # bounded in count and in time
                if time.monotonic() > deadline:
                    return
                try:
                    response = refresh(server.url, project, held[index], session=session)
                except requests.RequestException:
                    return  # the server is gone: the rotation may have committed unanswered
                with lock:
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code != 200:
                    return
                held[index] = response.json()["refresh_token"]

    threads = [threading.Thread(target=chain, args=(i,), daemon=True) for i in range(len(held))]
    for thread in threads:
        thread.start()
    try:
        time.sleep(delay)
        code = server.kill()  # SIGKILL to this server's PID only
    finally:
        for thread in threads:
            thread.join(40)
    assert code == -signal.SIGKILL, f"server exited {code} before the kill"
    assert not any(t.is_alive() for t in threads), "a chain did not stop"
    return statuses


def test_reuse_grace_a_chain_whose_response_was_lost_in_a_crash_goes_on_after_a_restart(spawn, data_dir: Path):
    """kill -9 while 16 refresh chains rotate: a chain whose last rotation committed but
    whose answer never arrived goes on after the restart with the token it holds (the
    previous one, within the project's grace of 120 s: ample for a restart on a loaded
    machine), like every other chain. Repeated until some answer was lost (at most three
    rounds)."""
    rng = random.Random()
    project = run_cli("project", "create", "--name", "chains", "--redirect-uri", REDIRECT,
                      "--refresh-reuse-grace", "120", data_dir=data_dir)
    server = spawn(data_dir)
    held = refresh_chains(server.url, project, CHAINS)
    report, retried = [], 0
    for round_no in range(3):
        delay = rng.uniform(0.5, 1.5)
        statuses = rotate_until_killed(server, project, held, delay)
        killed = time.monotonic()
        server = spawn(data_dir)
        answers = [refresh(server.url, project, token) for token in held]
        assert time.monotonic() - killed < 100, "too slow a restart to test a 120 s grace"
        events = [e for e in export_events(data_dir) if e["type"].startswith("RefreshFamily.")]
        retried = sum(e["type"] == "RefreshFamily.RotationRetried" for e in events)
        report.append(f"round {round_no}: killed after {delay:.2f}s, statuses {statuses}, "
                      f"{retried} chains continued from a lost answer so far")
        assert set(statuses) == {200}, report
        assert [a.status_code for a in answers] == [200] * CHAINS, [a.text for a in answers if a.status_code != 200]
        assert not any(e["type"] == "RefreshFamily.ReuseDetected" for e in events), report
        held = [a.json()["refresh_token"] for a in answers]
        if retried:
            break
    assert retried, f"no answer was lost in three crashes: nothing shown; {report}"
    assert [refresh(server.url, project, token).status_code for token in held] == [200] * CHAINS
    assert server.stop(signal.SIGTERM) == 0, server.stderr()[-3000:]
    print("\n".join(report))
