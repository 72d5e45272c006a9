#!/usr/bin/env python3
"""Benchmark (not a test) of password sign-ins on this machine, against its raw bcrypt rate.

What is measured, in one run of this script, on one `astapa serve` (bcrypt cost 12, the
default) on a fresh temp data dir:

- Sign-ins/s: --users accounts (signed up first, not timed) each sign in again and again
  with the right password: one GET /auth/login per user for the CSRF cookie and form, then
  POST /auth/login one after another, each a 303 to the client's redirect_uri with a code
  (one bcrypt check, one new session and one code saved per sign-in). The client is Python
  asyncio + aiohttp in its own process (scripts/bench/login_load.py); its CPU share is shown.
- Raw bcrypt rate: right after each load, os.cpu_count() processes run the server's own
  astapa.passwords.verify_password (SHA-256 pre-hash + bcrypt.checkpw, cost 12) flat out
  (scripts/bench/raw_bcrypt.py): the most sign-ins this machine could do.
- JWKS p99 under that load: a separate light client (scripts/bench/jwks_probe.py, one
  keep-alive connection, --probe-rate GETs/s) fetches /.well-known/jwks.json while the
  sign-ins saturate the cores: does the event loop stay responsive while bcrypt runs?
  The same probe first runs for --idle-probe seconds with the server idle, as a baseline:
  the machine's own latency floor (a noisy VM shows here, not only under load).

Targets: sign-ins/s >= 0.8 x raw bcrypt rate; JWKS p99 < 20 ms; no failed sign-in (any
failure makes the figure invalid). With --runs N the figures are medians of N runs (one
server, the load and the raw rate measured back to back in each run). Only 127.0.0.1 is
targeted; every process started here is stopped on exit, error or Ctrl-C.

    .venv/bin/python scripts/bench_login.py [--duration 20] [--users 16] [--warmup 3]
        [--runs 1] [--probe-rate 40] [--raw-seconds 5] [--idle-probe 5]
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))

from harness import (  # noqa: E402
    report,
    run_benchmark,
    BENCH,
    PASSWORD,
    PYTHON,
    REDIRECT_URI,
    STARTED,
    Server,
    astapa_server,
    count_events,
    cpu_seconds,
    log,
    machine_busy_seconds,
    median,
    ratio,
    run_json,
    sign_up_many,
    stop,
)

RATIO_TARGET = 0.8
JWKS_P99_TARGET_MS = 20.0


def sign_in_load(server: Server, emails: list[str], args: argparse.Namespace) -> dict:
    """One sign-in load (login_load.py) with the JWKS probe inside its measured window."""
    config = {"base": server.base, "query": server.authorize_query(), "emails": emails, "password": PASSWORD,
              "redirect_uri": REDIRECT_URI, "warmup": args.warmup, "duration": args.duration}
    load = subprocess.Popen([PYTHON, BENCH / "login_load.py", json.dumps(config)], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    STARTED.append(load)
    probe, cpu, last = None, {}, ""
    try:
        for line in load.stdout:
            line = line.strip()
            if line == "MEASURING":
                cpu["start"] = cpu_seconds(server.proc.pid), time.perf_counter(), machine_busy_seconds()
                probe_seconds = max(1.0, args.duration - 1.5)  # starts and ends inside the window
                probe = subprocess.Popen([PYTHON, BENCH / "jwks_probe.py", str(server.port), str(args.probe_rate),
                                          str(probe_seconds)], stdout=subprocess.PIPE, text=True,
                                         start_new_session=True)
                STARTED.append(probe)
            elif line == "MEASURED":
                cpu["end"] = cpu_seconds(server.proc.pid), time.perf_counter(), machine_busy_seconds()
            elif line:
                last = line
        load.wait(timeout=180)
        probe_out = probe.communicate(timeout=60)[0] if probe else ""
    finally:
        stop(load)
        if probe:
            stop(probe)
    if load.returncode != 0 or not last.startswith("{") or probe is None or probe.returncode != 0:
        sys.exit(f"load ({load.returncode}) or probe ({probe and probe.returncode}) failed; last line {last!r}")
    figures = json.loads(last)
    figures["jwks"] = jwks = json.loads(probe_out.strip().splitlines()[-1])
    (cpu0, t0, busy0), (cpu1, t1, busy1) = cpu["start"], cpu["end"]
    figures["server_cores"] = round((cpu1 - cpu0) / (t1 - t0), 2)
    clients = figures["client_cores"] + jwks["client_cores"] * jwks["seconds"] / (t1 - t0)
    figures["others_cores"] = round(max(0.0, (busy1 - busy0) / (t1 - t0) - figures["server_cores"] - clients), 2)
    log(f"  {figures['signins_per_s']} sign-ins/s ({figures['ok']} x 303 with a code in {figures['seconds']}s, "
        f"{figures['failures']} failures), sign-in p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; "
        f"cores used: server {figures['server_cores']}, load client {figures['client_cores']}, "
        f"JWKS probe {jwks['client_cores']}, everything else {figures['others_cores']}")
    log(f"  JWKS during the load: {jwks['requests']} GETs at {jwks['rate']}/s over {jwks['seconds']}s, "
        f"p50 {jwks['p50_ms']} ms, p99 {jwks['p99_ms']} ms, max {jwks['max_ms']} ms, "
        f"{jwks['non200']} non-200, {jwks['errors']} errors, {jwks['late']} sent late")
    return figures


def idle_jwks(server: Server, args: argparse.Namespace) -> dict:
    """The same JWKS probe with the server idle: the machine's own latency floor."""
    jwks = run_json([PYTHON, BENCH / "jwks_probe.py", str(server.port), str(args.probe_rate), str(args.idle_probe)],
                    timeout=args.idle_probe + 60)
    log(f"  JWKS, server idle: {jwks['requests']} GETs, p50 {jwks['p50_ms']} ms, p99 {jwks['p99_ms']} ms, "
        f"max {jwks['max_ms']} ms, {jwks['non200']} non-200, {jwks['errors']} errors")
    return jwks


