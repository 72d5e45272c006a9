"""Two `astapa serve` nodes sharing one PostgreSQL store serve one service.

Real child processes and a real, throwaway PostgreSQL (tests/postgres.py). Each node has a
data dir of its own (its read models); they share the store URL, ASTAPA_SECRET_KEY and the
issuer, as two nodes behind a load balancer do.
"""

import json
import secrets
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.process import (
    cli,
    client_credentials,
    free_port,
    introspect,
    jwt_claims,
    mixed_load,
    revoke,
    run_cli,
)

pytestmark = pytest.mark.subprocess

REDIRECT = "https://app.example/callback"
SECRET_KEY = "k" * 8 + secrets.token_urlsafe(32)


class Cluster:
    def __init__(self, spawn, tmp_path: Path, store: str) -> None:
        self.spawn = spawn
        self.tmp_path = tmp_path
        self.store = store
        self.issuer = f"http://127.0.0.1:{free_port()}"  # the load balancer's URL, shared
        self.env = {"ASTAPA_SECRET_KEY": SECRET_KEY, "ASTAPA_ISSUER": self.issuer}
        self.nodes: dict[str, object] = {}
        self.ports: dict[str, int] = {}

    def start(self, name: str, **kwargs):
        port = self.ports.setdefault(name, free_port())
        node = self.spawn(self.tmp_path / name, port=port, env={**self.env, **kwargs.pop("env", {})},
                          extra_args=["--store", self.store], **kwargs)
        self.nodes[name] = node
        return node

    def cli(self, *args: str) -> dict:
        return run_cli(*args, "--store", self.store, data_dir=None, env=self.env)


@pytest.fixture
def cluster(spawn, tmp_path: Path, pg_url: str) -> Cluster:
    cluster = Cluster(spawn, tmp_path, pg_url)
    cluster.start("a")
    cluster.start("b")
    return cluster


@pytest.fixture
def project(cluster: Cluster) -> dict:
    return cluster.cli("project", "create", "--name", "app", "--redirect-uri", REDIRECT, "--scope", "api")


def served_within(url: str, client: dict, seconds: float) -> float:
    start = time.monotonic()
    while (response := client_credentials(url, client)).status_code != 200:
        assert time.monotonic() - start < seconds, response.text
        time.sleep(0.02)
    return time.monotonic() - start


def test_a_project_made_by_the_cli_from_anywhere_is_served_by_both_nodes_within_a_second(cluster, project):
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    assert served_within(a.url, project, 1.0) < 1.0
    assert served_within(b.url, project, 1.0) < 1.0
    listed = cluster.cli("project", "list")
    assert project["project_id"] in json.dumps(listed)


def test_both_nodes_sign_with_the_same_keys_and_share_one_issuer(cluster, project):
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    jwks_a = requests.get(f"{a.url}/.well-known/jwks.json", timeout=5).json()
    jwks_b = requests.get(f"{b.url}/.well-known/jwks.json", timeout=5).json()
    assert jwks_a == jwks_b and jwks_a["keys"]
    served_within(a.url, project, 1.0)
    token_a = jwt_claims(client_credentials(a.url, project).json()["access_token"])
    token_b = jwt_claims(client_credentials(b.url, project).json()["access_token"])
    assert token_a["iss"] == token_b["iss"] == cluster.issuer


def test_a_token_from_one_node_is_introspectable_and_revocable_at_the_other(cluster, project):
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    served_within(a.url, project, 1.0)
    served_within(b.url, project, 1.0)
    for _ in range(10):
        token = client_credentials(a.url, project).json()["access_token"]
        assert introspect(b.url, project, token)["active"] is True
        revoke(b.url, project, token)
        assert introspect(a.url, project, token) == {"active": False}


