"""`astapa serve --workers N`: N processes on one port and one data dir behave as one server.

Real child processes: the supervisor and its workers, on a loopback port. Connections are
new for each request, so the kernel spreads them over the workers (SO_REUSEPORT).
"""

import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.process import client_credentials, introspect, mixed_load, revoke, run_cli

pytestmark = pytest.mark.subprocess

REDIRECT = "https://app.example/callback"
STARTED = re.compile(r"worker (\d+) started \(pid (\d+)\)")


def workers_of(server) -> dict[int, int]:
    """Slot -> the pid of its latest worker, from the supervisor's log."""
    return {int(slot): int(pid) for slot, pid in STARTED.findall(server.stderr())}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def two_workers(spawn, data_dir: Path):
    server = spawn(data_dir, extra_args=["--workers", "2"])
    deadline = time.monotonic() + 20
    while len(workers_of(server)) < 2 or "worker 2)" not in server.stderr() or "worker 1)" not in server.stderr():
        assert time.monotonic() < deadline, server.stderr()
        time.sleep(0.1)
    client = run_cli("project", "create", "--name", "app", "--redirect-uri", REDIRECT, data_dir=data_dir)
    return server, client


def wait_until_served(url: str, client: dict) -> None:
    deadline = time.monotonic() + 5
    while client_credentials(url, client).status_code != 200:
        assert time.monotonic() < deadline, "the new project's client is not served"
        time.sleep(0.05)


def test_each_worker_has_its_own_read_models_and_one_holds_the_data_dir(two_workers, data_dir: Path):
    server, _ = two_workers
    assert (data_dir / "read-1.db").exists() and (data_dir / "read-2.db").exists()
    assert not (data_dir / "read.db").exists()
    assert "this process now runs the one-time jobs" in server.stderr()
    assert server.stderr().count("this process now runs the one-time jobs") == 1


def test_a_token_from_one_worker_is_active_and_revocable_at_every_worker_at_once(two_workers):
    server, client = two_workers
    wait_until_served(server.url, client)
    for _ in range(20):
        response = client_credentials(server.url, client)
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        # The next request may land on either worker: it reads what the other one wrote.
        assert introspect(server.url, client, token)["active"] is True
        revoke(server.url, client, token)
        assert introspect(server.url, client, token) == {"active": False}


def test_throttles_count_across_workers(two_workers):
    server, client = two_workers
    wait_until_served(server.url, client)
    wrong = {**client, "client_secret": "not-the-secret"}
    for _ in range(20):  # the limit: 20 failed client authentications per client and address
        assert client_credentials(server.url, wrong).status_code in (401, 429)
    # Each worker saw about half the failures itself: alone, neither would refuse yet. They
    # share their counts every 0.1 s: then every answer, from either worker, is 429.
    deadline = time.monotonic() + 3
    while {client_credentials(server.url, client).status_code for _ in range(10)} != {429}:
        assert time.monotonic() < deadline, "the workers do not count together"
        time.sleep(0.05)


def test_twenty_workers_killed_under_load_are_replaced_and_nothing_acknowledged_is_lost(two_workers):
    server, client = two_workers
    wait_until_served(server.url, client)
    acknowledged: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()
    threads = [threading.Thread(target=mixed_load, args=(server.url, client, stop, acknowledged, statuses))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(20):
            before = workers_of(server)
            serving = server.stderr().count(" serving ")
            os.kill(before[1 + round_ % 2], signal.SIGKILL)
            deadline = time.monotonic() + 20
            while server.stderr().count(" serving ") == serving:  # the new worker serves
                assert time.monotonic() < deadline, server.stderr()[-3000:]
                time.sleep(0.05)
            assert workers_of(server) != before
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert set(statuses) <= {0, 200, 503}, set(statuses)
    assert statuses.count(200) > 100
    assert server.alive() and len(workers_of(server)) == 2
    # Every token acknowledged is in the log: any worker finds it active.
    for token in acknowledged[:: max(1, len(acknowledged) // 50)]:
        assert introspect(server.url, client, token)["active"] is True


def test_sigterm_stops_the_supervisor_and_every_worker(two_workers):
    server, _ = two_workers
    pids = list(workers_of(server).values())
    assert server.stop(signal.SIGTERM, timeout=30) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_workers_share_one_metrics_page(two_workers):
    server, client = two_workers
    wait_until_served(server.url, client)
    for _ in range(30):
        assert client_credentials(server.url, client).status_code == 200
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    issued = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                 if line.startswith('astapa_tokens_issued_total{grant_type="client_credentials"}'))
    assert issued >= 30, text[:2000]