def raw_bcrypt_rate(seconds: float) -> dict:
    figures = run_json([PYTHON, BENCH / "raw_bcrypt.py", str(seconds), "12"], timeout=seconds + 120)
    log(f"  {figures['per_s']} checks/s ({figures['checks']} in {figures['seconds']}s, "
        f"{figures['workers']} processes, cost {figures['cost']}; each had {figures['cpu_share']:.0%} of a core)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=20, help="seconds of measured sign-in load per run (20)")
    parser.add_argument("--users", type=int, default=16, help="concurrent users signing in (16)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of uncounted load before each window (3)")
    parser.add_argument("--runs", type=int, default=1, help="runs; figures are their medians (1)")
    parser.add_argument("--probe-rate", type=float, default=40, help="JWKS GETs per second during the load (40)")
    parser.add_argument("--raw-seconds", type=float, default=5, help="seconds of raw bcrypt per run (5)")
    parser.add_argument("--idle-probe", type=float, default=5,
                        help="seconds of JWKS probe with the server idle, before each load (5; 0: none)")
    args = parser.parse_args()
    if args.duration < 3:
        parser.error("--duration must be at least 3 seconds")
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run (other work skews every figure)")

    runs = []
    with astapa_server() as server:
        started = time.monotonic()
        accounts = asyncio.run(sign_up_many(server, args.users, "login-"))
        log(f"Signed up {len(accounts)} users (bcrypt cost 12) in {time.monotonic() - started:.1f}s, not timed")
        emails = [account["email"] for account in accounts]
        for run in range(1, args.runs + 1):
            idle = None
            if args.idle_probe > 0:
                log(f"Run {run}/{args.runs}: JWKS probe at {args.probe_rate:g}/s for {args.idle_probe:g}s, "
                    "no other load")
                idle = idle_jwks(server, args)
            log(f"Run {run}/{args.runs}: POST /auth/login, {args.users} users, {args.warmup:g}s warm-up, "
                f"{args.duration}s measured; JWKS probe at {args.probe_rate:g}/s")
            load = sign_in_load(server, emails, args)
            log(f"Run {run}/{args.runs}: raw bcrypt, verify_password at cost 12, "
                f"{os.cpu_count()} processes, {args.raw_seconds:g}s (server idle)")
            raw = raw_bcrypt_rate(args.raw_seconds)
            runs.append({"signins_per_s": load["signins_per_s"], "raw_bcrypt_per_s": raw["per_s"],
                         "ratio": ratio(load["signins_per_s"], raw["per_s"]), "signin_p99_ms": load["p99_ms"],
                         "jwks_p99_ms": load["jwks"]["p99_ms"], "jwks_max_ms": load["jwks"]["max_ms"],
                         "jwks_idle_p99_ms": idle and idle["p99_ms"], "raw_cpu_share": raw["cpu_share"],
                         "server_cores": load["server_cores"], "client_cores": load["client_cores"],
                         "others_cores": load["others_cores"],
                         "failures": load["failures"] + load["jwks"]["non200"] + load["jwks"]["errors"],
                         "ok": load["ok"] + load["ok_outside_window"]})
        sessions = count_events(server.events_db, "%Session.Started%")
    answered = len(accounts) + sum(r["ok"] for r in runs)
    verdict = "OK" if sessions >= answered else "MISSING EVENTS"
    log(f"Session.Started events: {sessions} vs {answered} sessions answered "
        f"({len(accounts)} sign-ups + {answered - len(accounts)} sign-ins seen by the client): {verdict}")

    summary = {key: median([r[key] for r in runs]) for key in runs[0] if key not in ("failures", "ok")}
    summary.update(runs=len(runs), users=args.users, duration_s=args.duration, bcrypt_cost=12,
                   failures=sum(r["failures"] for r in runs), session_events_ok=sessions >= answered,
                   per_run=runs)
    valid = summary["failures"] == 0 and summary["session_events_ok"]
    label = f"median of {len(runs)} runs" if len(runs) > 1 else "one run"
    log(f"Figures ({label}; targets)")
    report(summary, [
        ("sign-ins/s / raw bcrypt checks/s", summary["ratio"], f">= {RATIO_TARGET}", lambda v: v >= RATIO_TARGET),
        ("JWKS p99 ms during the load", summary["jwks_p99_ms"], f"< {JWKS_P99_TARGET_MS:g}",
         lambda v: v < JWKS_P99_TARGET_MS),
        ("failed requests (sign-ins + JWKS)", summary["failures"], "0", lambda v: v == 0),
    ], f"  sign-ins/s {summary['signins_per_s']}, raw bcrypt {summary['raw_bcrypt_per_s']}/s, "
        f"sign-in p99 {summary['signin_p99_ms']} ms, JWKS p99 with the server idle {summary['jwks_idle_p99_ms']} ms"
        + ("" if valid else "  -- INVALID: failures or missing events"))


if __name__ == "__main__":
    run_benchmark(main)