def refused_everywhere(urls: list[str], client: dict, seconds: float = 3.0) -> bool:
    """Whether, within `seconds`, the right secret is refused (429) at every one of `urls`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(client_credentials(url, client).status_code == 429 for url in urls):
            return True
        time.sleep(0.05)
    return False


def test_throttles_count_across_nodes(cluster, project):
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    served_within(a.url, project, 1.0)
    served_within(b.url, project, 1.0)
    wrong = {**project, "client_secret": "not-the-secret"}
    for i in range(20):  # the limit: 20 failed client authentications per client and address
        assert client_credentials((a, b)[i % 2].url, wrong).status_code in (401, 429)
    # Each node saw ten failures itself: alone, neither would refuse (nodes share their
    # counts every 0.1 s).
    assert refused_everywhere([a.url, b.url], project)


def test_a_rotated_secret_works_at_both_nodes_and_the_old_one_stops_when_revoked(cluster, project):
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    served_within(b.url, project, 1.0)
    rotated = cluster.cli("client", "rotate-secret", "--client", project["client_id"], "--revoke-old")
    new = {**project, "client_secret": rotated["client_secret"]}
    assert served_within(a.url, new, 1.0) < 1.0
    assert served_within(b.url, new, 1.0) < 1.0
    assert client_credentials(a.url, project).status_code == 401
    assert client_credentials(b.url, project).status_code == 401


def test_a_node_given_another_secret_key_refuses_to_start(cluster, tmp_path: Path):
    done = cli("serve", "--port", str(free_port()), "--store", cluster.store, "--data-dir", str(tmp_path / "c"),
               env={**cluster.env, "ASTAPA_SECRET_KEY": "x" * 40}, timeout=30)
    assert done.returncode == 2
    assert "ASTAPA_SECRET_KEY is not the key the store's secrets were sealed with" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_a_store_needs_a_long_enough_secret_key(pg_url: str, tmp_path: Path):
    done = cli("serve", "--port", str(free_port()), "--store", pg_url, "--data-dir", str(tmp_path / "d"),
               env={"ASTAPA_SECRET_KEY": "short"}, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "astapa: error: a PostgreSQL store needs ASTAPA_SECRET_KEY, at least 32 characters (e.g. `openssl rand -base64 32`):"
        " it seals the secrets kept in the store"], done.stderr


def test_a_bad_store_url_is_one_clear_line(tmp_path: Path):
    done = cli("serve", "--store", "mysql://x/y", "--data-dir", str(tmp_path / "e"),
               env={"ASTAPA_SECRET_KEY": SECRET_KEY}, timeout=30)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--store" in done.stderr, done.stderr


def test_one_node_leads_the_one_time_jobs(cluster, project):
    """Mail, plan expiry and payment settlement run in one node only; the other keeps
    trying each second, and would take over were the leader gone."""
    time.sleep(2.5)  # a few of the nodes' attempts to lead
    stderr = cluster.nodes["a"].stderr() + cluster.nodes["b"].stderr()
    assert stderr.count("now runs the one-time jobs") == 1


def test_a_node_that_was_down_catches_up_before_it_serves(cluster, project):
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    served_within(b.url, project, 1.0)
    assert b.stop(signal.SIGTERM) == 0
    tokens = [client_credentials(a.url, project).json()["access_token"] for _ in range(30)]
    revoke(a.url, project, tokens[0])
    later = cluster.cli("project", "create", "--name", "later", "--redirect-uri", REDIRECT)
    b = cluster.start("b")
    # Ready means caught up: the first answers already know what happened meanwhile.
    assert introspect(b.url, project, tokens[0]) == {"active": False}
    assert all(introspect(b.url, project, t)["active"] for t in tokens[1:])
    assert client_credentials(b.url, later).status_code == 200


def test_twenty_nodes_killed_under_load_lose_nothing_acknowledged(cluster, project):
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    served_within(a.url, project, 1.0)
    served_within(b.url, project, 1.0)
    acknowledged: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()
    urls = [a.url, b.url, a.url, b.url]  # b's port keeps its number across restarts
    threads = [threading.Thread(target=mixed_load, args=(url, project, stop, acknowledged, statuses))
               for url in urls]
    for thread in threads:
        thread.start()
    try:
        for _ in range(20):
            served_before = len(acknowledged)
            cluster.nodes["b"].kill()
            time.sleep(0.2)
            cluster.start("b")  # ready: caught up with what a wrote meanwhile
            assert len(acknowledged) > served_before  # a kept serving
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert set(statuses) <= {0, 200, 503}, set(statuses)
    b = cluster.nodes["b"]
    for token in acknowledged[:: max(1, len(acknowledged) // 50)]:
        assert introspect(b.url, project, token)["active"] is True


def test_a_postgresql_restart_under_load_answers_503_with_retry_after_and_service_resumes(
        cluster, project, postgres_server):
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    served_within(a.url, project, 1.0)
    served_within(b.url, project, 1.0)
    answers: list[tuple[float, int, str | None]] = []
    stop = threading.Event()

    def load(url: str) -> None:
        while not stop.is_set():
            try:
                response = client_credentials(url, project, timeout=15)
            except requests.ConnectionError:
                answers.append((time.monotonic(), 0, None))
                continue
            answers.append((time.monotonic(), response.status_code, response.headers.get("Retry-After")))
            if response.status_code != 200:
                time.sleep(0.05)

    threads = [threading.Thread(target=load, args=(node.url,)) for node in (a, b, a, b)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    postgres_server.stop()
    time.sleep(3.0)
    postgres_server.start()
    restarted = time.monotonic()
    time.sleep(3.0)
    stop.set()
    for thread in threads:
        thread.join(30)
    statuses = {status for _, status, _ in answers}
    assert statuses <= {200, 503}, statuses  # never a 500, never a dropped connection
    unavailable = [(at, retry) for at, status, retry in answers if status == 503]
    assert unavailable, "the outage was never seen"
    assert all(retry is not None and int(retry) >= 1 for _, retry in unavailable)
    # Service resumes without restarting either node, within a couple of seconds.
    resumed = [at for at, status, _ in answers if status == 200 and at > restarted]
    assert resumed and min(resumed) - restarted < 3.0, (resumed[:1], restarted)
    assert a.alive() and b.alive()
    token = client_credentials(b.url, project).json()["access_token"]
    assert introspect(a.url, project, token)["active"] is True


def test_rekey_seals_every_secret_with_the_new_key(cluster, project, tmp_path: Path):
    a = cluster.nodes["a"]
    jwks = requests.get(f"{a.url}/.well-known/jwks.json", timeout=5).json()
    new_key = "n" * 8 + secrets.token_urlsafe(32)
    short = cli("secrets", "rekey", "--store", cluster.store, env={**cluster.env, "ASTAPA_NEW_SECRET_KEY": "short"})
    assert short.returncode == 2 and "ASTAPA_NEW_SECRET_KEY" in short.stderr
    done = run_cli("secrets", "rekey", "--store", cluster.store, data_dir=None,
                   env={**cluster.env, "ASTAPA_NEW_SECRET_KEY": new_key})
    assert done["resealed"] >= 5  # two signing keys and three page keys at least
    for node in list(cluster.nodes.values()):
        node.stop()
    old = cli("serve", "--port", str(free_port()), "--store", cluster.store, "--data-dir", str(tmp_path / "old"),
              env=cluster.env, timeout=30)
    assert old.returncode == 2 and "ASTAPA_SECRET_KEY is not the key" in old.stderr, old.stderr
    cluster.env["ASTAPA_SECRET_KEY"] = new_key
    a = cluster.start("a")
    # The same keys, opened with the new secret key: tokens signed before still verify.
    assert requests.get(f"{a.url}/.well-known/jwks.json", timeout=5).json() == jwks
    assert client_credentials(a.url, project).status_code == 200


def test_rekey_without_a_store_is_refused(tmp_path: Path):
    done = cli("secrets", "rekey", "--data-dir", str(tmp_path / "f"), env={"ASTAPA_NEW_SECRET_KEY": "z" * 40})
    assert done.returncode == 2 and "needs --store" in done.stderr, done.stderr


def test_workers_given_another_secret_key_stop_their_supervisor(cluster, tmp_path: Path):
    done = cli("serve", "--workers", "2", "--port", str(free_port()), "--store", cluster.store,
               "--data-dir", str(tmp_path / "w"), env={**cluster.env, "ASTAPA_SECRET_KEY": "y" * 40}, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "ASTAPA_SECRET_KEY is not the key the store's secrets were sealed with" in done.stderr
    assert "refused its configuration: stopping" in done.stderr
