#!/usr/bin/env python3
"""Benchmark (not a test) of client_credentials token issuance on this machine.

One run prints: Astapa's tokens/s and p99 under wrk load; one core's raw RS256 signing rate
with joserfc; the same load against node-oidc-provider (Node 22) as a peer; Astapa again
with N unrelated events already in the log; the ratios; and a final JSON summary line.
Only 127.0.0.1 is targeted. Every server started here is stopped on exit, error or Ctrl-C.

    .venv/bin/python scripts/bench_token.py [--duration 10] [--connections 64]
        [--skip-peer] [--skip-log] [--with-log-events 100000] [--full]
"""

import argparse
import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
ASTAPA = ROOT / ".venv" / "bin" / "astapa"
NODE = BENCH / "node_modules" / "node" / "bin" / "node"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from harness import (  # noqa: E402  (scripts/bench/harness.py: shared with the other benches)
    STARTED,
    cpu_seconds,
    ensure_wrk,
    free_port,
    log,
    run_json,
    start,
    stop,
    wait_http,
)


def check_token(url: str, client_id: str, secret: str) -> None:
    """One request before the load: it must be 200 with an RS256 JWT access token."""
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(url, data=b"grant_type=client_credentials&scope=api", method="POST",
                                     headers={"Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            token = json.load(response)["access_token"]
    except urllib.error.HTTPError as e:
        sys.exit(f"token request to {url} answered {e.code}: {e.read()[:500]!r}")
    head = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    if header.get("alg") != "RS256":
        sys.exit(f"token from {url} is not an RS256 JWT: header {header}")


def load(wrk: str, port: int, path: str, client_id: str, secret: str, args: argparse.Namespace,
         server: subprocess.Popen, duration: int | None = None) -> dict:
    """--connections of token requests to 127.0.0.1:port for --duration seconds; wrk's figures."""
    duration = duration or args.duration
    env = dict(os.environ, BENCH_PATH=path,
               BENCH_BASIC_AUTH=base64.b64encode(f"{client_id}:{secret}".encode()).decode())
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--timeout", "5s",
           "-s", str(BENCH / "token.lua"), f"http://127.0.0.1:{port}/"]
    cpu = cpu_seconds(server.pid)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=duration + 60)
    cpu = cpu_seconds(server.pid) - cpu
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if result.returncode != 0 or not lines:
        sys.exit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    figures = json.loads(lines[-1].split(" ", 1)[1])
    figures["tokens_per_s"] = round(figures["ok"] / (figures["duration_us"] / 1e6), 1)
    figures["p99_ms"] = round(figures["p99_us"] / 1000, 2)
    figures["server_cores"] = round(cpu / (figures["duration_us"] / 1e6), 2)
    errors = sum(figures[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    log(f"  {figures['tokens_per_s']} tokens/s ({figures['ok']} x 200, {figures['non200']} non-200, "
        f"{errors} socket errors/timeouts), p50 {figures['p50_us'] / 1000:.2f} ms, p99 {figures['p99_ms']} ms, "
        f"server used {figures['server_cores']} cores")
    return figures


def warm_up(wrk: str, port: int, path: str, client_id: str, secret: str, args: argparse.Namespace,
            server: subprocess.Popen) -> int:
    """A short load whose figures are discarded (JIT, caches, connection pools); its 200 count."""
    if args.warmup <= 0:
        return 0
    log(f"  warm-up {args.warmup}s:")
    return load(wrk, port, path, client_id, secret, args, server, duration=args.warmup)["ok"]


class Filler(Aggregate):
    """Unrelated events for the pre-filled log: Filler.Created, then Filler.Noted."""

    @event("Noted")
    def note(self) -> None:
        pass


def prefill(events_db: Path, count: int, batch: int = 1000) -> None:
    """Write `count` unrelated events straight into the event store, about `batch` a save."""
    try:
        from astapa.app import AstapaApplication
        app = AstapaApplication(events_db)
    except ImportError:
        app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(events_db)})
    written, started = 0, time.monotonic()
    while written < count:
        aggregates, pending = [], 0
        while pending < batch and written + pending < count:
            filler = Filler()
            if written + pending + 2 <= count:
                filler.note()
            aggregates.append(filler)
            pending += len(filler.pending_events)
        app.save(*aggregates)
        written += pending
    app.close()
    log(f"  pre-filled {written} unrelated events in {time.monotonic() - started:.1f}s")


def issued_events(events_db: Path) -> int:
    with sqlite3.connect(events_db) as db:
        return db.execute("SELECT count(*) FROM stored_events WHERE topic LIKE '%AccessToken.Issued%'").fetchone()[0]


