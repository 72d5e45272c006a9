#!/usr/bin/env python3
"""Benchmark (not a test): how fast `astapa audit verify` checks a log against its chain.

    .venv/bin/python scripts/bench_audit.py [--events 1000000] [--runs 3] [--postgres]

1. The log. A small real log is written through the application's commands (projects,
   clients, client_credentials tokens and their revocations: the events a busy log is mostly
   made of), then its stored events are written again and again under new aggregate ids
   through the store's recorder, in batches of 5,000, until there are --events. Every event
   gets its chain link from the recorder as in production; states are real events' bytes.
2. Verify. Each run times the whole command `astapa audit verify --data-dir DIR` (interpreter
   start included) and, in the same run, the raw limit on the same file: reading the same
   rows in one process with nothing else done (read only), and reading them plus one
   sha256 per row (read + hash). Rate = events / wall time; target >= 50,000 events/s.
   Ratio = verify's rate / the read + hash rate.
3. --postgres: the log copied into a throwaway PostgreSQL (tests/postgres.py), then
   `astapa audit verify --store URL` timed the same way.

No peer server offers a log that can be verified, so there is no peer figure to pair with.
"""

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eventsourcing.persistence import StoredEvent  # noqa: E402

from astapa.app import AstapaApplication  # noqa: E402

ASTAPA = ROOT / ".venv" / "bin" / "astapa"
BATCH = 5_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seed_events(data_dir: Path) -> list[StoredEvent]:
    """A few hundred real events, written by the commands the server runs."""
    app = AstapaApplication(data_dir / "events.db")
    try:
        for n in range(20):
            project, _ = app.execute(app.create_project, f"bench{n}", ["https://app.example.com/cb"], "sandbox",
                                     ["read", "write"], by="cli")
            client, _ = app.execute(app.create_client, project["project_id"], f"machine{n}", ["read"], 300, by="cli")
        return [StoredEvent(e.originator_id, e.originator_version, e.topic, e.state)
                for e in app.recorder.select_notifications(start=1, limit=10_000)]
    finally:
        app.close()


def grow(data_dir: Path, template: list[StoredEvent], events: int) -> int:
    """Copies of the template's events under new ids, until the log holds `events`."""
    app = AstapaApplication(data_dir / "events.db")
    try:
        stored = app.recorder.max_notification_id() or 0
        while stored < events:
            batch, ids = [], {}
            while len(batch) < min(BATCH, events - stored):
                for event in template:
                    new_id = ids.setdefault(event.originator_id, uuid.uuid4())
                    batch.append(StoredEvent(new_id, event.originator_version, event.topic, event.state))
                ids.clear()
            batch = batch[:events - stored]
            app.recorder.insert_events(batch)
            stored += len(batch)
        return stored
    finally:
        app.close()


def write_cost(work: Path, template: list[StoredEvent], transactions: int = 4_000, per: int = 8) -> dict:
    """Transactions of `per` events (a group commit's size under load) through eventsourcing's
    own SQLite recorder and through the chained one, on fresh files in WAL mode: what the
    links cost each save."""
    from eventsourcing.application import Application
    from eventsourcing.sqlite import SQLiteFactory
    from eventsourcing.utils import get_topic

    from astapa.store.chain import ChainedSQLiteFactory

    rates = {}
    for name, factory in (("plain", SQLiteFactory), ("chained", ChainedSQLiteFactory)):
        db = work / f"write-{name}.db"
        bare = Application(env={"PERSISTENCE_MODULE": get_topic(factory), "SQLITE_DBNAME": str(db)})
        bare.recorder.insert_events([])  # WAL and the default synchronous=FULL, as the service runs
        started, cpu = time.monotonic(), time.process_time()
        for _ in range(transactions):
            bare.recorder.insert_events([StoredEvent(uuid.uuid4(), 1, e.topic, e.state) for e in template[:per]])
        rates[name] = transactions * per / (time.monotonic() - started)
        rates[f"{name}_cpu_us"] = (time.process_time() - cpu) / (transactions * per) * 1e6
        bare.close()
    rates["ratio"] = rates["chained"] / rates["plain"]
    log(f"write: {rates['plain']:,.0f} events/s without the chain, {rates['chained']:,.0f} with it"
        f" (ratio {rates['ratio']:.2f}; fsync-bound, so noisy); CPU per event {rates['plain_cpu_us']:.1f} µs"
        f" and {rates['chained_cpu_us']:.1f} µs; {per} events per transaction")
    return rates


