#!/usr/bin/env python3
"""Benchmark (not a test) of mail delivery on this machine, against its raw SMTP rate.

What is measured, in one run of this script:

- Astapa's drain rate: `astapa serve` (bcrypt cost 10) signs up --messages users while its
  SMTP server is down, so every verification mail is queued and its first attempt fails.
  The server is stopped, an SMTP sink (aiosmtpd, scripts/bench/smtp_sink.py, its own
  process) comes up, and the server starts again: its first sweep tries every queued
  message. Rate = messages / (last arrival - first arrival), each message rendered from
  its templates, sent (one SMTP connection each, 8 at a time) and its delivery recorded as
  an event before the next sweep.
- The raw limit: the same messages, as the sink received them, sent again to a fresh sink
  by a bare aiosmtplib client (scripts/bench/raw_smtp.py, 8 at a time, one connection
  each): what this machine's SMTP path allows with none of Astapa's work.

Checks: every message arrived exactly once (distinct Message-IDs), and the event log holds
one Message.Delivered per message. Only 127.0.0.1 is used; every process started here is
stopped on exit, error or Ctrl-C.

    .venv/bin/python scripts/bench_mail.py [--messages 400] [--runs 1]
"""

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))

from harness import (  # noqa: E402
    ASTAPA,
    BENCH,
    PYTHON,
    REDIRECT_URI,
    STARTED,
    Server,
    count_events,
    free_port,
    log,
    median,
    ratio,
    run_benchmark,
    run_json,
    sign_up_many,
    start,
    stop,
    wait_http,
)
import subprocess  # noqa: E402

RATIO_TARGET = 0.5


def sink(port: int, out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([PYTHON, BENCH / "smtp_sink.py", str(port), str(out)], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    STARTED.append(proc)
    if proc.stdout.readline().strip() != "READY":
        sys.exit("the SMTP sink did not start")
    return proc


def arrivals(out: Path) -> list[float]:
    path = out / "arrivals"
    return [float(line.split()[0]) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(out: Path, count: int, timeout: float) -> list[float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        times = arrivals(out)
        if len(times) >= count:
            return times
        time.sleep(0.05)
    sys.exit(f"only {len(arrivals(out))} of {count} messages arrived within {timeout:.0f}s")


def rate(times: list[float]) -> float:
    return round((len(times) - 1) / (times[-1] - times[0]), 1)


def serve(data: Path, port: int, smtp_port: int, logfile: Path) -> subprocess.Popen:
    env = {**os.environ, "ASTAPA_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}"}
    proc = start([ASTAPA, "serve", "--port", str(port), "--data-dir", data, "--bcrypt-cost", "10"], logfile,
                 env=env)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, logfile)
    return proc


def queued_and_tried(data: Path, count: int) -> bool:
    with sqlite3.connect(f"file:{data / 'read.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT COUNT(*), MIN(attempts) FROM mail").fetchone()
    return row[0] >= count and (row[1] or 0) >= 1


def one_run(args: argparse.Namespace, tmp: Path) -> dict:
    data, port, smtp_port = tmp / "data", free_port(), free_port()
    data.mkdir()
    logfile = tmp / "serve.log"
    server_proc = serve(data, port, smtp_port, logfile)  # nothing listens on smtp_port yet
    project = run_json([ASTAPA, "project", "create", "--data-dir", data, "--name", "bench",
                        "--redirect-uri", REDIRECT_URI])
    server = Server(data, port, server_proc, project, logfile)
    wait_http(f"{server.base}/auth/login?{server.authorize_query()}", server_proc, logfile, timeout=30)
    started = time.monotonic()
    asyncio.run(sign_up_many(server, args.messages, f"mail-{os.getpid()}-"))
    while not queued_and_tried(data, args.messages):
        if time.monotonic() - started > 300:
            sys.exit("the first delivery attempts did not finish")
        time.sleep(0.2)
    log(f"  {args.messages} sign-ups, each verification mail queued and tried once (SMTP down), "
        f"in {time.monotonic() - started:.1f}s, not timed")
    stop(server_proc)

    received = tmp / "received"
    sink_proc = sink(smtp_port, received)
    server_proc = serve(data, port, smtp_port, logfile)
    times = wait_for(received, args.messages, timeout=300)
    time.sleep(1.0)  # any duplicate would arrive now
    stop(server_proc)
    stop(sink_proc)
    files = sorted(received.glob("*.eml"))
    ids = {message_from_bytes(p.read_bytes(), policy=policy.default)["Message-ID"] for p in files}
    delivered = count_events(data / "events.db", "%Message.Delivered%")
    astapa = rate(times)
    log(f"  Astapa: {len(files)} messages arrived ({len(ids)} distinct), {astapa}/s; "
        f"Message.Delivered events: {delivered}")

    again = tmp / "raw"
    sink_proc = sink(smtp_port, again)
    raw = run_json([PYTHON, BENCH / "raw_smtp.py", str(smtp_port), str(received), "8"], timeout=300)
    raw_times = wait_for(again, len(files), timeout=60)
    stop(sink_proc)
    raw_rate = rate(raw_times)
    log(f"  raw aiosmtplib: {raw['sent']} messages, {raw_rate}/s")
    return {"astapa_per_s": astapa, "raw_per_s": raw_rate, "ratio": ratio(astapa, raw_rate),
            "arrived": len(files), "distinct": len(ids), "delivered_events": delivered}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=400, help="messages queued per run (400)")
    parser.add_argument("--runs", type=int, default=1, help="runs; figures are their medians (1)")
    args = parser.parse_args()
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run")
    runs = []
    for run in range(1, args.runs + 1):
        log(f"Run {run}/{args.runs}")
        with tempfile.TemporaryDirectory(prefix="astapa-bench-mail-") as tmp:
            runs.append(one_run(args, Path(tmp)))
    exact = all(r["arrived"] == r["distinct"] == r["delivered_events"] == args.messages for r in runs)
    summary = {key: median([r[key] for r in runs]) for key in ("astapa_per_s", "raw_per_s", "ratio")}
    summary.update(runs=len(runs), messages=args.messages, exactly_once=exact, per_run=runs)
    met = "met" if summary["ratio"] >= RATIO_TARGET else "MISSED"
    log(f"Figures: Astapa {summary['astapa_per_s']}/s, raw {summary['raw_per_s']}/s, "
        f"ratio {summary['ratio']} (target >= {RATIO_TARGET}: {met}); every message exactly once: {exact}")
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    run_benchmark(main)