def bench_astapa(wrk: str, args: argparse.Namespace, log_events: int = 0) -> dict:
    with tempfile.TemporaryDirectory(prefix="astapa-bench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        if log_events:
            prefill(data / "events.db", log_events)
        port, logfile = free_port(), Path(tmp) / "serve.log"
        server = start([ASTAPA, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data], logfile)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", server, logfile)
            project = run_json([ASTAPA, "project", "create", "--data-dir", data, "--name", "bench",
                                "--redirect-uri", "https://example.com/cb"])
            client = run_json([ASTAPA, "client", "create", "--data-dir", data, "--project", project["project_id"],
                               "--name", "bench", "--scope", "api"])
            time.sleep(1.5)  # the server polls for new clients
            check_token(f"http://127.0.0.1:{port}/oauth/token", client["client_id"], client["client_secret"])
            warm = warm_up(wrk, port, "/oauth/token", client["client_id"], client["client_secret"], args, server)
            figures = load(wrk, port, "/oauth/token", client["client_id"], client["client_secret"], args, server)
        finally:
            stop(server)
        figures["issued_events"] = issued = issued_events(data / "events.db")
        answered = 1 + warm + figures["ok"]
        verdict = "OK" if issued >= answered else "MISSING EVENTS"
        log(f"  AccessToken.Issued events: {issued} vs {answered} x 200 answered "
            f"(1 check + {warm} warm-up + {figures['ok']} measured): {verdict}")
        return figures


def raw_sign_rate(seconds: float = 3.0) -> float:
    result = subprocess.run([PYTHON, BENCH / "raw_sign.py", str(seconds)], capture_output=True, text=True,
                            timeout=seconds + 60)
    if result.returncode != 0:
        sys.exit(f"raw signing failed:\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    log(f"  {figures['per_s']} signatures/s ({figures['signatures']} in {figures['seconds']}s)")
    return figures["per_s"]


def ensure_peer() -> bool:
    if NODE.exists() and (BENCH / "node_modules" / "oidc-provider").exists():
        return True
    if not shutil.which("npm"):
        log("  npm not found (apt-get install -y npm); skipping the peer")
        return False
    log("  npm install --prefix scripts/bench (oidc-provider, node@22)")
    subprocess.run(["npm", "install", "--prefix", BENCH, "--no-package-lock", "--no-audit", "--no-fund"],
                   timeout=600, check=True)
    return NODE.exists()


def bench_peer(wrk: str, args: argparse.Namespace) -> dict | None:
    if not ensure_peer():
        return None
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    client_id, secret = "bench", base64.urlsafe_b64encode(os.urandom(24)).decode()
    with tempfile.TemporaryDirectory(prefix="oidc-peer-") as tmp:
        port, logfile = free_port(), Path(tmp) / "peer.log"
        server = start([NODE, BENCH / "oidc_peer.mjs", str(port), client_id, secret], logfile, cwd=BENCH,
                       env=dict(os.environ, NODE_ENV="production"))
        try:
            wait_http(f"http://127.0.0.1:{port}/.well-known/openid-configuration", server, logfile)
            log(f"  node {version}, oidc-provider on port {port}")
            check_token(f"http://127.0.0.1:{port}/token", client_id, secret)
            warm_up(wrk, port, "/token", client_id, secret, args, server)
            return load(wrk, port, "/token", client_id, secret, args, server)
        finally:
            stop(server)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per server (10)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections (64)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded load before each figure (2)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1: leave the other core to servers)")
    parser.add_argument("--skip-peer", action="store_true", help="no node-oidc-provider figure")
    parser.add_argument("--skip-log", action="store_true", help="no figure with a pre-filled event log")
    parser.add_argument("--with-log-events", type=int, default=100_000, help="unrelated events to pre-fill (100000)")
    parser.add_argument("--full", action="store_true", help="every figure, whatever --skip-* say")
    args = parser.parse_args()
    if args.full:
        args.skip_peer = args.skip_log = False
    wrk = ensure_wrk()
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run (other work skews every figure)")

    log(f"Astapa, empty log: POST /oauth/token, {args.connections} connections, {args.duration}s")
    astapa = bench_astapa(wrk, args)
    log("Raw RS256 signing, joserfc, one core, 3s")
    raw = raw_sign_rate()
    peer = None
    if not args.skip_peer:
        log(f"node-oidc-provider: POST /token, {args.connections} connections, {args.duration}s")
        peer = bench_peer(wrk, args)
    with_log = None
    if not args.skip_log and args.with_log_events > 0:
        log(f"Astapa, {args.with_log_events} unrelated events in the log: same load")
        with_log = bench_astapa(wrk, args, log_events=args.with_log_events)

    summary = {
        "astapa_tokens_per_s": astapa["tokens_per_s"],
        "astapa_p99_ms": astapa["p99_ms"],
        "raw_sign_per_s": raw,
        "peer_tokens_per_s": peer and peer["tokens_per_s"],
        "peer_p99_ms": peer and peer["p99_ms"],
        "ratio_raw": ratio(astapa["tokens_per_s"], raw),
        "ratio_peer": ratio(astapa["tokens_per_s"], peer and peer["tokens_per_s"]),
        "with_log_tokens_per_s": with_log and with_log["tokens_per_s"],
        "ratio_with_log": ratio(with_log and with_log["tokens_per_s"], astapa["tokens_per_s"]),
        "astapa_non200": astapa["non200"],
        "astapa_issued_events": astapa["issued_events"],
        "astapa_ok": astapa["ok"],
        "with_log_events": args.with_log_events if with_log else 0,
    }
    log("Ratios (targets)")
    for label, value, target, good in (
        ("astapa / raw signing", summary["ratio_raw"], ">= 0.5", lambda v: v >= 0.5),
        ("astapa / node-oidc-provider", summary["ratio_peer"], ">= 1.2", lambda v: v >= 1.2),
        ("astapa p99 ms", summary["astapa_p99_ms"], "<= 100", lambda v: v <= 100),
        ("with log / empty log", summary["ratio_with_log"], ">= 0.9, i.e. at most 10% slower", lambda v: v >= 0.9),
    ):
        status = "n/a" if value is None else ("met" if good(value) else "MISSED")
        log(f"  {label}: {value} (target {target}): {status}")
    print(json.dumps(summary), flush=True)


def shutdown(signum, frame) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        for proc in list(STARTED):
            stop(proc, grace=5)