def raw_limits(events_db: Path) -> dict:
    """Rows read per second, and rows read and hashed, in this process."""
    figures = {}
    for name, hashing in (("read", False), ("read_hash", True)):
        db = sqlite3.connect(f"file:{events_db}?mode=ro", uri=True)
        started, count = time.monotonic(), 0
        cursor = db.execute("SELECT rowid, originator_id, originator_version, topic, state FROM stored_events"
                            " ORDER BY rowid")
        while rows := cursor.fetchmany(10_000):
            if hashing:
                for row in rows:
                    hashlib.sha256(row[1].encode() + row[3].encode() + row[4]).digest()
            count += len(rows)
        figures[name] = count / (time.monotonic() - started)
        db.close()
    return figures


def time_verify(args: list[str], env: dict | None = None) -> tuple[float, dict]:
    started = time.monotonic()
    done = subprocess.run([str(ASTAPA), "audit", "verify", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"audit verify failed ({done.returncode}): {done.stdout} {done.stderr}")
    return seconds, json.loads(done.stdout)


def sqlite_runs(data_dir: Path, runs: int) -> list[dict]:
    results = []
    for run in range(runs):
        limits = raw_limits(data_dir / "events.db")
        seconds, report = time_verify(["--data-dir", str(data_dir)])
        rate = report["events"] / seconds
        results.append({"verify": rate, **limits, "ratio": rate / limits["read_hash"], "seconds": seconds})
        log(f"  run {run + 1}: verify {rate:,.0f} events/s ({seconds:.2f} s); raw read {limits['read']:,.0f}/s,"
            f" read + hash {limits['read_hash']:,.0f}/s; ratio {rate / limits['read_hash']:.2f}")
    return results


def postgres_runs(data_dir: Path, runs: int) -> list[dict]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_log import copy_to_postgres

    from tests.postgres import PostgresServer

    pg = PostgresServer()
    try:
        pg.start()
        url = pg.create_database("astapa_audit")
        copied = copy_to_postgres(data_dir / "events.db", url)
        log(f"PostgreSQL: copied {copied['events']:,} events in {copied['seconds']} s")
        results = []
        for run in range(runs):
            seconds, report = time_verify([], env={"ASTAPA_STORE_URL": url})
            rate = report["events"] / seconds
            results.append({"verify": rate, "seconds": seconds})
            log(f"  run {run + 1}: verify --store {rate:,.0f} events/s ({seconds:.2f} s)")
        return results
    finally:
        pg.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as work:
        data_dir = Path(work)
        started = time.monotonic()
        template = seed_events(data_dir)
        total = grow(data_dir, template, args.events)
        size = (data_dir / "events.db").stat().st_size
        log(f"log: {total:,} events ({size / 1e6:.0f} MB) written in {time.monotonic() - started:.0f} s")
        results = {"events": total, "sqlite": sqlite_runs(data_dir, args.runs),
                   "write": [write_cost(data_dir, template) for _ in range(args.runs)]}
        if args.postgres:
            results["postgres"] = postgres_runs(data_dir, args.runs)
    median = statistics.median(r["verify"] for r in results["sqlite"])
    summary = {"events": total, "sqlite_verify_median": round(median),
               "sqlite_ratio_median": round(statistics.median(r["ratio"] for r in results["sqlite"]), 2),
               "target": 50_000, "status": "PASS" if median >= 50_000 else "MISS",
               "write_ratio_median": round(statistics.median(r["ratio"] for r in results["write"]), 3),
               "write_cpu_us_median": {name: round(statistics.median(r[f"{name}_cpu_us"] for r in results["write"]), 1)
                                       for name in ("plain", "chained")}}
    if "postgres" in results:
        summary["postgres_verify_median"] = round(statistics.median(r["verify"] for r in results["postgres"]))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
