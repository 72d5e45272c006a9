#!/usr/bin/env python3
"""Benchmark (not a test) of refresh-token rotation on this machine, against raw RS256 signing.

What is measured, in one run of this script, on one `astapa serve` (one process) on a
fresh temp data dir:

- Rotations/s and p99: --connections wrk connections POST grant_type=refresh_token to
  /oauth/token with HTTP Basic client auth. Each connection's token comes from its own
  sign-in of its own user (signed up first, not timed), so each is its own refresh family;
  scripts/bench/refresh.lua takes the NEW refresh token out of every 200 answer and sends
  it next, so each family is a strictly sequential chain (rotation: an old token would
  revoke the family). Every answer must be a 200 with a new refresh token: non-200s,
  answers without a token, socket errors and timeouts are counted, and any of them makes
  the figure invalid. A rotation saves the family's Rotated event and an access token's
  Issued event and signs the access token (RS256), before it answers.
- Raw signing rate: one core signing an access token's claims with joserfc, flat out
  (scripts/bench/raw_sign.py, the same as scripts/bench_token.py), right after each load.
- Where the CPU went during the load: the server's cores, wrk's, and everyone else's.

Each run measures fresh families (each starts with a code exchange), so a family is at
most a few hundred rotations old by the end; --family-age N rotates each one N times
first (untimed), for the cost of long-lived families. The output says how old they were.

Before the load, one spare family checks that rotation is real: the new token works, the
old one is refused, and the family is then dead. After the load, the event log must hold
a Rotated event for every 200 seen (and no reuse beyond the check's).

Target: rotations/s >= 0.35 x one core's raw signing rate. With --runs N the figures are
medians of N runs (one server; fresh families, warm-up and measured load, raw rate in each
run). Only 127.0.0.1 is targeted; every process started here is stopped on exit, error or
Ctrl-C.

    .venv/bin/python scripts/bench_refresh.py [--duration 10] [--connections 64] [--warmup 2]
        [--threads 1] [--runs 1] [--family-age 0]
"""

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))

from harness import (  # noqa: E402
    report,
    run_benchmark,
    BENCH,
    Server,
    astapa_server,
    children_cpu_seconds,
    code_from_session,
    count_events,
    cpu_seconds,
    ensure_wrk,
    exchange,
    log,
    machine_busy_seconds,
    median,
    ratio,
    raw_sign_rate,
    refresh,
    session,
    sign_up_many,
)

RATIO_TARGET = 0.35


def jwt_alg(token: str) -> str | None:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))).get("alg")


async def fresh_tokens(server: Server, accounts: list[dict]) -> list[str]:
    """One new refresh family per account: a code from its live session, then the exchange."""
    limit = asyncio.Semaphore(8)

    async def one(account: dict) -> str:
        async with limit:
            code = await code_from_session(http, server, account["session"])
            return (await exchange(http, server, code))["refresh_token"]

    async with session() as http:
        return list(await asyncio.gather(*(one(account) for account in accounts)))


async def age_families(server: Server, tokens: list[str], rotations: int) -> list[str]:
    """Rotate every family `rotations` times first (each chain sequential, all at once)."""

    async def chain(token: str) -> str:
        for _ in range(rotations):
            status, body = await refresh(http, server, token)
            if status != 200:
                sys.exit(f"ageing a family: refresh answered {status}: {str(body)[:300]}")
            token = body["refresh_token"]
        return token

    async with session(limit=len(tokens)) as http:
        return list(await asyncio.gather(*(chain(token) for token in tokens)))


