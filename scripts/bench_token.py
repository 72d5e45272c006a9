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
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eventsourcing.application import Application

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from harness import (  # noqa: E402  (scripts/bench/harness.py: shared with the other benches)
    ASTAPA,
    Filler,
    check_token,
    count_events,
    ensure_wrk,
    free_port,
    log,
    peer_server,
    ratio,
    raw_sign_rate,
    run_benchmark,
    run_json,
    start,
    stop,
    token_load,
    wait_http,
)


def load(wrk: str, port: int, path: str, client_id: str, secret: str, args: argparse.Namespace,
         server: subprocess.Popen, duration: int | None = None) -> dict:
    """--connections of token requests to 127.0.0.1:port for --duration seconds; wrk's figures."""
    return token_load(wrk, f"http://127.0.0.1:{port}", path, client_id, secret, args.threads, args.connections,
                      duration or args.duration, server.pid)


def warm_up(wrk: str, port: int, path: str, client_id: str, secret: str, args: argparse.Namespace,
            server: subprocess.Popen) -> int:
    """A short load whose figures are discarded (JIT, caches, connection pools); its 200 count."""
    if args.warmup <= 0:
        return 0
    log(f"  warm-up {args.warmup}s:")
    return load(wrk, port, path, client_id, secret, args, server, duration=args.warmup)["ok"]


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
        figures["issued_events"] = issued = count_events(data / "events.db", "%AccessToken.Issued%")
        answered = 1 + warm + figures["ok"]
        verdict = "OK" if issued >= answered else "MISSING EVENTS"
        log(f"  AccessToken.Issued events: {issued} vs {answered} x 200 answered "
            f"(1 check + {warm} warm-up + {figures['ok']} measured): {verdict}")
        return figures


def bench_peer(wrk: str, args: argparse.Namespace) -> dict | None:
    with peer_server() as peer:
        if peer is None:
            return None
        warm_up(wrk, peer.port, peer.path, peer.client_id, peer.secret, args, peer.proc)
        return load(wrk, peer.port, peer.path, peer.client_id, peer.secret, args, peer.proc)


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
    raw = raw_sign_rate()["per_s"]
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


if __name__ == "__main__":
    run_benchmark(main)