async def check_rotation(server: Server, account: dict) -> None:
    """A spare family: rotate once, then reuse the old token; the family must then be dead."""
    (first,) = await fresh_tokens(server, [account])
    async with session() as http:
        status, body = await refresh(http, server, first)
        if status != 200 or not isinstance(body, dict) or body.get("refresh_token") in (None, first):
            sys.exit(f"refresh answered {status} without a new refresh token: {str(body)[:500]}")
        if jwt_alg(body["access_token"]) != "RS256":
            sys.exit("the refreshed access token is not an RS256 JWT")
        second = body["refresh_token"]
        reused, _ = await refresh(http, server, first)
        after, _ = await refresh(http, server, second)
    if reused == 200 or after == 200:
        sys.exit(f"rotation not enforced: old token answered {reused}, then the new one {after}")
    log(f"  rotation check: new token 200 (RS256, {'with' if 'id_token' in body else 'no'} id_token), "
        f"old token reused -> {reused}, then the new one -> {after} (family revoked): OK")


def load(wrk: str, server: Server, tokens: list[str], args: argparse.Namespace, duration: int) -> dict:
    """wrk with refresh.lua for `duration` seconds over `tokens`; its figures and the CPU split."""
    per_thread = args.connections // args.threads
    with tempfile.NamedTemporaryFile("w", prefix="refresh-tokens-", suffix=".txt") as file:
        file.write("\n".join(tokens) + "\n")
        file.flush()
        basic = f"{server.project['client_id']}:{server.project['client_secret']}"
        env = dict(os.environ, BENCH_PATH="/oauth/token", BENCH_TOKENS=file.name, BENCH_THREADS=str(args.threads),
                   BENCH_PER_THREAD=str(per_thread), BENCH_BASIC_AUTH=base64.b64encode(basic.encode()).decode())
        cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--timeout", "5s",
               "-s", str(BENCH / "refresh.lua"), f"{server.base}/"]
        server_cpu, client_cpu, busy = cpu_seconds(server.proc.pid), children_cpu_seconds(), machine_busy_seconds()
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=duration + 60)
        server_cpu = cpu_seconds(server.proc.pid) - server_cpu
        client_cpu, busy = children_cpu_seconds() - client_cpu, machine_busy_seconds() - busy
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if result.returncode != 0 or not lines:
        sys.exit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    figures = json.loads(lines[-1].split(" ", 1)[1])
    seconds = figures["duration_us"] / 1e6
    figures["rotations_per_s"] = round(figures["ok"] / seconds, 1)
    figures["p50_ms"] = round(figures["p50_us"] / 1000, 2)
    figures["p99_ms"] = round(figures["p99_us"] / 1000, 2)
    figures["server_cores"] = round(server_cpu / seconds, 2)
    figures["client_cores"] = round(client_cpu / seconds, 2)
    figures["others_cores"] = round(max(0.0, busy - server_cpu - client_cpu) / seconds, 2)
    figures["failures"] = failures = sum(figures[k] for k in (
        "non200", "no_token", "starved", "connect_errors", "read_errors", "write_errors", "timeouts"))
    if figures["tokens_loaded"] != per_thread * args.threads:
        figures["failures"] += 1
        log(f"  only {figures['tokens_loaded']} of {per_thread * args.threads} tokens reached wrk's threads")
    log(f"  {figures['rotations_per_s']} rotations/s ({figures['ok']} x 200 with a new refresh token in "
        f"{seconds:.1f}s; {figures['non200']} non-200, {figures['no_token']} without a token, "
        f"{figures['starved']} starved, {failures - figures['non200'] - figures['no_token'] - figures['starved']} "
        f"socket errors/timeouts), p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; cores used: server "
        f"{figures['server_cores']}, wrk {figures['client_cores']}, everything else {figures['others_cores']}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of measured load per run (10)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections = families (64)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded load before each figure (2)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1: leave the other core to the server)")
    parser.add_argument("--runs", type=int, default=1, help="runs; figures are their medians (1)")
    parser.add_argument("--family-age", type=int, default=0,
                        help="rotations of each family before the measured load, untimed (0: fresh families)")
    args = parser.parse_args()
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    wrk = ensure_wrk()
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run (other work skews every figure)")
    families = (args.connections // args.threads) * args.threads

    runs, answered = [], 1  # the rotation check's one 200
    with astapa_server() as server:
        started = time.monotonic()
        accounts = asyncio.run(sign_up_many(server, families + 1, "refresh-"))
        log(f"Signed up {len(accounts)} users (bcrypt cost 12) in {time.monotonic() - started:.1f}s, not timed")
        asyncio.run(check_rotation(server, accounts.pop()))
        for run in range(1, args.runs + 1):
            if args.warmup > 0:
                log(f"Run {run}/{args.runs}: warm-up {args.warmup}s on {families} fresh families, discarded")
                answered += load(wrk, server, asyncio.run(fresh_tokens(server, accounts)), args, args.warmup)["ok"]
            log(f"Run {run}/{args.runs}: POST /oauth/token grant_type=refresh_token, {families} fresh families "
                f"on {args.connections} connections, {args.duration}s")
            tokens = asyncio.run(fresh_tokens(server, accounts))
            if args.family_age:
                started = time.monotonic()
                tokens = asyncio.run(age_families(server, tokens, args.family_age))
                answered += args.family_age * len(tokens)
                log(f"  aged each family by {args.family_age} rotations first "
                    f"({time.monotonic() - started:.1f}s, not timed)")
            figures = load(wrk, server, tokens, args, args.duration)
            log(f"  each family had {args.family_age} rotations behind it at the start, "
                f"{args.family_age + figures['ok'] / families:.0f} on average at the end")
            answered += figures["ok"]
            log(f"Run {run}/{args.runs}: raw RS256 signing, joserfc, one core, 3s (server idle)")
            raw = raw_sign_rate()
            runs.append({"rotations_per_s": figures["rotations_per_s"], "raw_sign_per_s": raw["per_s"],
                         "ratio": ratio(figures["rotations_per_s"], raw["per_s"]), "raw_cpu_share": raw["cpu_share"],
                         "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"],
                         "server_cores": figures["server_cores"],
                         "client_cores": figures["client_cores"], "others_cores": figures["others_cores"],
                         "id_tokens": figures["id_tokens"], "failures": figures["failures"], "ok": figures["ok"]})
        rotated = count_events(server.events_db, "%RefreshFamily.Rotated%")
        reuse = count_events(server.events_db, "%RefreshFamily.ReuseDetected%")
    events_ok = rotated >= answered and reuse == 1
    log(f"RefreshFamily.Rotated events: {rotated} vs {answered} x 200 seen (check, warm-ups, measured); "
        f"ReuseDetected: {reuse} (1 expected, the check's): {'OK' if events_ok else 'MISMATCH'}")

    summary = {key: median([r[key] for r in runs]) for key in runs[0] if key not in ("failures", "ok", "id_tokens")}
    summary.update(runs=len(runs), connections=args.connections, families=families, duration_s=args.duration,
                   family_age=args.family_age,
                   signatures_per_rotation=1 + (1 if any(r["id_tokens"] for r in runs) else 0),
                   failures=sum(r["failures"] for r in runs), events_ok=events_ok, per_run=runs)
    valid = summary["failures"] == 0 and events_ok
    label = f"median of {len(runs)} runs" if len(runs) > 1 else "one run"
    log(f"Figures ({label}; targets)")
    report(summary, [
        ("rotations/s / one core's raw signing", summary["ratio"], f">= {RATIO_TARGET}", lambda v: v >= RATIO_TARGET),
        ("failed or invalid answers", summary["failures"], "0", lambda v: v == 0),
    ], f"  rotations/s {summary['rotations_per_s']}, p99 {summary['p99_ms']} ms, raw signing "
        f"{summary['raw_sign_per_s']}/s, {summary['signatures_per_rotation']} RS256 signature(s) per rotation"
        + ("" if valid else "  -- INVALID: failures or event mismatch"))


if __name__ == "__main__":
    run_benchmark(main)
